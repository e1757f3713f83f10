"""New customers and hand-overs through AppTest: the form on the list, the duplicate warning, the hand-over
on the 360° view."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import models as m
from core.db import make_engine
from tests.pages.helpers import signed_in


def _form_selectbox(at, label: str):  # type: ignore[no-untyped-def]
    return next(box for box in at.selectbox if box.label == label)


def test_a_manager_adds_a_customer_after_the_duplicate_warning(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    with Session(make_engine(seeded_url)) as s:
        existing = s.execute(select(m.Customer.name, m.Customer.region).order_by(m.Customer.id)).first()
    assert existing is not None
    at = signed_in(monkeypatch, seeded_url, "manager1")
    at.switch_page("views/customers.py").run()
    name_box = next(box for box in at.text_input if box.label == "Name")
    name_box.input(existing.name)
    for label, value in (
        ("Type", "B2B"),
        ("Industry", "retail"),
        ("Region", existing.region),
        ("Acquisition channel", "referral"),
    ):
        _form_selectbox(at, label).set_value(value)
    save = next(b for b in at.button if b.label == "Save the customer")
    save.click().run()
    assert not at.exception, at.exception
    assert any("may already exist" in w.value for w in at.warning)  # the same name in the same region
    with Session(make_engine(seeded_url)) as s:
        before = s.query(m.Customer).count()
    next(c for c in at.checkbox if "save it anyway" in c.label).check()
    next(b for b in at.button if b.label == "Save the customer").click().run()
    assert any("is saved" in s.value for s in at.success)
    with Session(make_engine(seeded_url)) as s:
        assert s.query(m.Customer).count() == before + 1
        manager = s.scalar(select(m.User.id).where(m.User.username == "manager1"))
        newest = s.scalar(select(m.Customer.owner_id).order_by(m.Customer.id.desc()))
    assert newest == manager  # an account manager's new customer is their own


def test_an_administrator_hands_a_customer_over_from_the_360_view(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    with Session(make_engine(seeded_url)) as s:
        customer_id, owner = s.execute(
            select(m.Customer.id, m.Customer.owner_id).where(m.Customer.owner_id.is_not(None)).order_by(m.Customer.id)
        ).first()
        target, name = s.execute(
            select(m.User.id, m.User.display_name)
            .where(m.User.role == "account_manager", m.User.id != owner)
            .order_by(m.User.id)
        ).first()
    at = signed_in(monkeypatch, seeded_url, "admin", id=str(customer_id))
    at.switch_page("views/customer.py").run()
    at.query_params["id"] = str(customer_id)
    at.run()
    at.selectbox(key=f"h_to_one_{customer_id}").set_value(target)
    at.text_input(key=f"h_reason_one_{customer_id}").input("Territory change in the east")
    next(b for b in at.button if b.label.startswith("Hand over 1")).click().run()
    assert not at.exception, at.exception
    assert any(f"handed over to {name}" in s.value for s in at.success)
    with Session(make_engine(seeded_url)) as s:
        assert s.scalar(select(m.Customer.owner_id).where(m.Customer.id == customer_id)) == target
