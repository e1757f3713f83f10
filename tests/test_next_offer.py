"""The next best offer on a hand-made order history: the transition table and its smoothing worked out by hand,
the hit rate on a held-out window against the most popular categories, the worklist's order and scope, a
customer's offers on the 360° view, and the stored model read back."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import facts, models as m, next_offer
from core.access import SYSTEM, Viewer
from core.db import session_scope, write
from core.errors import PermissionDenied
from tests import factories as f

TODAY = date(2026, 11, 20)
WINDOW = date(2026, 8, 22)  # TODAY - 90 days: the held-out window's first day


def order(s: Session, who: m.Customer, day: date, category: str) -> None:
    s.add(m.Order(customer_id=who.id, order_date=day, amount=100, product_category=category, sales_channel="direct"))


@pytest.fixture
def history(engine: Engine) -> dict[str, object]:
    """a: software, hardware, software (before the window), then hardware in it; b: software, hardware, then
    software in it; c: software only before, consumables in it; d: bob's, hardware only, nothing in the window."""
    with session_scope(engine) as s:
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        a, b, c = (f.customer(s, owner=amy, became=date(2024, 1, 1)) for _ in range(3))
        d = f.customer(s, owner=bob, became=date(2024, 1, 1))
        for who, days in (
            (a, [(date(2026, 1, 5), "software"), (date(2026, 3, 5), "hardware"), (date(2026, 5, 5), "software")]),
            (b, [(date(2026, 2, 1), "software"), (date(2026, 4, 1), "hardware")]),
            (c, [(date(2026, 6, 1), "software")]),
            (d, [(date(2026, 7, 1), "hardware")]),
        ):
            for day, category in days:
                order(s, who, day, category)
        order(s, a, date(2026, 9, 1), "hardware")
        order(s, b, date(2026, 9, 2), "software")
        order(s, c, date(2026, 10, 1), "consumables")
        s.flush()
        facts.rebuild_all(s, as_of=TODAY)
        return {"amy": Viewer(amy.id, "amy", "Amy", "account_manager"), "a": a.id, "b": b.id, "c": c.id, "d": d.id}


def test_the_transition_table_by_hand(engine: Engine, history) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        table = next_offer.transitions(s, before=WINDOW)
    # pairs before the window: software->hardware twice (a, b), hardware->software once (a); the next orders'
    # shares: hardware 2/3, software 1/3, each row smoothed by one pseudo-order spread by those shares
    assert table.at["software", "hardware"] == pytest.approx((2 + 2 / 3) / 3)
    assert table.at["software", "software"] == pytest.approx((1 / 3) / 3)
    assert table.at["hardware", "software"] == pytest.approx((1 + 1 / 3) / 2)
    assert table.at["hardware", "hardware"] == pytest.approx((2 / 3) / 2)
    assert table.at["training", "hardware"] == pytest.approx(2 / 3)  # never a last category: the shares alone
    assert table.sum(axis=1).round(9).eq(1).all()
    assert next_offer.offers(table, "software", k=1) == [("hardware", pytest.approx(8 / 9))]


def test_the_hit_rate_against_the_most_popular(engine: Engine, history) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        found = next_offer.hit_rate(s, today=TODAY)
    # scored: a, b, c (d bought nothing in the window). Last categories before it: a software, b hardware, c
    # software. Model's top 1: software -> hardware, hardware -> software. a bought hardware (hit), b software
    # (hit), c consumables (miss): 2/3. Most popular before the window: software (4 orders) then hardware (3):
    # top 1 software hits b only: 1/3; top 2 {software, hardware} hits a and b: 2/3
    assert found.customers == 3 and found.start == WINDOW
    assert found.model[1] == pytest.approx(2 / 3) and found.baseline[1] == pytest.approx(1 / 3)
    assert found.baseline[2] == pytest.approx(2 / 3) and found.baseline_offers == ["software", "hardware"]


def test_the_worklist_in_scope_and_the_customers_offers(engine: Engine, history) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        table = next_offer.transitions(s)
        every = next_offer.worklist(s, SYSTEM, table)
        hers = next_offer.worklist(s, history["amy"], table)
        for_training = next_offer.worklist(s, SYSTEM, table, category="training")
        last, offered = next_offer.for_customer(s, SYSTEM, history["a"], table)
        nothing = next_offer.for_customer(s, history["amy"], history["d"], table)  # bob's customer
    assert set(every["customer_id"]) == {history[k] for k in "abcd"}
    assert set(hers["customer_id"]) == {history[k] for k in "abc"}
    assert list(every["probability"]) == sorted(every["probability"], reverse=True)
    assert (for_training["offer"] == "training").all() and len(for_training) == 4
    assert last == "hardware" and offered[0][0] == "software" and len(offered) == 3
    assert nothing == (None, [])


def test_the_model_is_stored_and_read_back(engine: Engine, history) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        assert next_offer.latest(s) is None
    with pytest.raises(PermissionDenied):
        write(engine, lambda s: next_offer.learn_now(s, history["amy"]))
    learned = write(engine, lambda s: next_offer.learn(s, today=TODAY))
    with Session(engine) as s:
        back = next_offer.latest(s)
        model, work = next_offer.current_worklist(s, SYSTEM)
    assert back is not None and back.orders == 10 and back.evaluation == learned.evaluation
    assert list(back.table.index) == list(learned.table.index) == list(back.table.columns)
    assert back.table.to_numpy() == pytest.approx(learned.table.to_numpy())
    assert model is not None and len(work) == 4
