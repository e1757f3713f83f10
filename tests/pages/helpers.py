"""Driving the app through AppTest: open it, sign in through the real form."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import activity, clock, models as m
from core.access import SYSTEM
from core.activity import TicketForm
from core.db import make_engine, session_scope
from tests.conftest import DEMO_PASSWORD

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def open_app(monkeypatch: pytest.MonkeyPatch, url: str, **query: object) -> AppTest:
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def sign_in(at: AppTest, username: str, password: str = DEMO_PASSWORD) -> AppTest:
    at.text_input(key="sign_in_username").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click()
    return at.run()


def signed_in(monkeypatch: pytest.MonkeyPatch, url: str, username: str, **query: object) -> AppTest:
    at = sign_in(open_app(monkeypatch, url, **query), username)
    assert not at.exception, at.exception
    assert not any("incorrect" in e.value for e in at.error), "sign-in failed"
    return at


def complaint_likely_to_escalate(url: str) -> int:
    """A new complaint in angry words, re-opened once: flagged as likely to escalate (core.service_escalation)."""
    with session_scope(make_engine(url)) as s:
        customer = s.scalar(select(m.Ticket.customer_id).order_by(m.Ticket.id))  # a customer agents may see
        now = clock.now() - timedelta(hours=1)
        ticket = activity.create_ticket(
            s,
            SYSTEM,
            TicketForm(customer, "complaint", "billing", "normal", "phone", "Charged twice again, I want a refund"),
            now=now,
        )
        s.add(m.TicketEvent(ticket_id=ticket, at=now, to_status="new", action="reopen"))
        return ticket
