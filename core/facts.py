"""Summary tables: the one owner of period_facts, customer_stats and segment_facts.

Every measure is defined once, as an aggregate over a half-open date range [start, end) that may be
grouped by the customer dimensions (region, industry, kind, owner). The same definitions serve three
uses, so a summarised figure cannot drift from the raw one:
- rebuild: each calendar month, quarter and year, grouped by dimensions, stored in period_facts;
- refresh: the periods from a given day onward for one dimension combination (write paths);
- live: any custom range with the viewer's filters, straight from the raw tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    DateTime,
    FromClause,
    Select,
    Table,
    and_,
    case,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from core import clock, db, models as m
from core.access import scope
from core.db import bulk_insert, count_if, day_number, period_bucket, raw_frame, row_batches
from core.periods import GRAINS, Filters, Period, period_containing, periods_between

DIMS = ("region", "industry", "kind", "owner_id")
MEASURES = (
    "active_start",
    "active_end",
    "ltv_revenue",
    "new_customers",
    "churned_customers",
    "churned_lifetime_revenue",
    "revenue",
    "orders",
    "buyers",
    "repeat_buyers",
    "leads_created",
    "leads_converted",
    "leads_disqualified",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    "csat_ratings",
    "csat_satisfied",
    "complaints_created",
)
Measures = dict[str, float]

C, O, L = m.table(m.Customer), m.table(m.Order), m.table(m.Lead)
T, N = m.table(m.Ticket), m.table(m.NpsResponse)
F, S, SEG = m.table(m.PeriodFact), m.table(m.CustomerStat), m.table(m.SegmentFact)
CV = m.table(m.CustomerValue)


@dataclass(frozen=True)
class DimKey:
    """One exact combination of dimensions (None matches NULL), for refreshing after a write."""

    region: str | None
    industry: str | None
    kind: str | None
    owner_id: int | None


def _at(d: date) -> datetime:
    return datetime.combine(d, time())


def _at_key(stmt: Any, table: Table, key: DimKey) -> Any:
    """Restrict a statement to one exact dimension key (None matches NULL)."""
    for column in DIMS:
        value = getattr(key, column)
        stmt = stmt.where(table.c[column].is_(None) if value is None else table.c[column] == value)
    return stmt


def _active_at(day: date):  # type: ignore[no-untyped-def]
    """Active at the start of `day`: became a customer before it and not churned before it."""
    return and_(C.c.became_customer_date < day, or_(C.c.churned_date.is_(None), C.c.churned_date >= day))


@dataclass(frozen=True)
class Family:
    """Additive measures of rows whose `date_column` falls in a period, keyed by `dim_table`'s dimensions."""

    dim_table: Table
    source: FromClause
    date_column: ColumnElement
    measures: tuple[Callable[[], ColumnElement], ...]
    where: tuple[ColumnElement, ...] = ()

    def in_range(self, start: date, end: date) -> list[ColumnElement]:
        if isinstance(self.date_column.type, (DateTime, m.UtcDateTime)):
            return [self.date_column >= _at(start), self.date_column < _at(end)]
        return [self.date_column >= start, self.date_column < end]


FAMILIES: tuple[Family, ...] = (
    Family(C, C, C.c.became_customer_date, (lambda: func.count().label("new_customers"),)),
    Family(C, C, C.c.churned_date, (lambda: func.count().label("churned_customers"),)),
    # lifetime revenue of customers who churned in the period: subtracted from cumulative revenue for LTV
    Family(
        C,
        C.join(O, O.c.customer_id == C.c.id),
        C.c.churned_date,
        (lambda: func.sum(O.c.amount).label("churned_lifetime_revenue"),),
    ),
    Family(
        L,
        L,
        L.c.created_at,
        (
            lambda: func.count().label("leads_created"),
            lambda: count_if(L.c.status == "converted").label("leads_converted"),
            lambda: count_if(L.c.status == "disqualified").label("leads_disqualified"),
        ),
    ),
    Family(
        C,
        C.join(N, N.c.customer_id == C.c.id),
        N.c.responded_at,
        (
            lambda: func.count().label("nps_responses"),
            lambda: count_if(N.c.score >= 9).label("nps_promoters"),
            lambda: count_if(N.c.score <= 6).label("nps_detractors"),
        ),
    ),
    Family(
        C,
        C.join(T, T.c.customer_id == C.c.id),
        T.c.feedback_at,
        (lambda: func.count().label("csat_ratings"), lambda: count_if(T.c.csat >= 4).label("csat_satisfied")),
        (T.c.csat.is_not(None),),
    ),
    Family(
        C,
        C.join(T, T.c.customer_id == C.c.id),
        T.c.created_at,
        (lambda: func.count().label("complaints_created"),),
        (T.c.kind == "complaint",),
    ),
)
ORDER_MEASURES = ("revenue", "orders", "buyers", "repeat_buyers")
ACTIVE_MEASURES = ("active_start", "active_end", "ltv_revenue")  # point-in-time: not summed over months
DISTINCT_MEASURES = ("buyers", "repeat_buyers")  # not additive across months: computed per grain


def _dims(table) -> list[ColumnElement]:  # type: ignore[no-untyped-def]
    return [table.c[d] for d in DIMS]


def _range_selects(start: date, end: date, *, grouped: bool, with_ltv: bool = True) -> list[tuple[Select, Table]]:
    """Every measure over [start, end): one statement per family, optionally grouped by dimensions.

    `with_ltv=False` leaves out ltv_revenue, the one measure that reads all history (see ltv_revenue_at).
    """
    families = _family_selects(start, end, grouped=grouped)
    return families + _customer_selects(start, end, grouped=grouped, with_ltv=with_ltv)


def _family_selects(start: date, end: date, *, grouped: bool) -> list[tuple[Select, Table]]:
    """The families' additive measures over [start, end), one statement each."""
    statements: list[tuple[Select, Table]] = []
    for family in FAMILIES:
        stmt = (
            select(*(_dims(family.dim_table) if grouped else []), *(make() for make in family.measures))
            .select_from(family.source)
            .where(*family.where, *family.in_range(start, end))
        )
        statements.append((stmt.group_by(*_dims(family.dim_table)) if grouped else stmt, family.dim_table))
    return statements


def _customer_selects(start: date, end: date, *, grouped: bool, with_ltv: bool) -> list[tuple[Select, Table]]:
    """The measures read per customer over [start, end): orders and buyers, the active counts at both ends, LTV."""
    per_customer = (
        select(O.c.customer_id, func.count().label("n"), func.sum(O.c.amount).label("r"))
        .where(O.c.order_date >= start, O.c.order_date < end)
        .group_by(O.c.customer_id)
        .subquery()
    )
    orders = select(
        *(_dims(C) if grouped else []),
        func.sum(per_customer.c.r).label("revenue"),
        func.sum(per_customer.c.n).label("orders"),
        func.count().label("buyers"),
        count_if(per_customer.c.n >= 2).label("repeat_buyers"),
    ).select_from(C.join(per_customer, per_customer.c.customer_id == C.c.id))
    active = select(
        *(_dims(C) if grouped else []),
        count_if(_active_at(start)).label("active_start"),
        count_if(_active_at(end)).label("active_end"),
    ).select_from(C)
    # revenue before `end` of the customers active at `end`: numerator of historical LTV
    ltv = (
        select(*(_dims(C) if grouped else []), func.sum(O.c.amount).label("ltv_revenue"))
        .select_from(C.join(O, O.c.customer_id == C.c.id))
        .where(O.c.order_date < end, _active_at(end))
    )
    chosen = (orders, active, ltv) if with_ltv else (orders, active)
    return [(stmt.group_by(*_dims(C)) if grouped else stmt, C) for stmt in chosen]


def _number(value: Any) -> float:
    return float(value) if value is not None else 0.0


def live_measures(session: Session, period: Period, filters: Filters, *, with_ltv: bool = True) -> Measures:
    """Every measure for any date range, computed from the raw tables (custom periods, and the reference
    the summary tests compare with)."""
    result: Measures = dict.fromkeys(MEASURES, 0.0)
    for stmt, dim_table in _range_selects(period.start, period.end, grouped=False, with_ltv=with_ltv):
        row = session.execute(scope(stmt, dim_table, filters)).mappings().one()
        result.update({k: _number(v) for k, v in row.items()})
    return result


def range_measures(session: Session, period: Period, filters: Filters) -> Measures:
    """Every measure of any date range, equal to `live_measures`, reading as few raw rows as it can: the
    families' measures of the whole months inside the range from period_facts and only the days before and
    after them live; the orders and buyers (distinct over the whole range) and the customers active at its two
    edges live in one pass each, and the LTV at its end from the month summary (see ltv_revenue_at)."""
    inner_start = period_containing(period.start, "M").start
    if inner_start < period.start:
        inner_start = period_containing(period.start, "M").end
    inner_end = period_containing(period.end, "M").start
    statements = _customer_selects(period.start, period.end, grouped=False, with_ltv=False)
    if inner_end <= inner_start:  # no whole month inside: the families live too
        statements += _family_selects(period.start, period.end, grouped=False)
    else:  # the days before and after the whole months, where there are any
        for start, end in ((period.start, inner_start), (inner_end, period.end)):
            if start < end:
                statements += _family_selects(start, end, grouped=False)
    result: Measures = dict.fromkeys(MEASURES, 0.0)
    if inner_start < inner_end:
        families = [n for n in MEASURES if n not in (*ACTIVE_MEASURES, *ORDER_MEASURES)]
        months = select(*(func.sum(F.c[n]).label(n) for n in families)).where(
            F.c.grain == "M", F.c.period_start >= inner_start, F.c.period_start < inner_end
        )
        statements.append((months, F))
    for stmt, dim_table in statements:
        for k, v in session.execute(scope(stmt, dim_table, filters)).mappings().one().items():
            result[k] += _number(v)
    result["ltv_revenue"] = ltv_revenue_at(session, period.end, filters)
    return result


def ltv_revenue_at(session: Session, end: date, filters: Filters) -> float:
    """Revenue before `end` of the customers active at `end`, for any day, without reading all history.

    The month summary ending at the first day M of end's month gives the figure at M; customers who
    churned in [M, end) take their revenue before M with them; orders in [M, end) of customers active
    at `end` are added (customers who became customers after M had no orders before M).
    """
    month = period_containing(end, "M")
    base_stmt = select(func.sum(F.c.ltv_revenue)).where(F.c.grain == "M", F.c.period_start == month.previous().start)
    base = _number(session.scalar(scope(base_stmt, F, filters)))
    if end == month.start:
        return base
    left = (
        select(func.sum(O.c.amount))
        .select_from(C.join(O, O.c.customer_id == C.c.id))
        .where(C.c.churned_date >= month.start, C.c.churned_date < end, O.c.order_date < month.start)
    )
    added = (
        select(func.sum(O.c.amount))
        .select_from(C.join(O, O.c.customer_id == C.c.id))
        .where(O.c.order_date >= month.start, O.c.order_date < end, _active_at(end))
    )
    return base - _number(session.scalar(scope(left, C, filters))) + _number(session.scalar(scope(added, C, filters)))


# --- period_facts ---------------------------------------------------------------------------------


def _first_data_day(session: Session) -> date | None:
    candidates = [
        session.scalar(select(func.min(O.c.order_date))),
        session.scalar(select(func.min(C.c.became_customer_date))),
        session.scalar(select(func.min(L.c.created_at))),
        session.scalar(select(func.min(N.c.responded_at))),
        session.scalar(select(func.min(T.c.created_at))),
    ]
    days = [c.date() if isinstance(c, datetime) else c for c in candidates if c is not None]
    return min(days) if days else None


def _insert_facts(session: Session, frame: pd.DataFrame) -> int:
    # one period's rows stored together: the cockpit reads a period (or a run of months) at a time
    frame = frame[(frame[list(MEASURES)] != 0).any(axis=1)].sort_values(["grain", "period_start"], kind="stable")
    columns: dict[str, object] = {"grain": frame["grain"].tolist(), "period_start": frame["period_start"].tolist()}
    for name in DIMS:
        columns[name] = [None if pd.isna(v) else (int(v) if name == "owner_id" else v) for v in frame[name]]
    for name in MEASURES:
        columns[name] = frame[name].astype(float).to_numpy()
    columns["refreshed_at"] = [clock.now().replace(microsecond=0)] * len(frame)
    return bulk_insert(session.connection(), F, columns)


def _bucket_frame(session: Session, stmt: Select) -> pd.DataFrame:
    frame = raw_frame(session, stmt)
    if frame.empty:
        return frame
    buckets = frame.pop("bucket")
    first_days = {b: date(int(b[:4]), int(b[5:7]), 1) for b in buckets.unique()}  # a few dozen months
    frame["period_start"] = buckets.map(first_days)
    return frame


def _bucketed_families(session: Session) -> pd.DataFrame:
    """The additive families per (month, dimensions), one grouped pass each (rebuild path)."""
    parts = []
    for family in FAMILIES:
        bucket = period_bucket(family.date_column, "M").label("bucket")
        stmt = (
            select(bucket, *_dims(family.dim_table), *(make() for make in family.measures))
            .select_from(family.source)
            .where(*family.where, family.date_column.is_not(None))
            .group_by(bucket, *_dims(family.dim_table))
        )
        parts.append(_bucket_frame(session, stmt))
    return _sum_by_key(parts)


def _sum_by_key(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=["period_start", *DIMS])
    return pd.concat(parts).groupby(["period_start", *DIMS], dropna=False).sum().reset_index()


def _order_measures(session: Session, months: list[date]) -> dict[str, pd.DataFrame]:
    """Revenue, orders, buyers and repeat buyers per (period, dimensions) for each grain.

    Orders are grouped once by (customer, month) in SQL; quarters and years are rolled up from those
    rows, so the distinct buyer counts of every grain come from one pass over the orders table.
    """
    bucket = period_bucket(O.c.order_date, "M")
    stmt = select(
        O.c.customer_id, bucket.label("bucket"), func.count().label("n"), func.sum(O.c.amount).label("r")
    ).group_by(O.c.customer_id, bucket)
    per_month = _bucket_frame(session, stmt)
    result: dict[str, pd.DataFrame] = {}
    if per_month.empty:
        return {g: pd.DataFrame(columns=["period_start", *DIMS, *ORDER_MEASURES]) for g in GRAINS}
    dims = raw_frame(session, select(C.c.id.label("customer_id"), *_dims(C)))
    per_month["n"] = per_month["n"].astype(float)
    per_month["r"] = per_month["r"].astype(float)
    for grain in GRAINS:
        start_of = {m_: period_containing(m_, grain).start for m_ in months}
        frame = per_month.assign(period_start=per_month["period_start"].map(start_of)).dropna(subset=["period_start"])
        per_customer = frame.groupby(["customer_id", "period_start"], sort=False)[["n", "r"]].sum().reset_index()
        per_customer["repeat"] = (per_customer["n"] >= 2).astype(float)
        grouped = (
            per_customer.merge(dims, on="customer_id")
            .groupby(["period_start", *DIMS], dropna=False)
            .agg(revenue=("r", "sum"), orders=("n", "sum"), buyers=("n", "size"), repeat_buyers=("repeat", "sum"))
        )
        result[grain] = grouped.reset_index()
    return result


def rebuild_period_facts(session: Session, *, as_of: date) -> int:
    """Recompute period_facts for every month, quarter and year from the first data day to `as_of`.

    Additive measures are grouped once by month and rolled up; buyer counts are grouped per grain;
    active counts are cumulative sums of new minus churned customers.
    """
    session.execute(delete(F))
    first = _first_data_day(session)
    if first is None:
        return 0
    months = [p.start for p in periods_between(first, as_of, "M")]
    orders = _order_measures(session, months)
    monthly = _sum_by_key([_bucketed_families(session), orders["M"]])
    combos = monthly[list(DIMS)].drop_duplicates()
    grid = combos.merge(pd.DataFrame({"period_start": months}), how="cross")
    monthly = grid.merge(monthly, on=["period_start", *DIMS], how="left")
    for name in MEASURES:
        monthly[name] = pd.to_numeric(monthly[name], errors="coerce").fillna(0.0) if name in monthly else 0.0
    monthly = monthly.sort_values([*DIMS, "period_start"])
    by_dims = [monthly[d].astype(str) for d in DIMS]
    net = monthly["new_customers"] - monthly["churned_customers"]
    monthly["active_end"] = net.groupby(by_dims, dropna=False).cumsum()
    monthly["active_start"] = monthly["active_end"] - net
    # a churned customer orders nothing after churning, so the revenue to date of those still active is
    # all revenue to date minus the lifetime revenue of those who churned
    monthly["ltv_revenue"] = (
        (monthly["revenue"] - monthly["churned_lifetime_revenue"]).groupby(by_dims, dropna=False).cumsum()
    )
    frames = [monthly.assign(grain="M")]
    for grain in ("Q", "Y"):
        start_of = {m_: period_containing(m_, grain).start for m_ in months}
        rolled = monthly.assign(period_start=monthly["period_start"].map(start_of))
        keys = ["period_start", *DIMS]
        additive = [n for n in MEASURES if n not in (*DISTINCT_MEASURES, *ACTIVE_MEASURES)]
        group = rolled.groupby(keys, dropna=False, sort=False)
        summed = group[additive].sum()
        summed["active_start"] = group["active_start"].first()
        summed["active_end"] = group["active_end"].last()
        summed["ltv_revenue"] = group["ltv_revenue"].last()
        distinct = orders[grain][keys + list(DISTINCT_MEASURES)]
        summed = summed.reset_index().merge(distinct, on=keys, how="left")
        for name in DISTINCT_MEASURES:
            summed[name] = summed[name].fillna(0.0)
        frames.append(summed.assign(grain=grain))
    return _insert_facts(session, pd.concat(frames, ignore_index=True))


def _grouped_rows(session: Session, start: date, end: date, key: DimKey) -> dict[tuple, Measures]:
    rows: dict[tuple, Measures] = {}
    for stmt, dim_table in _range_selects(start, end, grouped=True):
        for row in session.execute(_at_key(stmt, dim_table, key)).mappings():
            target = rows.setdefault(tuple(row[d] for d in DIMS), dict.fromkeys(MEASURES, 0.0))
            target.update({k: _number(v) for k, v in row.items() if k not in DIMS})
    return rows


def refresh_period_facts(session: Session, *, key: DimKey, since: date, as_of: date) -> int:
    """Recompute one dimension combination's periods from the one containing `since` to `as_of`.

    Write paths call this in their own transaction after changing rows of that combination on `since`.
    """
    records = []
    for grain in GRAINS:
        periods = periods_between(since, max(since, as_of), grain)
        stmt = delete(F).where(F.c.grain == grain, F.c.period_start >= periods[0].start)
        session.execute(_at_key(stmt, F, key))
        for period in periods:
            for dims, measures in _grouped_rows(session, period.start, period.end, key).items():
                records.append({"grain": grain, "period_start": period.start, **dict(zip(DIMS, dims)), **measures})
    if not records:
        return 0
    return _insert_facts(session, pd.DataFrame(records))


def refresh_periods_containing(session: Session, *, key: DimKey, day: date) -> int:
    """Recompute one dimension combination's month, quarter and year that contain `day`: all a write changing
    rows dated that day alone needs (a lead counts in the periods of its creation), instead of every period
    since, as `refresh_period_facts` does."""
    records = []
    for grain in GRAINS:
        period = period_containing(day, grain)
        session.execute(_at_key(delete(F).where(F.c.grain == grain, F.c.period_start == period.start), F, key))
        for dims, measures in _grouped_rows(session, period.start, period.end, key).items():
            records.append({"grain": grain, "period_start": period.start, **dict(zip(DIMS, dims)), **measures})
    return _insert_facts(session, pd.DataFrame(records)) if records else 0


def summary_measures(session: Session, period: Period, filters: Filters) -> Measures:
    """Every measure of one calendar period from period_facts (milliseconds instead of a raw scan)."""
    stmt = select(*(func.sum(F.c[name]).label(name) for name in MEASURES)).where(
        F.c.grain == period.grain, F.c.period_start == period.start
    )
    row = session.execute(scope(stmt, F, filters)).mappings().one()
    return {k: _number(v) for k, v in row.items()}


def refreshed_at(session: Session, period: Period, filters: Filters) -> datetime | None:
    """When the newest of the summary rows a calendar period's figures read was made (a rebuild or a write):
    what each cockpit card says about its data's freshness."""
    stmt = select(func.max(F.c.refreshed_at)).where(F.c.grain == period.grain, F.c.period_start == period.start)
    return session.scalar(scope(stmt, F, filters))


def monthly_series(session: Session, first: date, end: date, filters: Filters) -> pd.DataFrame:
    """One row of measures per month in [first, end), from period_facts; months with no data are zero."""
    stmt = (
        select(F.c.period_start, *(func.sum(F.c[name]).label(name) for name in MEASURES))
        .where(F.c.grain == "M", F.c.period_start >= first, F.c.period_start < end)
        .group_by(F.c.period_start)
        .order_by(F.c.period_start)
    )
    frame = pd.DataFrame(session.execute(scope(stmt, F, filters)).mappings().all(), columns=["period_start", *MEASURES])
    months = [p.start for p in periods_between(first, end - timedelta(days=1), "M")]
    frame["period_start"] = [v if isinstance(v, date) else date.fromisoformat(str(v)) for v in frame["period_start"]]
    frame = frame.set_index("period_start").reindex(months, fill_value=0).astype(float)
    frame.index.name = "period_start"
    return frame.reset_index()


def facts_range(session: Session) -> tuple[date, date] | None:
    """First and last month held in period_facts (what the period selector can offer)."""
    low, high = session.execute(
        select(func.min(F.c.period_start), func.max(F.c.period_start)).where(F.c.grain == "M")
    ).one()
    if low is None:
        return None
    return (
        low if isinstance(low, date) else date.fromisoformat(str(low)),
        high if isinstance(high, date) else date.fromisoformat(str(high)),
    )


# --- customer_stats and segment_facts --------------------------------------------------------------


def _median_gaps(session: Session) -> pd.Series:
    """Median days between consecutive orders per customer, streamed in chunks of ordered rows."""
    stmt = select(O.c.customer_id, day_number(O.c.order_date)).order_by(O.c.customer_id, O.c.order_date)
    ids_parts, gap_parts = [], []
    carry: np.ndarray | None = None
    for rows in row_batches(session, stmt):
        both = np.array(rows, dtype="int64")
        if carry is not None:
            both = np.concatenate([carry, both])
        ids, days = both[:, 0], both[:, 1]
        same = ids[1:] == ids[:-1]
        ids_parts.append(ids[1:][same])
        gap_parts.append((days[1:] - days[:-1])[same])
        carry = both[-1:]
    if not ids_parts:
        return pd.Series(dtype=float)
    gaps = pd.Series(np.concatenate(gap_parts), index=np.concatenate(ids_parts))
    return gaps.groupby(level=0).median()


def _order_stats(session: Session, as_of: date) -> pd.DataFrame:
    d365, d730 = as_of - timedelta(days=365), as_of - timedelta(days=730)
    d90, d180 = as_of - timedelta(days=90), as_of - timedelta(days=180)
    in_range = lambda lo, hi: and_(O.c.order_date >= lo, O.c.order_date < hi)  # noqa: E731
    stmt = (
        select(
            O.c.customer_id,
            func.count().label("orders_total"),
            func.sum(O.c.amount).label("revenue_total"),
            func.min(O.c.order_date).label("first_order_date"),
            func.max(O.c.order_date).label("last_order_date"),
            count_if(in_range(d365, as_of)).label("orders_12m"),
            func.sum(case((in_range(d365, as_of), O.c.amount), else_=0)).label("revenue_12m"),
            func.sum(case((in_range(d730, d365), O.c.amount), else_=0)).label("revenue_prev_12m"),
            count_if(in_range(d90, as_of)).label("orders_last_90"),
            count_if(in_range(d180, d90)).label("orders_prev_90"),
        )
        .where(O.c.order_date < as_of)
        .group_by(O.c.customer_id)
    )
    return pd.DataFrame(
        db.tuples(session.execute(stmt)),
        columns=[
            "customer_id",
            "orders_total",
            "revenue_total",
            "first_order_date",
            "last_order_date",
            "orders_12m",
            "revenue_12m",
            "revenue_prev_12m",
            "orders_last_90",
            "orders_prev_90",
        ],
    )


LIST_COLUMNS = ("code", "name", "region", "industry", "kind", "owner_id", "status", "became_customer_date")
I = m.table(m.Interaction)


def _activity(session: Session, customer_id: int | None = None) -> pd.DataFrame:
    """Last contact, latest NPS answer and open tickets per customer (all customers, or one)."""

    def one(stmt: Select, column) -> Select:  # type: ignore[no-untyped-def]
        return stmt if customer_id is None else stmt.where(column == customer_id)

    contact = pd.DataFrame(
        db.tuples(
            session.execute(
                one(
                    select(I.c.customer_id, func.max(I.c.occurred_at).label("last_contact_at")).group_by(
                        I.c.customer_id
                    ),
                    I.c.customer_id,
                )
            )
        ),
        columns=["customer_id", "last_contact_at"],
    )
    latest = one(
        select(N.c.customer_id, func.max(N.c.responded_at).label("at")).group_by(N.c.customer_id), N.c.customer_id
    ).subquery()
    nps = pd.DataFrame(
        db.tuples(
            session.execute(
                select(N.c.customer_id, N.c.score, N.c.responded_at).select_from(
                    N.join(latest, and_(latest.c.customer_id == N.c.customer_id, latest.c.at == N.c.responded_at))
                )
            )
        ),
        columns=["customer_id", "latest_nps_score", "latest_nps_at"],
    ).drop_duplicates("customer_id", keep="last")
    tickets = pd.DataFrame(
        db.tuples(
            session.execute(
                one(
                    select(T.c.customer_id, func.count().label("open_tickets"))
                    .where(T.c.status.in_(m.OPEN_TICKET_STATUSES))
                    .group_by(T.c.customer_id),
                    T.c.customer_id,
                )
            )
        ),
        columns=["customer_id", "open_tickets"],
    )
    return contact.merge(nps, on="customer_id", how="outer").merge(tickets, on="customer_id", how="outer")


def refresh_customer_row(session: Session, customer_id: int) -> None:
    """Bring one customer's list columns and latest activity up to date (write paths: forms, profile edits).

    Order statistics, the tier and the lifecycle stage are left alone: they change with orders and the
    whole population (the tier is a top-20% rule), and are rebuilt by `refresh`/imports.
    """
    row = session.execute(select(*(C.c[c] for c in LIST_COLUMNS)).where(C.c.id == customer_id)).mappings().one()
    activity = _activity(session, customer_id)
    values: dict[str, object] = {
        **row,
        "last_contact_at": None,
        "latest_nps_score": None,
        "latest_nps_at": None,
        "open_tickets": 0,
    }
    if not activity.empty:
        found = activity.iloc[0]
        values.update({k: None if pd.isna(found[k]) else found[k] for k in ("last_contact_at", "latest_nps_at")})
        values["latest_nps_score"] = None if pd.isna(found["latest_nps_score"]) else int(found["latest_nps_score"])
        values["open_tickets"] = 0 if pd.isna(found["open_tickets"]) else int(found["open_tickets"])
    for key in ("last_contact_at", "latest_nps_at"):
        if isinstance(stamp := values[key], pd.Timestamp):
            values[key] = stamp.to_pydatetime()
    if db.affected(session, S.update().where(S.c.customer_id == customer_id).values(**values)) == 0:
        as_of = get_meta(session, "summaries_as_of")
        session.execute(
            S.insert().values(
                customer_id=customer_id,
                lifecycle_stage="prospect",
                as_of=date.fromisoformat(as_of) if as_of else clock.today(),
                **values,
            )
        )


def customer_changed(
    session: Session,
    customer_ids: Iterable[int],
    *,
    since: date | None = None,
    as_of: date | None = None,
    previous_keys: Iterable[DimKey] = (),
) -> None:
    """The one hook every writer calls, in its own transaction, after changing customers or their rows.

    Refreshes each customer's list row (contact, NPS, open tickets, name) and, when `since` is given (a
    summarised row was added or changed on that day or later), the period summaries of their dimension
    keys, and of `previous_keys` too when a write moved customers to another region, industry, kind or
    owner, from `since` to `as_of` (today by default).
    """
    ids = sorted(set(customer_ids))
    for customer_id in ids:
        refresh_customer_row(session, customer_id)
    if since is None or not ids:
        return
    rows = session.execute(select(C.c.region, C.c.industry, C.c.kind, C.c.owner_id).where(C.c.id.in_(ids))).all()
    keys = {DimKey(*row) for row in rows} | set(previous_keys)
    end = as_of or clock.today()
    for key in sorted(keys, key=repr):  # one order for every writer: row locks taken alike, no deadlock
        refresh_period_facts(session, key=key, since=min(since, end), as_of=end)


def rebuild_customer_stats(session: Session, *, as_of: date) -> int:
    """Recompute every customer's order statistics, value tier, lifecycle stage and list columns as of `as_of`."""
    from core.segmentation import DEFAULT_POLICY, classify

    customers = pd.DataFrame(
        db.tuples(session.execute(select(C.c.id, *(C.c[c] for c in LIST_COLUMNS), C.c.churned_date))),
        columns=["customer_id", *LIST_COLUMNS, "churned_date"],
    )
    stats = customers.merge(_order_stats(session, as_of), on="customer_id", how="left")
    stats["median_gap_days"] = stats["customer_id"].map(_median_gaps(session))
    stats = stats.merge(_activity(session), on="customer_id", how="left")
    stats = classify(stats, as_of=as_of, policy=DEFAULT_POLICY)
    modelled = _value_tiers(session)  # the churn model's tiers where it scored the customer
    if not modelled.empty:
        tier = stats["customer_id"].map(modelled).where(stats["status"] == "active")
        stats["tier"] = tier.where(tier.notna(), stats["tier"])
        stats["churn_reason"] = stats["churn_reason"].where(tier.isna(), None)
    session.execute(delete(S))
    numeric = [
        "orders_total",
        "revenue_total",
        "orders_12m",
        "revenue_12m",
        "revenue_prev_12m",
        "orders_last_90",
        "orders_prev_90",
        "open_tickets",
    ]
    stats[numeric] = stats[numeric].fillna(0)
    columns: dict[str, object] = {"customer_id": stats["customer_id"].to_numpy(), "as_of": [as_of] * len(stats)}
    for name in ("first_order_date", "last_order_date", "became_customer_date"):
        columns[name] = _or_none(stats[name])
    for name in ("last_contact_at", "latest_nps_at"):
        columns[name] = [None if pd.isna(v) else pd.Timestamp(v).to_pydatetime() for v in stats[name]]
    columns["latest_nps_score"] = _or_none(stats["latest_nps_score"], int)
    for name in numeric:
        columns[name] = stats[name].astype(float if "revenue" in name else int).to_numpy()
    columns["median_gap_days"] = _or_none(stats["median_gap_days"], float)
    columns["owner_id"] = _or_none(stats["owner_id"], int)
    for name in ("tier", "lifecycle_stage", "churn_reason", "code", "name", "region", "industry", "kind", "status"):
        columns[name] = _or_none(stats[name])
    written = bulk_insert(session.connection(), S, columns)
    _regroup_segments(session)
    return written


def _or_none(values: pd.Series, kind: type | None = None) -> list[Any]:
    """A column's values for the driver: missing ones as None, the others as `kind` when given (plain Python
    numbers, not numpy's), a column at a time (a per-value isna cost a second at 100,000 customers)."""
    plain = values.astype(object).to_numpy(copy=True)
    missing = values.isna().to_numpy()
    if kind is not None:
        plain[~missing] = [kind(v) for v in plain[~missing]]
    plain[missing] = None
    return plain.tolist()


def _regroup_segments(session: Session) -> None:
    session.execute(delete(SEG))
    grouped = select(
        *(S.c[d] for d in DIMS),
        S.c.tier,
        S.c.lifecycle_stage,
        func.count().label("customers"),
        func.sum(S.c.revenue_12m).label("revenue_12m"),
    ).group_by(*(S.c[d] for d in DIMS), S.c.tier, S.c.lifecycle_stage)
    session.execute(SEG.insert().from_select([*DIMS, "tier", "lifecycle_stage", "customers", "revenue_12m"], grouped))


def _value_tiers(session: Session) -> pd.Series:
    """customer id -> value tier, for the customers the churn model scored (core.churn.value)."""
    rows = session.execute(select(CV.c.customer_id, CV.c.tier)).all()
    return pd.Series({int(r.customer_id): r.tier for r in rows}, dtype=object)


def apply_value_tiers(session: Session) -> None:
    """After a scoring: the list's tiers become the model-based ones for every scored customer still active
    (the rule's reason is dropped with them), and the segment summary follows. A rebuild reads the same.
    One UPDATE reading each tier by primary key (IN-list chunks per tier took twice as long at 49,000)."""
    modelled = select(CV.c.tier).where(CV.c.customer_id == S.c.customer_id).scalar_subquery()
    session.execute(
        S.update()
        .where(S.c.status == "active", S.c.customer_id.in_(select(CV.c.customer_id)))
        .values(tier=modelled, churn_reason=None)
    )
    _regroup_segments(session)


def set_meta(session: Session, key: str, value: str) -> None:
    session.execute(delete(m.table(m.AppMeta)).where(m.table(m.AppMeta).c.key == key))
    session.execute(m.table(m.AppMeta).insert().values(key=key, value=value))


def get_meta(session: Session, key: str) -> str | None:
    return session.scalar(select(m.table(m.AppMeta).c.value).where(m.table(m.AppMeta).c.key == key))


def rebuild_all(session: Session, *, as_of: date) -> None:
    """Rebuild every summary table (after a seed or an import, or by `python -m core refresh`)."""
    rebuild_period_facts(session, as_of=as_of)
    rebuild_customer_stats(session, as_of=as_of)
    set_meta(session, "summaries_as_of", as_of.isoformat())
    from core import targets  # the change targets' baselines read the history just summarised

    targets.refresh_baselines(session)
