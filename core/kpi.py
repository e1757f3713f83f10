"""The cockpit's KPIs, each defined once (shared/KPI-GLOSSARY.md) as a formula over period measures.

Calendar periods read the measures from period_facts; custom ranges compute the same measures live
from raw rows. Either way the formulas below turn measures into KPI values, so the two cannot differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy.orm import Session

from core import clock, facts, nps as nps_math, segmentation, sla
from core.access import Viewer, require, scoped
from core.churn import warnings as churn_warnings
from core.facts import Measures
from core.periods import Filters, Period, period_containing


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def active_customers(m: Measures) -> float:
    """Customers active at the end of the period: became a customer by then and not churned by then."""
    return m["active_end"]


def new_customers(m: Measures) -> float:
    """Customers whose became-customer date falls in the period."""
    return m["new_customers"]


def lead_conversion_rate(m: Measures) -> float | None:
    """Leads created in the period that converted (at any time up to now) / leads created in the period."""
    return _ratio(m["leads_converted"], m["leads_created"])


def invalid_lead_rate(m: Measures) -> float | None:
    """Leads created in the period that were disqualified / leads created in the period."""
    return _ratio(m["leads_disqualified"], m["leads_created"])


def revenue(m: Measures) -> float:
    """Sum of order amounts dated in the period."""
    return m["revenue"]


def repurchase_rate(m: Measures) -> float | None:
    """Customers with 2 or more orders in the period / customers with at least 1 order in the period."""
    return _ratio(m["repeat_buyers"], m["buyers"])


def average_order_value(m: Measures) -> float | None:
    """Revenue / orders in the period."""
    return _ratio(m["revenue"], m["orders"])


def lifetime_value(m: Measures) -> float | None:
    """Revenue of active customers from their first order to the end of the period, averaged over them."""
    return _ratio(m["ltv_revenue"], m["active_end"])


def nps_value(m: Measures) -> float | None:
    """% promoters (9-10) - % detractors (0-6) among responses in the period, -100..100."""
    return nps_math.nps(m["nps_promoters"], m["nps_detractors"], m["nps_responses"]).score


def csat(m: Measures) -> float | None:
    """Share of ticket feedback ratings of 4 or 5 (on 1-5) among ratings given in the period."""
    return _ratio(m["csat_satisfied"], m["csat_ratings"])


def churn_rate(m: Measures) -> float | None:
    """Customers churned in the period / customers active at its start (label the period length)."""
    return _ratio(m["churned_customers"], m["active_start"])


def complaint_rate(m: Measures) -> float | None:
    """Complaints created in the period per 1,000 customers active at its end."""
    rate = _ratio(m["complaints_created"], m["active_end"])
    return None if rate is None else 1000 * rate


def first_response_sla(m: Measures) -> float | None:
    """Complaints answered within the first-response target / complaints whose target fell due (or were
    answered) in the period."""
    return _ratio(m["sla_first_response_met"], m["sla_first_response_total"])


def resolution_sla(m: Measures) -> float | None:
    """Complaints resolved within the resolution target / complaints whose target fell due (or were
    resolved) in the period."""
    return _ratio(m["sla_resolution_met"], m["sla_resolution_total"])


@dataclass(frozen=True)
class KpiSpec:
    key: str
    formula: Callable[[Measures], float | None]
    unit: str  # count, money, percent, score, per_mille
    higher_is_better: bool = True


KPI_SPECS: tuple[KpiSpec, ...] = (
    KpiSpec("active_customers", active_customers, "count"),
    KpiSpec("new_customers", new_customers, "count"),
    KpiSpec("lead_conversion_rate", lead_conversion_rate, "percent"),
    KpiSpec("revenue", revenue, "money"),
    KpiSpec("repurchase_rate", repurchase_rate, "percent"),
    KpiSpec("average_order_value", average_order_value, "money"),
    KpiSpec("lifetime_value", lifetime_value, "money"),
    KpiSpec("nps", nps_value, "score"),
    KpiSpec("csat", csat, "percent"),
    KpiSpec("first_response_sla", first_response_sla, "percent"),
    KpiSpec("resolution_sla", resolution_sla, "percent"),
    KpiSpec("churn_rate", churn_rate, "percent", higher_is_better=False),
    KpiSpec("complaint_rate", complaint_rate, "per_mille", higher_is_better=False),
)


# the raw tables each KPI is computed from when a period is not a whole calendar one (else from period_facts)
LIVE_SOURCES: dict[str, tuple[str, ...]] = {
    "active_customers": ("customers",),
    "new_customers": ("customers",),
    "lead_conversion_rate": ("leads",),
    "revenue": ("orders",),
    "repurchase_rate": ("orders",),
    "average_order_value": ("orders",),
    "lifetime_value": ("orders", "customers"),
    "nps": ("nps_responses",),
    "csat": ("tickets",),
    "first_response_sla": ("ticket_sla", "tickets"),
    "resolution_sla": ("ticket_sla", "tickets"),
    "churn_rate": ("customers",),
    "complaint_rate": ("tickets", "customers"),
}
ALWAYS_LIVE = ("first_response_sla", "resolution_sla")  # counted from the SLA outcomes for every period


def sources(key: str, source: str) -> tuple[str, ...]:
    """The tables a cockpit card's figure was read from ("summary" or "live", as Cockpit.source says)."""
    if source == "summary" and key not in ALWAYS_LIVE:
        return ("period_facts",)
    return LIVE_SOURCES[key]


@dataclass
class Kpi:
    key: str
    unit: str
    value: float | None
    previous: float | None
    higher_is_better: bool = True
    trend: list[float | None] = field(default_factory=list)  # the last 12 months, oldest first
    detail: dict[str, float | None] = field(default_factory=dict)


@dataclass
class Cockpit:
    """Everything the cockpit page draws for one period and filter set."""

    period: Period
    previous: Period
    source: str  # "summary" or "live"
    summaries_as_of: date | None
    refreshed_at: datetime | None  # when the newest summary row read was made (None: computed live)
    kpis: list[Kpi]
    open_complaints: sla.OpenComplaints
    revenue_at_risk: float  # Σ p(churn) × 12-month revenue with the model; the churn-risk tier's revenue without
    at_risk_customers: int  # high-risk band with the model; churn-risk tier without
    risk_as_of: date | None  # when the model last scored (None: the rule)
    tiers: pd.DataFrame
    lifecycle: pd.DataFrame
    monthly: pd.DataFrame  # per month: revenue, revenue a year before, NPS mix, SLA compliance
    sla_by_priority: pd.DataFrame
    churn_warnings: pd.DataFrame

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)


def _sla_measures(session: Session, period: Period, filters: Filters, now: datetime) -> tuple[Measures, pd.DataFrame]:
    measures: Measures = {}
    by_priority: dict[str, dict[str, int]] = {}
    for target in sla.TARGETS:
        counts = sla.compliance(session, period, filters, now=now, target=target)
        measures[f"sla_{target}_met"] = float(sum(met for met, _ in counts.values()))
        measures[f"sla_{target}_total"] = float(sum(total for _, total in counts.values()))
        for priority, (met, total) in counts.items():
            by_priority.setdefault(priority, {})[f"{target}_met"] = met
            by_priority.setdefault(priority, {})[f"{target}_total"] = total
    rows = []
    for priority in sla.PRIORITY_TARGETS:
        values = by_priority.get(priority, {})
        row: dict[str, object] = {"priority": priority}
        for target in sla.TARGETS:
            met, total = values.get(f"{target}_met", 0), values.get(f"{target}_total", 0)
            row.update({f"{target}_met": met, f"{target}_total": total, f"{target}_rate": _ratio(met, total)})
        rows.append(row)
    return measures, pd.DataFrame(rows)


def period_measures(
    session: Session, period: Period, filters: Filters, *, now: datetime
) -> tuple[Measures, str, pd.DataFrame]:
    """All measures of a period, where they came from ("summary" for calendar periods, else "live"),
    and its SLA compliance by priority."""
    if period.grain == "custom":
        measures, source = facts.range_measures(session, period, filters), "live"
    else:
        measures, source = facts.summary_measures(session, period, filters), "summary"
    sla_measures, by_priority = _sla_measures(session, period, filters, now)
    measures.update(sla_measures)
    return measures, source, by_priority


def _monthly(session: Session, last_month: Period, filters: Filters, now: datetime) -> pd.DataFrame:
    """Per month over the 12 months ending with `last_month`: measures, KPI values and SLA compliance."""
    first = period_containing(last_month.start - timedelta(days=330), "M").start
    year_before = period_containing(first - timedelta(days=360), "M").start
    series = facts.monthly_series(session, year_before, last_month.end, filters)
    series["revenue_prev_year"] = series["revenue"].shift(12)
    series = series[series["period_start"] >= first].reset_index(drop=True)
    for target in sla.TARGETS:
        counts = sla.compliance_by_month(session, first, last_month.end, filters, now=now, target=target)
        series[f"sla_{target}_met"] = [float(counts.get(month, (0, 0))[0]) for month in series["period_start"]]
        series[f"sla_{target}_total"] = [float(counts.get(month, (0, 0))[1]) for month in series["period_start"]]
    return series


def cockpit(
    session: Session, period: Period, filters: Filters, *, viewer: Viewer, now: datetime | None = None
) -> Cockpit:
    """Compute every figure of the cockpit for `period` (compared with the previous one) and `filters`,
    within what `viewer` may see (an account manager: their own customers only)."""
    require(viewer, "page:cockpit")
    filters = scoped(viewer, filters)
    now = now or clock.now()
    previous = period.previous()
    current, source, by_priority = period_measures(session, period, filters, now=now)
    before, _, _ = period_measures(session, previous, filters, now=now)
    monthly = _monthly(session, period_containing(min(period.last_day, now.date()), "M"), filters, now)
    month_rows = monthly.to_dict("records")
    kpis = {
        spec.key: Kpi(
            spec.key,
            spec.unit,
            spec.formula(current),
            spec.formula(before),
            spec.higher_is_better,
            [spec.formula(row) for row in month_rows],
        )
        for spec in KPI_SPECS
    }
    score = nps_math.nps(current["nps_promoters"], current["nps_detractors"], current["nps_responses"])
    kpis["nps"].detail.update(
        {"responses": score.responses, "low": score.low, "high": score.high, "small_sample": score.small_sample}
    )
    kpis["lead_conversion_rate"].detail.update(
        {"invalid_lead_rate": invalid_lead_rate(current), "leads_created": current["leads_created"]}
    )
    for target in sla.TARGETS:
        kpis[f"{target}_sla"].detail["tickets"] = current[f"sla_{target}_total"]
    at = min(datetime.combine(period.end, time()), now)
    tiers = segmentation.tier_distribution(session, filters, viewer=viewer)
    # revenue at risk and the warnings read the learned model's scores once there are any, else the written rule
    scores = churn_warnings.summary(session, filters, viewer=viewer)
    rule_at_risk = tiers[tiers["tier"] == "churn_risk"]
    summaries = facts.get_meta(session, "summaries_as_of")
    nps_mix = monthly[["nps_promoters", "nps_detractors", "nps_responses"]]
    monthly = monthly.assign(
        nps=[nps_value(r) for r in month_rows],
        nps_passives=nps_mix["nps_responses"] - nps_mix["nps_promoters"] - nps_mix["nps_detractors"],
        first_response_rate=[first_response_sla(r) for r in month_rows],
        resolution_rate=[resolution_sla(r) for r in month_rows],
    )
    return Cockpit(
        period=period,
        previous=previous,
        source=source,
        summaries_as_of=date.fromisoformat(summaries) if summaries else None,
        refreshed_at=facts.refreshed_at(session, period, filters) if source == "summary" else None,
        kpis=list(kpis.values()),
        open_complaints=sla.open_complaints(session, at, filters),
        revenue_at_risk=scores.expected_loss if scores else float(rule_at_risk["revenue_12m"].sum()),
        at_risk_customers=scores.per_band["high"] if scores else int(rule_at_risk["customers"].sum()),
        risk_as_of=scores.as_of if scores else None,
        tiers=tiers,
        lifecycle=segmentation.lifecycle_distribution(session, filters, viewer=viewer),
        monthly=monthly,
        sla_by_priority=by_priority,
        churn_warnings=churn_warnings.cockpit_warnings(session, filters, viewer=viewer)
        if scores
        else segmentation.churn_warnings(session, filters, viewer=viewer).assign(risk=None, drivers=None),
    )


def latest_complete_month(today: date) -> Period:
    """The default cockpit period: the last whole calendar month before `today`."""
    return period_containing(today.replace(day=1) - timedelta(days=1), "M")
