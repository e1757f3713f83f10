"""Where a ticket's time goes (core.service_flow) on hand-made tickets: each step's hours worked out by hand,
the medians by category, the step that grew, and a suggestion only where one category is really slower."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core import activity, models as m, service, service_flow as flow
from core.access import SYSTEM, Viewer
from core.activity import TicketForm
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
        s.flush()
        service.rebuild_ticket_sla(s, now=T0 + timedelta(days=30))  # events written by hand: what an import does
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


def _raw_steps(s: Session) -> dict[int, dict[str, float | None]]:
    """Every ticket's hours per step worked out again from its raw events, one ticket at a time."""
    return {
        int(ticket): {
            step: flow._steps([(flow._hour(e.at), e.action) for e in service._events(s, int(ticket))]).get(step)
            for step in flow.STEPS
        }
        for ticket in s.scalars(select(m.Ticket.id))
    }


def _stored_steps(s: Session) -> dict[int, dict[str, float | None]]:
    rows = s.execute(select(flow.TS)).mappings()
    return {int(r["ticket_id"]): {step: r[step] for step in flow.STEPS} for r in rows}


def _close(a: dict[int, dict[str, float | None]], b: dict[int, dict[str, float | None]]) -> bool:
    return a.keys() == b.keys() and all(
        (x is None) == (y is None) and (x is None or abs(x - y) < 1e-6)  # type: ignore[operator]
        for t in a
        for x, y in ((a[t][k], b[t][k]) for k in flow.STEPS)
    )


def test_ticket_steps_equal_a_rebuild_from_the_raw_events(engine: Engine) -> None:
    """The summary the bottlenecks read, kept by every path that writes events (an import's rebuild of chosen
    tickets, the workflow's steps, a new ticket, the full rebuild), equals the hours from the raw events."""
    with session_scope(engine) as s:
        who = f.customer(s, owner=f.user(s, "amy"), became=date(2024, 1, 1))
        steps = [(1, "accept"), (2, "analyse"), (3, "wait"), (7, "customer_reply"), (8, "resolve"), (9, "reopen")]
        imported = [_ticket(s, who, "billing", T0, steps), _ticket(s, who, "delivery", T0, [])]
        s.flush()
        service.rebuild_ticket_sla(s, now=T0 + timedelta(days=2), ticket_ids=imported)
        customer_id = int(who.id)
    with session_scope(engine) as s:  # a ticket through the app: opened, then accepted
        new = activity.create_ticket(
            s, SYSTEM, TicketForm(customer_id, "complaint", "billing", "high", "phone", "Charged twice"), now=T0
        )
        version = int(s.scalar(select(m.Ticket.version).where(m.Ticket.id == new)) or 0)
        agent = f.user(s, "bob", role="support_agent")
        s.flush()
        service.act(
            s,
            Viewer(agent.id, "bob", "Bob", "support_agent"),
            service.Step(new, "accept", version),
            now=T0 + timedelta(hours=3),
        )
    with Session(engine) as s:
        stored, raw = _stored_steps(s), _raw_steps(s)
    assert _close(stored, raw) and set(stored) == {*imported, new}
    assert stored[new]["waiting_to_accept"] == pytest.approx(3) and stored[imported[1]]["analysing"] is None
    assert stored[imported[0]]["waiting_on_customer"] == pytest.approx(4)
    with session_scope(engine) as s:  # the full rebuild (seed, a new store) writes the same rows
        service.rebuild_ticket_sla(s, now=T0 + timedelta(days=2))
    with Session(engine) as s:
        assert _close(_stored_steps(s), raw)
    with session_scope(engine) as s:  # a store upgraded to the table fills it from the events alone
        s.execute(flow.TS.delete())
        assert service.rebuild_steps(s, chunk=2) == 3
    with Session(engine) as s:
        assert _close(_stored_steps(s), raw)
