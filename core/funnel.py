"""The lead funnel (issue 16, seed 003 智能获取管理): created → contacted → qualified → converted, with invalid
(disqualified, with a reason, found by the screening rules or by a person) as the way out, over a period, by
month, source, campaign and owner.

For the leads created in a period: a lead reached contacted or qualified when it has that stage's time or a
later status (an invalid lead counts as far as it got); the stage rates are each stage over the one before,
and converted over created; the invalid share is invalid / created and the filtered share the part of the
invalid leads the rules caught. Time in stage: the median days from creation to first contact, from contact
to qualification, from qualification to conversion, and from creation to invalid. A stage lists its leads.
Within the viewer's scope (an account manager: the leads they own).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session

from core import db, models as m
from core.access import Viewer, require, scope, scoped
from core.errors import ValidationError
from core.periods import Filters

L, U, C = m.table(m.Lead), m.table(m.User), m.table(m.Customer)
CAMPAIGNS = m.table(m.Campaign)
STAGES = ("created", "contacted", "qualified", "converted", "disqualified", "screened", "open")
ALL = "*"  # every group of a grouping (a campaign id, month, source or owner is never "*")
GROUPS = ("none", "month", "source", "campaign", "owner")
REACHED: dict[str, Any] = {
    "created": None,
    "contacted": or_(L.c.contacted_at.is_not(None), L.c.status.in_(("contacted", "qualified", "converted"))),
    "qualified": or_(L.c.qualified_at.is_not(None), L.c.status.in_(("qualified", "converted"))),
    "converted": L.c.status == "converted",
    "disqualified": L.c.status == "disqualified",
    "screened": (L.c.status == "disqualified") & L.c.screened.is_(True),
    "open": L.c.status.in_(("new", "contacted", "qualified")),
}
# time in stage: (name, from, to) medians in days
STEPS = (
    ("days_to_contact", L.c.created_at, L.c.contacted_at),
    ("days_to_qualify", L.c.contacted_at, L.c.qualified_at),
    ("days_to_convert", L.c.qualified_at, L.c.converted_at),
    ("days_to_disqualify", L.c.created_at, L.c.disqualified_at),
)


def _window(start: date, end: date):  # type: ignore[no-untyped-def]
    low, high = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())
    return (L.c.created_at >= low) & (L.c.created_at < high)


def _group_column(by: str):  # type: ignore[no-untyped-def]
    if by not in GROUPS:
        raise ValidationError(f"Unknown grouping {by!r}.", key="error.role_may_not")
    return {
        "none": None,
        "month": db.period_bucket(L.c.created_at, "M"),  # "2026-05": the month a lead came in
        "source": L.c.source_channel,
        "campaign": L.c.campaign_id,
        "owner": L.c.owner_id,
    }[by]


def funnel(
    session: Session, viewer: Viewer, *, start: date, end: date, by: str = "none", filters: Filters | None = None
) -> pd.DataFrame:
    """One row per group (or one in all): the leads that reached each stage, the stage rates, the invalid and
    filtered shares and the median days in each stage; by campaign also its cost per lead and per conversion
    (the campaign's whole cost over its leads created in the period)."""
    require(viewer, "page:growth")
    group = _group_column(by)
    counts = [func.count()] + [db.count_if(REACHED[s]) for s in STAGES[1:]]
    stmt = select(*([group] if group is not None else []), *counts).where(_window(start, end))
    if group is not None:
        stmt = stmt.group_by(group)
    rows = db.tuples(session.execute(scope(stmt, L, scoped(viewer, filters or Filters()))))
    names = ["group", *STAGES] if group is not None else list(STAGES)
    frame = pd.DataFrame(rows, columns=names)
    if group is None:
        frame.insert(0, "group", "all")
    else:  # kept as objects: a campaign or owner id stays an int, a lead without one stays None (not NaN)
        frame["group"] = pd.Series([r[0] for r in rows], index=frame.index, dtype=object)
    for stage in STAGES:
        frame[stage] = frame[stage].fillna(0).astype(int)
    frame = frame[frame["created"] > 0]
    ratio = lambda a, b: [x / y if y else None for x, y in zip(frame[a], frame[b])]  # noqa: E731
    frame["contacted_rate"] = ratio("contacted", "created")
    frame["qualified_of_contacted"] = ratio("qualified", "contacted")
    frame["qualified_rate"] = ratio("qualified", "created")
    frame["converted_of_qualified"] = ratio("converted", "qualified")
    frame["converted_rate"] = ratio("converted", "created")
    frame["invalid_share"] = ratio("disqualified", "created")
    frame["filtered_share"] = ratio("screened", "disqualified")
    if by == "campaign":  # what each lead and each customer won cost: the campaign's cost over its leads here
        wanted = [g for g in frame["group"] if g is not None]
        cost = dict(
            db.tuples(session.execute(select(CAMPAIGNS.c.id, CAMPAIGNS.c.cost).where(CAMPAIGNS.c.id.in_(wanted))))
        )
        frame["cost"] = [float(cost[g]) if cost.get(g) is not None else None for g in frame["group"]]
        frame["cost_per_lead"] = [c / n if c is not None else None for c, n in zip(frame["cost"], frame["created"])]
        frame["cost_per_converted"] = [
            c / n if c is not None and n else None for c, n in zip(frame["cost"], frame["converted"])
        ]
    days = _days(session, viewer, start=start, end=end, group=group, filters=filters)
    for name, *_ in STEPS:
        frame[name] = [days.get((g, name)) for g in frame["group"]]
    if by == "month":  # a trend reads in time order
        return frame.sort_values("group").reset_index(drop=True)
    return frame.sort_values("created", ascending=False).reset_index(drop=True)


def _days(
    session: Session,
    viewer: Viewer,
    *,
    start: date,
    end: date,
    group: Any,
    filters: Filters | None,
) -> dict[tuple[object, str], float]:
    """Median days of each step of the funnel, per group, over the leads with both of the step's times: the
    durations computed in the database in one pass (100,000 leads a year: 1.0 → 0.1 s against reading their
    times), the medians in pandas (not every dialect has one)."""
    durations = [db.days_between(since, until) for _, since, until in STEPS]
    cols = [group if group is not None else literal("all"), *durations]
    stmt = select(*cols).where(
        _window(start, end), or_(*(since.is_not(None) & until.is_not(None) for _, since, until in STEPS))
    )
    names = [name for name, *_ in STEPS]
    rows = pd.DataFrame(
        db.tuples(session.execute(scope(stmt, L, scoped(viewer, filters or Filters())))), columns=["g", *names]
    )
    out: dict[tuple[object, str], float] = {}
    if rows.empty:
        return out
    rows["g"] = rows["g"].astype(object).where(rows["g"].notna(), None)
    for name in names:
        medians = pd.to_numeric(rows[name], errors="coerce").groupby(rows["g"], dropna=False).median()
        for key, median in medians.items():
            if median == median:  # NaN: no lead of the group has both times
                out[(None if key is None or key != key else key, name)] = float(median)
    return out


def invalid_reasons(
    session: Session, viewer: Viewer, *, start: date, end: date, filters: Filters | None = None
) -> pd.DataFrame:
    """The invalid leads created in the period by reason: how many, how many the rules caught, their share of
    the leads created. A reason recorded before reasons were kept reads "unstated"."""
    require(viewer, "page:growth")
    reason = func.coalesce(L.c.invalid_reason, "unstated")
    stmt = (
        select(reason, func.count(), db.count_if(L.c.screened.is_(True)))
        .where(_window(start, end), L.c.status == "disqualified")
        .group_by(reason)
    )
    rows = db.tuples(session.execute(scope(stmt, L, scoped(viewer, filters or Filters()))))
    frame = pd.DataFrame(rows, columns=["reason", "leads", "screened"])
    created = session.scalar(
        scope(select(func.count()).where(_window(start, end)), L, scoped(viewer, filters or Filters()))
    )
    frame["leads"], frame["screened"] = frame["leads"].astype(int), frame["screened"].fillna(0).astype(int)
    frame["share_of_created"] = frame["leads"] / created if created else None
    return frame.sort_values("leads", ascending=False).reset_index(drop=True)


def stage_leads(
    session: Session,
    viewer: Viewer,
    *,
    start: date,
    end: date,
    stage: str,
    by: str = "none",
    group: object = "*",
    limit: int = 200,
    filters: Filters | None = None,
) -> pd.DataFrame:
    """The leads of one stage (of one group, or of every group: `ALL`), newest first: what a click on the funnel
    lists."""
    require(viewer, "page:growth")
    if stage not in STAGES:
        raise ValidationError(f"Unknown stage {stage!r}.", key="error.role_may_not")
    column = _group_column(by)
    stmt = (
        select(
            L.c.id,
            L.c.company_name,
            L.c.source_channel,
            U.c.display_name,
            L.c.created_at,
            L.c.status,
            func.coalesce(L.c.converted_at, L.c.disqualified_at),
            C.c.code,
            CAMPAIGNS.c.name,
            L.c.invalid_reason,
            L.c.screened,
        )
        .select_from(
            L.outerjoin(U, U.c.id == L.c.owner_id)
            .outerjoin(C, C.c.id == L.c.converted_customer_id)
            .outerjoin(CAMPAIGNS, CAMPAIGNS.c.id == L.c.campaign_id)
        )
        .where(_window(start, end))
        .order_by(L.c.created_at.desc(), L.c.id.desc())
        .limit(limit)
    )
    if REACHED[stage] is not None:
        stmt = stmt.where(REACHED[stage])
    if column is not None and group != ALL:  # one group; None is the group of leads without one (no campaign)
        stmt = stmt.where(column.is_(None) if group is None else column == group)
    rows = db.tuples(session.execute(scope(stmt, L, scoped(viewer, filters or Filters()))))
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "company",
            "source",
            "owner",
            "created_at",
            "status",
            "decided_at",
            "customer_code",
            "campaign",
            "invalid_reason",
            "screened",
        ],
    )


def campaign_names(session: Session, ids: list[object]) -> dict[object, str]:
    """Names of the leads' campaigns (a group's label when grouped by campaign)."""
    wanted = [i for i in ids if i is not None and pd.notna(i)]
    return dict(db.tuples(session.execute(select(CAMPAIGNS.c.id, CAMPAIGNS.c.name).where(CAMPAIGNS.c.id.in_(wanted)))))


def owners(session: Session, ids: list[object]) -> dict[object, str]:
    """Display names of the leads' owners (a group's label when grouped by owner)."""
    wanted = [i for i in ids if i is not None and pd.notna(i)]
    return dict(db.tuples(session.execute(select(U.c.id, U.c.display_name).where(U.c.id.in_(wanted)))))
