"""Churn risk as the early-warning page and the 360° view draw it: one customer's risk with its drivers against
the bands, and the model card."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from core import charts, formatting
from core.access import Viewer
from core.churn import explain, warnings
from core.churn.explain import BANDS, HEADLINE
from core.i18n import label
from ui import data
from ui.context import lang, tr
from ui.retention_parts import customer_actions, plan_form

BAND_ICONS = {"high": ":material/warning:", "medium": ":material/trending_down:", "low": ":material/check_circle:"}


def _headline(group: str, value: float | None, current: str) -> str:
    if value is None:
        return "—"
    if group == "revenue":
        return formatting.money(value, current)
    return f"{value:,.1f}" if value % 1 else f"{value:,.0f}"


def risk_panel(viewer: Viewer, customer_id: int) -> bool:
    """The 360° view's churn block: risk, percentile and band, then the drivers raising and lowering it, each
    measure against the average customer of the low, medium and high bands. False when not scored."""
    found = data.read(warnings.customer_risk, viewer, customer_id)
    if found is None:
        return False
    current = lang()
    card = data.model_card()
    band = found["band"]
    st.subheader(tr("churn.customer.title"))
    left, middle, right = st.columns(3)
    left.metric(tr("churn.col.risk"), f"{found['risk']:.0%}", border=True, help=tr("churn.risk_help"))
    middle.metric(tr("churn.col.percentile"), f"{found['percentile']:.0f}", border=True)
    right.metric(tr("churn.col.band"), label("churn.band", band, current), border=True)
    raising, lowering = explain.texts(found["drivers"], current)
    strongest = next((d["g"] for d in json.loads(found["drivers"] or "[]") if d["c"] > 0), "other")
    up, down = st.columns(2)
    with up:
        st.markdown(f"**{tr('churn.raising')}**")
        for line in raising or [tr("common.none")]:
            st.text(f"▲ {line}")
    with down:
        st.markdown(f"**{tr('churn.lowering')}**")
        for line in lowering or [tr("common.none")]:
            st.text(f"▼ {line}")
    profile = (card.profile or {}) if card else {}
    if profile.get("bands"):
        st.caption(tr("churn.customer.bands", date=found["as_of"], version=found["model_version"]))
        averages = profile["bands"]
        own = data.read(warnings.customer_measures, viewer, customer_id, as_of=found["as_of"])
        table = pd.DataFrame(
            {
                tr("churn.col.measure"): [tr(f"churn.measure.{g}") for g in HEADLINE],
                tr("churn.customer.this"): [_headline(g, own.get(g), current) for g in HEADLINE],
                **{
                    label("churn.band", b, current): [_headline(g, averages[b].get(g), current) for g in HEADLINE]
                    for b in BANDS
                },
            }
        )
        st.dataframe(table, hide_index=True)
    plan_form(viewer, customer_id, proposed=strongest)
    customer_actions(viewer, customer_id)
    return True


def model_card_panel(card: warnings.ModelCard) -> None:
    """What the model is, how it was judged against the recency baseline, and what should make one doubt it."""
    current = lang()
    for key, values in card.warnings:
        st.warning(tr(key, **values), icon=":material/warning:")
    st.markdown(
        tr(
            "churn.card.summary",
            version=card.version,
            model=tr(f"churn.model.{card.chosen}"),
            grade=card.grade,
            trained=f"{card.trained_at:%Y-%m-%d %H:%M}",
            first=card.first_snapshot,
            test=card.test_snapshot,
            horizon=card.horizon_days,
        )
    )
    st.caption(tr(f"churn.grade.{card.grade}"))
    names = ["baseline_recency", "logistic", "gradient_boosting", "chosen_calibrated"]
    metrics = pd.DataFrame(
        [
            {
                "model": tr(f"churn.model.{name}"),
                "roc_auc": card.metrics[name]["roc_auc"],
                "pr_auc": card.metrics[name]["pr_auc"],
                "precision": card.metrics[name]["top_decile_precision"],
                "recall": card.metrics[name]["top_decile_recall"],
            }
            for name in names
            if name in card.metrics
        ]
    )
    st.dataframe(
        metrics,
        hide_index=True,
        column_config={
            "model": tr("churn.card.col.model"),
            "roc_auc": st.column_config.NumberColumn("ROC-AUC", format="%.3f"),
            "pr_auc": st.column_config.NumberColumn("PR-AUC", format="%.3f"),
            "precision": st.column_config.NumberColumn(tr("churn.card.col.precision"), format="%.3f"),
            "recall": st.column_config.NumberColumn(tr("churn.card.col.recall"), format="%.3f"),
        },
    )
    left, right = st.columns(2)
    calibration = card.metrics.get("chosen_calibrated", {}).get("calibration") or []
    if calibration:
        left.plotly_chart(charts.calibration(calibration, current), key="calibration")
    profile = card.profile or {}
    if profile.get("importance"):
        right.plotly_chart(charts.importance(profile["importance"], current), key="importance")
    thresholds = profile.get("thresholds")
    if thresholds:
        st.caption(tr("churn.card.bands", medium=f"{thresholds['medium']:.0%}", high=f"{thresholds['high']:.0%}"))
    st.caption(tr("churn.card.method"))
