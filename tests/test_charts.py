"""Figure builders: the data reaches the traces, axes are right, labels are translated."""

from __future__ import annotations

from datetime import date

import pandas as pd

from core import charts

TIERS = pd.DataFrame(
    {
        "tier": ["high_value", "potential", "general", "churn_risk"],
        "customers": [407.0, 1045, 546, 725],
        "revenue_12m": [1.8e8, 2e7, 1.4e7, 7.6e7],
    }
)


def test_tier_chart_keeps_a_numeric_axis_and_every_tier() -> None:
    fig = charts.tier_distribution(TIERS, "zh")
    assert list(fig.data[0].x) == [407.0, 1045, 546, 725]
    assert list(fig.data[0].y) == ["高价值", "潜力", "一般", "流失风险"]
    assert fig.layout.xaxis.type != "category"


def test_month_charts_use_month_codes() -> None:
    monthly = pd.DataFrame(
        {
            "period_start": [date(2026, 9, 1), date(2026, 10, 1)],
            "revenue": [1e6, 2e6],
            "revenue_prev_year": [None, 1.5e6],
        }
    )
    fig = charts.revenue_trend(monthly, "zh")
    assert list(fig.data[0].x) == ["2026-09", "2026-10"] and fig.layout.xaxis.type == "category"
    assert list(fig.data[0].y) == [100.0, 200.0] and fig.layout.yaxis.ticksuffix == "万"


def test_month_axes_are_in_calendar_order_whatever_trace_comes_first() -> None:
    """A channel with only recent months must not put them before the older months of other channels."""
    per_month = pd.DataFrame(
        {
            "month": pd.to_datetime(["2026-10-01", "2026-11-01", "2026-01-01", "2026-05-01"]),
            "channel": ["email", "email", "phone", "phone"],
            "interactions": [1, 2, 3, 4],
        }
    )
    fig = charts.customer_channels(per_month, "zh")
    assert charts.axis_order(fig) == ["2026-01", "2026-05", "2026-10", "2026-11"]
    complaints = pd.DataFrame(
        {
            "month": ["2026-11", "2026-03", "2026-01"],
            "category": ["billing", "quality", "billing"],
            "complaints": [3, 4, 5],
        }
    )
    fig = charts.stacked_counts(complaints, "month", "category", "complaints", "t", str, str)
    assert charts.axis_order(fig) == ["2026-01", "2026-03", "2026-11"]


def test_age_buckets_keep_their_order_and_small_months_are_told_apart() -> None:
    backlog = pd.DataFrame(
        {
            "age": ["gt_7d", "lt_4h", "1_3d", "gt_7d"],
            "priority": ["low", "high", "high", "high"],
            "tickets": [1, 2, 3, 4],
        }
    )
    order = ["lt_4h", "4_24h", "1_3d", "3_7d", "gt_7d"]
    fig = charts.stacked_counts(backlog, "age", "priority", "tickets", "t", str.upper, str, order=order)
    assert charts.axis_order(fig) == ["LT_4H", "1_3D", "GT_7D"]
    monthly = pd.DataFrame(
        {
            "value": ["2026-10", "2026-09"],
            "met": [1, 200],
            "breached": [0, 53],
            "total": [1, 253],
            "rate": [1.0, 200 / 253],
        }
    )
    fig = charts.compliance_bars(monthly, "t", str, "en", months=True)
    assert fig.layout.xaxis.type == "category" and charts.axis_order(fig) == ["2026-09", "2026-10"]
    assert list(fig.data[0].text) == ["n=1", "n=253"]
    assert fig.data[0].marker.color[0] != fig.data[0].marker.color[1]  # the one-ticket month is drawn pale


def test_sla_months_of_a_few_tickets_are_hollow() -> None:
    monthly = pd.DataFrame(
        {
            "period_start": [date(2026, 9, 1), date(2026, 10, 1)],
            "first_response_rate": [0.4, 0.9],
            "resolution_rate": [1.0, 0.8],
            "sla_first_response_total": [2, 253],
            "sla_resolution_total": [2, 253],
        }
    )
    fig = charts.sla_by_month(monthly, "en")
    assert list(fig.data[0].marker.symbol) == ["circle-open", "circle"]
