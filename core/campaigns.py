"""Campaigns (issue 16, seed 000 §6.3 营销效果): a campaign's members come from a segment of the customer list or
a file of customer codes; a share of them, drawn at random once when the campaign is created, is held out as
its control group and not contacted. Its results compare the contacted with the control group over the
campaign's period, so that what would have happened anyway is not counted as the campaign's effect.

Measures over [starts_on, min(ends_on, today)]: conversion = share who ordered; revenue per member; repurchase =
share with two or more orders; churn = share of those active at the start who churned in the period. Each
difference (contacted − control) has a 95 % normal interval (Welch's for revenue). ROI = (the revenue
difference per member × members contacted − cost) / cost, with the interval carried through from the revenue
difference's.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, clock, db, models as m, validators
from core.access import Viewer, require, visible
from core.customer_list import CustomerQuery, matching_ids
from core.errors import FieldErrors, NotFound, ValidationError
from core.pii import Keyring

CAMPAIGNS, MEMBERS = m.table(m.Campaign), m.table(m.CampaignMember)
O, C = m.table(m.Order), m.table(m.Customer)
CHANNELS = ("phone", "email", "sms", "wechat", "event", "direct_mail")
SEGMENT_FIELDS = ("regions", "industries", "kinds", "owner_ids", "tiers", "stages", "nps")
MIN_MEMBERS = 20
Z = 1.96


@dataclass(frozen=True)
class CampaignPlan:
    name: str
    channel: str
    starts_on: date
    ends_on: date
    cost: float | None
    holdout_percent: int
    query: CustomerQuery | None = None  # the customer list's filters, or
    codes: tuple[str, ...] = ()  # customer codes from a file


def _check(plan: CampaignPlan) -> str:
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    name = validators.text(errors, "name", plan.name, required=True, longest=100, multiline=False)
    if plan.channel not in CHANNELS:
        errors["channel"] = ("form.error.choice", {})
    if plan.ends_on < plan.starts_on:
        errors["ends_on"] = ("campaign.error.dates", {})
    if plan.cost is None or not 0 <= plan.cost < 1e12:
        errors["cost"] = ("campaign.error.cost", {})
    validators.whole_number(errors, "holdout_percent", plan.holdout_percent, low=5, high=50)
    if errors:
        raise FieldErrors(errors)
    return str(name)


def members_of(session: Session, viewer: Viewer, plan: CampaignPlan, keyring: Keyring) -> list[int]:
    """The campaign's customers in the viewer's scope: the segment's, or those whose codes the file lists."""
    if plan.codes:
        wanted = sorted({c.strip().upper() for c in plan.codes if c and c.strip()})
        found: list[int] = []
        for start in range(0, len(wanted), 1000):
            stmt = select(C.c.id).where(C.c.code.in_(wanted[start : start + 1000]))
            found += [int(i) for i in session.scalars(visible(stmt, C, viewer))]
        return sorted(found)
    return matching_ids(session, viewer, plan.query or CustomerQuery(), keyring)


def create(
    session: Session, viewer: Viewer, plan: CampaignPlan, keyring: Keyring, *, now: datetime | None = None
) -> int:
    """A campaign with its members, each drawn into the control group with the holdout's probability (seeded by
    the campaign and the customer: the same draw whoever reruns it). Refused with too few members."""
    require(viewer, "campaigns:run")
    now = (now or clock.now()).replace(microsecond=0)
    name = _check(plan)
    members = members_of(session, viewer, plan, keyring)
    if len(members) < MIN_MEMBERS:
        raise ValidationError(
            "Too few customers for a campaign and its control group.", key="campaign.error.few", n=MIN_MEMBERS
        )
    segment: dict[str, object] = (
        {"codes": len(plan.codes)}
        if plan.codes
        else {f: list(getattr(plan.query, f)) for f in SEGMENT_FIELDS if plan.query and getattr(plan.query, f)}
    )
    campaign_id, control = insert(session, plan, name, members, segment=segment, by=viewer.username, now=now)
    audit.record(
        session,
        action="campaign_created",
        username=viewer.username,
        object=f"campaign:{campaign_id}",
        at=now,
        details={"members": len(members), "control": len(control), "segment": segment},
    )
    return campaign_id


def insert(
    session: Session,
    plan: CampaignPlan,
    name: str,
    members: list[int],
    *,
    segment: dict[str, object],
    by: str,
    now: datetime,
) -> tuple[int, set[int]]:
    """Write a checked campaign and its members; returns its id and the control group drawn (the demo's
    history uses it too)."""
    campaign_id = db.new_id(
        session,
        CAMPAIGNS.insert().values(
            name=name,
            channel=plan.channel,
            starts_on=plan.starts_on,
            ends_on=plan.ends_on,
            cost=plan.cost,
            holdout_percent=plan.holdout_percent,
            segment=json.dumps(segment, ensure_ascii=False, sort_keys=True),
            created_by=by,
            created_at=now,
        ),
    )
    share = plan.holdout_percent / 100
    control = {c for c in members if random.Random(f"campaign:{campaign_id}:{c}").random() < share}
    rows = [{"campaign_id": campaign_id, "customer_id": c, "control": c in control} for c in members]
    for start in range(0, len(rows), 20_000):
        session.execute(MEMBERS.insert(), rows[start : start + 20_000])
    return campaign_id, control


def campaigns(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Every campaign with its members and control group's sizes, newest first."""
    require(viewer, "page:growth")
    counts = (
        select(MEMBERS.c.campaign_id, func.count().label("members"), db.count_if(MEMBERS.c.control).label("control"))
        .group_by(MEMBERS.c.campaign_id)
        .subquery()
    )
    rows = session.execute(
        select(
            CAMPAIGNS.c.id,
            CAMPAIGNS.c.name,
            CAMPAIGNS.c.channel,
            CAMPAIGNS.c.starts_on,
            CAMPAIGNS.c.ends_on,
            CAMPAIGNS.c.cost,
            CAMPAIGNS.c.holdout_percent,
            counts.c.members,
            counts.c.control,
        )
        .outerjoin(counts, counts.c.campaign_id == CAMPAIGNS.c.id)
        .order_by(CAMPAIGNS.c.starts_on.desc(), CAMPAIGNS.c.id.desc())
    )
    columns = ["id", "name", "channel", "starts_on", "ends_on", "cost", "holdout_percent", "members", "control"]
    return pd.DataFrame(db.tuples(rows), columns=columns)


@dataclass(frozen=True)
class Difference:
    contacted: float | None
    control: float | None
    difference: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Results:
    """A campaign's contacted members against its control group over [start, end]."""

    start: date
    end: date
    contacted: int
    control: int
    conversion: Difference
    revenue_per_member: Difference
    repurchase: Difference
    churn: Difference
    cost: float
    incremental_revenue: float | None
    roi: Difference  # contacted: the ROI; low/high: its interval


def _share(a: int, n_a: int, b: int, n_b: int) -> Difference:
    if not n_a or not n_b:
        return Difference(a / n_a if n_a else None, b / n_b if n_b else None, None, None, None)
    p, q = a / n_a, b / n_b
    se = math.sqrt(p * (1 - p) / n_a + q * (1 - q) / n_b)
    return Difference(p, q, p - q, p - q - Z * se, p - q + Z * se)


def _means(x: pd.Series, y: pd.Series) -> tuple[Difference, float]:
    if len(x) < 2 or len(y) < 2:
        return Difference(None, None, None, None, None), math.nan
    se = math.sqrt(float(x.var(ddof=1)) / len(x) + float(y.var(ddof=1)) / len(y))
    d = float(x.mean() - y.mean())
    return Difference(float(x.mean()), float(y.mean()), d, d - Z * se, d + Z * se), se


def results(session: Session, viewer: Viewer, campaign_id: int, *, today: date | None = None) -> Results:
    """The contacted against the control group: conversion, revenue per member, repurchase and churn with their
    intervals, and the ROI (members outside the viewer's scope are left out of both groups alike)."""
    require(viewer, "page:growth")
    today = today or clock.today()
    row = session.execute(select(CAMPAIGNS).where(CAMPAIGNS.c.id == campaign_id)).mappings().first()
    if row is None:
        raise NotFound("No such campaign.", key="campaign.error.not_found")
    start, end = row["starts_on"], min(row["ends_on"], today)
    people = pd.DataFrame(
        db.tuples(
            session.execute(
                visible(
                    select(MEMBERS.c.customer_id, MEMBERS.c.control, C.c.churned_date, C.c.became_customer_date)
                    .join(C, C.c.id == MEMBERS.c.customer_id)
                    .where(MEMBERS.c.campaign_id == campaign_id),
                    C,
                    viewer,
                )
            )
        ),
        columns=["customer_id", "control", "churned", "became"],
    )
    ids = [int(i) for i in people["customer_id"]]
    orders: list[tuple[object, ...]] = []
    for first in range(0, len(ids), 5000):
        orders += db.tuples(
            session.execute(
                select(O.c.customer_id, func.count(), func.sum(O.c.amount))
                .where(O.c.customer_id.in_(ids[first : first + 5000]), O.c.order_date >= start, O.c.order_date <= end)
                .group_by(O.c.customer_id)
            )
        )
    bought = pd.DataFrame(orders, columns=["customer_id", "orders", "revenue"])
    people = people.merge(bought, on="customer_id", how="left").fillna({"orders": 0, "revenue": 0.0})
    people["revenue"] = people["revenue"].astype(float)
    people["control"] = people["control"].astype(bool)
    contacted, control = people[~people["control"]], people[people["control"]]

    def count(frame: pd.DataFrame, condition: pd.Series) -> int:
        return int(condition.loc[frame.index].sum())

    ordered = people["orders"] > 0
    again = people["orders"] >= 2
    was_active = people["churned"].isna() | (pd.to_datetime(people["churned"]) >= pd.Timestamp(start))
    was_active &= people["became"].notna() & (pd.to_datetime(people["became"]) < pd.Timestamp(start))
    lost = was_active & people["churned"].notna() & (pd.to_datetime(people["churned"]) <= pd.Timestamp(end))
    revenue, se = _means(contacted["revenue"], control["revenue"])
    cost = float(row["cost"])
    incremental = revenue.difference * len(contacted) if revenue.difference is not None else None
    roi = Difference(None, None, None, None, None)
    if incremental is not None and cost > 0:
        spread = Z * se * len(contacted)
        roi = Difference(
            (incremental - cost) / cost,
            None,
            None,
            (incremental - spread - cost) / cost,
            (incremental + spread - cost) / cost,
        )
    active_a, active_b = count(contacted, was_active), count(control, was_active)
    return Results(
        start=start,
        end=end,
        contacted=len(contacted),
        control=len(control),
        conversion=_share(count(contacted, ordered), len(contacted), count(control, ordered), len(control)),
        revenue_per_member=revenue,
        repurchase=_share(count(contacted, again), len(contacted), count(control, again), len(control)),
        churn=_share(count(contacted, lost), active_a, count(control, lost), active_b),
        cost=cost,
        incremental_revenue=incremental,
        roi=roi,
    )
