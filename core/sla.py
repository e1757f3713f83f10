"""Complaint SLA as the cockpit counts it, and the priority targets the shipped policies start from.

The seeds ask for complaints to get a first response within 2 hours and a resolution within 48 hours;
priorities tighten that. The service desk (core/service.py) turns this table into editable policies
with calendars and pauses; every ticket write and the SLA tick store each ticket's first-response and
resolution due times as its policy's clocks compute them, so the counts here (done by the due time,
or breached once it passed) are the service desk's outcomes (a test compares the two).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row, and_, case, func, or_, select
from sqlalchemy.orm import Session

from core import models as _m
from core.access import scope
from core.db import period_bucket
from core.periods import Filters, Period

# priority -> (first-response hours, resolution hours)
PRIORITY_TARGETS: dict[str, tuple[float, float]] = {
    "urgent": (1, 8),
    "high": (2, 24),
    "normal": (4, 48),
    "low": (8, 72),
}
COMPLAINT_TARGET: tuple[float, float] = (2, 48)
AT_RISK_SHARE = 0.8  # a running target is "at risk" once this share of its time is used


def targets_hours(kind: str, priority: str) -> tuple[float, float]:
    """Targets for a ticket: the priority's, tightened to the complaint targets for complaints."""
    first, resolution = PRIORITY_TARGETS[priority]
    if kind == "complaint":
        first, resolution = min(first, COMPLAINT_TARGET[0]), min(resolution, COMPLAINT_TARGET[1])
    return first, resolution


def due_times(kind: str, priority: str, created_at: datetime) -> tuple[datetime, datetime]:
    """(first-response due, resolution due) for a ticket created at `created_at`."""
    first, resolution = targets_hours(kind, priority)
    return created_at + timedelta(hours=first), created_at + timedelta(hours=resolution)


# --- compliance and open complaints (live on indexed due columns; per-ticket results come later) ---

_T, _C = _m.table(_m.Ticket), _m.table(_m.Customer)
TARGETS = {
    "first_response": (_T.c.first_response_due, _T.c.first_response_at),
    "resolution": (_T.c.resolution_due, _T.c.resolved_at),
}
_LONGEST_TARGET = timedelta(hours=max(max(t) for t in PRIORITY_TARGETS.values()))


def _outcomes(target: str, start: datetime, end: datetime, now: datetime):  # type: ignore[no-untyped-def]
    """(met condition, when the outcome became known, the WHERE clause) for complaints known in [start, end).

    A complaint counts in the period holding the earlier of its due time and the time it was done:
    met when done by the due time, breached once the due time passes undone (and only once it has
    passed, as of `now`). This is "fell due in P, or answered in P" without counting a ticket twice.
    """
    due, done = TARGETS[target]
    met = and_(done.is_not(None), done <= due)
    known_at = case((met, done), else_=due)
    counted = or_(and_(met, done >= start, done < end), and_(~met, due >= start, due < end, due <= now))
    # the due-time bounds are implied by `counted`; they let the (kind, due) index do the work
    where = and_(_T.c.kind == "complaint", due >= start, due < end + _LONGEST_TARGET, counted)
    return met, known_at, where


def _tickets(filters: Filters):  # type: ignore[no-untyped-def]
    """Tickets, joined to their customers only when a customer filter needs it (the join costs a lookup a row)."""
    return _T if filters.is_empty() else _T.join(_C, _C.c.id == _T.c.customer_id)


def compliance(
    session: Session, period: Period, filters: Filters, *, now: datetime, target: str
) -> dict[str, tuple[int, int]]:
    """Complaints whose `target` outcome became known in the period: {priority: (met, total)}."""
    start, end = datetime.combine(period.start, time()), datetime.combine(period.end, time())
    met, _, where = _outcomes(target, start, end, now)
    stmt = (
        select(_T.c.priority, func.sum(case((met, 1), else_=0)).label("met"), func.count().label("total"))
        .select_from(_tickets(filters))
        .where(where)
        .group_by(_T.c.priority)
    )
    return {row.priority: (int(row.met or 0), int(row.total)) for row in session.execute(scope(stmt, _C, filters))}


def compliance_by_month(
    session: Session, first: date, end: date, filters: Filters, *, now: datetime, target: str
) -> dict[date, tuple[int, int]]:
    """The same counts for every month in [first, end) in one grouped query: {month start: (met, total)}."""
    met, known_at, where = _outcomes(target, datetime.combine(first, time()), datetime.combine(end, time()), now)
    bucket = period_bucket(known_at, "M").label("bucket")
    stmt = (
        select(bucket, func.sum(case((met, 1), else_=0)).label("met"), func.count().label("total"))
        .select_from(_tickets(filters))
        .where(where)
        .group_by(bucket)
    )
    return {
        date(int(row.bucket[:4]), int(row.bucket[5:7]), 1): (int(row.met or 0), int(row.total))
        for row in session.execute(scope(stmt, _C, filters))
    }


@dataclass(frozen=True)
class OpenComplaints:
    open: int
    breached: int
    at_risk: int


def open_complaints(session: Session, at: datetime, filters: Filters) -> OpenComplaints:
    """Complaints created before `at` and not closed by then, with how many had breached a target
    or were at risk (>= AT_RISK_SHARE of a running target used) at that moment."""
    columns = (_T.c.created_at, _T.c.first_response_due, _T.c.first_response_at, _T.c.resolution_due, _T.c.resolved_at)
    rows: list[Row[Any]] = []
    # not closed yet, or closed after `at`: two selects, each a range on the (kind, closed_at) index
    for still_open in (_T.c.closed_at.is_(None), _T.c.closed_at >= at):
        stmt = (
            select(*columns)
            .select_from(_tickets(filters))
            .where(_T.c.kind == "complaint", still_open, _T.c.created_at < at)
        )
        rows += session.execute(scope(stmt, _C, filters)).all()
    total = breached = at_risk = 0
    for row in rows:
        total += 1
        states = [
            target_state(row.created_at, row.first_response_due, row.first_response_at, at),
            target_state(row.created_at, row.resolution_due, row.resolved_at, at),
        ]
        if "breached" in states:
            breached += 1
        elif "at_risk" in states:
            at_risk += 1
    return OpenComplaints(total, breached, at_risk)


def target_state(created: datetime, due: datetime, done: datetime | None, at: datetime) -> str:
    """met / breached / at_risk / running for one target, as seen at moment `at` (at risk: AT_RISK_SHARE used)."""
    if done is not None and done <= at:
        return "met" if done <= due else "breached"
    if due < at:
        return "breached"
    used = (at - created) / (due - created) if due > created else 1.0
    return "at_risk" if used >= AT_RISK_SHARE else "running"
