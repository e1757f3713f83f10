"""Channels (issue 16, seed 004 多渠道策略): for each acquisition channel, the customers it brought in a period,
what they have spent since, how many are still active, their NPS and, when costs are entered, the cost per
acquisition; retention by acquisition month; for each service channel, its tickets, CSAT and SLA; and the
interactions' channel mix by value tier. Every read is within the viewer's scope.

Definitions: acquired = customers whose became-customer day is in the period; revenue = their lifetime revenue
(customer_stats); retained = still active today; NPS = answers in the period from customers acquired through
the channel (whenever they were acquired); cost per acquisition = the channel's costs of the period's months /
customers acquired. Cohort retention: of the customers acquired in a month, the share not churned k months
after that month's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core import audit, clock, db, models as m, nps as nps_math
from core.access import Viewer, require, scope, scoped, visible
from core.errors import FieldErrors
from core.periods import Filters

C, S, N, T = m.table(m.Customer), m.table(m.CustomerStat), m.table(m.NpsResponse), m.table(m.Ticket)
I, R, COSTS = m.table(m.Interaction), m.table(m.TicketSla), m.table(m.ChannelCost)
CHANNELS = m.ACQUISITION_CHANNELS
COHORT_MONTHS = 12  # the cohort chart follows each month's customers this many months


def acquisition(
    session: Session, viewer: Viewer, *, start: date, end: date, filters: Filters | None = None
) -> pd.DataFrame:
    """One row per acquisition channel: acquired, revenue since, retained share, NPS (with its answers), cost and
    cost per acquisition over [start, end)."""
    require(viewer, "page:growth")
    became = C.c.became_customer_date
    rows = db.tuples(
        session.execute(
            visible(
                select(
                    C.c.acquisition_channel,
                    func.count(),
                    func.coalesce(func.sum(S.c.revenue_total), 0),
                    db.count_if(C.c.status == "active"),
                )
                .select_from(C.outerjoin(S, S.c.customer_id == C.c.id))
                .where(became >= start, became < end)
                .group_by(C.c.acquisition_channel),
                C,
                viewer,
                filters,
            )
        )
    )
    got = {ch: (n, float(rev), int(active or 0)) for ch, n, rev, active in rows}
    answers = db.tuples(
        session.execute(
            visible(
                select(
                    C.c.acquisition_channel,
                    func.count(),
                    db.count_if(N.c.score >= 9),
                    db.count_if(N.c.score <= 6),
                )
                .select_from(N.join(C, C.c.id == N.c.customer_id))
                .where(N.c.responded_at >= datetime.combine(start, datetime.min.time()))
                .where(N.c.responded_at < datetime.combine(end, datetime.min.time()))
                .group_by(C.c.acquisition_channel),
                C,
                viewer,
                filters,
            )
        )
    )
    scores = {ch: nps_math.nps(float(p or 0), float(d or 0), float(n)) for ch, n, p, d in answers}
    spent = dict(
        db.tuples(
            session.execute(
                select(COSTS.c.channel, func.sum(COSTS.c.amount))
                .where(COSTS.c.month >= start.replace(day=1), COSTS.c.month < end)
                .group_by(COSTS.c.channel)
            )
        )
    )
    out = []
    for channel in CHANNELS:
        n, revenue, active = got.get(channel, (0, 0.0, 0))
        score = scores.get(channel)
        cost = spent.get(channel)
        out.append(
            {
                "channel": channel,
                "acquired": int(n),
                "revenue": revenue,
                "revenue_per_customer": revenue / n if n else None,
                "retained": active / n if n else None,
                "nps": score.score if score else None,
                "nps_answers": score.responses if score else 0,
                "cost": float(cost) if cost is not None else None,
                "cost_per_acquisition": float(cost) / n if cost is not None and n else None,
            }
        )
    return pd.DataFrame(out)


def acquired_by_month(
    session: Session, viewer: Viewer, *, start: date, end: date, filters: Filters | None = None
) -> pd.DataFrame:
    """Customers acquired per month and channel: [month, channel, acquired]."""
    require(viewer, "page:growth")
    month = db.period_bucket(C.c.became_customer_date, "M")
    stmt = (
        select(month, C.c.acquisition_channel, func.count())
        .where(C.c.became_customer_date >= start, C.c.became_customer_date < end)
        .group_by(month, C.c.acquisition_channel)
    )
    frame = pd.DataFrame(
        db.tuples(session.execute(visible(stmt, C, viewer, filters))), columns=["month", "channel", "acquired"]
    )
    frame["month"] = [date(int(str(v)[:4]), int(str(v)[5:7]), 1) for v in frame["month"]]
    return frame.sort_values(["month", "channel"]).reset_index(drop=True)


def cohorts(
    session: Session,
    viewer: Viewer,
    *,
    channel: str | None,
    today: date,
    months: int = 24,
    filters: Filters | None = None,
) -> pd.DataFrame:
    """Retention by acquisition month (the last `months` months): rows = acquisition month, columns = months
    since (0..COHORT_MONTHS), values = share not churned by then (None where that month has not come yet); plus
    the cohort's size in "customers"."""
    require(viewer, "page:growth")
    first = _add_months(today.replace(day=1), -months)
    stmt = select(C.c.became_customer_date, C.c.churned_date).where(
        C.c.became_customer_date >= first, C.c.became_customer_date < today.replace(day=1)
    )
    if channel:
        stmt = stmt.where(C.c.acquisition_channel == channel)
    frame = pd.DataFrame(db.tuples(session.execute(visible(stmt, C, viewer, filters))), columns=["became", "churned"])
    columns = ["customers", *range(COHORT_MONTHS + 1)]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame["cohort"] = [d.replace(day=1) for d in frame["became"]]
    rows = {}
    for cohort, group in frame.groupby("cohort"):
        shares: dict[object, object] = {"customers": len(group)}
        for k in range(COHORT_MONTHS + 1):
            moment = _add_months(cohort, k)
            if moment > today:
                shares[k] = None
                continue
            lost = sum(1 for c in group["churned"] if c is not None and not pd.isna(c) and c <= moment)
            shares[k] = 1 - lost / len(group)
        rows[cohort] = shares
    return pd.DataFrame.from_dict(rows, orient="index")[columns].sort_index()


def _add_months(day: date, n: int) -> date:
    index = day.year * 12 + day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def service(session: Session, viewer: Viewer, *, start: date, end: date) -> pd.DataFrame:
    """One row per service channel: tickets opened in [start, end), their CSAT (average and ratings) and the
    share of those with a known resolution outcome resolved within SLA."""
    require(viewer, "page:growth")
    low, high = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())
    stmt = (
        select(
            T.c.channel,
            func.count(),
            func.sum(T.c.csat),
            func.count(T.c.csat),
            db.count_if(R.c.state == "met"),
            db.count_if(R.c.state.in_(("met", "breached"))),
        )
        .select_from(
            T.join(C, C.c.id == T.c.customer_id).outerjoin(R, and_(R.c.ticket_id == T.c.id, R.c.metric == "resolution"))
        )
        .where(T.c.created_at >= low, T.c.created_at < high)
        .group_by(T.c.channel)
    )
    rows = db.tuples(session.execute(visible(stmt, C, viewer)))
    out = [
        {
            "channel": ch,
            "tickets": int(n),
            "csat": float(total) / float(rated) if rated else None,
            "csat_ratings": int(rated or 0),
            "resolution_met": float(met or 0) / float(known) if known else None,
        }
        for ch, n, total, rated, met, known in rows
    ]
    return pd.DataFrame(out, columns=["channel", "tickets", "csat", "csat_ratings", "resolution_met"]).sort_values(
        "tickets", ascending=False
    )


def interaction_mix(
    session: Session, viewer: Viewer, *, start: date, end: date, filters: Filters | None = None
) -> pd.DataFrame:
    """The interactions of [start, end) by value tier and channel: rows = tier, columns = channel, values = the
    channel's share of the tier's interactions (plus "interactions": the tier's count)."""
    require(viewer, "page:growth")
    low, high = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())
    stmt = (  # scoped on customer_stats (it carries the dimensions): one lookup per interaction, not two
        select(S.c.tier, I.c.channel, func.count())
        .select_from(I.join(S, S.c.customer_id == I.c.customer_id))
        .where(I.c.occurred_at >= low, I.c.occurred_at < high)
        .group_by(S.c.tier, I.c.channel)
    )
    scoped_stmt = scope(stmt, S, scoped(viewer, filters or Filters()))
    frame = pd.DataFrame(db.tuples(session.execute(scoped_stmt)), columns=["tier", "channel", "n"])
    if frame.empty:
        return pd.DataFrame()
    frame["tier"] = frame["tier"].fillna("none")
    table = frame.pivot_table(index="tier", columns="channel", values="n", aggfunc="sum", fill_value=0)
    counts = table.sum(axis=1)
    shares = table.div(counts, axis=0)
    shares.insert(0, "interactions", counts)
    return shares


@dataclass(frozen=True)
class CostEntry:
    channel: str
    month: date
    amount: float | None
    note: str | None = None


def set_cost(session: Session, viewer: Viewer, entry: CostEntry, *, now: datetime | None = None) -> None:
    """What a channel cost in a month (replaces that month's figure). Audited."""
    require(viewer, "channels:costs")
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    if entry.channel not in CHANNELS:
        errors["channel"] = ("form.error.choice", {})
    if entry.amount is None or not 0 <= entry.amount < 1e12:
        errors["amount"] = ("channels.error.amount", {})
    note = (entry.note or "").strip() or None
    if note is not None and (len(note) > 200 or any(ord(ch) < 32 for ch in note)):
        errors["note"] = ("form.error.too_long", {"n": 200})
    if errors:
        raise FieldErrors(errors)
    month = entry.month.replace(day=1)
    now = (now or clock.now()).replace(microsecond=0)
    session.execute(COSTS.delete().where(COSTS.c.channel == entry.channel, COSTS.c.month == month))
    session.execute(
        COSTS.insert().values(
            channel=entry.channel,
            month=month,
            amount=entry.amount,
            note=note,
            entered_by=viewer.username,
            entered_at=now,
        )
    )
    audit.record(
        session,
        action="channel_cost_set",
        username=viewer.username,
        object=f"channel:{entry.channel}",
        at=now,
        details={"month": month.isoformat(), "amount": entry.amount},
    )


def costs(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Every cost entered, newest month first."""
    require(viewer, "page:growth")
    rows = session.execute(
        select(COSTS.c.channel, COSTS.c.month, COSTS.c.amount, COSTS.c.note, COSTS.c.entered_by).order_by(
            COSTS.c.month.desc(), COSTS.c.channel
        )
    )
    return pd.DataFrame(db.tuples(rows), columns=["channel", "month", "amount", "note", "entered_by"])
