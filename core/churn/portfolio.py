"""What the pages read of the stored customer values (`core.churn.value`): health bands and how they held up,
RFM segments, predicted value, the tier flow between quarters, and one customer's value and health history.

Every query passes through `core.access.visible` on the customers table, so an account manager sees their own
customers only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from core import db, models as m
from core.access import Viewer, require, visible
from core.churn.value import HEALTH_BANDS, RFM_SEGMENTS
from core.facts import get_meta
from core.periods import Filters

C, CV, TH, CM = m.table(m.Customer), m.table(m.CustomerValue), m.table(m.TierHistory), m.table(m.ChurnModel)


@dataclass(frozen=True)
class ValueOverview:
    as_of: date
    customers: int
    revenue_total: float  # historical value
    clv_12m: float  # predicted value of the next 12 months
    expected_orders: float
    health_bands: dict[str, int]
    segments: pd.DataFrame  # rfm_segment, customers, revenue_total, clv_12m, health (mean)
    fit: dict[str, Any]  # the lifetime-value models' parameters


def overview(session: Session, filters: Filters, *, viewer: Viewer) -> ValueOverview | None:
    """None until a scoring has written customer values."""
    require(viewer, "page:churn")
    as_of = session.scalar(select(func.max(CV.c.as_of)))
    if as_of is None:
        return None
    measures = ["customers", "revenue_total", "clv_12m", "expected_orders", "health"]
    stmt = (
        select(
            CV.c.rfm_segment,
            CV.c.health_band,
            func.count().label("customers"),
            func.sum(CV.c.revenue_total).label("revenue_total"),
            func.sum(CV.c.clv_12m).label("clv_12m"),
            func.sum(CV.c.expected_orders).label("expected_orders"),
            func.sum(CV.c.health).label("health"),
        )
        .select_from(CV.join(C, C.c.id == CV.c.customer_id))
        .group_by(CV.c.rfm_segment, CV.c.health_band)
    )
    rows = pd.DataFrame(
        db.tuples(session.execute(visible(stmt, C, viewer, filters))), columns=["rfm_segment", "health_band", *measures]
    )
    rows[measures] = rows[measures].apply(pd.to_numeric).fillna(0).astype(float)
    segments = (
        rows.groupby("rfm_segment")[["customers", "revenue_total", "clv_12m", "health"]]
        .sum()
        .reindex([s[0] for s in RFM_SEGMENTS], fill_value=0)
        .reset_index()
    )
    segments["health"] = segments["health"] / segments["customers"].where(segments["customers"] > 0)
    bands = rows.groupby("health_band")["customers"].sum()
    fit = get_meta(session, "clv_fit")
    return ValueOverview(
        as_of=date.fromisoformat(str(as_of)[:10]),
        customers=int(rows["customers"].sum()),
        revenue_total=float(rows["revenue_total"].sum()),
        clv_12m=float(rows["clv_12m"].sum()),
        expected_orders=float(rows["expected_orders"].sum()),
        health_bands={band: int(bands.get(band, 0)) for band, _ in HEALTH_BANDS},
        segments=segments,
        fit=json.loads(fit) if fit else {},
    )


def health_calibration(session: Session, *, viewer: Viewer) -> pd.DataFrame:
    """The newest model's training snapshots: each health band's customers and actual churn rate (the whole
    base: the check is of the score's meaning, not of anyone's customers)."""
    require(viewer, "page:churn")
    raw = session.scalar(select(CM.c.health_calibration).order_by(CM.c.version.desc()).limit(1))
    frame = pd.DataFrame(json.loads(raw) if raw else [], columns=["snapshot", "band", "customers", "churned"])
    frame["rate"] = frame["churned"] / frame["customers"].where(frame["customers"] > 0)
    return frame


@dataclass(frozen=True)
class TierFlow:
    previous: date | None  # the quarter compared with (None: no earlier quarter yet)
    current: date | None
    moves: pd.DataFrame  # source, target, customers; "new" sources and "left" targets included


def tier_flow(session: Session, filters: Filters, *, viewer: Viewer) -> TierFlow:
    """How the viewer's customers moved between value tiers from the previous quarter's latest scoring to this
    quarter's: new customers come from "new", those no longer scored (churned) go to "left"."""
    require(viewer, "page:churn")
    quarters = list(session.scalars(select(TH.c.quarter).distinct().order_by(TH.c.quarter.desc()).limit(2)))
    if len(quarters) < 2:
        return TierFlow(
            None, quarters[0] if quarters else None, pd.DataFrame(columns=["source", "target", "customers"])
        )
    current, previous = quarters
    before, after = TH.alias("before"), TH.alias("after")
    stayed_or_left = (
        select(
            before.c.tier.label("source"),
            func.coalesce(after.c.tier, literal("left")).label("target"),
            before.c.customer_id,
        )
        .select_from(
            before.join(C, C.c.id == before.c.customer_id).outerjoin(
                after, (after.c.customer_id == before.c.customer_id) & (after.c.quarter == current)
            )
        )
        .where(before.c.quarter == previous)
    )
    arrived = (
        select(literal("new").label("source"), after.c.tier.label("target"), after.c.customer_id)
        .select_from(
            after.join(C, C.c.id == after.c.customer_id).outerjoin(
                before, (before.c.customer_id == after.c.customer_id) & (before.c.quarter == previous)
            )
        )
        .where(after.c.quarter == current, before.c.customer_id.is_(None))
    )
    parts = [visible(stayed_or_left, C, viewer, filters), visible(arrived, C, viewer, filters)]
    moves = union_all(*parts).subquery()
    stmt = select(moves.c.source, moves.c.target, func.count().label("customers")).group_by(
        moves.c.source, moves.c.target
    )
    frame = pd.DataFrame(session.execute(stmt).mappings().all(), columns=["source", "target", "customers"])
    frame["customers"] = frame["customers"].astype(int)
    return TierFlow(previous, current, frame)


def customer_value(session: Session, viewer: Viewer, customer_id: int) -> dict[str, Any] | None:
    """One customer's stored value row, or None (not scored, or outside the viewer's scope)."""
    stmt = select(*(c for c in CV.c if c.name != "customer_id")).select_from(CV.join(C, C.c.id == CV.c.customer_id))
    row = session.execute(visible(stmt.where(CV.c.customer_id == customer_id), C, viewer)).first()
    if row is None:
        return None
    found = dict(row._mapping)
    found["health_parts"] = json.loads(found["health_parts"] or "{}")
    return found


def customer_health_history(session: Session, viewer: Viewer, customer_id: int, *, as_of: date) -> pd.DataFrame:
    """18 weeks of one customer's health (empty outside the viewer's scope)."""
    from core.churn.value import health_history

    if session.execute(visible(select(C.c.id).where(C.c.id == customer_id), C, viewer)).first() is None:
        return pd.DataFrame()
    return health_history(session, customer_id, as_of=as_of)
