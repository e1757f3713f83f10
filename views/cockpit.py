"""The executive cockpit: KPI cards with deltas, base structure, trends, complaint SLA, churn warnings."""

from functools import partial

import streamlit as st

from core import access, charts, exports, formatting, kpi
from core.churn import explain
from core.i18n import label
from ui import data
from ui.cards import kpi_card, plain_card
from ui.context import lang, page_guard, tr
from ui.downloads import csv_download
from ui.escalation_parts import open_complaints
from ui.filters import dimension_filters, period_selector

viewer = page_guard("cockpit")
current = lang()
period = period_selector()
filters = dimension_filters(by_owner=not access.own_customers_only(viewer))  # core scopes a manager anyway
result = data.cockpit(period, filters, viewer)

st.title(tr("cockpit.title"))
as_of = f"{result.summaries_as_of:%Y-%m-%d}" if result.summaries_as_of else tr("common.none")
st.caption(tr("cockpit.caption", period=period.label(), previous=result.previous.label(), as_of=as_of))
if result.source == "live":
    st.caption(tr("period.live_note"))
if access.own_customers_only(viewer):
    st.caption(tr("cockpit.own_customers"))
csv_download(
    exports.kpi_table(result, current),
    what="kpis",
    file_name=f"kpis-{period.label()}.csv",
    viewer=viewer,
    filters=filters,
    key="export_kpis",
)

kpis = {k.key: k for k in result.kpis}
nps = kpis["nps"]
nps_note = (
    tr(
        "cockpit.nps_interval",
        n=nps.detail["responses"],
        low=f"{nps.detail['low']:.0f}",
        high=f"{nps.detail['high']:.0f}",
    )
    if nps.detail.get("low") is not None
    else tr("cockpit.nps_n", n=nps.detail.get("responses", 0))
)
if nps.detail["small_sample"]:
    nps_note += " · " + tr("cockpit.small_sample")
conversion = kpis["lead_conversion_rate"]
invalid = conversion.detail.get("invalid_lead_rate")
notes = {
    "nps": nps_note,
    "lead_conversion_rate": tr("cockpit.invalid_leads", rate=formatting.value(invalid, "percent", current)),
    "first_response_sla": tr("cockpit.sla_tickets", n=int(kpis["first_response_sla"].detail.get("tickets") or 0)),
    "resolution_sla": tr("cockpit.sla_tickets", n=int(kpis["resolution_sla"].detail.get("tickets") or 0)),
}
order = [
    "active_customers",
    "new_customers",
    "revenue",
    "average_order_value",
    "repurchase_rate",
    "lead_conversion_rate",
    "lifetime_value",
    "churn_rate",
    "nps",
    "csat",
    "first_response_sla",
    "resolution_sla",
    "complaint_rate",
]
st.subheader(tr("cockpit.section.kpis"))
complaints = result.open_complaints
completeness = data.completeness(viewer)  # core fields, in the viewer's scope
standing = data.standings(
    period, filters, {**{key: kpis[key].value for key in order}, "data_completeness": completeness.core}
)
cards = [
    partial(
        kpi_card,
        kpis[key],
        note=notes.get(key),
        standing=standing.get(key),
        sources=kpi.sources(key, result.source),
        refreshed_at=result.refreshed_at if kpi.sources(key, result.source) == ("period_facts",) else None,
        # rows made before their time was recorded (migration 0024) say the day the summaries were built
        as_of=result.summaries_as_of if kpi.sources(key, result.source) == ("period_facts",) else None,
    )
    for key in order
] + [
    partial(
        plain_card,
        "kpi.open_complaints",
        f"{complaints.open:,}",
        tr("cockpit.open_detail", breached=complaints.breached, at_risk=complaints.at_risk),
        sources=("tickets", "ticket_sla"),
    ),
    partial(
        plain_card,
        "kpi.revenue_at_risk",
        formatting.money(result.revenue_at_risk, current),
        tr("cockpit.at_risk_model_detail", customers=f"{result.at_risk_customers:,}", date=result.risk_as_of)
        if result.risk_as_of
        else tr("cockpit.at_risk_detail", customers=f"{result.at_risk_customers:,}"),
        help_key="kpi.revenue_at_risk.help_model" if result.risk_as_of else None,
        sources=("churn_scores",) if result.risk_as_of else ("segment_facts",),
        as_of=result.risk_as_of or result.summaries_as_of,
    ),
    partial(
        plain_card,
        "kpi.data_completeness",
        f"{completeness.core:.1%}" if completeness.core is not None else "—",
        tr("cockpit.completeness_now"),
        standing=standing.get("data_completeness"),
        sources=("customers",),
    ),
]
for first in range(0, len(cards), 5):  # one row of columns per five cards: a phone stacks them in reading order
    for column, card in zip(st.columns(5), cards[first : first + 5]):
        with column:
            card()

st.subheader(tr("cockpit.section.segments"))
left, right = st.columns(2)
left.plotly_chart(charts.tier_distribution(result.tiers, current), key="tiers")
right.plotly_chart(charts.lifecycle_distribution(result.lifecycle, current), key="lifecycle")

st.subheader(tr("cockpit.section.trends"))
left, right = st.columns(2)
left.plotly_chart(charts.revenue_trend(result.monthly, current), key="revenue_trend")
right.plotly_chart(charts.nps_trend(result.monthly, current), key="nps_trend")

st.subheader(tr("cockpit.section.sla"))
st.caption(
    f"{tr('kpi.open_complaints')}: {complaints.open:,} · "
    + tr("cockpit.open_detail", breached=complaints.breached, at_risk=complaints.at_risk)
)
left, right = st.columns(2)
left.plotly_chart(charts.sla_by_month(result.monthly, current), key="sla_month")
right.plotly_chart(charts.sla_by_priority(result.sla_by_priority, current), key="sla_priority")
st.markdown(f"**{tr('cockpit.section.escalation')}**")
open_complaints(viewer)

st.subheader(tr("cockpit.section.warnings"))
warnings = result.churn_warnings
if warnings.empty:
    st.info(tr("cockpit.warnings_empty_model" if result.risk_as_of else "cockpit.warnings_empty"))
else:
    table = warnings.assign(
        revenue_12m=[formatting.money(v, current) for v in warnings["revenue_12m"]],
        orders_trend=[f"{a} / {b}" for a, b in zip(warnings["orders_last_90"], warnings["orders_prev_90"])],
        churn_reason=[
            (explain.texts(d, current)[0] or [""])[0] if d else label("reason", r, current)
            for r, d in zip(warnings["churn_reason"], warnings["drivers"])
        ],
        risk=[f"{r:.0%}" if r is not None and r == r else "—" for r in warnings["risk"]],
    )
    columns_shown = ["code", "name", "owner", "risk", "revenue_12m", "orders_trend", "last_order_date", "churn_reason"]
    picked = st.dataframe(
        table[columns_shown],
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="warnings",
        column_config={
            "code": tr("column.code"),
            "name": tr("column.name"),
            "owner": tr("column.owner"),
            "risk": tr("column.churn_risk"),
            "revenue_12m": tr("column.revenue_12m"),
            "orders_trend": tr("column.orders_trend"),
            "last_order_date": st.column_config.DateColumn(tr("column.last_order")),
            "churn_reason": tr("column.reason"),
        },
    )
    rows = picked.selection.rows if picked else []
    if rows:
        st.switch_page("views/customer.py", query_params={"id": str(int(warnings.iloc[rows[0]]["customer_id"]))})
