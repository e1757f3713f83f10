"""What the Service page reads: the queue, one ticket, and SLA analytics over the stored per-ticket results.

Every figure reads ticket_sla (kept current by writes and the tick), never recomputes clocks per page
load; the what-if replay is the one exception, and it says so: it replays stored events on purpose.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock, db, models as m, service_escalation as escalation, service_facts
from core.access import Viewer, holders, require, sees_whole_base
from core.errors import NotFound
from core.service import _events, calendar_of, targets_of
from core.sla_engine import METRICS, Targets, evaluate

T, R, C, U, E, P = (
    m.table(m.Ticket),
    m.table(m.TicketSla),
    m.table(m.Customer),
    m.table(m.User),
    m.table(m.TicketEvent),
    m.table(m.SlaPolicy),
)
DIMENSIONS = ("month", "priority", "kind", "category", "channel", "team", "agent")
STATE_ORDER = ("breached", "at_risk", "paused", "running", "met")  # "none": no clock running
AGE_BUCKETS = ((4, "lt_4h"), (24, "4_24h"), (72, "1_3d"), (168, "3_7d"), (None, "gt_7d"))


@dataclass(frozen=True)
class QueueFilter:
    priorities: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    assignee_ids: tuple[int, ...] = ()
    states: tuple[str, ...] = ()
    mine: bool = False
    escalating: bool = False  # only complaints likely to escalate (core.service_escalation)


QUEUE_COLUMNS = [
    "ticket",
    "version",
    "code",
    "customer",
    "kind",
    "category",
    "priority",
    "channel",
    "status",
    "team",
    "assignee",
    "created_at",
    "state",
    "clock",
    "next_due",
    "minutes_left",
    "escalation",
]


def queue(session: Session, viewer: Viewer, wanted: QueueFilter, *, now: datetime, limit: int = 500) -> pd.DataFrame:
    """Open tickets (resolved ones awaiting feedback too) by what is still actionable.

    Only running clocks count (a clock that finished breached is history, not work): each ticket is ordered
    by its deciding clock — breached ones first, the longest overdue first; then by the instant the next
    clock breaches; paused clocks and tickets with no running clock last. `clock` names that clock.
    """
    require(viewer, "page:service")
    open_statuses = (*m.OPEN_TICKET_STATUSES, "resolved")
    stmt = (
        select(
            T.c.id.label("ticket"),
            T.c.version,
            C.c.code,
            C.c.name.label("customer"),
            T.c.kind,
            T.c.category,
            T.c.priority,
            T.c.channel,
            T.c.status,
            T.c.team,
            U.c.display_name.label("assignee"),
            T.c.created_at,
            P.c.calendar_id,
        )
        .select_from(
            T.join(C, C.c.id == T.c.customer_id)
            .outerjoin(U, U.c.id == T.c.assignee_id)
            .outerjoin(P, P.c.id == T.c.policy_id)
        )
        .where(T.c.status.in_(open_statuses))
    )
    for column, values in (
        (T.c.priority, wanted.priorities),
        (T.c.kind, wanted.kinds),
        (T.c.category, wanted.categories),
        (T.c.channel, wanted.channels),
        (T.c.team, wanted.teams),
        (T.c.assignee_id, wanted.assignee_ids),
    ):
        if values:
            stmt = stmt.where(column.in_(values))
    if wanted.mine:
        stmt = stmt.where(T.c.assignee_id == viewer.user_id)
    tickets = pd.DataFrame(
        [dict(r) for r in session.execute(stmt.limit(20_000)).mappings()], columns=[*QUEUE_COLUMNS[:12], "calendar_id"]
    ).astype({"ticket": "int64"})
    # the running clocks of the same tickets (completed ones, met or breached, are not work any more)
    clocks = pd.DataFrame(
        db.tuples(
            session.execute(
                select(R.c.ticket_id, R.c.metric, R.c.state, R.c.due_at, R.c.breached_at).where(
                    R.c.completed_at.is_(None), R.c.state != "met", R.c.ticket_id.in_(stmt.with_only_columns(T.c.id))
                )
            )
        ),
        columns=["ticket", "clock", "state", "due_at", "breached_at"],
    ).astype({"ticket": "int64"})
    clocks["next_due"] = [
        b if s == "breached" and pd.notna(b) else (d if s != "paused" else pd.NaT)
        for s, b, d in zip(clocks["state"], clocks["breached_at"], clocks["due_at"])
    ]
    clocks["rank"] = [
        0 if s == "breached" else 2 if s == "paused" or pd.isna(d) else 1
        for s, d in zip(clocks["state"], clocks["next_due"])
    ]
    clocks["next_due"] = pd.to_datetime(clocks["next_due"])
    clocks["order"] = [
        METRICS.index(c) if c in METRICS else len(METRICS) for c in clocks["clock"]
    ]  # ties: the customer-facing clock
    deciding = clocks.sort_values(["rank", "next_due", "order"], kind="stable", na_position="last").drop_duplicates(
        "ticket"
    )[["ticket", "clock", "state", "next_due", "rank"]]
    frame = tickets.merge(deciding, on="ticket", how="left")
    frame["state"] = frame["state"].fillna("none")
    frame["rank"] = frame["rank"].fillna(3)
    if wanted.states:
        frame = frame[frame["state"].isin(wanted.states)]

    def still_open(rows: pd.DataFrame) -> list[int]:  # a resolved ticket awaiting feedback is not escalating
        return rows.loc[rows["status"].isin(m.OPEN_TICKET_STATUSES), "ticket"].tolist()

    flagged = escalation.flags(session, still_open(frame), now=now) if wanted.escalating else None
    if flagged is not None:
        frame = frame[frame["ticket"].isin(flagged["ticket"])]
    frame = frame.sort_values(["rank", "next_due", "ticket"], kind="stable", na_position="last").head(limit)
    if flagged is None:  # only the rows shown: the signals of every open ticket are not needed
        flagged = escalation.flags(session, still_open(frame), now=now)
    signals = flagged.set_index("ticket")["signals"]
    frame["escalation"] = [signals.get(t, ()) for t in frame["ticket"]]  # the signals' codes: the page names them
    calendars: dict[object, object] = {}

    def working_left(due_at: object, calendar_id: object) -> int | None:
        """Working minutes of the ticket's policy calendar from now to its next deadline (negative: overdue)."""
        if not pd.notna(due_at):
            return None
        if calendar_id not in calendars:
            calendars[calendar_id] = calendar_of(session, None if pd.isna(calendar_id) else int(calendar_id))  # type: ignore[call-overload]
        calendar = calendars[calendar_id]
        due: datetime = pd.Timestamp(due_at).to_pydatetime()
        if due >= now:
            return round(calendar.working_minutes(now, due))  # type: ignore[attr-defined]
        return -round(calendar.working_minutes(due, now))  # type: ignore[attr-defined]

    # only for the rows shown: per-row calendar arithmetic stays off the other open tickets
    frame["minutes_left"] = [working_left(d, c) for d, c in zip(frame["next_due"], frame["calendar_id"])]
    return frame[QUEUE_COLUMNS].reset_index(drop=True)


@dataclass
class TicketView:
    ticket: dict[str, object]
    events: pd.DataFrame
    sla: pd.DataFrame
    policy: dict[str, object] | None = None  # name and conditions (service.policy_label shows it)
    extra: dict[str, object] = field(default_factory=dict)


def ticket_view(session: Session, viewer: Viewer, ticket_id: int, *, now: datetime | None = None) -> TicketView:
    """One ticket as the desk works it; `extra` holds the customer's wait and, for a complaint likely to
    escalate, its signals and the words found."""
    require(viewer, "page:service")
    row = (
        session.execute(
            select(T, C.c.code, C.c.name.label("customer"), U.c.display_name.label("assignee"))
            .select_from(T.join(C, C.c.id == T.c.customer_id).outerjoin(U, U.c.id == T.c.assignee_id))
            .where(T.c.id == ticket_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("No such ticket.", key="service.no_ticket")
    events = pd.DataFrame(
        session.execute(
            select(E.c.at, E.c.action, E.c.from_status, E.c.to_status, E.c.note, U.c.display_name.label("by"))
            .select_from(E.outerjoin(U, U.c.id == E.c.user_id))
            .where(E.c.ticket_id == ticket_id)
            .order_by(E.c.at, E.c.id)
        )
        .mappings()
        .all(),
        columns=["at", "action", "from_status", "to_status", "note", "by"],
    )
    times = session.execute(
        select(R.c.wait_minutes, R.c.agent_minutes).where(R.c.ticket_id == ticket_id, R.c.metric == "resolution")
    ).first()
    sla = pd.DataFrame(
        session.execute(
            select(
                R.c.metric,
                R.c.state,
                R.c.target_minutes,
                R.c.elapsed_minutes,
                R.c.due_at,
                R.c.completed_at,
                R.c.breached_at,
            ).where(R.c.ticket_id == ticket_id)
        )
        .mappings()
        .all(),
        columns=["metric", "state", "target_minutes", "elapsed_minutes", "due_at", "completed_at", "breached_at"],
    )
    policy = (
        session.execute(select(P.c.name, P.c.kind, P.c.priority, P.c.tier).where(P.c.id == row["policy_id"]))
        .mappings()
        .first()
        if row["policy_id"]
        else None
    )
    extra: dict[str, object] = (
        {"wait_minutes": times.wait_minutes, "agent_minutes": times.agent_minutes} if times else {}
    )
    flagged = escalation.flags(session, [ticket_id], now=now or clock.now())
    if not flagged.empty and row["status"] in m.OPEN_TICKET_STATUSES:
        extra.update(escalation=flagged.iloc[0]["signals"], words=flagged.iloc[0]["words"])
    return TicketView(dict(row), events, sla, dict(policy) if policy else None, extra)


# --- analytics over ticket_sla ----------------------------------------------------------------------


def _dimension(name: str):  # type: ignore[no-untyped-def]
    return {
        "priority": T.c.priority,
        "kind": T.c.kind,
        "category": T.c.category,
        "channel": T.c.channel,
        "team": T.c.team,
        "agent": U.c.display_name,
    }[name]


def compliance(
    session: Session, viewer: Viewer, *, metric: str, by: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """% met and failures of `metric` for outcomes known in [start, end), grouped by a dimension ('month'
    too): whole days from service_day_facts, the partial first and last days from the outcomes."""
    require(viewer, "page:service")
    counted = service_facts.counts(
        session, measure="sla", dim="all" if by == "month" else by, start=start, end=end, by_month=by == "month"
    )
    counted = counted[counted["metric"] == metric]
    if by == "month":
        counted = counted.assign(value=counted["month"])
    elif by == "agent":
        counted = counted.assign(value=service_facts.agent_names(session, counted["value"]))
    frame = (
        counted.assign(value=counted["value"].replace("", None))
        .groupby("value", dropna=False, as_index=False)[["a", "b"]]
        .sum()
        .rename(columns={"a": "met", "b": "breached"})
    )
    frame = frame[frame["met"] + frame["breached"] > 0]
    if frame.empty:
        return pd.DataFrame(columns=["value", "met", "breached", "total", "rate"])
    frame["value"] = frame["value"].fillna("—")
    frame[["met", "breached"]] = frame[["met", "breached"]].astype(int)
    frame["total"] = frame["met"] + frame["breached"]
    frame["rate"] = frame["met"] / frame["total"]
    return frame.sort_values("value" if by == "month" else "rate").reset_index(drop=True)


def _at_rank(minutes: np.ndarray, clocks: np.ndarray, share: float) -> float | None:
    """The value at rank ⌈share·n⌉ of a histogram (each minute with the clocks that took it)."""
    order = minutes.argsort()
    ranks = clocks[order].cumsum()
    if not len(ranks) or not ranks[-1]:
        return None
    return float(minutes[order][ranks.searchsorted(math.ceil(share * ranks[-1]))])


def times(session: Session, viewer: Viewer, *, start: datetime, end: datetime) -> dict[str, dict[str, float | None]]:
    """Median and 90th percentile of first-response and resolution times (whole working minutes of each ticket's
    calendar, nearest rank: the value at rank ⌈p·n⌉) for clocks completed in [start, end), from the per-day
    counts of each minute taken (service_day_facts)."""
    require(viewer, "page:service")
    taken = service_facts.counts(session, measure="minutes", dim="minute", start=start, end=end)
    out = {}
    for metric in service_facts.TIMED:
        counted = taken[(taken["metric"] == metric) & (taken["a"] > 0)]
        minutes, clocks = counted["value"].astype(int).to_numpy(), counted["a"].to_numpy()
        out[metric] = {
            "median": _at_rank(minutes, clocks, 0.5),
            "p90": _at_rank(minutes, clocks, 0.9),
            "n": float(clocks.sum()),
        }
    return out


def backlog(session: Session, viewer: Viewer, *, now: datetime) -> pd.DataFrame:
    """Open tickets by age bucket and priority."""
    require(viewer, "page:service")
    rows = db.tuples(
        session.execute(select(T.c.created_at, T.c.priority).where(T.c.status.in_(m.OPEN_TICKET_STATUSES)))
    )
    frame = pd.DataFrame(rows, columns=["created_at", "priority"])
    hours = [(now - c).total_seconds() / 3600 for c in frame["created_at"]]
    frame["age"] = [next(label for limit, label in AGE_BUCKETS if limit is None or h < limit) for h in hours]
    return frame.groupby(["age", "priority"]).size().rename("tickets").reset_index()


@dataclass(frozen=True)
class Rates:
    resolved: int
    reopened: int
    complaints: int
    complaints_resolved: int
    active_customers: int | None = None  # None: the viewer's scope is not the whole customer base

    @property
    def complaint_rate(self) -> float | None:
        """Complaints created in the period per 1,000 customers active now (for viewers who see them all)."""
        return 1000 * self.complaints / self.active_customers if self.active_customers else None

    @property
    def reopen_rate(self) -> float | None:
        return self.reopened / self.resolved if self.resolved else None

    @property
    def resolution_rate(self) -> float | None:
        return self.complaints_resolved / self.complaints if self.complaints else None


def rates(session: Session, viewer: Viewer, *, start: datetime, end: datetime) -> Rates:
    """Re-open rate (tickets resolved in the period that were ever re-opened) and the complaint resolution
    rate (complaints created in the period that are resolved or closed by now). The complaint rate's
    denominator counts every active customer, so only roles without a row-level limit get it."""
    require(viewer, "page:service")
    handled = service_facts.counts(session, measure="handled", dim="all", start=start, end=end)
    complaints = service_facts.counts(session, measure="complaints", dim="all", start=start, end=end)
    resolved, reopened = int(handled["a"].sum()), int(handled["b"].sum())
    created, done = int(complaints["a"].sum()), int(complaints["b"].sum())
    active = (
        int(session.scalar(select(func.count()).select_from(C).where(C.c.status == "active")) or 0)
        if sees_whole_base(viewer)
        else None
    )
    return Rates(resolved, reopened, created, done, active)


def top_categories(session: Session, viewer: Viewer, *, start: datetime, end: datetime) -> pd.DataFrame:
    """Complaints per category and month over [start, end), for the trend chart (grouped in the database)."""
    require(viewer, "page:service")
    counted = service_facts.counts(session, measure="complaints", dim="category", start=start, end=end, by_month=True)
    counted = counted[counted["a"] > 0]
    return pd.DataFrame(
        {"month": counted["month"], "category": counted["value"].replace("", None), "complaints": counted["a"]}
    ).reset_index(drop=True)


def tickets_behind(
    session: Session,
    viewer: Viewer,
    *,
    metric: str,
    by: str,
    value: str,
    start: datetime,
    end: datetime,
    state: str | None = None,
) -> pd.DataFrame:
    """The tickets behind one bar of `compliance` (click-through)."""
    require(viewer, "page:service")
    stmt = (
        select(
            T.c.id.label("ticket"),
            T.c.kind,
            T.c.category,
            T.c.priority,
            T.c.channel,
            T.c.team,
            U.c.display_name.label("agent"),
            R.c.state,
            R.c.elapsed_minutes,
            R.c.target_minutes,
            R.c.known_at,
        )
        .select_from(R.join(T, T.c.id == R.c.ticket_id).outerjoin(U, U.c.id == T.c.assignee_id))
        .where(R.c.metric == metric, R.c.known_at >= start, R.c.known_at < end)
    )
    if state:
        stmt = stmt.where(R.c.state == state)
    frame = pd.DataFrame(session.execute(stmt).mappings().all())
    if frame.empty:
        return frame
    key = pd.to_datetime(frame["known_at"]).dt.strftime("%Y-%m") if by == "month" else frame[by].fillna("—")
    return frame[key == value].reset_index(drop=True)


# --- beyond what help desks offer -------------------------------------------------------------------------


def what_if(
    session: Session, viewer: Viewer, minutes: dict[str, float], *, start: datetime, end: datetime, limit: int = 20_000
) -> pd.DataFrame:
    """Replay the stored events of tickets whose clocks finished in [start, end) under other targets:
    per metric, how many breached with the policy they had, and how many would have with `minutes`."""
    require(viewer, "page:service")
    ids = session.scalars(
        select(R.c.ticket_id)
        .where(R.c.metric.in_(list(minutes)), R.c.known_at >= start, R.c.known_at < end)
        .distinct()
        .limit(limit)
    ).all()
    actual = pd.DataFrame(
        db.tuples(
            session.execute(
                select(R.c.ticket_id, R.c.metric, R.c.state).where(
                    R.c.ticket_id.in_(ids), R.c.metric.in_(list(minutes))
                )
            )
        ),
        columns=["ticket_id", "metric", "state"],
    )
    policies = {r["id"]: dict(r) for r in session.execute(select(P)).mappings()}
    calendars: dict[object, object] = {}
    tickets = dict(session.execute(select(T.c.id, T.c.policy_id).where(T.c.id.in_(ids))).all())
    replayed = []
    for ticket_id in ids:
        policy = policies[tickets[ticket_id]]
        if policy["calendar_id"] not in calendars:
            calendars[policy["calendar_id"]] = calendar_of(session, policy["calendar_id"])
        base = targets_of(policy)
        targets = Targets({**base.minutes, **minutes}, base.warn_share, base.warn_offset_minutes)
        result = evaluate(_events(session, ticket_id), targets, calendars[policy["calendar_id"]], end)  # type: ignore[arg-type]
        for metric in minutes:
            if metric in result.metrics:
                replayed.append({"ticket_id": ticket_id, "metric": metric, "state": result.metrics[metric].state})
    would = pd.DataFrame(replayed, columns=["ticket_id", "metric", "state"])
    summary = []
    for metric in minutes:
        a, w = actual[actual["metric"] == metric], would[would["metric"] == metric]
        summary.append(
            {
                "metric": metric,
                "tickets": len(a),
                "breached_actual": int((a["state"] == "breached").sum()),
                "breached_what_if": int((w["state"] == "breached").sum()),
            }
        )
    return pd.DataFrame(summary, columns=["metric", "tickets", "breached_actual", "breached_what_if"])


def pause_abuse(
    session: Session, viewer: Viewer, *, start: datetime, end: datetime, near_deadline_share: float = 0.9
) -> pd.DataFrame:
    """Tickets paused as 'waiting on the customer' right after the customer had written (no agent reply in
    between), or paused twice or more once `near_deadline_share` of the resolution target had passed since
    creation (wall-clock: a screening heuristic that points at tickets to read, not a verdict)."""
    require(viewer, "page:service")
    ids = select(T.c.id).where(T.c.created_at >= start, T.c.created_at < end)
    rows = session.execute(
        select(E.c.ticket_id, E.c.at, E.c.action).where(E.c.ticket_id.in_(ids)).order_by(E.c.ticket_id, E.c.at, E.c.id)
    ).all()
    targets = dict(
        session.execute(
            select(R.c.ticket_id, R.c.target_minutes).where(R.c.metric == "resolution", R.c.ticket_id.in_(ids))
        ).all()
    )
    findings: dict[int, dict[str, object]] = {}
    last: dict[int, str] = {}
    created: dict[int, datetime] = {}
    for ticket_id, at, action in rows:
        if action == "created":
            created[ticket_id] = at
        if action == "wait":
            entry = findings.setdefault(ticket_id, {"ticket": ticket_id, "after_customer_message": 0, "late_pauses": 0})
            if last.get(ticket_id) in ("customer_message", "customer_reply"):
                entry["after_customer_message"] = int(entry["after_customer_message"]) + 1  # type: ignore[call-overload]
            target = targets.get(ticket_id)
            if (
                target
                and ticket_id in created
                and (at - created[ticket_id]).total_seconds() / 60 >= near_deadline_share * target
            ):
                entry["late_pauses"] = int(entry["late_pauses"]) + 1  # type: ignore[call-overload]
        last[ticket_id] = action or ""
    flagged = [f for f in findings.values() if f["after_customer_message"] or int(f["late_pauses"]) >= 2]  # type: ignore[call-overload]
    return pd.DataFrame(flagged, columns=["ticket", "after_customer_message", "late_pauses"])


def teams(session: Session, viewer: Viewer) -> list[str]:
    """Teams that hold tickets (the queue's team filter)."""
    require(viewer, "page:service")
    return [t for t in session.scalars(select(T.c.team).distinct().order_by(T.c.team)) if t]


def agents(session: Session, viewer: Viewer) -> dict[int, str]:
    """Who tickets can be assigned to: active service-desk users, by name."""
    require(viewer, "page:service")
    return dict(
        session.execute(
            select(U.c.id, U.c.display_name)
            .where(U.c.role.in_(holders("tickets:work")), U.c.active.is_(True))
            .order_by(U.c.display_name)
        ).all()
    )
