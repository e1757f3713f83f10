"""Plotly figures for the cockpit: pure functions of core DataFrames and the language (no Streamlit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.formatting import money
from core.i18n import label, t

TIER_COLORS = {"high_value": "#2e7d32", "potential": "#1565c0", "general": "#90a4ae", "churn_risk": "#c62828"}
NPS_COLORS = {"promoter": "#2e7d32", "passive": "#b0bec5", "detractor": "#c62828"}
SMALL_SAMPLE = 30  # fewer tickets or answers than this: shown, but drawn as a small sample
SLA_COLORS = {"first_response": "#1565c0", "resolution": "#6a1b9a"}


def _layout(fig: go.Figure, title: str, *, height: int = 320) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0, "font": {"size": 15}},
        height=height,
        margin={"l": 10, "r": 10, "t": 48, "b": 10},
        legend={"orientation": "h", "y": 1.02, "x": 1, "xanchor": "right", "yanchor": "bottom"},
        hovermode="x unified",
    )
    return fig


def _month_axis(fig: go.Figure) -> go.Figure:
    """Months as YYYY-MM categories in every language (a date axis would print English month names), in
    calendar order: YYYY-MM sorts as text, and a category axis otherwise takes the order in which the traces
    happen to name them (a channel with only recent months would put them first)."""
    return fig.update_xaxes(type="category", categoryorder="category ascending")


def axis_order(fig: go.Figure) -> list[str]:
    """The x categories in the order the figure shows them (for tests and checks)."""
    seen = list(dict.fromkeys(str(x) for trace in fig.data for x in (trace.x if trace.x is not None else ())))
    axis = fig.layout.xaxis
    if axis.categoryorder == "category ascending":
        return sorted(seen)
    if axis.categoryorder == "array":
        return [str(x) for x in axis.categoryarray if str(x) in seen]
    return seen


def _months(monthly: pd.DataFrame) -> list[str]:
    return [f"{d:%Y-%m}" for d in monthly["period_start"]]


def revenue_trend(monthly: pd.DataFrame, lang: str) -> go.Figure:
    """Monthly revenue with the same month a year before; the axis in 万 for Chinese, SI for English."""
    months = _months(monthly)
    scale, suffix = (1e4, "万") if lang == "zh" else (1, "")
    fig = go.Figure()
    fig.add_bar(
        x=months,
        y=monthly["revenue"] / scale,
        name=t("chart.revenue.this", lang),
        marker_color="#1565c0",
        hovertext=[money(v, lang) for v in monthly["revenue"]],
        hoverinfo="text+name",
    )
    fig.add_scatter(
        x=months,
        y=monthly["revenue_prev_year"] / scale,
        name=t("chart.revenue.last_year", lang),
        mode="lines+markers",
        line={"color": "#90a4ae", "dash": "dot"},
        hovertext=[money(v, lang) if pd.notna(v) else "" for v in monthly["revenue_prev_year"]],
        hoverinfo="text+name",
    )
    fig.update_yaxes(
        tickprefix="¥", ticksuffix=suffix, separatethousands=True, tickformat=",.0f" if lang == "zh" else "~s"
    )
    return _month_axis(_layout(fig, t("chart.revenue", lang)))


def nps_trend(monthly: pd.DataFrame, lang: str) -> go.Figure:
    """Stacked shares of promoters, passives and detractors, with the NPS line on its own axis."""
    months = _months(monthly)
    n = monthly["nps_responses"].where(monthly["nps_responses"] > 0)
    fig = go.Figure()
    for group, column in (("detractor", "nps_detractors"), ("passive", "nps_passives"), ("promoter", "nps_promoters")):
        fig.add_bar(
            x=months,
            y=100 * monthly[column] / n,
            name=t(f"nps.{group}", lang),
            marker_color=NPS_COLORS[group],
            customdata=monthly[column],
            hovertemplate="%{y:.0f}% (%{customdata:.0f})",
        )
    fig.add_scatter(
        x=months,
        y=monthly["nps"],
        name=t("chart.nps.line", lang),
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#212121", "width": 2},
        customdata=monthly["nps_responses"],
        hovertemplate="%{y:.1f} (n=%{customdata:.0f})",
    )
    fig.update_layout(
        barmode="stack",
        yaxis={"title": t("chart.nps.share", lang), "ticksuffix": "%", "range": [0, 100]},
        yaxis2={"overlaying": "y", "side": "right", "range": [-100, 100], "showgrid": False},
    )
    return _month_axis(_layout(fig, t("chart.nps", lang)))


def tier_distribution(tiers: pd.DataFrame, lang: str) -> go.Figure:
    names = [label("tier", v, lang) for v in tiers["tier"]]
    fig = go.Figure(
        go.Bar(
            x=tiers["customers"],
            y=names,
            orientation="h",
            marker_color=[TIER_COLORS[v] for v in tiers["tier"]],
            text=[f"{c:,.0f} · {money(r, lang)}" for c, r in zip(tiers["customers"], tiers["revenue_12m"])],
            textposition="auto",
            hovertemplate="%{y}: %{x:,.0f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title=t("chart.customers", lang))
    return _layout(fig, t("chart.tiers", lang), height=280)


def lifecycle_distribution(stages: pd.DataFrame, lang: str) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=[label("stage", s, lang) for s in stages["stage"]],
            y=stages["customers"],
            marker_color="#455a64",
            text=[f"{c:,.0f}" for c in stages["customers"]],
            textposition="auto",
            hovertemplate="%{x}: %{y:,.0f}<extra></extra>",
        )
    )
    fig.update_yaxes(title=t("chart.customers", lang))
    return _layout(fig, t("chart.lifecycle", lang), height=280)


def sla_by_month(monthly: pd.DataFrame, lang: str) -> go.Figure:
    months = _months(monthly)
    fig = go.Figure()
    for target in ("first_response", "resolution"):
        totals = monthly[f"sla_{target}_total"]
        small = [not (n >= SMALL_SAMPLE) for n in totals]  # a month of a few tickets: a hollow point, not a solid one
        fig.add_scatter(
            x=months,
            y=100 * monthly[f"{target}_rate"].astype(float),
            name=t(f"sla.{target}", lang),
            mode="lines+markers",
            line={"color": SLA_COLORS[target]},
            marker={"symbol": ["circle-open" if s else "circle" for s in small], "size": 8},
            customdata=totals,
            hovertemplate="%{y:.1f}% (n=%{customdata:.0f})",
        )
    fig.update_yaxes(title=t("chart.rate", lang), ticksuffix="%", range=[0, 101])
    return _month_axis(_layout(fig, t("chart.sla_month", lang)))


def sla_by_priority(by_priority: pd.DataFrame, lang: str) -> go.Figure:
    names = [label("priority", p, lang) for p in by_priority["priority"]]
    fig = go.Figure()
    for target in ("first_response", "resolution"):
        rates = by_priority[f"{target}_rate"].astype(float)
        fig.add_bar(
            x=names,
            y=100 * rates,
            name=t(f"sla.{target}", lang),
            marker_color=SLA_COLORS[target],
            customdata=by_priority[f"{target}_total"],
            text=[f"{100 * r:.0f}%" if pd.notna(r) else "" for r in rates],
            textposition="auto",
            hovertemplate="%{y:.1f}% (n=%{customdata:.0f})",
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(title=t("chart.rate", lang), ticksuffix="%", range=[0, 101])
    return _layout(fig, t("chart.sla_priority", lang))


# --- one customer (360° view) -----------------------------------------------------------------------


def customer_revenue(monthly: pd.DataFrame, lang: str) -> go.Figure:
    """A customer's revenue per month (columns month, revenue)."""
    fig = go.Figure()
    fig.add_bar(
        x=[f"{d:%Y-%m}" for d in monthly["month"]],
        y=monthly["revenue"],
        marker_color="#1565c0",
        hovertext=[money(v, lang) for v in monthly["revenue"]],
        hoverinfo="text",
        name=t("chart.revenue", lang),
    )
    fig.update_yaxes(tickprefix="¥", separatethousands=True)
    return _month_axis(_layout(fig, t("chart.customer_revenue", lang), height=300))


def customer_channels(per_month: pd.DataFrame, lang: str) -> go.Figure:
    """Interactions per month, stacked by channel (columns month, channel, interactions)."""
    fig = go.Figure()
    for channel, rows in per_month.groupby("channel", sort=True):
        fig.add_bar(
            x=[f"{d:%Y-%m}" for d in rows["month"]], y=rows["interactions"], name=label("channel", channel, lang)
        )
    fig.update_layout(barmode="stack")
    return _month_axis(_layout(fig, t("chart.customer_channels", lang), height=300))


def customer_nps(history: pd.DataFrame, lang: str) -> go.Figure:
    """Each NPS answer over time, coloured by category, on the 0-10 scale."""
    scores = history["score"].astype(int) if not history.empty else history["score"]
    colors = [
        NPS_COLORS["promoter"] if s >= 9 else NPS_COLORS["passive"] if s >= 7 else NPS_COLORS["detractor"]
        for s in scores
    ]
    fig = go.Figure()
    fig.add_scatter(
        x=list(history["at"]),
        y=list(scores),
        mode="lines+markers",
        marker={"color": colors, "size": 10},
        line={"color": "#b0bec5"},
        name=t("chart.nps", lang),
        hovertext=[label("touchpoint", v, lang) for v in history["touchpoint"]],
    )
    fig.update_yaxes(range=[-0.5, 10.5], dtick=2)
    fig.update_xaxes(tickformat="%Y-%m")  # numeric months in every language (no English month names)
    return _layout(fig, t("chart.customer_nps", lang), height=300)


# --- service desk and voice of the customer ----------------------------------------------------------


def compliance_bars(frame: pd.DataFrame, title: str, value_label, lang: str, *, months: bool = False) -> go.Figure:  # type: ignore[no-untyped-def]
    """% met per group (columns value, met, breached, total, rate), with n on each bar and the failure count in
    the hover; groups under SMALL_SAMPLE tickets are drawn pale, so one ticket does not read like hundreds."""
    small = frame["total"] < SMALL_SAMPLE
    fig = go.Figure()
    fig.add_bar(
        x=[value_label(v) for v in frame["value"]],
        y=frame["rate"] * 100,
        marker={"color": ["#90caf9" if s else "#1565c0" for s in small]},
        text=[f"n={int(n):,}" for n in frame["total"]],
        textposition="outside",
        hovertext=[
            t("chart.sla_hover", lang, met=int(a), total=int(n), breached=int(b))
            for a, n, b in zip(frame["met"], frame["total"], frame["breached"])
        ],
        hoverinfo="text",
    )
    fig.update_yaxes(range=[0, 110], tickvals=[0, 20, 40, 60, 80, 100], ticktext=[f"{v}%" for v in range(0, 101, 20)])
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(type="category")  # month codes and group names, never a date axis with weekly ticks
    return _month_axis(_layout(fig, title, height=300)) if months else _layout(fig, title, height=300)


def stacked_counts(
    frame: pd.DataFrame,
    x: str,
    stack: str,
    y: str,
    title: str,
    x_label: Callable[[Any], str],
    stack_label: Callable[[Any], str],
    *,
    order: list[object] | None = None,
) -> go.Figure:
    """Counts per x, stacked by another column (backlog by age and priority, complaints by month and category).
    x is shown in `order` when given (age buckets), else as months in calendar order."""
    fig = go.Figure()
    for key, rows in frame.groupby(stack, sort=True):
        fig.add_bar(x=[x_label(v) for v in rows[x]], y=rows[y], name=stack_label(key))
    fig.update_layout(barmode="stack")
    _layout(fig, title, height=340)
    fig.update_layout(
        legend={"orientation": "h", "y": -0.15, "x": 0, "xanchor": "left", "yanchor": "top"}, margin={"b": 60}
    )  # many stacks: the legend goes under the chart, clear of the title
    if order is None:
        return _month_axis(fig)
    return fig.update_xaxes(type="category", categoryorder="array", categoryarray=[x_label(v) for v in order])


def nps_monthly(frame: pd.DataFrame, lang: str) -> go.Figure:
    """NPS per month with its 95% interval as error bars; months with few answers drawn hollow."""
    fig = go.Figure()
    small = frame["small_sample"].astype(bool)
    fig.add_scatter(
        x=frame["month"],
        y=frame["nps"],
        mode="lines+markers",
        name=t("chart.nps.line", lang),
        marker={"symbol": ["circle-open" if s else "circle" for s in small], "size": 9, "color": "#1565c0"},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": frame["high"] - frame["nps"],
            "arrayminus": frame["nps"] - frame["low"],
            "color": "#90a4ae",
        },
        hovertext=[t("chart.nps_hover", lang, n=int(n)) for n in frame["responses"]],
        hoverinfo="text+y",
    )
    fig.update_yaxes(range=[-100, 100])
    return _month_axis(_layout(fig, t("chart.nps_interval", lang), height=320))


def calibration(table: list[list[float]], lang: str) -> go.Figure:
    """Predicted against actual churn per tenth of the out-of-time test (the diagonal is perfect)."""
    predicted, actual = [row[0] for row in table], [row[1] for row in table]
    top = max([*predicted, *actual, 0.01]) * 1.05
    fig = go.Figure(
        [
            go.Scatter(
                x=[0, top],
                y=[0, top],
                mode="lines",
                line={"dash": "dot", "color": "#90a4ae"},
                name=t("churn.card.perfect", lang),
            ),
            go.Scatter(x=predicted, y=actual, mode="lines+markers", name=t("churn.card.model", lang)),
        ]
    )
    fig.update_xaxes(title=t("churn.card.predicted", lang), tickformat=".0%")
    fig.update_yaxes(title=t("churn.card.actual", lang), tickformat=".0%")
    return _layout(fig, t("churn.card.calibration", lang)).update_layout(hovermode="closest")


def importance(weights: dict[str, float], lang: str) -> go.Figure:
    """Global importance: mean absolute log-odds moved per measure group, largest on top."""
    ordered = sorted(weights.items(), key=lambda item: item[1])
    fig = go.Figure(
        go.Bar(x=[w for _, w in ordered], y=[t(f"churn.group.{g}", lang) for g, _ in ordered], orientation="h")
    )
    fig.update_xaxes(title=t("churn.card.importance_axis", lang))
    return _layout(fig, t("churn.card.importance", lang), height=360).update_layout(hovermode="closest")


HEALTH_COLORS = {"healthy": "#2e7d32", "watch": "#f9a825", "at_risk": "#c62828"}


def health_calibration(table: pd.DataFrame, lang: str) -> go.Figure:
    """Each health band's actual churn rate within the horizon, snapshot by snapshot: the bands hold up when
    the at-risk line stays above the watch line and that above the healthy one."""
    fig = go.Figure()
    for band, color in HEALTH_COLORS.items():
        rows = table[table["band"] == band].sort_values("snapshot")
        fig.add_trace(
            go.Scatter(
                x=rows["snapshot"],
                y=rows["rate"],
                mode="lines+markers",
                name=label("health.band", band, lang),
                line={"color": color},
                customdata=rows["customers"],
                hovertemplate="%{y:.1%} · n=%{customdata:,}<extra></extra>",
            )
        )
    fig.update_yaxes(title=t("value.calibration.axis", lang), tickformat=".0%", rangemode="tozero")
    return _layout(fig, t("value.calibration.title", lang))


def _faded(color: str, alpha: float = 0.35) -> str:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def tier_flow(moves: pd.DataFrame, lang: str, *, before: str, after: str) -> go.Figure:
    """Customers moving between value tiers from one quarter to the next (new ones in, those who left out);
    each band takes its source tier's colour."""
    sources = ["new", *TIER_COLORS]
    targets = [*TIER_COLORS, "left"]

    def name(tier: str, quarter: str) -> str:
        return label("tier", tier, lang) if tier in ("new", "left") else f"{label('tier', tier, lang)} · {quarter}"

    colors = {**TIER_COLORS, "new": "#7e57c2", "left": "#5d4037"}
    kept = moves[moves["source"].isin(sources) & moves["target"].isin(targets) & (moves["customers"] > 0)]
    fig = go.Figure(
        go.Sankey(
            node={
                "label": [name(s, before) for s in sources] + [name(s, after) for s in targets],
                "color": [colors[s] for s in sources] + [colors[s] for s in targets],
                "pad": 16,
                "thickness": 14,
            },
            link={
                "source": [sources.index(s) for s in kept["source"]],
                "target": [len(sources) + targets.index(s) for s in kept["target"]],
                "value": kept["customers"].tolist(),
                "color": [_faded(colors[s]) for s in kept["source"]],
            },
            textfont={"color": "#263238", "size": 12, "shadow": "none"},
        )
    )
    return _layout(fig, t("value.flow.title", lang), height=440)


def health_history(history: pd.DataFrame, lang: str, *, thresholds: dict[str, int]) -> go.Figure:
    """One customer's weekly health with the bands' lower thresholds drawn in."""
    fig = go.Figure(
        go.Scatter(x=history["week"], y=history["health"], mode="lines+markers", name=t("value.health", lang))
    )
    for band, low in thresholds.items():
        fig.add_hline(y=low, line={"dash": "dot", "color": HEALTH_COLORS[band]})
    fig.update_yaxes(range=[0, 100], title=t("value.health", lang))
    return _layout(fig, t("value.history.title", lang), height=260).update_layout(showlegend=False)


def target_trend(frame: pd.DataFrame, lang: str, *, title: str, unit: str) -> go.Figure:
    """A KPI month by month (columns month, value, goal) with the goal it had each month as a dashed step."""
    from core.formatting import value as shown

    months = [f"{d:%Y-%m}" for d in frame["month"]]
    scale = 100 if unit == "percent" else 1
    fig = go.Figure()
    fig.add_scatter(
        x=months,
        y=[None if v is None or v != v else v * scale for v in frame["value"]],
        name=t("chart.target.value", lang),
        mode="lines+markers",
        line={"color": "#1565c0"},
        hovertext=[shown(None if v != v else v, unit, lang) for v in frame["value"]],
        hoverinfo="text+name",
    )
    fig.add_scatter(
        x=months,
        y=[None if v is None or v != v else v * scale for v in frame["goal"]],
        name=t("chart.target.goal", lang),
        mode="lines",
        line={"color": "#c62828", "dash": "dash", "shape": "hv"},
        hovertext=[shown(None if v != v else v, unit, lang) for v in frame["goal"]],
        hoverinfo="text+name",
    )
    if unit == "percent":
        fig.update_yaxes(ticksuffix="%")
    return _month_axis(_layout(fig, title))


def loyalty_levels(levels: pd.DataFrame, lang: str) -> go.Figure:
    """Members per level (by the points they earned over the last 12 months), in the programme's order."""
    fig = go.Figure()
    fig.add_bar(
        x=list(levels["level"]), y=list(levels["members"]), marker_color="#6a1b9a", name=t("chart.members", lang)
    )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=list(levels["level"]))
    return _layout(fig, t("chart.loyalty_levels", lang))


def forecast(found: Any, lang: str, *, title: str, money_axis: bool) -> go.Figure:
    """A series' history, its 12-month backtest and the months ahead with 80 % and 95 % bands
    (a core.forecast.Forecast)."""
    fig = go.Figure()
    ahead, history, test = found.ahead, found.history, found.backtest
    months_ahead = [f"{d:%Y-%m}" for d in ahead["month"]]
    for level, alpha in (("95", 0.15), ("80", 0.3)):
        fig.add_scatter(
            x=months_ahead + months_ahead[::-1],
            y=list(ahead[f"high{level}"]) + list(ahead[f"low{level}"])[::-1],
            fill="toself",
            fillcolor=f"rgba(21, 101, 192, {alpha})",
            line={"width": 0},
            hoverinfo="skip",
            name=t(f"chart.forecast.band{level}", lang),
        )
    fig.add_scatter(
        x=[f"{d:%Y-%m}" for d in history["month"]],
        y=history["value"],
        name=t("chart.forecast.actual", lang),
        mode="lines",
        line={"color": "#263238"},
    )
    fig.add_scatter(
        x=[f"{d:%Y-%m}" for d in test["month"]],
        y=test["forecast"],
        name=t("chart.forecast.backtest", lang),
        mode="lines",
        line={"color": "#ef6c00", "dash": "dot"},
    )
    fig.add_scatter(
        x=months_ahead,
        y=ahead["value"],
        name=t("chart.forecast.ahead", lang),
        mode="lines+markers",
        line={"color": "#1565c0"},
    )
    if money_axis:
        fig.update_yaxes(tickprefix="¥")
    return _month_axis(_layout(fig, title, height=360))


def cohort_retention(table: pd.DataFrame, lang: str, *, title: str) -> go.Figure:
    """Share of each acquisition month's customers not churned k months later (core.channels.cohorts)."""
    ks = [c for c in table.columns if c != "customers"]
    values = [
        [None if v is None or v != v else round(100 * float(v), 1) for v in table.loc[i, ks]] for i in table.index
    ]
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=[str(k) for k in ks],
            y=[f"{d:%Y-%m} ({int(n)})" for d, n in zip(table.index, table["customers"])],
            colorscale="Blues",
            zmin=50,
            zmax=100,
            colorbar={"ticksuffix": "%"},
            hovertemplate="%{y} +%{x}: %{z}%<extra></extra>",
        )
    )
    fig.update_xaxes(title_text=t("chart.cohort.months_since", lang), type="category")
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, title, height=520)


def lead_funnel(stages: dict[str, int], lang: str, *, title: str) -> go.Figure:
    """Leads created, reaching contacted, qualified and converted (each bar with its share of those created)."""
    fig = go.Figure(
        go.Funnel(
            y=[t(f"growth.funnel.stage.{k}", lang) for k in stages],
            x=list(stages.values()),
            textinfo="value+percent initial",
            hovertemplate=(  # Plotly's own hover says "of initial" in English: in the user's words instead
                f"%{{y}}: %{{x:,}}<br>{t('growth.funnel.hover.created', lang)} %{{percentInitial:.1%}}"
                f"<br>{t('growth.funnel.hover.previous', lang)} %{{percentPrevious:.1%}}<extra></extra>"
            ),
            marker={"color": ["#90caf9", "#42a5f5", "#1e88e5", "#0d47a1"][: len(stages)]},
        )
    )
    fig = _layout(fig, title, height=300)
    fig.update_layout(hovermode="closest")  # the stage under the pointer, so a click picks that stage
    return fig
