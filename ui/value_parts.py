"""Health, RFM, lifetime value and value tiers as the early-warning page and the 360° view draw them
(`core.churn.value` computes them; `core.churn.portfolio` reads them)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core import charts, formatting
from core.access import Viewer
from core.churn import portfolio
from core.churn.value import HEALTH_BANDS, HEALTH_WEIGHTS, RFM_SEGMENTS, TIER_POLICY
from core.i18n import label
from core.periods import Filters, period_containing
from ui import data
from ui.context import lang, tr

THRESHOLDS = {band: low for band, low in HEALTH_BANDS if low > 0}


def _health_rules() -> str:
    weights = ", ".join(f"{tr(f'value.group.{g}')} {w} %" for g, w in HEALTH_WEIGHTS.items())
    return tr("value.health_rules", weights=weights, healthy=THRESHOLDS["healthy"], watch=THRESHOLDS["watch"])


def _tier_rules() -> str:
    return tr(
        "value.tier_rules",
        share=f"{TIER_POLICY.high_value_share:.0%}",
        growth=f"{TIER_POLICY.growth - 1:.0%}",
        days=TIER_POLICY.young_days,
    )


def value_panel(viewer: Viewer, filters: Filters) -> None:
    """The value tab: what the customers are worth now and next year, how healthy they are (and how the health
    bands held up against real churn), their RFM segments, and how they moved between value tiers."""
    current = lang()
    found, calibration, flow = data.values(viewer, filters)
    if found is None:
        st.info(tr("value.none_yet"), icon=":material/info:")
        return
    st.caption(tr("value.caption", date=found.as_of))
    cells = st.columns(4)
    cells[0].metric(tr("value.customers"), f"{found.customers:,}", border=True)
    cells[1].metric(
        tr("value.clv_12m"), formatting.money(found.clv_12m, current), border=True, help=tr("value.clv_help")
    )
    cells[2].metric(tr("value.revenue_total"), formatting.money(found.revenue_total, current), border=True)
    cells[3].metric(tr("value.expected_orders"), f"{found.expected_orders:,.0f}", border=True)

    st.subheader(tr("value.health_title"))
    st.caption(_health_rules())
    bands = st.columns(len(HEALTH_BANDS))
    for cell, (band, _) in zip(bands, HEALTH_BANDS):
        cell.metric(label("health.band", band, current), f"{found.health_bands[band]:,}", border=True)
    if calibration.empty:
        st.caption(tr("value.calibration.none"))
    else:
        st.plotly_chart(charts.health_calibration(calibration, current), config={"displayModeBar": False})
        st.caption(tr("value.calibration.caption"))

    st.subheader(tr("value.rfm_title"))
    st.caption(tr("value.rfm_rules"))
    segments = found.segments
    st.dataframe(
        pd.DataFrame(
            {
                "segment": [label("rfm", s, current) for s in segments["rfm_segment"]],
                "rule": [
                    tr("value.rfm_rule", r=f"{lo}–{hi}", fm=f"{flo}–{fhi}") for _, lo, hi, flo, fhi in RFM_SEGMENTS
                ],
                "customers": segments["customers"].astype(int),
                "health": segments["health"].round(0),
                "revenue_total": [formatting.money(float(v), current) for v in segments["revenue_total"]],
                "clv_12m": [formatting.money(float(v), current) for v in segments["clv_12m"]],
            }
        ),
        hide_index=True,
        height=36 * (len(segments) + 1) + 3,  # every segment without a scrollbar
        column_config={
            "segment": tr("value.col.segment"),
            "rule": tr("value.col.rule"),
            "customers": st.column_config.NumberColumn(tr("value.customers"), format="%d"),
            "health": st.column_config.NumberColumn(tr("value.col.health"), format="%.0f"),
            "revenue_total": tr("value.revenue_total"),
            "clv_12m": tr("value.clv_12m"),
        },
    )
    if found.fit:
        st.caption(tr("value.fit", **{k: f"{v:g}" for k, v in found.fit.items()}))

    st.subheader(tr("value.tiers_title"))
    st.caption(_tier_rules())
    if flow.previous is None or flow.moves.empty:
        st.caption(tr("value.flow.none"))
    else:
        before, after = (period_containing(q, "Q").label() for q in (flow.previous, flow.current) if q)
        st.plotly_chart(
            charts.tier_flow(flow.moves, current, before=before, after=after),
            config={"displayModeBar": False},
        )


def customer_value_panel(viewer: Viewer, customer_id: int) -> None:
    """The 360° view's value block: health with its groups and 18-week history, RFM, and lifetime value
    historical and predicted. Nothing when the customer has not been scored."""
    found = data.read(portfolio.customer_value, viewer, customer_id)
    if found is None:
        return
    current = lang()
    st.subheader(tr("value.customer.title"))
    cells = st.columns(4)
    cells[0].metric(
        tr("value.health"),
        f"{found['health']} · {label('health.band', found['health_band'], current)}",
        border=True,
        help=_health_rules(),
    )
    cells[1].metric(
        tr("value.col.segment"),
        label("rfm", found["rfm_segment"], current),
        border=True,
        help=tr("value.customer.rfm", r=found["r_score"], f=found["f_score"], m=found["m_score"]),
    )
    cells[2].metric(
        tr("value.clv_12m"),
        formatting.money(found["clv_12m"], current),
        border=True,
        help=tr(
            "value.customer.clv",
            orders=f"{found['expected_orders']:.1f}",
            value=formatting.money(found["expected_value"], current),
            alive=f"{found['p_alive']:.0%}",
        ),
    )
    cells[3].metric(tr("value.revenue_total"), formatting.money(found["revenue_total"], current), border=True)
    parts = found["health_parts"]
    st.caption(
        " · ".join(f"{tr(f'value.group.{g}')} {'—' if parts.get(g) is None else parts[g]}" for g in HEALTH_WEIGHTS)
    )
    as_of = found["as_of"] if isinstance(found["as_of"], date) else date.fromisoformat(str(found["as_of"])[:10])
    # worked out again from the raw rows as they stood each week (18 snapshots): most of the 360° view's server
    # time, so only when someone opens it
    box = st.expander(tr("value.history.title"), key=f"health_history_{customer_id}", on_change="rerun")
    if box.open:
        history = data.health_history(viewer, customer_id, as_of=as_of)
        if not history.empty:
            box.plotly_chart(
                charts.health_history(history, current, thresholds=THRESHOLDS), config={"displayModeBar": False}
            )
