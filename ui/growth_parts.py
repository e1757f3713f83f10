"""The Growth page's forecast and next-best-offer sections (core.forecast, core.next_offer), each drawn only
when open, and the helpers the other sections share."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core import access, charts, clock, forecast, formatting, next_offer
from core.access import Viewer
from core.errors import CrmError
from core.i18n import label
from ui import data
from ui.context import lang, reason, tr


def percent(value: float | None) -> str:
    return formatting.value(value, "percent", lang())


def group_label(by: str, group: str) -> str:
    if by == "total":
        return tr("growth.total")
    if group == "none":
        return tr("growth.no_tier") if by == "tier" else tr("common.none")
    return label(by, group, lang())


def months_back(first_of_month: date, n: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def offer_caption(viewer: Viewer, customer_id: int) -> None:
    """The 360° view's line: the categories most likely after the customer's last order, with their chances."""
    last_bought, offered = data.read(next_offer.customer_offers, viewer, customer_id)
    if offered:
        current = lang()
        shown = " · ".join(f"{label('product', c, current)} {100 * p:.0f}%" for c, p in offered)
        st.caption(tr("customer.next_offer", last=label("product", last_bought, current), offers=shown))


def forecast_section(viewer: Viewer) -> None:
    current = lang()
    a, b, c = st.columns(3)
    measure = (
        a.segmented_control(
            tr("growth.measure"),
            list(forecast.MEASURES),
            default="revenue",
            format_func=lambda k: tr(f"growth.measure.{k}"),
            key="forecast_measure",
        )
        or "revenue"
    )
    by = (
        b.segmented_control(
            tr("growth.by"),
            list(forecast.GROUPINGS),
            default="total",
            format_func=lambda k: tr(f"growth.by.{k}"),
            key="forecast_by",
        )
        or "total"
    )
    horizon = int(c.select_slider(tr("growth.horizon"), options=[6, 9, 12], value=12, key="forecast_horizon"))
    try:
        found, short = data.figures(
            forecast.forecasts, viewer, measure=measure, by=by, horizon=horizon, today=clock.today()
        )
    except CrmError as err:
        st.error(reason(err))
        found, short = [], []
    if not found:
        st.info(tr("growth.forecast.empty", n=forecast.MIN_MONTHS))
    money = measure == "revenue"
    unit = "money" if money else "count"
    if found:
        rows = []
        for item in found:
            rows.append(
                {
                    "group": group_label(by, item.group),
                    "ahead": formatting.value(float(item.ahead["value"].sum()), unit, current),
                    "low": formatting.value(float(item.ahead["low80"].sum()), unit, current),
                    "high": formatting.value(float(item.ahead["high80"].sum()), unit, current),
                    "mape": percent(item.mape),
                    "accuracy": percent(None if item.mape is None else max(0.0, 1 - item.mape)),
                    "naive": percent(item.naive_mape),
                    "better": tr("growth.better.yes")
                    if item.mape is not None and item.naive_mape is not None and item.mape < item.naive_mape
                    else tr("growth.better.no"),
                }
            )
        st.dataframe(
            pd.DataFrame(rows),
            hide_index=True,
            key="forecast_table",
            column_config={
                "group": tr(f"growth.by.{by}"),
                "ahead": tr("growth.col.ahead", n=horizon),
                "low": tr("growth.col.low"),
                "high": tr("growth.col.high"),
                "mape": tr("growth.col.mape"),
                "accuracy": tr("growth.col.accuracy"),
                "naive": tr("growth.col.naive"),
                "better": tr("growth.col.better"),
            },
        )
        st.caption(tr("growth.forecast.how"))
        names = [item.group for item in found]
        picked = st.selectbox(
            tr("growth.chart_of"), names, format_func=lambda g: group_label(by, g), key=f"forecast_pick_{by}"
        )
        item = found[names.index(picked)]
        st.plotly_chart(
            charts.forecast(
                item,
                current,
                title=f"{tr(f'growth.measure.{measure}')} · {group_label(by, item.group)}",
                money_axis=money,
            ),
            key="forecast_chart",
        )
        st.caption(
            tr(
                "growth.backtest",
                mape=percent(item.mape),
                naive=percent(item.naive_mape),
                start=f"{item.backtest['month'].iloc[0]:%Y-%m}",
                end=f"{item.backtest['month'].iloc[-1]:%Y-%m}",
            )
        )
    if short:
        st.caption(tr("growth.short", groups=", ".join(group_label(by, g) for g in short), n=forecast.MIN_MONTHS))
    if by == "tier":
        st.caption(tr("growth.tier_note"))


def offers_section(viewer: Viewer) -> None:
    current = lang()
    categories = [None, *next_offer.CATEGORIES]
    category = st.selectbox(
        tr("growth.offer_filter"),
        categories,
        format_func=lambda c: label("product", c, current) if c else tr("growth.best_offer"),
        key="offer_category",
    )
    model, work = data.figures(next_offer.current_worklist, viewer, category=category, limit=200)
    if model is None:
        st.info(tr("growth.offers.none"))
    else:
        quality = model.evaluation
        a, b, c = st.columns(3)
        a.metric(
            tr("growth.hit1"),
            percent(quality.model.get(1)),
            delta=tr("growth.vs_popular", value=percent(quality.baseline.get(1))),
            delta_color="off",
            delta_arrow="off",
            border=True,
        )
        b.metric(
            tr("growth.hit2"),
            percent(quality.model.get(2)),
            delta=tr("growth.vs_popular", value=percent(quality.baseline.get(2))),
            delta_color="off",
            delta_arrow="off",
            border=True,
        )
        c.metric(tr("growth.scored"), f"{quality.customers:,}", border=True)
        st.caption(
            tr(
                "growth.hit_how",
                start=f"{quality.start:%Y-%m-%d}",
                end=f"{quality.end:%Y-%m-%d}",
                popular=", ".join(label("product", p, current) for p in quality.baseline_offers),
                learned=f"{model.learned_at:%Y-%m-%d %H:%M}",
                orders=f"{model.orders:,}",
            )
        )
        st.dataframe(
            pd.DataFrame(
                {
                    "code": work["code"],
                    "name": work["name"],
                    "tier": [label("tier", t, current) for t in work["tier"]],
                    "last_order": [f"{d:%Y-%m-%d}" if d is not None else "—" for d in work["last_order"]],
                    "last_category": [label("product", c, current) for c in work["last_category"]],
                    "offer": [label("product", c, current) for c in work["offer"]],
                    "probability": [percent(p) for p in work["probability"]],
                }
            ),
            hide_index=True,
            key="offer_worklist",
            column_config={
                "code": tr("growth.col.code"),
                "name": tr("growth.col.name"),
                "tier": tr("growth.col.tier"),
                "last_order": tr("growth.col.last_order"),
                "last_category": tr("growth.col.last_category"),
                "offer": tr("growth.col.offer"),
                "probability": tr("growth.col.probability"),
            },
        )
        st.caption(tr("growth.worklist_note", n=len(work)))
        with st.expander(tr("growth.matrix")):
            matrix = model.table.copy()
            matrix.index = [label("product", c, current) for c in matrix.index]
            matrix.columns = [label("product", c, current) for c in matrix.columns]
            st.dataframe(matrix.map(percent), key="offer_matrix")
            st.caption(tr("growth.matrix_note"))
    if access.allowed(viewer, "offers:learn") and st.button(tr("growth.learn"), key="offer_learn"):
        try:
            data.write(lambda session, who: next_offer.learn_now(session, who), viewer)
        except CrmError as err:
            st.error(tr("form.refused", reason=reason(err)))
        else:
            st.session_state["flash"] = tr("growth.learned")
            st.rerun()
