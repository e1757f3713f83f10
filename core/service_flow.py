"""Where a ticket's time goes (issue 13, seed 003 服务流程优化): the hours each ticket spent in each step of
accept → analyse → resolve → feedback, by team, category or priority; which step grew on the period before;
and plain suggestions derived from the figures, each with the tickets behind it.

Steps, in wall-clock hours from the ticket's own events (the customer sees wall-clock time; the SLA clocks
keep the business-hours view): waiting to be accepted (created → first accept), analysing (accept → analysis
recorded), resolving (analysis → resolved, less the time waiting on the customer), waiting on the customer
(each "waiting on the customer" → the customer's reply) and waiting for feedback (resolved → feedback or
closing). A re-opened ticket adds its later resolving and feedback time to the same steps.
"""

from __future__ import annotations

from calendar import timegm
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core import db, models as m
from core.access import Viewer, require
from core.db import raw_frame
from core.sla_engine import Event

T, E, TS = m.table(m.Ticket), m.table(m.TicketEvent), m.table(m.TicketSteps)
STEPS = ("waiting_to_accept", "analysing", "resolving", "waiting_on_customer", "waiting_for_feedback")
BY = ("category", "team", "priority")
MIN_TICKETS = 5  # a group smaller than this says nothing about a step
FACTOR = 2.0  # a step at least this many times the other groups' is a bottleneck worth a sentence


def _hours(a: float, b: float) -> float:
    return max(0.0, b - a)


def _steps(events: list[tuple[float, str]]) -> dict[str, float]:
    """One ticket's hours per step from its events in time order, each at its hour count since 1970 (floats
    subtract ten times faster than datetimes: a year holds 300,000 events); a step never reached is left out."""
    out: dict[str, float] = {}
    created = accepted = analysed = resolved = waiting = None
    for at, action in events:
        if action == "created":
            created = at
        elif action == "accept" and accepted is None:
            accepted = at
            if created is not None:
                out["waiting_to_accept"] = _hours(created, at)
        elif action == "analyse" and analysed is None and accepted is not None:
            analysed = at
            out["analysing"] = _hours(accepted, at)
        elif action == "wait" and waiting is None:
            waiting = at
        elif action == "customer_reply" and waiting is not None:
            out["waiting_on_customer"] = out.get("waiting_on_customer", 0.0) + _hours(waiting, at)
            waiting = None
        elif action == "resolve":
            begin = analysed or accepted or created
            if begin is not None:
                paused = 0.0 if waiting is None else _hours(waiting, at)
                if waiting is not None:
                    out["waiting_on_customer"] = out.get("waiting_on_customer", 0.0) + paused
                    waiting = None
                out["resolving"] = out.get("resolving", 0.0) + _hours(begin, at)
            resolved = at
        elif action in ("feedback", "close") and resolved is not None:
            out["waiting_for_feedback"] = out.get("waiting_for_feedback", 0.0) + _hours(resolved, at)
            resolved = None
        elif action == "reopen":
            if resolved is not None:  # it sat resolved, awaiting the customer's word, until re-opened
                out["waiting_for_feedback"] = out.get("waiting_for_feedback", 0.0) + _hours(resolved, at)
            analysed, resolved = at, None  # resolving again from the re-open
    if "resolving" in out and "waiting_on_customer" in out:  # the customer's time is not the desk's
        out["resolving"] = max(0.0, out["resolving"] - out["waiting_on_customer"])
    return out


def _hour(at: datetime) -> float:
    """A time as read (the display zone's wall time: these are wall-clock hours, see above) as an hour count,
    floats subtracting faster than datetimes."""
    return timegm(at.utctimetuple()) / 3600 + at.microsecond / 3.6e9


def store_steps(session: Session, events: Mapping[int, Sequence[Event]]) -> None:
    """The ticket_steps rows of these tickets, from their events in time order (this module owns the table;
    the SLA evaluation calls it with the events it has just read, for one ticket or a chunk of thousands)."""
    ids = sorted(events)
    for start in range(0, len(ids), 1000):
        session.execute(delete(TS).where(TS.c.ticket_id.in_(ids[start : start + 1000])))
    if not ids:
        return
    hours = [_steps([(_hour(e.at), e.action) for e in events[ticket]]) for ticket in ids]
    columns: dict[str, list[object]] = {"ticket_id": list(ids)}
    columns |= {step: [one.get(step) for one in hours] for step in STEPS}
    db.bulk_insert(session.connection(), TS, columns)


def step_times(session: Session, viewer: Viewer, *, start: datetime, end: datetime) -> pd.DataFrame:
    """Per ticket created in [start, end): its team, category, priority and hours in each step (from
    ticket_steps: one indexed read instead of every event of the period)."""
    require(viewer, "page:service")
    frame = raw_frame(
        session,
        select(T.c.id.label("ticket"), T.c.team, T.c.category, T.c.priority, T.c.kind, *(TS.c[step] for step in STEPS))
        .select_from(T.outerjoin(TS, TS.c.ticket_id == T.c.id))
        .where(T.c.created_at >= start, T.c.created_at < end),
    ).sort_values("ticket", ignore_index=True)  # sorted here: in SQL it would read the table in id order
    frame["team"] = frame["team"].fillna("—")
    frame[list(STEPS)] = frame[list(STEPS)].astype(float)
    return frame


def medians(frame: pd.DataFrame, *, by: str) -> pd.DataFrame:
    """Median hours per step for each value of `by`, with the tickets counted."""
    if frame.empty:
        return pd.DataFrame(columns=["value", "tickets", *STEPS])
    grouped = frame.groupby(by)
    out = grouped[list(STEPS)].median()
    out.insert(0, "tickets", grouped.size())
    return out.reset_index().rename(columns={by: "value"}).sort_values("tickets", ascending=False, ignore_index=True)


def growth(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    """Each step's median hours now and in the period before, and the change."""
    rows = []
    for step in STEPS:
        a = now[step].median() if step in now else float("nan")
        b = before[step].median() if step in before else float("nan")
        rows.append({"step": step, "now": a, "before": b, "change": a - b})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Suggestion:
    by: str
    value: str
    step: str
    hours: float  # this group's median
    others: float  # the other groups' median
    ratio: float
    tickets: list[int]  # the tickets behind it, slowest first


def suggestions(frame: pd.DataFrame, *, by: str, limit: int = 5) -> list[Suggestion]:
    """Every (group, step) whose median is at least FACTOR times the other groups' together, with at least
    MIN_TICKETS tickets on both sides; the largest ratios first."""
    found = []
    for step in STEPS:
        data = frame[[by, "ticket", step]].dropna()
        for value, group in data.groupby(by):
            others = data[data[by] != value][step]
            if len(group) < MIN_TICKETS or len(others) < MIN_TICKETS:
                continue
            mine, rest = float(group[step].median()), float(others.median())
            if rest > 0 and mine >= FACTOR * rest:
                slowest = group.sort_values(step, ascending=False)["ticket"].astype(int).tolist()
                found.append(Suggestion(by, str(value), step, mine, rest, mine / rest, slowest))
    return sorted(found, key=lambda s: -s.ratio)[:limit]
