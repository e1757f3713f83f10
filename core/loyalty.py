"""The loyalty programme: its versioned rules, the members, and an append-only points ledger.

- Programme: points per CNY of an order and per action (referral, review, survey answer), levels with
  thresholds on the points earned over the last 12 months and their benefits, how many months earned points
  last, and what a point is worth when redeemed. An edit closes the current version and starts the next one.
- Ledger: every change of a balance is a row: earn (an order of a member, placed once they joined, including
  imported ones; an action), redeem, expire, adjust (with a reason). A balance is the sum of its rows; nothing
  is ever updated or deleted, so the ledger replays to every balance.
- Expiry is first in, first out: points earned longest ago are used first, so what expires by a day is what
  was earned with that day as its end, less everything already taken out (redeemed, expired, adjusted down).
- Members against comparable non-members: the repurchase rate over the last 90 days, members who joined
  before it against non-members of the same value tier and tenure, per stratum, weighted by the members in
  each, with a 95 % interval (the strata's variances added), not a raw difference.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from core import audit, clock, db, models as m
from core.access import Viewer, require, visible
from core.errors import FieldErrors, NotFound, PermissionDenied, ValidationError

P, L, MB = m.table(m.LoyaltyProgramme), m.table(m.LoyaltyEntry), m.table(m.LoyaltyMember)
C, O, S = m.table(m.Customer), m.table(m.Order), m.table(m.CustomerStat)
ACTIONS = ("referral", "review", "survey")
KINDS = ("earn", "redeem", "expire", "adjust")
TENURE_YEARS = (1, 2, 4)  # tenure strata: under 1 year, 1-2, 2-4, 4 and more


@dataclass(frozen=True)
class Level:
    name: str
    threshold: int  # points earned over the last 12 months
    benefit: str


@dataclass(frozen=True)
class Programme:
    id: int
    version: int
    points_per_yuan: float
    action_points: dict[str, int]
    levels: tuple[Level, ...]  # ascending thresholds; the first is 0
    expiry_months: int | None
    yuan_per_point: float
    valid_from: datetime

    def level_of(self, earned_12m: float) -> str:
        reached = [lv.name for lv in self.levels if earned_12m >= lv.threshold]
        return reached[-1] if reached else self.levels[0].name


@dataclass(frozen=True)
class ProgrammeChange:
    """What an administrator types into the programme form."""

    points_per_yuan: float | None
    action_points: dict[str, int | None]
    levels: list[tuple[str, int | None, str]]  # (name, threshold, benefit)
    expiry_months: int | None
    yuan_per_point: float | None


DEFAULT = ProgrammeChange(  # the demo's, as its (Chinese) administrator would have typed it
    points_per_yuan=0.1,
    action_points={"referral": 500, "review": 100, "survey": 50},
    levels=[
        ("普通会员", 0, "每笔订单累积积分"),
        ("银卡会员", 5_000, "免运费"),
        ("金卡会员", 20_000, "专属服务热线，95 折"),
        ("白金会员", 60_000, "客户经理季度回访，9 折"),
    ],
    expiry_months=24,
    yuan_per_point=0.05,  # 0.1 point a yuan, worth 0.05 each: 0.5 % back
)


# --- the programme ------------------------------------------------------------------------------------------


def _programme(row: object) -> Programme:
    r = row._mapping  # type: ignore[attr-defined]
    return Programme(
        id=int(r["id"]),
        version=int(r["version"]),
        points_per_yuan=float(r["points_per_yuan"]),
        action_points={k: int(v) for k, v in json.loads(r["action_points"]).items()},
        levels=tuple(Level(str(n), int(t), str(b)) for n, t, b in json.loads(r["levels"])),
        expiry_months=r["expiry_months"],
        yuan_per_point=float(r["yuan_per_point"]),
        valid_from=r["valid_from"],
    )


def current(session: Session) -> Programme | None:
    """The programme in force (None: the store has none yet)."""
    row = session.execute(select(P).where(P.c.valid_to.is_(None))).first()
    return _programme(row) if row else None


def versions(session: Session) -> list[Programme]:
    """Every version, newest first (the programme's history on the Loyalty page)."""
    return [_programme(r) for r in session.execute(select(P).order_by(P.c.version.desc()))]


def programme_values(change: ProgrammeChange) -> dict[str, object]:
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    if change.points_per_yuan is None or not 0 <= change.points_per_yuan <= 1000:
        errors["points_per_yuan"] = ("loyalty.error.points_per_yuan", {})
    for action in ACTIONS:
        value = change.action_points.get(action)
        if value is None or not 0 <= value <= 1_000_000:
            errors[f"points_{action}"] = ("loyalty.error.action_points", {})
    levels = [(name.strip(), threshold, benefit.strip()) for name, threshold, benefit in change.levels if name.strip()]
    thresholds = [t for _, t, _ in levels]
    if not levels or any(t is None or t < 0 for t in thresholds) or thresholds[0] != 0:
        errors["levels"] = ("loyalty.error.levels", {})
    elif thresholds != sorted({int(t or 0) for t in thresholds}) or len({n for n, _, _ in levels}) != len(levels):
        errors["levels"] = ("loyalty.error.levels_order", {})
    elif any(len(n) > 40 or len(b) > 200 for n, _, b in levels):
        errors["levels"] = ("loyalty.error.level_text", {})
    if change.expiry_months is not None and not 1 <= change.expiry_months <= 120:
        errors["expiry_months"] = ("loyalty.error.expiry", {})
    if change.yuan_per_point is None or not 0 < change.yuan_per_point <= 100:
        errors["yuan_per_point"] = ("loyalty.error.yuan_per_point", {})
    if errors:
        raise FieldErrors(errors)
    return {
        "points_per_yuan": float(change.points_per_yuan or 0),
        "action_points": json.dumps({a: int(change.action_points[a] or 0) for a in ACTIONS}),
        "levels": json.dumps([[n, int(t or 0), b] for n, t, b in levels], ensure_ascii=False),
        "expiry_months": change.expiry_months,
        "yuan_per_point": float(change.yuan_per_point or 0),
    }


def set_programme(session: Session, viewer: Viewer, change: ProgrammeChange, *, now: datetime | None = None) -> int:
    """An administrator edits the programme: the current version ends now and the next one starts (earnings
    record the version they were worked out under). Audited. Returns the new version number."""
    require(viewer, "loyalty:programme")
    now = now or clock.now()
    values = programme_values(change)
    before = current(session)
    version = (before.version if before else 0) + 1
    if before:
        session.execute(P.update().where(P.c.id == before.id).values(valid_to=now))
    session.execute(P.insert().values(**values, version=version, valid_from=now, valid_to=None))
    audit.record(
        session,
        action="loyalty_programme_changed",
        username=viewer.username,
        object="loyalty_programme",
        details={"version": version, **{k: v for k, v in values.items() if k != "levels"}},
        at=now,
    )
    return version


# --- members and the ledger -------------------------------------------------------------------------------


def _in_scope(session: Session, viewer: Viewer, customer_id: int) -> None:
    if session.scalar(visible(select(C.c.id).where(C.c.id == customer_id), C, viewer)) is None:
        if session.scalar(select(C.c.id).where(C.c.id == customer_id)) is None:
            raise NotFound("No such customer.", key="customer.not_found")
        raise PermissionDenied("Not one of your customers.", key="error.own_customers")


def _entry(
    session: Session,
    customer_id: int,
    *,
    kind: str,
    points: int,
    at: datetime,
    source: str,
    programme: Programme | None,
    by: int | None = None,
    reason: str | None = None,
    order_id: int | None = None,
    reference: str | None = None,
) -> None:
    expires = None
    if kind == "earn" and programme and programme.expiry_months:
        expires = at + timedelta(days=round(programme.expiry_months * 30.4375))
    session.execute(
        L.insert().values(
            customer_id=customer_id,
            at=at,
            kind=kind,
            points=points,
            source=source,
            order_id=order_id,
            reference=reference,
            reason=reason,
            expires_at=expires,
            programme_version=programme.version if programme else None,
            created_by=by,
        )
    )


def enrol(session: Session, viewer: Viewer, customer_id: int, *, now: datetime | None = None) -> None:
    """A customer joins the programme (their orders from now on earn points). Audited."""
    require(viewer, "loyalty:enrol")
    now = now or clock.now()
    _in_scope(session, viewer, customer_id)
    if current(session) is None:
        raise ValidationError("There is no loyalty programme yet.", key="loyalty.error.no_programme")
    if session.scalar(select(MB.c.customer_id).where(MB.c.customer_id == customer_id)) is not None:
        raise ValidationError("Already a member.", key="loyalty.error.member")
    session.execute(
        MB.insert().values(customer_id=customer_id, joined_at=now, joined_on=now.date(), enrolled_by=viewer.user_id)
    )
    audit.record(
        session, action="loyalty_enrolled", username=viewer.username, object=f"customer_id:{customer_id}", at=now
    )


def balance(session: Session, customer_id: int) -> int:
    """A member's points: the sum of their ledger rows."""
    return int(
        session.scalar(select(func.coalesce(func.sum(L.c.points), 0)).where(L.c.customer_id == customer_id)) or 0
    )


def _member_or_refuse(session: Session, customer_id: int) -> None:
    if session.scalar(select(MB.c.customer_id).where(MB.c.customer_id == customer_id)) is None:
        raise ValidationError("Not a member of the loyalty programme.", key="loyalty.error.not_member")


def _by_hand(
    session: Session,
    viewer: Viewer,
    customer_id: int,
    change: int,
    *,
    reason: str | None,
    kind: str,
    now: datetime,
    points_error: str | None,
) -> int:
    """A redemption or correction typed by staff: a member's, with a reason, never taking the balance below
    zero; one ledger row and one audit row. Returns the new balance."""
    _member_or_refuse(session, customer_id)
    held = balance(session, customer_id)
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    if points_error:
        errors["points"] = (points_error, {})
    elif held + change < 0:
        errors["points"] = ("loyalty.error.balance", {"balance": held})
    if not (reason or "").strip() or len(reason or "") > 200:
        errors["reason"] = ("loyalty.error.reason", {})
    if errors:
        raise FieldErrors(errors)
    source, action = {"redeem": ("redemption", "loyalty_redeemed"), "adjust": ("manual", "loyalty_adjusted")}[kind]
    _entry(
        session,
        customer_id,
        kind=kind,
        points=change,
        at=now,
        source=source,
        programme=current(session),
        by=viewer.user_id,
        reason=(reason or "").strip(),
    )
    audit.record(
        session,
        action=action,
        username=viewer.username,
        object=f"customer_id:{customer_id}",
        details={"points": change},
        at=now,
    )
    return held + change


def redeem(
    session: Session,
    viewer: Viewer,
    customer_id: int,
    points: int | None,
    *,
    reason: str | None,
    now: datetime | None = None,
) -> int:
    """A member spends points (what for, in `reason`); never more than the balance. Audited. Returns the balance."""
    require(viewer, "loyalty:redeem")
    _in_scope(session, viewer, customer_id)
    wrong = "loyalty.error.points" if points is None or points <= 0 else None
    return _by_hand(
        session,
        viewer,
        customer_id,
        -int(points or 0),
        reason=reason,
        kind="redeem",
        now=now or clock.now(),
        points_error=wrong,
    )


def adjust(
    session: Session,
    viewer: Viewer,
    customer_id: int,
    points: int | None,
    *,
    reason: str | None,
    now: datetime | None = None,
) -> int:
    """An administrator corrects a balance up or down, with a reason (never below zero). Audited."""
    require(viewer, "loyalty:adjust")
    return _by_hand(
        session,
        viewer,
        customer_id,
        int(points or 0),
        reason=reason,
        kind="adjust",
        now=now or clock.now(),
        points_error=None if points else "loyalty.error.adjust",
    )


def award(
    session: Session,
    viewer: Viewer | None,
    customer_id: int,
    action: str,
    *,
    at: datetime,
    reference: str | None = None,
) -> int:
    """Points for an action of a member (a referral or a review staff record; a survey answer, from the write
    path that saves it). Not a member, or nothing for it in the programme: no points. Returns the points."""
    if action not in ACTIONS:
        raise ValueError(action)
    if viewer is not None:
        require(viewer, "loyalty:enrol")
        _in_scope(session, viewer, customer_id)
    programme = current(session)
    joined = session.scalar(select(MB.c.joined_at).where(MB.c.customer_id == customer_id))
    points = programme.action_points.get(action, 0) if programme else 0
    if joined is None or joined > at or points <= 0:
        return 0
    _entry(
        session,
        customer_id,
        kind="earn",
        points=points,
        at=at,
        source=action,
        programme=programme,
        by=viewer.user_id if viewer else None,
        reference=reference,
    )
    return points


def earn_from_orders(session: Session, *, now: datetime | None = None) -> int:
    """Points for every member's order placed on or after the day they joined that has none yet (orders typed,
    imported or late): one set-based insert, so an import of a million orders earns in one statement, and a
    second run earns nothing twice (the ledger keeps one earn row per order). Returns the rows written."""
    programme = current(session)
    if programme is None or programme.points_per_yuan <= 0:
        return 0
    now = now or clock.now()
    earned = L.alias("earned")
    pending = (
        select(O.c.id, O.c.customer_id, O.c.order_date, O.c.amount)
        .join(MB, MB.c.customer_id == O.c.customer_id)
        .where(O.c.order_date >= MB.c.joined_on, O.c.amount > 0, O.c.order_date <= now.date())
        .where(~select(earned.c.id).where(earned.c.order_id == O.c.id).exists())
    )
    rows = db.tuples(session.execute(pending))
    if not rows:
        return 0
    days = round(programme.expiry_months * 30.4375) if programme.expiry_months else None
    columns: dict[str, list[object]] = {
        name: []
        for name in ("customer_id", "at", "kind", "points", "source", "order_id", "expires_at", "programme_version")
    }
    for order_id, customer_id, day, amount in rows:
        at = datetime.combine(day if isinstance(day, date) else date.fromisoformat(str(day)), datetime.min.time())
        columns["customer_id"].append(int(customer_id))
        columns["at"].append(at)
        columns["kind"].append("earn")
        columns["points"].append(int(math.floor(float(amount) * programme.points_per_yuan)))
        columns["source"].append("order")
        columns["order_id"].append(int(order_id))
        columns["expires_at"].append(at + timedelta(days=days) if days else None)
        columns["programme_version"].append(programme.version)
    return db.bulk_insert(session.connection(), L, columns)


def expire(session: Session, *, now: datetime | None = None) -> int:
    """Take out what has expired by `now`, first in first out: per member, the points whose end has passed less
    everything already taken out, never more than the balance. Returns the points expired."""
    now = now or clock.now()
    taken = func.coalesce(func.sum(case((L.c.points < 0, -L.c.points), else_=0)), 0)
    ended = func.coalesce(func.sum(case((and_(L.c.points > 0, L.c.expires_at <= now), L.c.points), else_=0)), 0)
    rows = session.execute(
        select(L.c.customer_id, ended.label("ended"), taken.label("taken"), func.sum(L.c.points).label("held"))
        .group_by(L.c.customer_id)
        .having(ended > taken)
    ).all()
    programme, total = current(session), 0
    for customer_id, ended_points, taken_points, held in rows:
        points = min(int(ended_points) - int(taken_points), int(held))
        if points > 0:
            _entry(
                session, int(customer_id), kind="expire", points=-points, at=now, source="expiry", programme=programme
            )
            total += points
    return total


def run(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """What cron runs nightly (`python -m core loyalty`): earn from new orders, then expire."""
    return {"earned_rows": earn_from_orders(session, now=now), "expired_points": expire(session, now=now)}


# --- reading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    joined_at: datetime
    balance: int
    earned_12m: int
    level: str
    next_level: str | None
    to_next: int | None  # points still to earn (over 12 months) for the next level
    ledger: pd.DataFrame  # the latest entries, newest first


def membership(session: Session, viewer: Viewer, customer_id: int, *, now: datetime | None = None) -> Membership | None:
    """A customer's level, balance and latest ledger entries for the 360° view (None: not a member)."""
    _in_scope(session, viewer, customer_id)
    now = now or clock.now()
    joined = session.scalar(select(MB.c.joined_at).where(MB.c.customer_id == customer_id))
    programme = current(session)
    if joined is None or programme is None:
        return None
    earned = int(
        session.scalar(
            select(func.coalesce(func.sum(L.c.points), 0)).where(
                L.c.customer_id == customer_id, L.c.kind == "earn", L.c.at > now - timedelta(days=365)
            )
        )
        or 0
    )
    level = programme.level_of(earned)
    above = [lv for lv in programme.levels if lv.threshold > earned]
    ledger = pd.DataFrame(
        db.tuples(
            session.execute(
                select(L.c.at, L.c.kind, L.c.source, L.c.points, L.c.reason, L.c.expires_at)
                .where(L.c.customer_id == customer_id)
                .order_by(L.c.at.desc(), L.c.id.desc())
                .limit(50)
            )
        ),
        columns=["at", "kind", "source", "points", "reason", "expires_at"],
    )
    return Membership(
        joined,
        balance(session, customer_id),
        earned,
        level,
        above[0].name if above else None,
        above[0].threshold - earned if above else None,
        ledger,
    )


@dataclass(frozen=True)
class Overview:
    members: int
    customers: int  # active customers, for the share
    liability_points: int
    liability_yuan: float
    earned_12m: int
    redeemed_12m: int
    expired_12m: int
    levels: pd.DataFrame  # level, members (by points earned over 12 months)

    @property
    def redemption_rate(self) -> float | None:
        """Points redeemed over the last 12 months / points earned over them."""
        return self.redeemed_12m / self.earned_12m if self.earned_12m else None


def overview(session: Session, viewer: Viewer, *, now: datetime | None = None) -> Overview | None:
    """Members, points liability (outstanding points and what they are worth), 12-month flows and the level
    distribution, counted in the database (None: no programme yet)."""
    require(viewer, "page:loyalty")
    now = now or clock.now()
    programme = current(session)
    if programme is None:
        return None
    year_ago = now - timedelta(days=365)
    flows = dict(
        session.execute(
            select(L.c.kind, func.sum(L.c.points)).where(L.c.at > year_ago, L.c.at <= now).group_by(L.c.kind)
        ).all()
    )
    held = int(session.scalar(select(func.coalesce(func.sum(L.c.points), 0))) or 0)
    earned = (  # each member's points earned over the year, read through the ledger's time index
        select(L.c.customer_id, func.sum(L.c.points).label("earned"))
        .where(L.c.kind == "earn", L.c.at > year_ago, L.c.at <= now)
        .group_by(L.c.customer_id)
        .subquery()
    )
    bounds = [lv.threshold for lv in programme.levels]
    level = case(*((earned.c.earned >= t, literal(i)) for i, t in reversed(list(enumerate(bounds)))), else_=literal(0))
    counted: dict[int, int] = {int(k): int(v) for k, v in session.execute(select(level, func.count()).group_by(level))}
    members = int(session.scalar(select(func.count()).select_from(MB)) or 0)
    counted[0] = counted.get(0, 0) + members - sum(counted.values())  # members who earned nothing this year
    levels = pd.DataFrame(
        {"level": [lv.name for lv in programme.levels], "members": [int(counted.get(i, 0)) for i in range(len(bounds))]}
    )
    return Overview(
        members=int(levels["members"].sum()),
        customers=int(session.scalar(select(func.count()).select_from(C).where(C.c.status == "active")) or 0),
        liability_points=held,
        liability_yuan=held * programme.yuan_per_point,
        earned_12m=int(flows.get("earn") or 0),
        redeemed_12m=-int(flows.get("redeem") or 0),
        expired_12m=-int(flows.get("expire") or 0),
        levels=levels,
    )


@dataclass(frozen=True)
class Comparison:
    members: int  # members with an order in the window, in strata that have non-members too
    non_members: int
    member_rate: float | None
    non_member_rate: float | None  # the comparable non-members' rate, weighted to the members' strata
    difference: float | None
    low: float | None
    high: float | None
    strata: pd.DataFrame  # tier, tenure, members, member_rate, non_members, non_member_rate


def compare_repurchase(session: Session, viewer: Viewer, *, days: int = 90, now: datetime | None = None) -> Comparison:
    """Repurchase rate (2 or more orders among those with 1 or more) over the last `days`: members who joined
    before the window against non-members of the same value tier and tenure stratum (at the window's start),
    weighted by the members per stratum, with a normal 95 % interval whose variance sums the strata's."""
    require(viewer, "page:loyalty")
    now = now or clock.now()
    start = (now - timedelta(days=days)).date()
    orders = (
        select(O.c.customer_id, func.count().label("n"))
        .where(O.c.order_date >= start, O.c.order_date <= now.date())
        .group_by(O.c.customer_id)
        .subquery()
    )
    member = MB.c.joined_at < datetime.combine(start, datetime.min.time())
    rows = db.tuples(
        session.execute(
            select(S.c.tier, C.c.became_customer_date, orders.c.n, MB.c.joined_at.is_not(None), member)
            .select_from(
                orders.join(C, C.c.id == orders.c.customer_id)
                .join(S, S.c.customer_id == orders.c.customer_id)
                .outerjoin(MB, MB.c.customer_id == orders.c.customer_id)
            )
            .where(C.c.became_customer_date.is_not(None))
        )
    )
    frame = pd.DataFrame(rows, columns=["tier", "since", "orders", "enrolled", "member"])
    frame = frame[~frame["enrolled"].astype(bool) | frame["member"].astype(bool)]  # joined during the window: out
    years = (pd.Timestamp(start) - pd.to_datetime(frame["since"])).dt.days / 365.25
    frame["tenure"] = pd.cut(
        years, bins=[-math.inf, *TENURE_YEARS, math.inf], right=False, labels=["<1", "1-2", "2-4", "4+"]
    ).astype(str)
    frame["tier"] = frame["tier"].fillna("—")
    frame["again"] = frame["orders"] >= 2
    frame["member"] = frame["member"].astype(bool)
    grouped = (
        frame.groupby(["tier", "tenure", "member"])["again"].agg(["size", "mean"]).unstack("member")
        if not frame.empty
        else pd.DataFrame()
    )
    strata = []
    for (tier, tenure), row in grouped.iterrows():
        n_m, n_n = row.get(("size", True)), row.get(("size", False))
        if pd.isna(n_m) or pd.isna(n_n) or not n_m or not n_n:
            continue
        strata.append((tier, tenure, int(n_m), float(row[("mean", True)]), int(n_n), float(row[("mean", False)])))
    table = pd.DataFrame(strata, columns=["tier", "tenure", "members", "member_rate", "non_members", "non_member_rate"])
    if table.empty:
        return Comparison(0, 0, None, None, None, None, None, table)
    weights = table["members"] / table["members"].sum()
    member_rate = float((weights * table["member_rate"]).sum())
    other = float((weights * table["non_member_rate"]).sum())
    variance = float(
        (
            weights**2
            * (
                table["member_rate"] * (1 - table["member_rate"]) / table["members"]
                + table["non_member_rate"] * (1 - table["non_member_rate"]) / table["non_members"]
            )
        ).sum()
    )
    spread = 1.96 * math.sqrt(variance)
    difference = member_rate - other
    return Comparison(
        int(table["members"].sum()),
        int(table["non_members"].sum()),
        member_rate,
        other,
        difference,
        difference - spread,
        difference + spread,
        table,
    )


def programme_from(change: ProgrammeChange) -> Programme:
    """A programme as a change describes it (the form's starting values when a store has none yet)."""
    values = programme_values(change)
    return Programme(
        id=0,
        version=0,
        points_per_yuan=float(values["points_per_yuan"]),  # type: ignore[arg-type]
        action_points=json.loads(str(values["action_points"])),
        levels=tuple(Level(str(n), int(t), str(b)) for n, t, b in json.loads(str(values["levels"]))),
        expiry_months=change.expiry_months,
        yuan_per_point=float(values["yuan_per_point"]),  # type: ignore[arg-type]
        valid_from=clock.now(),
    )
