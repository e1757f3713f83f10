"""Value tiers and lifecycle stages: the written rule, used until the churn model scores (then the tiers come
from `core.churn.value`, applied to the summaries by `core.facts`).

Value tiers, for active customers (KPI glossary):
- churn_risk: orders in the last 90 days below 50% of the previous 90 days' pace, or no order for
  more than 2x the customer's median gap between orders. Takes precedence whatever the value.
- high_value: top 20% of active customers by 12-month revenue.
- potential: tenure under 12 months with 12-month revenue growth >= 0, or 12-month order frequency in
  the top 40%.
- general: the rest.
Lifecycle stages: prospect, new (< 90 days a customer), growing (< 12 months), mature, dormant (no order
for 180 days), churned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import models as m
from core.access import Viewer, visible
from core.periods import Filters

C, S, SEG, U = m.table(m.Customer), m.table(m.CustomerStat), m.table(m.SegmentFact), m.table(m.User)

TIERS = ("high_value", "potential", "general", "churn_risk")
LIFECYCLE_STAGES = ("prospect", "new", "growing", "mature", "dormant", "churned")
CHURN_REASONS = ("order_decline", "overdue")


@dataclass(frozen=True)
class SegmentPolicy:
    """Every threshold of the tier and lifecycle rules, in one place (shown in the UI help)."""

    high_value_share: float = 0.20
    potential_tenure_days: int = 365
    potential_frequency_share: float = 0.40
    decline_ratio: float = 0.5
    gap_multiple: float = 2.0
    new_days: int = 90
    dormant_days: int = 180


DEFAULT_POLICY = SegmentPolicy()


def _top_share(values: pd.Series, share: float) -> pd.Series:
    """True for rows whose value ranks in the top `share` among positive values.

    Ties are ranked by their lowest place, so a tie group that straddles the cut-off stays out
    (otherwise 90% of customers with the same order count could all be "top 40%").
    """
    if values.empty:
        return pd.Series(False, index=values.index)
    places = math.ceil(share * len(values))
    return (values.rank(ascending=False, method="max") <= places) & (values > 0)


def classify(stats: pd.DataFrame, *, as_of: date, policy: SegmentPolicy = DEFAULT_POLICY) -> pd.DataFrame:
    """Add tier, churn_reason and lifecycle_stage columns to per-customer statistics.

    Expects columns status, became_customer_date, last_order_date, orders_total, orders_12m, revenue_12m,
    revenue_prev_12m, orders_last_90, orders_prev_90, median_gap_days (missing counts mean zero).
    """
    out = stats.copy()
    for name in ("orders_total", "orders_12m", "revenue_12m", "revenue_prev_12m", "orders_last_90", "orders_prev_90"):
        out[name] = pd.to_numeric(out[name]).fillna(0)
    as_of_ts = pd.Timestamp(as_of)
    tenure = (as_of_ts - pd.to_datetime(out["became_customer_date"])).dt.days
    since_last = (as_of_ts - pd.to_datetime(out["last_order_date"])).dt.days
    active = out["status"] == "active"

    decline = (out["orders_prev_90"] > 0) & (out["orders_last_90"] < policy.decline_ratio * out["orders_prev_90"])
    overdue = out["median_gap_days"].notna() & (since_last > policy.gap_multiple * out["median_gap_days"])
    high = pd.Series(False, index=out.index)
    frequent = pd.Series(False, index=out.index)
    high[active] = _top_share(out.loc[active, "revenue_12m"], policy.high_value_share)
    frequent[active] = _top_share(out.loc[active, "orders_12m"], policy.potential_frequency_share)
    young_growing = (tenure < policy.potential_tenure_days) & (out["revenue_12m"] >= out["revenue_prev_12m"])
    tier = np.select(
        [decline | overdue, high, young_growing | frequent], ["churn_risk", "high_value", "potential"], "general"
    )
    # object dtype keeps None as None (pandas 3 would otherwise infer strings with NaN)
    none = np.full(len(out), None, dtype=object)
    out["tier"] = pd.Series(np.where(active, tier, none), index=out.index, dtype=object)
    out["churn_reason"] = pd.Series(
        np.where(active & decline, "order_decline", np.where(active & overdue, "overdue", none)),
        index=out.index,
        dtype=object,
    )

    dormant = since_last.isna() | (since_last >= policy.dormant_days)
    stage = np.select([tenure < policy.new_days, dormant, tenure < 365], ["new", "dormant", "growing"], "mature")
    out["lifecycle_stage"] = np.select(
        [out["status"] == "prospect", out["status"] == "churned"], ["prospect", "churned"], stage
    )
    return out


# --- queries over the summaries (the viewer's scope and filters applied by core.access) -----------


def tier_distribution(session: Session, filters: Filters, *, viewer: Viewer) -> pd.DataFrame:
    """Active customers and their 12-month revenue per value tier (every tier present, zeros included)."""
    stmt = (
        select(
            SEG.c.tier, func.sum(SEG.c.customers).label("customers"), func.sum(SEG.c.revenue_12m).label("revenue_12m")
        )
        .where(SEG.c.tier.is_not(None))
        .group_by(SEG.c.tier)
    )
    rows = {
        r.tier: (float(r.customers or 0), float(r.revenue_12m or 0))
        for r in session.execute(visible(stmt, SEG, viewer, filters))
    }
    return pd.DataFrame(
        [{"tier": t, "customers": rows.get(t, (0, 0))[0], "revenue_12m": rows.get(t, (0, 0))[1]} for t in TIERS],
        columns=["tier", "customers", "revenue_12m"],
    )


def lifecycle_distribution(session: Session, filters: Filters, *, viewer: Viewer) -> pd.DataFrame:
    """Customers per lifecycle stage, prospects and churned included."""
    stmt = select(SEG.c.lifecycle_stage, func.sum(SEG.c.customers).label("customers")).group_by(SEG.c.lifecycle_stage)
    rows = {r.lifecycle_stage: float(r.customers or 0) for r in session.execute(visible(stmt, SEG, viewer, filters))}
    return pd.DataFrame(
        [{"stage": s, "customers": rows.get(s, 0.0)} for s in LIFECYCLE_STAGES], columns=["stage", "customers"]
    )


CHURN_WARNING_COLUMNS = [
    "customer_id",
    "code",
    "name",
    "owner",
    "revenue_12m",
    "orders_last_90",
    "orders_prev_90",
    "last_order_date",
    "churn_reason",
]


def churn_warnings(session: Session, filters: Filters, *, viewer: Viewer, limit: int = 10) -> pd.DataFrame:
    """The highest-value customers in the churn-risk tier, with what their decline looks like. A customer whose
    orders grew (last 90 days above the 90 before) is left out: a single long gap flags them under the rule,
    but telling an executive they are leaving would be wrong (until the learned churn model replaces it)."""
    stmt = (
        select(
            C.c.id.label("customer_id"),
            C.c.code,
            C.c.name,
            U.c.display_name.label("owner"),
            S.c.revenue_12m,
            S.c.orders_last_90,
            S.c.orders_prev_90,
            S.c.last_order_date,
            S.c.churn_reason,
        )
        .select_from(S.join(C, C.c.id == S.c.customer_id).outerjoin(U, U.c.id == C.c.owner_id))
        .where(S.c.tier == "churn_risk", S.c.orders_last_90 <= S.c.orders_prev_90)
        .order_by(S.c.revenue_12m.desc(), C.c.id)
        .limit(limit)
    )
    return pd.DataFrame(
        session.execute(visible(stmt, C, viewer, filters)).mappings().all(), columns=CHURN_WARNING_COLUMNS
    )
