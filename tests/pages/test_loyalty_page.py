"""The loyalty programme through AppTest: the Loyalty page's figures equal core's for an executive, an
administrator saves a new version of the programme, and on the 360° view an account manager sees an own
member's level and balance and redeems within it (too much is refused under the field, nothing written)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import loyalty, models as m
from core.access import SYSTEM
from core.db import make_engine
from tests.pages.helpers import signed_in


def test_the_loyalty_page_and_a_redemption_on_the_360_view(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    with Session(engine) as s:
        expected = loyalty.overview(s, SYSTEM)
        manager = s.scalar(select(m.User.id).where(m.User.username == "manager1"))
        member = s.scalar(
            select(m.LoyaltyMember.customer_id)
            .join(m.Customer, m.Customer.id == m.LoyaltyMember.customer_id)
            .where(m.Customer.owner_id == manager)
            .order_by(m.LoyaltyMember.customer_id)
        )
        held = loyalty.balance(s, int(member or 0))
    assert expected is not None and expected.members > 0 and held > 10

    at = signed_in(monkeypatch, seeded_url, "executive")
    at.switch_page("views/loyalty.py").run()
    assert not at.exception and not at.error, at.exception
    shown = {x.label: x.value for x in at.metric}
    assert shown["Members"] == f"{expected.members:,}"
    assert shown["Points earned, 12 months"] == f"{expected.earned_12m:,}"
    assert len(at.get("plotly_chart")) == 1
    assert not [b for b in at.button if b.label == "Save as a new version"]  # administrators edit the rules

    at = signed_in(monkeypatch, seeded_url, "admin")
    at.switch_page("views/loyalty.py").run()
    next(b for b in at.button if b.label == "Save as a new version").click()
    at.run()
    assert not at.exception, at.exception
    assert any("version 2 is in force" in x.value for x in at.success), [e.value for e in at.error]

    at = signed_in(monkeypatch, seeded_url, "manager1", id=str(member))
    at.switch_page("views/customer.py").run()
    assert not at.exception, at.exception
    shown = {x.label: x.value for x in at.metric}
    assert shown["Points balance"] == f"{held:,}"
    points = next(n for n in at.number_input if n.label == "Points")
    points.set_value(held + 1)
    next(t for t in at.text_input if t.label == "Reason").input("voucher")
    next(b for b in at.button if b.label == "Redeem points").click()
    at.run()
    assert any("More than the balance" in e.value for e in at.error), [e.value for e in at.error]
    with Session(engine) as s:
        assert loyalty.balance(s, int(member or 0)) == held
    next(n for n in at.number_input if n.label == "Points").set_value(10)
    next(b for b in at.button if b.label == "Redeem points").click()
    at.run()
    assert not at.exception, at.exception
    assert {x.label: x.value for x in at.metric}["Points balance"] == f"{held - 10:,}"
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "loyalty_redeemed"))
