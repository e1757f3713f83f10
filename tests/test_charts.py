"""Figure builders: the data reaches the traces, axes are right, labels are translated."""

from __future__ import annotations

from datetime import date

import pandas as pd

from core import charts

TIERS = pd.DataFrame({"tier": ["high_value", "potential", "general", "churn_risk"], "customers": [407.0, 1045, 546, 725],
                      "revenue_12m": [1.8e8, 2e7, 1.4e7, 7.6e7]})


def test_tier_chart_keeps_a_numeric_axis_and_every_tier() -> None:
    fig = charts.tier_distribution(TIERS, "zh")
    assert list(fig.data[0].x) == [407.0, 1045, 546, 725]
    assert list(fig.data[0].y) == ["高价值", "潜力", "一般", "流失风险"]
    assert fig.layout.xaxis.type != "category"


def test_month_charts_use_month_codes() -> None:
    monthly = pd.DataFrame({"period_start": [date(2026, 9, 1), date(2026, 10, 1)], "revenue": [1e6, 2e6],
                            "revenue_prev_year": [None, 1.5e6]})
    fig = charts.revenue_trend(monthly, "zh")
    assert list(fig.data[0].x) == ["2026-09", "2026-10"] and fig.layout.xaxis.type == "category"
    assert list(fig.data[0].y) == [100.0, 200.0] and fig.layout.yaxis.ticksuffix == "万"
