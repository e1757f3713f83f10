"""KPI targets: what the business wants each KPI to reach, and whether it is getting there.

A target is absolute ("at least 95 %") or a change against the KPI over a baseline span ("-50 % against
2026 H1": the baseline's value times 0.5; for NPS, a change in points). It speaks for a period when it is in
force on the period's last day (today, for a period still running), company-wide or for one region (the
cockpit filtered to that region alone) or one team (the Service page's team figures). Revenue and new
customers add up over time, so an absolute target on them is for one period length (grain M/Q/Y) and a change
target compares with the baseline scaled to the period's days.

Status, for one period (the rule the README documents):
- no_data: the KPI or the goal has no value;
- met / missed: the period is over and the value reaches the goal / does not;
- on_track / at_risk: the period is still running (or the KPI is a point-in-time one, data completeness) and
  the value reaches the goal / does not; revenue and new customers are first projected to the period's end at
  the pace so far.

The baseline's value is worked out when the target is saved and again whenever the summaries are rebuilt
(`refresh`, imports), so reading a target never recomputes a six-month span.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock, db, facts, kpi, models as m, service_facts
from core.access import SYSTEM, Viewer, require, scoped
from core.errors import Conflict, FieldErrors, NotFound
from core.periods import GRAINS, Filters, Period, custom_period, period_containing, periods_between

K, U = m.table(m.KpiTarget), m.table(m.User)
KINDS = ("absolute", "change")
STATUSES = ("met", "on_track", "at_risk", "missed", "no_data")
DEFAULTS_KEY = "kpi_targets_defaults"  # app_meta: seed 003's targets were added once (deleting them sticks)


GROWING = ("new_customers", "revenue", "churn_rate", "complaint_rate")  # a longer period, a larger figure


@dataclass(frozen=True)
class Measure:
    """A KPI a target can be set on: its unit and direction, and which scopes it can be measured in."""

    key: str
    unit: str
    higher_is_better: bool = True
    per_period: bool = False  # depends on the period's length: an absolute target is for one grain (M/Q/Y)
    grows: bool = False  # grows with the period's length: projected while it runs, scaled to a custom range
    sums: bool = False  # a sum over customers: a company-wide target speaks only for the unfiltered view
    point_in_time: bool = False  # a state now, not a period's figure (always "running")
    by_team: bool = False  # measurable per team (the Service page's team figures)
    by_region: bool = True


MEASURES: dict[str, Measure] = {
    **{
        spec.key: Measure(
            spec.key,
            spec.unit,
            spec.higher_is_better,
            per_period=spec.key in (*GROWING, "repurchase_rate"),
            grows=spec.key in GROWING,
            sums=spec.key in ("new_customers", "revenue"),
            by_team=spec.key in ("csat", "first_response_sla", "resolution_sla"),
        )
        for spec in kpi.KPI_SPECS
    },
    "complaint_resolution": Measure("complaint_resolution", "percent", by_region=False),
    "first_response_time": Measure("first_response_time", "minutes", higher_is_better=False, by_region=False),
    "data_completeness": Measure("data_completeness", "percent", point_in_time=True, by_region=False),
}


@dataclass(frozen=True)
class Target:
    id: int
    kpi: str
    kind: str
    value: float
    grain: str | None
    effective_from: date
    effective_to: date | None
    baseline_start: date | None
    baseline_end: date | None
    baseline_value: float | None
    baseline_periods: str | None  # JSON: {"M": the baseline's average month, "Q": ..., "Y": ...}
    baseline_at: datetime | None
    region: str | None
    team: str | None
    owner_id: int | None
    owner: str | None  # the owner's display name
    note: str | None
    version: int
    updated_at: datetime

    @property
    def measure(self) -> Measure:
        return MEASURES[self.kpi]

    def baseline_for(self, period: Period) -> float | None:
        """What `period` is compared with: the baseline's average period of the same grain (a month view, the
        baseline's average month), else the whole baseline span (scaled to the period's days for a figure
        that grows with its length)."""
        per_grain = json.loads(self.baseline_periods or "{}").get(period.grain)
        if per_grain is not None:
            return float(per_grain)
        if self.baseline_value is None or self.baseline_start is None or self.baseline_end is None:
            return None
        if self.measure.grows:
            return self.baseline_value * period.days / ((self.baseline_end - self.baseline_start).days + 1)
        return self.baseline_value

    def goal(self, period: Period) -> float | None:
        """The value to reach in `period`: the absolute value, or the baseline changed by the target's change
        (in points for NPS)."""
        if self.kind == "absolute":
            return self.value
        base = self.baseline_for(period)
        if base is None:
            return None
        if self.measure.unit == "score":
            return base + self.value
        return base * (1 + self.value)


@dataclass(frozen=True)
class Standing:
    """A target against one period's value."""

    target: Target
    goal: float | None
    value: float | None
    status: str
    baseline: float | None = None  # what a change target's goal was worked out from, for this period


@dataclass(frozen=True)
class TargetChange:
    """What an administrator types into the target form (values in stored units: 0.95 for 95 %)."""

    kpi: str
    kind: str
    value: float | None
    effective_from: date | None
    effective_to: date | None = None
    grain: str | None = None
    baseline_start: date | None = None
    baseline_end: date | None = None
    region: str | None = None
    team: str | None = None
    owner_id: int | None = None
    note: str | None = None


# --- reading -------------------------------------------------------------------------------------------


def targets(session: Session) -> list[Target]:
    """Every target with its owner's name, in KPI order (a few dozen rows: read whole)."""
    rows = session.execute(
        select(K, U.c.display_name.label("owner")).select_from(K.outerjoin(U, U.c.id == K.c.owner_id))
    ).mappings()
    order = list(MEASURES)
    found = [
        Target(**{name: row[name] for name in Target.__dataclass_fields__})
        for row in rows
        if row["kpi"] in MEASURES  # a KPI retired by a later version stays in the table, unread
    ]
    return sorted(found, key=lambda t: (order.index(t.kpi), t.region or "", t.team or "", t.effective_from, t.id))


def applicable(
    found: list[Target], key: str, *, period: Period, filters: Filters, team: str | None = None, today: date
) -> Target | None:
    """The target that speaks for KPI `key` in this view: a region's own target when the view is that region
    alone, else the company-wide one (a sum's company target only for the unfiltered view); a team's
    only for that team. Several in force: the one that took effect last."""
    measure = MEASURES[key]
    day = today if measure.point_in_time else min(period.last_day, today)
    single_region = (
        filters.regions[0]
        if (len(filters.regions) == 1 and not (filters.industries or filters.kinds or filters.owner_ids))
        else None
    )

    def fits(t: Target) -> bool:
        if t.kpi != key or t.effective_from > day or (t.effective_to is not None and day > t.effective_to):
            return False
        if measure.per_period and t.kind == "absolute" and t.grain != period.grain:
            return False
        if t.team != team:
            return False
        if t.region is not None:
            return t.region == single_region
        return not measure.sums or team is not None or filters.is_empty()

    candidates = [t for t in found if fits(t)]
    if not candidates:
        return None
    return max(candidates, key=lambda t: (t.region is not None, t.effective_from, t.id))


def status(*, value: float | None, goal: float | None, measure: Measure, period: Period, today: date) -> str:
    """The documented rule (module docstring): met / missed once a period is over, on track / at risk while
    it runs, revenue and new customers projected to the period's end first."""
    if value is None or goal is None:
        return "no_data"
    running = measure.point_in_time or period.end > today
    if running and measure.grows and period.start <= today:
        value = value / (((today - period.start).days + 1) / period.days)  # at the pace so far, to the period's end
    reaches = (value >= goal) if measure.higher_is_better else (value <= goal)
    if not running:
        return "met" if reaches else "missed"
    return "on_track" if reaches else "at_risk"


def standings(
    session: Session,
    *,
    period: Period,
    filters: Filters,
    values: Mapping[str, float | None],
    team: str | None = None,
    today: date | None = None,
) -> dict[str, Standing]:
    """For each KPI in `values` that has a target in this view: the goal, the value and the status."""
    today = today or clock.today()
    found = targets(session)
    out = {}
    for key, value in values.items():
        target = applicable(found, key, period=period, filters=filters, team=team, today=today)
        if target is None:
            continue
        goal = target.goal(period)
        out[key] = Standing(
            target,
            goal,
            value,
            status(value=value, goal=goal, measure=target.measure, period=period, today=today),
            target.baseline_for(period) if target.kind == "change" else None,
        )
    return out


# --- measuring ------------------------------------------------------------------------------------------


def _bounds(period: Period) -> tuple[datetime, datetime]:
    return datetime.combine(period.start, time.min), datetime.combine(period.end, time.min)


def measure_value(
    session: Session,
    *,
    viewer: Viewer,
    key: str,
    period: Period,
    filters: Filters = Filters(),
    team: str | None = None,
    now: datetime | None = None,
) -> float | None:
    """One KPI over one period, in one scope: the cockpit's formula for its KPIs (a team's: the Service page's
    team figures), the Service page's complaint resolution rate and median first-response time, and the data
    completeness of the core fields now."""
    from core import quality, service_analytics

    now = now or clock.now()
    start, end = _bounds(period)
    if team is not None:
        measure, metric = ("csat", None) if key == "csat" else ("sla", key.removesuffix("_sla"))
        counted = service_facts.counts(session, measure=measure, dim="team", start=start, end=end)
        counted = counted[counted["value"] == team]
        if metric is not None:
            counted = counted[counted["metric"] == metric]
            met, breached = float(counted["a"].sum()), float(counted["b"].sum())
            return met / (met + breached) if met + breached else None
        ratings = float(counted["a"].sum())
        return float(counted["b"].sum()) / ratings if ratings else None
    if key == "complaint_resolution":
        return service_analytics.rates(session, viewer, start=start, end=end).resolution_rate
    if key == "first_response_time":
        return service_analytics.times(session, viewer, start=start, end=end)["first_response"]["median"]
    if key == "data_completeness":
        return quality.completeness(session, viewer).core
    spec = next(s for s in kpi.KPI_SPECS if s.key == key)
    measures, _, _ = kpi.period_measures(session, period, scoped(viewer, filters), now=now)
    return spec.formula(measures)


def _baseline(session: Session, target: Target | TargetChange, now: datetime) -> dict[str, object]:
    """The baseline's columns: the KPI over the whole span, and its average over the span's whole months,
    quarters and years (what a period of that grain is compared with)."""
    if target.kind != "change" or target.baseline_start is None or target.baseline_end is None:
        return {"baseline_value": None, "baseline_periods": None, "baseline_at": None}
    first, last = target.baseline_start, target.baseline_end

    def value(period: Period) -> float | None:
        return measure_value(
            session,
            viewer=SYSTEM,
            key=target.kpi,
            period=period,
            filters=Filters(regions=(target.region,)) if target.region else Filters(),
            team=target.team,
            now=now,
        )

    averages = {}
    for grain in GRAINS:
        inside = [p for p in periods_between(first, last, grain) if p.start >= first and p.last_day <= last]
        values = [v for v in map(value, inside) if v is not None]
        if values:
            averages[grain] = sum(values) / len(values)
    return {
        "baseline_value": value(custom_period(first, last)),
        "baseline_periods": json.dumps(averages),
        "baseline_at": now,
    }


def refresh_baselines(session: Session, *, now: datetime | None = None, only_missing: bool = False) -> int:
    """Work out every change target's baseline value again (after a rebuild of the summaries: imported history
    may have moved it); `only_missing` for the ones never worked out (a store that just gained its targets)."""
    now = now or clock.now()
    done = 0
    for target in targets(session):
        if target.kind != "change" or (only_missing and target.baseline_at is not None):
            continue
        session.execute(K.update().where(K.c.id == target.id).values(**_baseline(session, target, now)))
        done += 1
    return done


def trend(
    session: Session,
    *,
    viewer: Viewer,
    target: Target,
    last_month: Period,
    months: int = 12,
    now: datetime | None = None,
) -> pd.DataFrame:
    """The target's KPI month by month up to `last_month`, beside the goal each month had (None before the
    target took effect): the Goals view's chart toward it."""
    require(viewer, "page:goals")
    now = now or clock.now()
    filters = Filters(regions=(target.region,)) if target.region else Filters()
    rows = []
    period = last_month
    today = clock.today()
    for _ in range(months):
        day = today if target.measure.point_in_time else min(period.last_day, today)
        in_force = target.effective_from <= day and (target.effective_to is None or day <= target.effective_to)
        rows.append(
            {
                "month": period.start,
                "value": None
                if target.measure.point_in_time
                else measure_value(
                    session, viewer=viewer, key=target.kpi, period=period, filters=filters, team=target.team, now=now
                ),
                "goal": target.goal(period) if in_force else None,
            }
        )
        period = period.previous()
    return pd.DataFrame(rows[::-1], columns=["month", "value", "goal"])


def overview(session: Session, *, viewer: Viewer, period: Period, now: datetime | None = None) -> list[Standing]:
    """Every target against `period` in its own scope (the Goals view's table)."""
    require(viewer, "page:goals")
    now = now or clock.now()
    today = min(clock.today(), now.date())
    out = []
    for target in targets(session):
        filters = Filters(regions=(target.region,)) if target.region else Filters()
        in_force = applicable([target], target.kpi, period=period, filters=filters, team=target.team, today=today)
        value = measure_value(
            session, viewer=viewer, key=target.kpi, period=period, filters=filters, team=target.team, now=now
        )
        goal = target.goal(period) if in_force else None
        out.append(
            Standing(
                target,
                goal,
                value,
                status(value=value, goal=goal, measure=target.measure, period=period, today=today),
                target.baseline_for(period) if target.kind == "change" and in_force else None,
            )
        )
    return out


# --- writing --------------------------------------------------------------------------------------------


def _checked(session: Session, change: TargetChange, today: date) -> dict[str, object]:
    """The row's values, or FieldErrors naming each field that is wrong."""
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    measure = MEASURES.get(change.kpi)
    if measure is None:
        raise FieldErrors({"kpi": ("targets.error.kpi", {})})
    if change.kind not in KINDS:
        errors["kind"] = ("targets.error.kind", {})
    elif change.kind == "change" and measure.point_in_time:
        errors["kind"] = ("targets.error.no_change", {})
    if change.value is None:
        errors["value"] = ("targets.error.value", {})
    elif change.kind == "absolute" and measure.unit == "percent" and not 0 <= change.value <= 1:
        errors["value"] = ("targets.error.percent", {})
    elif change.kind == "absolute" and measure.unit == "score" and not -100 <= change.value <= 100:
        errors["value"] = ("targets.error.score", {})
    elif change.kind == "absolute" and change.value < 0 and measure.unit != "score":
        errors["value"] = ("targets.error.negative", {})
    elif change.kind == "change" and measure.unit != "score" and not -1 < change.value <= 10:
        errors["value"] = ("targets.error.change", {})
    if change.effective_from is None:
        errors["effective_from"] = ("targets.error.effective_from", {})
    elif change.effective_to is not None and change.effective_to < change.effective_from:
        errors["effective_to"] = ("targets.error.effective_to", {})
    grain = change.grain if measure.per_period and change.kind == "absolute" else None
    if measure.per_period and change.kind == "absolute" and grain not in ("M", "Q", "Y"):
        errors["grain"] = ("targets.error.grain", {})
    if change.kind == "change":
        if change.baseline_start is None or change.baseline_end is None:
            errors["baseline"] = ("targets.error.baseline", {})
        elif change.baseline_end < change.baseline_start or change.baseline_end >= today:
            errors["baseline"] = ("targets.error.baseline_span", {})
    if change.region and change.team:
        errors["team"] = ("targets.error.region_or_team", {})
    elif change.region and (not measure.by_region or change.region not in m.REGIONS):
        errors["region"] = ("targets.error.region", {})
    elif change.team and not measure.by_team:
        errors["team"] = ("targets.error.team", {})
    if change.owner_id is not None and not session.scalar(
        select(U.c.id).where(U.c.id == change.owner_id, U.c.active.is_(True))
    ):
        errors["owner"] = ("targets.error.owner", {})
    if change.note and len(change.note) > 200:
        errors["note"] = ("targets.error.note", {})
    if errors:
        raise FieldErrors(errors)
    baseline = change.kind == "change"
    return {
        "kpi": change.kpi,
        "kind": change.kind,
        "value": float(change.value or 0),
        "grain": grain,
        "effective_from": change.effective_from,
        "effective_to": change.effective_to,
        "baseline_start": change.baseline_start if baseline else None,
        "baseline_end": change.baseline_end if baseline else None,
        "region": change.region or None,
        "team": (change.team or "").strip() or None,
        "owner_id": change.owner_id,
        "note": (change.note or "").strip() or None,
    }


def _audit_details(values: Mapping[str, object]) -> dict[str, object]:
    shown = (
        "kpi",
        "kind",
        "value",
        "grain",
        "effective_from",
        "effective_to",
        "baseline_start",
        "baseline_end",
        "region",
        "team",
        "owner_id",
    )
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items() if k in shown}


def create_target(session: Session, viewer: Viewer, change: TargetChange, *, now: datetime | None = None) -> int:
    """An administrator sets a target (its baseline worked out now). Audited."""
    require(viewer, "targets:edit")
    now = now or clock.now()
    values = _checked(session, change, now.date())
    values.update(
        **_baseline(session, change, now),
        version=1,
        updated_at=now,
    )
    target_id = db.new_id(session, K.insert().values(**values))
    audit.record(
        session,
        action="target_created",
        username=viewer.username,
        object=f"kpi_target:{target_id}",
        details=_audit_details(values),
        at=now,
    )
    return target_id


def update_target(
    session: Session,
    viewer: Viewer,
    target_id: int,
    change: TargetChange,
    *,
    version: int,
    now: datetime | None = None,
) -> int:
    """An administrator edits a target read at `version` (someone else's save in between: Conflict). Audited
    with the values before and after. Returns the new version."""
    require(viewer, "targets:edit")
    now = now or clock.now()
    before = session.execute(select(K).where(K.c.id == target_id)).mappings().first()
    if before is None:
        raise NotFound("No target with that id.", key="targets.error.not_found")
    values = _checked(session, change, now.date())
    values.update(
        **_baseline(session, change, now),
        version=version + 1,
        updated_at=now,
    )
    if not db.affected(session, K.update().where(K.c.id == target_id, K.c.version == version).values(**values)):
        raise Conflict("The target changed since it was opened.", key="targets.error.conflict")
    audit.record(
        session,
        action="target_changed",
        username=viewer.username,
        object=f"kpi_target:{target_id}",
        details={"before": _audit_details(dict(before)), "after": _audit_details(values), "version": version + 1},
        at=now,
    )
    return version + 1


def delete_target(session: Session, viewer: Viewer, target_id: int, *, now: datetime | None = None) -> None:
    """An administrator removes a target (its last values stay in the audit log)."""
    require(viewer, "targets:edit")
    before = session.execute(select(K).where(K.c.id == target_id)).mappings().first()
    if before is None:
        raise NotFound("No target with that id.", key="targets.error.not_found")
    session.execute(K.delete().where(K.c.id == target_id))
    audit.record(
        session,
        action="target_deleted",
        username=viewer.username,
        object=f"kpi_target:{target_id}",
        details=_audit_details(dict(before)),
        at=now or clock.now(),
    )


def last_half_year(today: date) -> tuple[date, date]:
    """The last whole half-year before `today` (seed 003's change targets compare against one)."""
    if today.month >= 7:
        return date(today.year, 1, 1), date(today.year, 6, 30)
    return date(today.year - 1, 7, 1), date(today.year - 1, 12, 31)


def defaults(today: date) -> list[TargetChange]:
    """Seed 003's goals: complaint resolution >= 95 %, data completeness >= 98 %, service response time -50 %,
    repurchase +30 %, satisfaction >= 95 %, LTV +45 %; the changes against the last whole half-year, from the
    day after it."""
    first, last = last_half_year(today)
    since = last + timedelta(days=1)
    change = {"kind": "change", "effective_from": since, "baseline_start": first, "baseline_end": last}
    return [
        TargetChange("complaint_resolution", "absolute", 0.95, since),
        TargetChange("data_completeness", "absolute", 0.98, since),
        TargetChange("first_response_time", value=-0.5, **change),  # type: ignore[arg-type]
        TargetChange("repurchase_rate", value=0.3, **change),  # type: ignore[arg-type]
        TargetChange("csat", "absolute", 0.95, since),
        TargetChange("lifetime_value", value=0.45, **change),  # type: ignore[arg-type]
    ]


def ensure_defaults(session: Session, *, now: datetime | None = None) -> int:
    """Add seed 003's targets to a store that never had them (once: an administrator's deletions stick)."""
    if facts.get_meta(session, DEFAULTS_KEY):
        return 0
    now = now or clock.now()
    for change in defaults(now.date()):
        values = _checked(session, change, now.date())
        session.execute(K.insert().values(**values, version=1, updated_at=now))  # baselines: at the next rebuild
    facts.set_meta(session, DEFAULTS_KEY, now.date().isoformat())
    return len(defaults(now.date()))


def latest_month(today: date) -> Period:
    """The Goals view's default period: the last whole month."""
    return period_containing(today.replace(day=1) - timedelta(days=1), "M")


def owners(session: Session, *, viewer: Viewer) -> dict[int, str]:
    """Active users a target can be given to (id -> display name), for the target form."""
    require(viewer, "targets:edit")
    rows = session.execute(select(U.c.id, U.c.display_name).where(U.c.active.is_(True)).order_by(U.c.display_name))
    return {int(user_id): str(name) for user_id, name in rows}
