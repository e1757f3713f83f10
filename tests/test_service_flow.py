"""Where a ticket's time goes (core.service_flow) on hand-made tickets: each step's hours worked out by hand,
the medians by category, the step that grew, and a suggestion only where one category is really slower."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import models as m, service_flow as flow
from core.access import Viewer
from core.db import session_scope
from core.errors import PermissionDenied
from tests import factories as f

LEAD = Viewer(None, "lead", "Lead", "team_lead")
T0 = datetime(2026, 3, 2, 9)


def _ticket(s: Session, who: m.Customer, category: str, start: datetime, steps: list[tuple[float, str]]) -> int:
    """A ticket created at `start` whose events follow at the given hours after it."""
    t = f.ticket(s, who, start)
    t.category = category
    s.flush()
    s.add(m.TicketEvent(ticket_id=t.id, at=start, to_status="new", action="created"))
    for hours, action in steps:
        s.add(m.TicketEvent(ticket_id=t.id, at=start + timedelta(hours=hours), to_status="accepted", action=action))
    return int(t.id)


def test_one_tickets_steps_worked_out_by_hand() -> None:
    # each event at its hour count since 1970, as step_times hands them over (T0 is 09:00)
    at = [(T0 - datetime(1970, 1, 1)) / timedelta(hours=1) + h for h in (0, 2, 5, 6, 9, 12, 20, 21, 24, 30)]
    events = list(
        zip(
            at,
            [
                "created",
                "accept",
                "analyse",
                "wait",
                "customer_reply",
                "resolve",
                "reopen",
                "resolve",
                "feedback",
                "close",
            ],
        )
    )
    assert flow._steps(events) == {
        "waiting_to_accept": 2,  # 09:00 -> 11:00
        "analysing": 3,  # 11:00 -> 14:00
        "waiting_on_customer": 3,  # 15:00 -> 18:00
        "resolving": 4 + 1,  # 14:00 -> 21:00 less 3 h waiting, then the re-open 05:00 -> 06:00
        "waiting_for_feedback": 8 + 3,  # 21:00 -> 05:00, then 06:00 -> 09:00
    }


def test_a_slow_category_is_found_and_named_with_its_tickets(engine: Engine) -> None:
    with session_scope(engine) as s:
        who = f.customer(s, owner=f.user(s, "amy"), became=date(2024, 1, 1))
        slow = [_ticket(s, who, "billing", T0 + timedelta(days=i), [(6, "accept"), (8, "resolve")]) for i in range(5)]
        for category in ("delivery", "product"):  # accepted within 1 or 2 hours; every ticket resolved in 2
            for i in range(5):
                _ticket(s, who, category, T0 + timedelta(days=i), [(1 + i % 2, "accept"), (3 + i % 2, "resolve")])
        _ticket(s, who, "delivery", T0 - timedelta(days=20), [(0.5, "accept"), (1, "resolve")])  # the month before
    with Session(engine) as s:
        now = flow.step_times(s, LEAD, start=datetime(2026, 3, 1), end=datetime(2026, 4, 1))
        before = flow.step_times(s, LEAD, start=datetime(2026, 2, 1), end=datetime(2026, 3, 1))
    table = flow.medians(now, by="category").set_index("value")
    assert table.loc["billing", "waiting_to_accept"] == 6 and table.loc["delivery", "waiting_to_accept"] == 1
    assert (
        table.loc["billing", "resolving"] == 2 == table.loc["product", "resolving"]
        and table.loc["billing", "tickets"] == 5
    )
    found = flow.suggestions(now, by="category")
    assert [(s.value, s.step) for s in found] == [("billing", "waiting_to_accept")]  # nothing else stands out
    assert found[0].ratio == pytest.approx(6 / 1.0) and sorted(found[0].tickets) == sorted(slow)
    grew = flow.growth(now, before).set_index("step")
    assert grew.loc["waiting_to_accept", "before"] == 0.5 and grew.loc["waiting_to_accept", "change"] > 0
    with Session(engine) as s, pytest.raises(PermissionDenied):
        flow.step_times(s, Viewer(None, "am", "AM", "account_manager"), start=T0, end=T0 + timedelta(days=1))
