"""The one owner of service_day_facts: the Service page's additive figures per display-zone day.

A year of SLA outcomes is about 3 million rows at 1,000,000 customers, and every breakdown of the Service page
(compliance by month, priority, kind, category, channel, team or agent; agent and team performance; re-open and
complaint resolution rates; complaints by category) used to join them to tickets on every view. Each figure is
a sum, so it is kept per day and dimension value: a year is a few thousand rows. Every measure is defined once,
as an aggregate over a half-open time range (`_select`), and serves three uses, so a summarised figure cannot
drift from the raw one:
- rebuild: every day, grouped by each dimension (seed, import, a store from before this table);
- refresh: the days a write touched (`tickets_changing`, around every write to tickets or their SLA results);
- read: whole days from the summary, the partial first and last days of a period from the raw rows.

Days are the display zone's (core.clock), as the page's months are; the zone and the version of the definitions
they were built with are recorded, and a store read in another zone or built by older definitions is read raw
until it is rebuilt (on the next start).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Float, Integer, String, cast, delete, func, literal, select
from sqlalchemy.orm import Session

from core import clock, db, models as m
from core.db import count_if, period_bucket, whole_number

T, R, F = m.table(m.Ticket), m.table(m.TicketSla), m.table(m.ServiceDayFact)
CLOCKS = ("first_response", "accept", "analyse", "resolution", "feedback")
TIMED = ("first_response", "resolution")  # the clocks whose working minutes the page takes the median of
DONE_STATUSES = ("resolved", "closed")
# measure -> the time it is counted at, and the dimensions it is kept by ("all": one row a day)
MEASURES: dict[str, tuple[Any, tuple[str, ...]]] = {
    "sla": (R.c.known_at, ("all", "priority", "kind", "category", "channel", "team", "agent")),  # a met, b breached
    "handled": (T.c.resolved_at, ("all", "agent", "team")),  # a resolved, b of them ever re-opened
    "csat": (T.c.feedback_at, ("category", "agent", "team")),  # a ratings, b of them 4 or 5, s their sum
    "complaints": (T.c.created_at, ("all", "category")),  # a created, b resolved or closed by now
    "minutes": (R.c.completed_at, ("minute",)),  # a clocks completed per whole working minute taken (TIMED)
}
BUILT_KEY = "service_facts_built"  # app_meta: the definitions and display zone the days were built with
DEFINITIONS = 2  # one more whenever MEASURES or a measure's select changes: stores rebuild on their next start
PENDING = "service_facts_days"  # session info: days to summarise again when the outermost change ends
DEPTH = "service_facts_depth"


def _dimension(dim: str) -> Any:
    column = {
        "priority": T.c.priority,
        "kind": T.c.kind,
        "category": T.c.category,
        "channel": T.c.channel,
        "team": T.c.team,
        "agent": T.c.assignee_id,
        "minute": whole_number(R.c.elapsed_minutes),
    }.get(dim)
    return literal("") if column is None else func.coalesce(cast(column, String(64)), "")


def _select(measure: str, dim: str, start: datetime | None, end: datetime | None, *, bucket: str | None) -> Any:
    """One measure over [start, end) grouped by `dim`'s value (and by day 'D' or month 'M'): columns metric,
    value, [bucket,] a, b, s. The single definition of each figure."""
    at, _ = MEASURES[measure]
    value = _dimension(dim).label("value")
    a: Any
    b: Any
    s: Any
    metric: Any
    source: Any
    where: list[Any]
    if measure == "minutes":  # the covering (metric, completed_at, elapsed_minutes) index alone
        metric, source = R.c.metric, R
        a, b, s = func.count(), literal(0), literal(0.0)
        where = [R.c.metric.in_(TIMED), at.is_not(None)]
    elif measure == "sla":
        metric = R.c.metric
        source = R.join(T, T.c.id == R.c.ticket_id)
        a, b, s = count_if(R.c.state == "met"), count_if(R.c.state == "breached"), literal(0.0)
        where = [R.c.metric.in_(CLOCKS), R.c.state.in_(("met", "breached"))]
    else:
        metric, source = literal(""), T
        where = [at.is_not(None)]
        if measure == "handled":
            a, b, s = func.count(), count_if(T.c.reopened > 0), literal(0.0)
        elif measure == "csat":
            a, b, s = func.count(T.c.csat), count_if(T.c.csat >= 4), func.sum(T.c.csat)
            where.append(T.c.csat.is_not(None))
        else:
            a, b, s = func.count(), count_if(T.c.status.in_(DONE_STATUSES)), literal(0.0)
            # through the time's index: SQLite would otherwise walk every complaint by the kind's index
            where.append(func.coalesce(T.c.kind, "") == "complaint")
    if start is not None:
        where.append(at >= start)
    if end is not None:
        where.append(at < end)
    keys = [metric.label("metric"), value]
    if bucket:
        keys.append(period_bucket(at, bucket).label("bucket"))
    return (
        select(*keys, a.label("a"), cast(b, Integer).label("b"), cast(s, Float).label("s"))
        .select_from(source)
        .where(*where)
        .group_by(*keys)
    )


# --- rebuild and refresh ----------------------------------------------------------------------------------------


def _fill(session: Session, start: datetime | None, end: datetime | None) -> None:
    """Insert every measure's rows of the days in [start, end) (all days when open), one statement per dimension."""
    for measure, (_, dims) in MEASURES.items():
        for dim in dims:
            rows = _select(measure, dim, start, end, bucket="D").subquery()
            session.execute(
                F.insert().from_select(
                    ["measure", "metric", "dim", "value", "day", "a", "b", "s"],
                    select(
                        literal(measure),
                        rows.c.metric,
                        literal(dim),
                        rows.c.value,
                        rows.c.bucket,
                        rows.c.a,
                        func.coalesce(rows.c.b, 0),
                        func.coalesce(rows.c.s, 0.0),
                    ),
                )
            )


def rebuild(session: Session) -> None:
    """Every day of every measure again from the raw rows (seed, import, `python -m core refresh`, a new zone)."""
    session.execute(delete(F))
    _fill(session, None, None)
    from core import facts  # facts owns app_meta's helpers

    facts.set_meta(session, BUILT_KEY, _built_as())
    db.analyze(session, [F])


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min)


def _refresh(session: Session, days: Iterable[date]) -> None:
    """The given days summarised again, each run of consecutive days with one statement per dimension."""
    ordered = sorted(set(days))
    runs: list[list[date]] = []
    for day in ordered:
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    for run in runs:
        first, last = run[0], run[-1]
        session.execute(delete(F).where(F.c.day >= first.isoformat(), F.c.day <= last.isoformat()))
        _fill(session, _midnight(first), _midnight(last + timedelta(days=1)))


def _days_of(session: Session, ticket_ids: list[int]) -> set[date]:
    """The days these tickets count on now: each measure's time, on the ticket or on its SLA results."""
    times = {at for at, _ in MEASURES.values()}
    days: set[date] = set()
    for start in range(0, len(ticket_ids), 500):
        part = ticket_ids[start : start + 500]
        for at in times:
            key = T.c.id if at.table is T else R.c.ticket_id
            days |= {v.date() for v in session.scalars(select(at).where(key.in_(part), at.is_not(None)))}
    return days


@contextmanager
def tickets_changing(session: Session, ticket_ids: Iterable[int]) -> Iterator[None]:
    """Around any write to these tickets or their SLA results: the days they counted on before and after are
    summarised again when the outermost such change ends (a tick over many tickets refreshes once)."""
    ids = sorted({int(i) for i in ticket_ids})
    pending: set[date] = session.info.setdefault(PENDING, set())
    pending |= _days_of(session, ids)
    session.info[DEPTH] = session.info.get(DEPTH, 0) + 1
    try:
        yield
    except BaseException:
        session.info[DEPTH] -= 1
        if not session.info[DEPTH]:
            session.info.pop(PENDING, None)  # the write is rolled back: nothing to summarise
        raise
    pending |= _days_of(session, ids)
    session.info[DEPTH] -= 1
    if not session.info[DEPTH]:
        days = session.info.pop(PENDING)
        if days and _current(session):
            _refresh(session, days)


def _current(session: Session) -> bool:
    """Whether the days were built in the display zone read now (otherwise every read is raw until a rebuild)."""
    from core import facts

    return facts.get_meta(session, BUILT_KEY) == _built_as()


def _built_as() -> str:
    return f"{DEFINITIONS} {clock.zone().name}"


def needs_rebuild(session: Session) -> bool:
    """A new store, one from before this table, or one whose days were built in another display zone or by older
    definitions (until it is rebuilt, writes leave the table alone and every figure is read raw)."""
    return not _current(session)


# --- reading -------------------------------------------------------------------------------------------------


def _metrics(measure: str) -> tuple[str, ...]:
    return {"sla": CLOCKS, "minutes": TIMED}.get(measure, ("",))


def _whole_days(start: datetime, end: datetime) -> tuple[date, date] | None:
    """The whole days inside [start, end): [first, last) as dates, or None when there is none."""
    first = start.date() if start == _midnight(start.date()) else start.date() + timedelta(days=1)
    last = end.date()
    return (first, last) if first < last else None


def counts(
    session: Session,
    *,
    measure: str,
    dim: str,
    start: datetime,
    end: datetime,
    by_month: bool = False,
    summary: bool = True,
) -> pd.DataFrame:
    """One measure over [start, end) by `dim`'s value ('' for none), per metric and, with `by_month`, per month
    ('YYYY-MM'): columns metric, value, month, a, b, s. Whole days from the summary and the partial first and
    last days from the raw rows; everything raw with `summary=False` (what the tests compare with)."""
    bucket = "M" if by_month else None
    parts: list[tuple[Any, ...]] = []
    inner = _whole_days(start, end) if summary and _current(session) else None
    edges = [(start, end)]
    if inner is not None:
        first, last = _midnight(inner[0]), _midnight(inner[1])
        edges = [(low, high) for low, high in ((start, first), (last, end)) if low < high]
        keys = [F.c.metric, F.c.value, func.substr(F.c.day, 1, 7) if by_month else literal("")]
        stmt = (
            select(*keys, func.sum(F.c.a), func.sum(F.c.b), func.sum(F.c.s))
            .where(
                F.c.measure == measure,
                F.c.metric.in_(_metrics(measure)),  # the key's second column: one index range each
                F.c.dim == dim,
                F.c.day >= inner[0].isoformat(),
                F.c.day < inner[1].isoformat(),
            )
            .group_by(*keys)
        )
        parts += db.tuples(session.execute(stmt))
    for low, high in edges:
        raw = _select(measure, dim, low, high, bucket=bucket).subquery()
        month = raw.c.bucket if by_month else literal("")
        parts += db.tuples(session.execute(select(raw.c.metric, raw.c.value, month, raw.c.a, raw.c.b, raw.c.s)))
    frame = pd.DataFrame(parts, columns=["metric", "value", "month", "a", "b", "s"])
    frame[["a", "b"]] = frame[["a", "b"]].apply(pd.to_numeric).fillna(0).astype(int)
    frame["s"] = pd.to_numeric(frame["s"]).astype(float).fillna(0.0)
    return frame.groupby(["metric", "value", "month"], as_index=False)[["a", "b", "s"]].sum()


def agent_names(session: Session, values: pd.Series) -> pd.Series:
    """The agent dimension's values (user ids as text) as the names people know them by ('' for none)."""
    ids = sorted({int(v) for v in values if v})
    U = m.table(m.User)
    names = dict(session.execute(select(U.c.id, U.c.display_name).where(U.c.id.in_(ids))).all()) if ids else {}
    return values.map(lambda v: str(names.get(int(v)) or "") if v else "")
