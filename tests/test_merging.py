"""Duplicate customers: the review queue, a merge that moves every row to the survivor, and its undo."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import merging, models as m, pii
from core.access import SYSTEM
from core.db import session_scope, write
from core.errors import ValidationError
from tests import factories as f
from tests.conftest import TEST_KEYRING

NOW = datetime(2026, 11, 30, 10, 0)


@pytest.fixture
def twins(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        amy = f.user(s, "amy")
        a = f.customer(s, owner=amy, became=date(2025, 1, 10), region="east")
        b = f.customer(s, owner=None, became=date(2025, 3, 1), region="east")
        other = f.customer(s, owner=amy, became=date(2024, 5, 1), region="east")
        same_phone = f.customer(s, owner=amy, became=date(2024, 5, 1), region="north")
        a.name, b.name, other.name, same_phone.name = (
            "杭州云帆科技有限公司",
            "杭州云帆科技集团",
            "宁波海天贸易",
            "Zeta Co",
        )
        a.phone_hash = same_phone.phone_hash = pii.search_hash("phone", "13812345601", TEST_KEYRING)
        b.email_enc = pii.encrypt("hi@yunfan.example", TEST_KEYRING)
        b.email_hash = pii.search_hash("email", "hi@yunfan.example", TEST_KEYRING)
        b.city = "Hangzhou"
        f.order(s, a, date(2026, 10, 1), 100)
        f.order(s, a, date(2026, 10, 2), 200)
        f.order(s, b, date(2026, 10, 3), 400)
        f.nps(s, b, datetime(2026, 10, 4, 9), 9)
        s.flush()
        s.add(m.ExternalId(source="erp", kind="customer", external_id="E2", record_id=b.id))
        s.add(m.Task(customer_id=b.id, owner_id=amy.id, title="call", due_date=NOW.date(), created_at=NOW))
        s.flush()
        from core import facts

        facts.rebuild_all(s, as_of=NOW.date())
        return {"a": a.id, "b": b.id, "other": other.id, "same_phone": same_phone.id}


def _orders(engine: Engine, customer_id: int) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).where(m.Order.customer_id == customer_id)) or 0)


def test_the_queue_holds_exact_and_alike_pairs_until_kept_apart(engine: Engine, twins) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        pairs = merging.candidates(s, SYSTEM)
    found = {(p.first_id, p.second_id): p.why for p in pairs}
    assert found == {tuple(sorted((twins["a"], twins["same_phone"]))): "phone", (twins["a"], twins["b"]): "name"}
    assert pairs[0].why == "phone"  # exact matches first
    write(engine, lambda s: merging.keep_apart(s, SYSTEM, twins["same_phone"], twins["a"], now=NOW))
    with Session(engine) as s:
        assert [(p.first_id, p.second_id) for p in merging.candidates(s, SYSTEM)] == [(twins["a"], twins["b"])]


def test_a_merge_moves_everything_and_an_undo_puts_it_back(engine: Engine, twins) -> None:  # type: ignore[no-untyped-def]
    a, b = twins["a"], twins["b"]
    with pytest.raises(ValidationError):
        write(engine, lambda s: merging.merge(s, SYSTEM, a, a, reason="the same company"))
    merge_id = write(engine, lambda s: merging.merge(s, SYSTEM, a, b, reason="same company, new legal form", now=NOW))
    with Session(engine) as s:
        assert s.get(m.Customer, b) is None and _orders(engine, a) == 3
        survivor = s.get(m.Customer, a)
        assert survivor is not None and survivor.city == "Hangzhou" and survivor.email_hash is not None
        assert s.scalar(select(m.ExternalId.record_id).where(m.ExternalId.external_id == "E2")) == a
        assert s.scalar(select(m.Task.customer_id)) == a
        assert s.scalar(select(m.CustomerStat.orders_total).where(m.CustomerStat.customer_id == a)) == 3
        assert s.scalar(select(func.count()).select_from(m.CustomerStat).where(m.CustomerStat.customer_id == b)) == 0
        assert s.scalar(select(func.count()).where(m.AuditLog.action == "customers_merged")) == 1
        assert [r["undoable"] for r in merging.recent_merges(s, SYSTEM, now=NOW)] == [True]
    write(engine, lambda s: merging.undo(s, SYSTEM, merge_id, now=NOW + timedelta(days=2)))
    with Session(engine) as s:
        back = s.get(m.Customer, b)
        assert back is not None and back.name == "杭州云帆科技集团" and back.city == "Hangzhou"
        assert pii.decrypt(back.email_enc, TEST_KEYRING) == "hi@yunfan.example"
        assert _orders(engine, a) == 2 and _orders(engine, b) == 1
        survivor = s.get(m.Customer, a)
        assert survivor is not None and survivor.city is None and survivor.email_hash is None
        assert s.scalar(select(m.ExternalId.record_id).where(m.ExternalId.external_id == "E2")) == b
        assert s.scalar(select(m.Task.customer_id)) == b
        assert s.scalar(select(m.CustomerStat.orders_total).where(m.CustomerStat.customer_id == b)) == 1
    with pytest.raises(ValidationError):  # once is enough
        write(engine, lambda s: merging.undo(s, SYSTEM, merge_id, now=NOW + timedelta(days=3)))


def test_an_undo_is_refused_after_thirty_days(engine: Engine, twins) -> None:  # type: ignore[no-untyped-def]
    merge_id = write(engine, lambda s: merging.merge(s, SYSTEM, twins["a"], twins["b"], reason="same company", now=NOW))
    with pytest.raises(ValidationError) as err:
        write(engine, lambda s: merging.undo(s, SYSTEM, merge_id, now=NOW + timedelta(days=31)))
    assert err.value.key == "merge.too_late"


def test_a_merged_members_points_and_membership_follow_the_survivor_and_come_back(engine: Engine, twins) -> None:  # type: ignore[no-untyped-def]
    from core import loyalty

    a, b = twins["a"], twins["b"]
    with session_scope(engine) as s:
        s.add(m.LoyaltyMember(customer_id=b, joined_at=datetime(2025, 4, 1, 9), joined_on=date(2025, 4, 1)))
        s.add(m.LoyaltyEntry(customer_id=b, at=datetime(2026, 10, 3), kind="earn", points=120, source="order"))
    merge_id = write(engine, lambda s: merging.merge(s, SYSTEM, a, b, reason="same company, new legal form", now=NOW))
    with Session(engine) as s:
        assert loyalty.balance(s, a) == 120  # the ledger's rows moved, nothing rewritten
        joined = s.scalar(select(m.LoyaltyMember.joined_on).where(m.LoyaltyMember.customer_id == a))
        assert joined == date(2025, 4, 1)
    write(engine, lambda s: merging.undo(s, SYSTEM, merge_id, now=NOW + timedelta(days=1)))
    with Session(engine) as s:
        assert (loyalty.balance(s, a), loyalty.balance(s, b)) == (0, 120)
        members = set(s.scalars(select(m.LoyaltyMember.customer_id)))
        assert members == {b}
