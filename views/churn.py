"""Churn early warning: the scored customers ranked by expected revenue at risk, with their drivers, filters in
the URL, export, and the model card that says how far to trust it."""

import pandas as pd
import streamlit as st

from core import access, formatting
from core.churn import explain
from core.churn.explain import BANDS
from core.churn.warnings import SORTS
from core.i18n import label
from ui import data
from ui.churn_parts import model_card_panel
from ui.context import lang, page_guard, tr
from ui.filters import dimension_filters, multi_filter, url_choice, url_int
from ui.retention_parts import effect_panel, open_actions, selection_form
from ui.value_parts import value_panel

PAGE_SIZE = 50

viewer = page_guard("churn")
current = lang()
if "open_customer" in st.session_state:  # a row was selected: open the 360° view
    st.switch_page("views/customer.py", query_params={"id": str(st.session_state.pop("open_customer"))})

st.title(tr("churn.title"))
filters = dimension_filters(by_owner=not access.own_customers_only(viewer))
bands = multi_filter("band", "churn.filter.band", BANDS[::-1], lambda b: label("churn.band", b, current))
with st.sidebar:
    sort = url_choice("sort", tr("churn.sort"), list(SORTS), "value_at_risk", lambda s: tr(f"churn.col.{s}"))
page = url_int(st.query_params.get("page")) or 1
found, rows, total = data.risk(viewer, filters, bands=bands, sort=sort, page=page, size=PAGE_SIZE)
card = data.model_card()
if found is None or card is None:
    st.info(tr("churn.none_yet"), icon=":material/info:")
    st.stop()

st.caption(
    tr("churn.caption", version=found.model_version, date=found.as_of, grade=card.grade, horizon=card.horizon_days)
)
for key, values in card.warnings:
    st.warning(tr(key, **values), icon=":material/warning:")
cells = st.columns(4)
cells[0].metric(tr("churn.scored"), f"{found.scored:,}", border=True)
cells[1].metric(label("churn.band", "high", current), f"{found.per_band['high']:,}", border=True)
cells[2].metric(label("churn.band", "medium", current), f"{found.per_band['medium']:,}", border=True)
cells[3].metric(
    tr("churn.col.expected_loss"),
    formatting.money(found.expected_loss, current),
    border=True,
    help=tr("churn.expected_loss_help"),
)

if rows.empty and page > 1:  # the filters changed under a later page: back to the first
    st.query_params.pop("page", None)
    st.rerun()
warnings_tab, value_tab, retention_tab, card_tab = st.tabs(
    [tr("churn.tab.list"), tr("churn.tab.value"), tr("churn.tab.retention"), tr("churn.tab.card")]
)
with warnings_tab:
    pages = max(1, -(-total // PAGE_SIZE))
    st.caption(tr("churn.showing", shown=len(rows), total=f"{total:,}", page=min(page, pages), pages=pages))
    ids = [int(i) for i in rows["customer_id"]]
    drivers = [explain.texts(d, current) for d in rows["drivers"]]
    table = pd.DataFrame(
        {
            "code": rows["code"],
            "name": rows["name"],
            "band": [label("churn.band", b, current) for b in rows["band"]],
            "risk": rows["risk"].astype(float),
            "raising": ["; ".join(up) for up, _ in drivers],
            "value_at_risk": [formatting.money(float(v), current) for v in rows["value_at_risk"]],
            "clv_12m": [formatting.money(float(v), current) for v in rows["clv_12m"]],
            "health": pd.to_numeric(rows["health"], errors="coerce"),
            "expected_loss": [formatting.money(float(v), current) for v in rows["expected_loss"]],
            "revenue_12m": [formatting.money(float(v), current) for v in rows["revenue_12m"]],
            "percentile": rows["percentile"].astype(float),
            "owner": rows["owner"],
            "lowering": ["; ".join(down) for _, down in drivers],
        }
    )

    def open_row() -> None:
        picked = st.session_state["risk_grid"].selection.rows
        if picked:
            st.session_state["open_customer"] = ids[picked[0]]

    st.dataframe(
        table,
        hide_index=True,
        key="risk_grid",
        on_select=open_row,
        selection_mode="single-row",
        column_config={
            "code": tr("column.code"),
            "name": tr("column.name"),
            "owner": tr("column.owner"),
            "band": tr("churn.col.band"),
            "risk": st.column_config.ProgressColumn(tr("churn.col.risk"), format="percent", min_value=0, max_value=1),
            "percentile": st.column_config.NumberColumn(tr("churn.col.percentile"), format="%.0f"),
            "revenue_12m": tr("churn.col.revenue_12m"),
            "expected_loss": tr("churn.col.expected_loss"),
            "value_at_risk": tr("churn.col.value_at_risk"),
            "clv_12m": tr("churn.col.clv_12m"),
            "health": st.column_config.NumberColumn(tr("churn.col.health"), format="%d"),
            "raising": st.column_config.TextColumn(tr("churn.col.raising"), width="large"),
            "lowering": tr("churn.col.lowering"),
        },
    )
    back, forward, *_ = st.columns([1, 1, 6])
    if back.button(tr("churn.previous"), disabled=page <= 1, icon=":material/chevron_left:"):
        st.query_params["page"] = str(page - 1)
        st.rerun()
    if forward.button(tr("churn.next"), disabled=page >= pages, icon=":material/chevron_right:"):
        st.query_params["page"] = str(page + 1)
        st.rerun()
    if access.allowed(viewer, "export:churn") and total:
        left, right, _ = st.columns([1, 1, 4])
        for where, fmt in ((left, "csv"), (right, "xlsx")):
            where.download_button(
                tr(f"export.{fmt}"),
                data.risk_export(viewer, filters, bands=bands, sort=sort, fmt=fmt),
                file_name=f"churn-warnings.{fmt}",
                key=f"churn_{fmt}",
                icon=":material/download:",
            )
    selection_form(viewer, rows)
with value_tab:
    value_panel(viewer, filters)
with retention_tab:
    effect_panel(viewer, filters)
    open_actions(viewer, filters)
with card_tab:
    model_card_panel(card)
