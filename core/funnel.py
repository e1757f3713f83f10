"""The lead funnel (issue 16, seed 003 智能获取管理), over the leads as they are recorded today: created → qualified
→ converted, with disqualified (invalid) as the way out, by period, source and owner.

For the leads created in a period: reached qualified = qualified or converted; the stage rates are qualified /
created, converted / qualified and converted / created; the invalid share is disqualified / created; time in the
funnel is the median of days from creation to conversion, and to disqualification. A stage lists its leads.
Within the viewer's scope (an account manager: the leads they own).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import db, models as m
from core.access import Viewer, require, scope, scoped
from core.errors import ValidationError
from core.periods import Filters

L, U, C = m.table(m.Lead), m.table(m.User), m.table(m.Customer)
STAGES = ("created", "qualified", "converted", "disqualified", "open")
GROUPS = ("none", "source", "owner")
REACHED: dict[str, Any] = {
    "created": None,
    "qualified": L.c.status.in_(("qualified", "converted")),
    "converted": L.c.status == "converted",
    "disqualified": L.c.status == "disqualified",
    "open": L.c.status.in_(("new", "qualified")),
}


def _window(start: date, end: date):  # type: ignore[no-untyped-def]
    low, high = datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time())
    return (L.c.created_at >= low) & (L.c.created_at < high)


def _group_column(by: str):  # type: ignore[no-untyped-def]
    if by not in GROUPS:
        raise ValidationError(f"Unknown grouping {by!r}.", key="error.role_may_not")
    return {"none": None, "source": L.c.source_channel, "owner": L.c.owner_id}[by]


def funnel(
    session: Session, viewer: Viewer, *, start: date, end: date, by: str = "none", filters: Filters | None = None
) -> pd.DataFrame:
    """One row per group (or one in all): created, qualified, converted, disqualified, still open, the stage
    rates, the invalid share and the median days to conversion and to disqualification."""
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
    for stage in STAGES:
        frame[stage] = frame[stage].fillna(0).astype(int)
    frame = frame[frame["created"] > 0]
    ratio = lambda a, b: [x / y if y else None for x, y in zip(frame[a], frame[b])]  # noqa: E731
    frame["qualified_rate"] = ratio("qualified", "created")
    frame["converted_of_qualified"] = ratio("converted", "qualified")
    frame["converted_rate"] = ratio("converted", "created")
    frame["invalid_share"] = ratio("disqualified", "created")
    days = _days(session, viewer, start=start, end=end, group=group, filters=filters)
    frame["days_to_convert"] = [days.get((g, "converted")) for g in frame["group"]]
    frame["days_to_disqualify"] = [days.get((g, "disqualified")) for g in frame["group"]]
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
    """Median days from creation to conversion and to disqualification, per group."""
    out: dict[tuple[object, str], float] = {}
    for stage, moment in (("converted", L.c.converted_at), ("disqualified", L.c.disqualified_at)):
        cols = [group if group is not None else L.c.id, L.c.created_at, moment]
        stmt = select(*cols).where(_window(start, end), REACHED[stage], moment.is_not(None))
        rows = pd.DataFrame(
            db.tuples(session.execute(scope(stmt, L, scoped(viewer, filters or Filters())))), columns=["g", "a", "b"]
        )
        if rows.empty:
            continue
        rows["g"] = rows["g"] if group is not None else "all"
        rows["days"] = (pd.to_datetime(rows["b"]) - pd.to_datetime(rows["a"])).dt.total_seconds() / 86400
        for key, median in rows.groupby("g")["days"].median().items():
            out[(key, stage)] = float(median)
    return out


def stage_leads(
    session: Session,
    viewer: Viewer,
    *,
    start: date,
    end: date,
    stage: str,
    by: str = "none",
    group: object | None = None,
    limit: int = 200,
    filters: Filters | None = None,
) -> pd.DataFrame:
    """The leads of one stage (of one group), newest first: what a click on the funnel lists."""
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
        )
        .select_from(L.outerjoin(U, U.c.id == L.c.owner_id).outerjoin(C, C.c.id == L.c.converted_customer_id))
        .where(_window(start, end))
        .order_by(L.c.created_at.desc(), L.c.id.desc())
        .limit(limit)
    )
    if REACHED[stage] is not None:
        stmt = stmt.where(REACHED[stage])
    if column is not None and group is not None:
        stmt = stmt.where(column == group)
    rows = db.tuples(session.execute(scope(stmt, L, scoped(viewer, filters or Filters()))))
    return pd.DataFrame(
        rows, columns=["id", "company", "source", "owner", "created_at", "status", "decided_at", "customer_code"]
    )


def owners(session: Session, ids: list[object]) -> dict[object, str]:
    """Display names of the leads' owners (a group's label when grouped by owner)."""
    found = dict(
        db.tuples(
            session.execute(select(U.c.id, U.c.display_name).where(U.c.id.in_([i for i in ids if i is not None])))
        )
    )
    return found
