"""The 360° view of one customer: key figures, one merged timeline, its charts' data, open tickets, tasks.

Everything is read for one customer at a time (a few dozen to a few hundred rows, on per-customer
indexes), after the same scope check as the profile: a customer outside the viewer's scope is NotFound.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from core import db, models as m, service_escalation as escalation
from core.access import Viewer, allowed, visible
from core.errors import NotFound
from core.sla import target_state

C, O, I, T, E, N = (
    m.table(m.Customer),
    m.table(m.Order),
    m.table(m.Interaction),
    m.table(m.Ticket),
    m.table(m.TicketEvent),
    m.table(m.NpsResponse),
)
TASKS, U = m.table(m.Task), m.table(m.User)
TIMELINE_KINDS = ("order", "interaction", "ticket", "nps")
# written by the SLA engine's actions (service._fire) and the escalation warning: not steps anyone took
SLA_EVENTS = ("sla_warning", "sla_violation", "sla_success", "escalation_warning", "rule")
TIMELINE_COLUMNS = ["at", "kind", "title", "detail", "labels", "ref"]


def require_visible(session: Session, viewer: Viewer, customer_id: int) -> None:
    """NotFound unless the customer exists and is in the viewer's scope (the two are not told apart)."""
    stmt = visible(select(C.c.id).where(C.c.id == customer_id), C, viewer)
    if session.scalar(stmt) is None:
        raise NotFound("No customer with that code or id.", key="customer.not_found")


@dataclass(frozen=True)
class OrderComparison:
    orders_12m: int
    orders_prev_12m: int
    revenue_12m: float
    revenue_prev_12m: float


def order_comparison(session: Session, viewer: Viewer, customer_id: int, *, today: date) -> OrderComparison:
    """Orders and revenue in the 12 months to `today` against the 12 months before, live from the orders."""
    require_visible(session, viewer, customer_id)
    y1, y2 = today - timedelta(days=365), today - timedelta(days=730)
    recent = (O.c.order_date >= y1) & (O.c.order_date <= today)
    before = (O.c.order_date >= y2) & (O.c.order_date < y1)
    row = session.execute(
        select(
            func.sum(case((recent, 1), else_=0)),
            func.sum(case((before, 1), else_=0)),
            func.sum(case((recent, O.c.amount), else_=0)),
            func.sum(case((before, O.c.amount), else_=0)),
        ).where(O.c.customer_id == customer_id, O.c.order_date >= y2)
    ).one()
    return OrderComparison(int(row[0] or 0), int(row[1] or 0), float(row[2] or 0), float(row[3] or 0))


def timeline(
    session: Session,
    viewer: Viewer,
    customer_id: int,
    *,
    kinds: tuple[str, ...] = TIMELINE_KINDS,
    since: date | None = None,
    until: date | None = None,
    text: str = "",
) -> pd.DataFrame:
    """Orders, interactions, tickets with each status change, and NPS answers, merged, newest first.

    Columns: at, kind, title and detail (free text), labels ((group, code) pairs for the page to show in its
    language: channel, status, category...), ref (the row's id).
    """
    require_visible(session, viewer, customer_id)
    parts = []
    rows: Sequence[Any]  # each kind's rows have their own columns
    if "order" in kinds:
        rows = session.execute(
            select(O.c.order_date, O.c.product_category, O.c.amount, O.c.sales_channel, O.c.id).where(
                O.c.customer_id == customer_id
            )
        ).all()
        parts.append(
            pd.DataFrame(
                {
                    "at": [pd.Timestamp(r[0]) for r in rows],
                    "kind": "order",
                    "title": "",
                    "detail": [f"¥{float(r[2]):,.2f}" for r in rows],
                    "labels": [(("product", r[1]), ("sales_channel", r[3])) for r in rows],
                    "ref": [r[4] for r in rows],
                }
            )
        )
    if "interaction" in kinds:
        rows = session.execute(
            select(I.c.occurred_at, I.c.subject, I.c.notes, I.c.channel, I.c.direction, I.c.outcome, I.c.id).where(
                I.c.customer_id == customer_id
            )
        ).all()
        parts.append(
            pd.DataFrame(
                {
                    "at": [pd.Timestamp(r[0]) for r in rows],
                    "kind": "interaction",
                    "title": [r[1] for r in rows],
                    "detail": [r[2] or "" for r in rows],
                    "labels": [(("channel", r[3]), ("direction", r[4]), ("outcome", r[5])) for r in rows],
                    "ref": [r[6] for r in rows],
                }
            )
        )
    if "ticket" in kinds:
        # each step someone took (its note; the description on the opening row); the SLA engine's own events
        # (met, at risk, breached) stay on the ticket's clocks, not one timeline row per clock
        rows = session.execute(
            select(E.c.at, T.c.kind, T.c.category, E.c.action, E.c.to_status, T.c.id, E.c.note, T.c.description)
            .select_from(E.join(T, T.c.id == E.c.ticket_id))
            .where(T.c.customer_id == customer_id, func.coalesce(E.c.action, "").not_in(SLA_EVENTS))
        ).all()
        parts.append(
            pd.DataFrame(
                {
                    "at": [pd.Timestamp(r[0]) for r in rows],
                    "kind": "ticket",
                    "title": [f"#{r[5]}" for r in rows],
                    "detail": [(r[7] if r[3] == "created" else r[6]) or "" for r in rows],
                    "labels": [
                        (("ticket_kind", r[1]), ("category", r[2]), ("service.event", r[3]), ("ticket_status", r[4]))
                        for r in rows
                    ],
                    "ref": [r[5] for r in rows],
                }
            )
        )
    if "nps" in kinds:
        rows = session.execute(
            select(N.c.responded_at, N.c.score, N.c.comment, N.c.touchpoint, N.c.id).where(
                N.c.customer_id == customer_id
            )
        ).all()
        parts.append(
            pd.DataFrame(
                {
                    "at": [pd.Timestamp(r[0]) for r in rows],
                    "kind": "nps",
                    "title": [str(r[1]) for r in rows],
                    "detail": [r[2] or "" for r in rows],
                    "labels": [(("touchpoint", r[3]),) for r in rows],
                    "ref": [r[4] for r in rows],
                }
            )
        )
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=TIMELINE_COLUMNS)
    merged = pd.concat(parts, ignore_index=True)[TIMELINE_COLUMNS]
    if since is not None:
        merged = merged[merged["at"] >= pd.Timestamp(since)]
    if until is not None:
        merged = merged[merged["at"] < pd.Timestamp(until + timedelta(days=1))]
    if text.strip():
        needle = text.strip().lower()
        merged = merged[
            merged["title"].str.lower().str.contains(needle, regex=False)
            | merged["detail"].str.lower().str.contains(needle, regex=False)
        ]
    return merged.sort_values(["at", "kind"], ascending=[False, True], kind="stable").reset_index(drop=True)


def monthly_revenue(
    session: Session, viewer: Viewer, customer_id: int, *, today: date, months: int = 24
) -> pd.DataFrame:
    """Revenue per month for the last `months` months (zeros included), for the 360° chart."""
    require_visible(session, viewer, customer_id)
    first = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    rows = db.tuples(
        session.execute(
            select(O.c.order_date, O.c.amount).where(O.c.customer_id == customer_id, O.c.order_date >= first)
        )
    )
    frame = pd.DataFrame(rows, columns=["day", "amount"])
    index = pd.period_range(first, today, freq="M")
    if frame.empty:
        return pd.DataFrame({"month": index.to_timestamp(), "revenue": 0.0})
    per_month = (
        frame.assign(amount=frame["amount"].astype(float))
        .groupby(pd.PeriodIndex(pd.to_datetime(frame["day"]), freq="M"))["amount"]
        .sum()
    )
    per_month = per_month.reindex(index, fill_value=0.0)
    return pd.DataFrame({"month": index.to_timestamp(), "revenue": per_month.to_numpy()})


def interactions_by_channel(
    session: Session, viewer: Viewer, customer_id: int, *, today: date, months: int = 12
) -> pd.DataFrame:
    """Interactions per month and channel over the last `months` months."""
    require_visible(session, viewer, customer_id)
    first = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    rows = db.tuples(
        session.execute(
            select(I.c.occurred_at, I.c.channel).where(
                I.c.customer_id == customer_id, I.c.occurred_at >= datetime.combine(first, datetime.min.time())
            )
        )
    )
    frame = pd.DataFrame(rows, columns=["at", "channel"])
    if frame.empty:
        return pd.DataFrame(columns=["month", "channel", "interactions"])
    frame["month"] = pd.to_datetime(frame["at"]).dt.to_period("M").dt.to_timestamp()
    return frame.groupby(["month", "channel"]).size().rename("interactions").reset_index()


def nps_history(session: Session, viewer: Viewer, customer_id: int) -> pd.DataFrame:
    require_visible(session, viewer, customer_id)
    rows = db.tuples(
        session.execute(
            select(N.c.responded_at, N.c.score, N.c.touchpoint)
            .where(N.c.customer_id == customer_id)
            .order_by(N.c.responded_at)
        )
    )
    return pd.DataFrame(rows, columns=["at", "score", "touchpoint"])


# --- open tickets and their SLA state -----------------------------------------------------------------


TICKET_COLUMNS = [
    "ticket",
    "kind",
    "category",
    "priority",
    "status",
    "created_at",
    "first_response",
    "first_response_left_h",
    "resolution",
    "resolution_left_h",
]
_TICKET_FIELDS = (
    T.c.id,
    T.c.kind,
    T.c.category,
    T.c.priority,
    T.c.status,
    T.c.created_at,
    T.c.first_response_due,
    T.c.first_response_at,
    T.c.resolution_due,
    T.c.resolved_at,
)


def _ticket_record(r: Any, now: datetime) -> dict[str, object]:
    """One open ticket with each target's state and the hours left (negative: overdue)."""
    return {
        "ticket": r.id,
        "kind": r.kind,
        "category": r.category,
        "priority": r.priority,
        "status": r.status,
        "created_at": r.created_at,
        "first_response": target_state(r.created_at, r.first_response_due, r.first_response_at, now),
        "first_response_left_h": None
        if r.first_response_at
        else round((r.first_response_due - now).total_seconds() / 3600, 1),
        "resolution": target_state(r.created_at, r.resolution_due, r.resolved_at, now),
        "resolution_left_h": round((r.resolution_due - now).total_seconds() / 3600, 1),
    }


def open_tickets(session: Session, viewer: Viewer, customer_id: int, *, now: datetime) -> pd.DataFrame:
    """The customer's unresolved tickets with each target's state and time left (negative: overdue), in hours."""
    require_visible(session, viewer, customer_id)
    rows = session.execute(
        select(*_TICKET_FIELDS)
        .where(T.c.customer_id == customer_id, T.c.status.in_(m.OPEN_TICKET_STATUSES))
        .order_by(T.c.resolution_due)
    ).all()
    return pd.DataFrame([_ticket_record(r, now) for r in rows], columns=TICKET_COLUMNS)


def my_customers_tickets(session: Session, viewer: Viewer, *, now: datetime, limit: int = 200) -> pd.DataFrame:
    """The unresolved tickets of every customer in the viewer's scope (an account manager's own customers),
    the nearest resolution deadline first: what the service desk is doing for them, without the desk's page;
    `escalation` names the signals of a complaint likely to escalate (core.service_escalation)."""
    stmt = (
        select(*_TICKET_FIELDS, C.c.id.label("customer_id"), C.c.code, C.c.name)
        .select_from(T.join(C, C.c.id == T.c.customer_id))
        .where(T.c.status.in_(m.OPEN_TICKET_STATUSES))
        .order_by(T.c.resolution_due)
        .limit(limit)
    )
    rows = session.execute(visible(stmt, C, viewer)).all()
    records = [{"customer_id": r.customer_id, "code": r.code, "name": r.name, **_ticket_record(r, now)} for r in rows]
    frame = pd.DataFrame(records, columns=["customer_id", "code", "name", *TICKET_COLUMNS])
    flagged = escalation.flags(session, [int(t) for t in frame["ticket"]], now=now).set_index("ticket")["signals"]
    frame["escalation"] = [flagged.get(t, ()) for t in frame["ticket"]]  # complaints likely to escalate: why
    return frame


# --- tasks ---------------------------------------------------------------------------------------------

TASK_COLUMNS = ["task", "customer_id", "code", "name", "title", "due_date", "owner", "done_at", "source", "overdue"]
# titles the system writes (service.follow_up callers), shown in the reader's language by task_title
_MADE_TITLES = {
    "detractor": re.compile(r"^NPS (?P<score>\d+): call back$"),
    "low_csat": re.compile(r"^CSAT (?P<score>\d+) on ticket #(?P<ticket>\d+)$"),
    "sla": re.compile(r"^SLA (?P<action>\w+): #(?P<ticket>\d+) (?P<metric>\w+)$"),
    "retention": re.compile(r"^Retention (?P<kind>\w+)$"),
    "escalation": re.compile(r"^Likely to escalate: #(?P<ticket>\d+)$"),
    "survey_csat": re.compile(r"^CSAT (?P<score>\d+) in survey #(?P<run>\d+)$"),
}


def task_title(title: str, source: str | None, lang: str) -> str:
    """A task's title in `lang`: the ones the system made (call-backs, SLA actions) are composed from their
    parts; a title someone typed shows as typed."""
    from core.i18n import t

    pattern = _MADE_TITLES.get(source or "")
    match = pattern.match(title) if pattern else None
    if match is None:
        return title
    parts = match.groupdict()
    if "kind" in parts:
        parts["kind"] = t(f"retention.kind.{parts['kind']}", lang)
    if "metric" in parts:
        parts["metric"] = t(f"sla.metric.{parts['metric']}", lang)
        parts["action"] = t(f"service.event.sla_{parts['action']}", lang)
    return t(f"task.made.{source}", lang, **parts)


def _tasks(session: Session, stmt, today: date) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    rows = session.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=TASK_COLUMNS[:-1])
    frame["overdue"] = [
        d is None and pd.Timestamp(due) < pd.Timestamp(today) for d, due in zip(frame["done_at"], frame["due_date"])
    ]
    return frame


def _task_select():  # type: ignore[no-untyped-def]
    return select(
        TASKS.c.id,
        C.c.id,
        C.c.code,
        C.c.name,
        TASKS.c.title,
        TASKS.c.due_date,
        U.c.display_name,
        TASKS.c.done_at,
        TASKS.c.source,
    ).select_from(TASKS.join(C, C.c.id == TASKS.c.customer_id).outerjoin(U, U.c.id == TASKS.c.owner_id))


def customer_tasks(session: Session, viewer: Viewer, customer_id: int, *, today: date) -> pd.DataFrame:
    """A customer's tasks: open ones first by due date, then the last done ones."""
    require_visible(session, viewer, customer_id)
    stmt = (
        _task_select()
        .where(TASKS.c.customer_id == customer_id)
        .order_by(TASKS.c.done_at.is_not(None), TASKS.c.due_date, TASKS.c.id)
        .limit(50)
    )
    return _tasks(session, stmt, today)


def my_open_tasks(session: Session, viewer: Viewer, *, today: date, limit: int = 200) -> pd.DataFrame:
    """The viewer's open tasks, overdue first (an administrator: everyone's)."""
    stmt = _task_select().where(TASKS.c.done_at.is_(None))
    if not allowed(viewer, "tasks:everyone"):
        stmt = stmt.where(TASKS.c.owner_id == (viewer.user_id if viewer.user_id is not None else -1))
    return _tasks(session, stmt.order_by(TASKS.c.due_date, TASKS.c.id).limit(limit), today)


@dataclass(frozen=True)
class TaskCounts:
    open: int
    overdue: int


def open_task_counts(session: Session, viewer: Viewer, *, today: date) -> TaskCounts:
    """The viewer's open and overdue tasks, counted in the database (the list shows the first ones only)."""
    stmt = select(func.count(), func.sum(case((TASKS.c.due_date < today, 1), else_=0))).where(TASKS.c.done_at.is_(None))
    if not allowed(viewer, "tasks:everyone"):
        stmt = stmt.where(TASKS.c.owner_id == (viewer.user_id if viewer.user_id is not None else -1))
    total, overdue = session.execute(stmt).one()
    return TaskCounts(int(total or 0), int(overdue or 0))
