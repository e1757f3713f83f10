"""The Service page's agent and team performance table (`core.service_performance`): what each agent or team
handled, each clock's share met, CSAT and re-opens, the tickets behind a selected row, and the export."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from core import formatting, service_performance as sp
from core.access import Viewer
from core.i18n import label
from core.periods import Filters, custom_period
from ui import data, targets as target_parts
from ui.context import lang, tr
from ui.downloads import csv_download, xlsx_download

SHOWN_CLOCKS = ("first_response", "accept", "resolution", "feedback")


def _table(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """The figures as the page shows and exports them: names, counts, rates in %, CSAT to one decimal."""
    out = pd.DataFrame(
        {
            tr(f"service.dim.{by}"): frame["value"],
            tr("service.perf.handled"): frame["handled"],
            **{
                tr("service.perf.met", clock=tr(f"sla.metric.{c}")): (frame[f"{c}_rate"] * 100).round(1)
                for c in SHOWN_CLOCKS
            },
            tr("service.perf.csat"): frame["csat"].round(2),
            tr("service.perf.csat_answers"): frame["csat_answers"],
            tr("service.perf.reopen_rate"): (frame["reopen_rate"] * 100).round(1),
        }
    )
    return out


def _team_targets(frame: pd.DataFrame, *, start: datetime, end: datetime) -> None:
    """Each team's own SLA targets (the Goals view's) beside its rates over the page's period."""
    period = custom_period(start.date(), end.date())
    current = lang()
    for row in frame.itertuples():
        values = {f"{c}_sla": getattr(row, f"{c}_rate") for c in ("first_response", "resolution")}
        found = data.standings(
            period, Filters(), {k: None if v != v else v for k, v in values.items()}, team=str(row.value)
        )
        for key, standing in found.items():
            shown = formatting.value(standing.value, "percent", current)
            goal = target_parts.goal_text(standing.target, standing.goal, standing.baseline)
            st.caption(
                f"{formatting.plain(str(row.value))} · {tr(f'kpi.{key}')} {shown} · {tr('targets.target')} "
                f"{goal} · {target_parts.status_text(standing.status)}"
            )


def performance_panel(viewer: Viewer, *, start: datetime, end: datetime) -> None:
    """Per agent or per team over the page's period; select a row for the tickets behind it."""
    current = lang()
    st.subheader(tr("service.perf.title"))
    by = (
        st.segmented_control(
            tr("service.by"), sp.BY, default="agent", key="perf_by", format_func=lambda x: tr(f"service.dim.{x}")
        )
        or "agent"
    )
    frame = data.figures(sp.performance, viewer, by=by, start=start, end=end)
    if frame.empty:
        st.info(tr("common.no_data"))
        return
    st.caption(tr("service.perf.help"))
    table = _table(frame, by)
    percent = {c: st.column_config.NumberColumn(c, format="%.1f%%") for c in table.columns if "%" in c}
    picked = st.dataframe(
        table,
        hide_index=True,
        key="perf_table",
        on_select="rerun",
        selection_mode="single-row",
        column_config=percent,
    )
    if by == "team":
        _team_targets(frame, start=start, end=end)
    left, right = st.columns([1, 6])
    with left:
        csv_download(table, what="service_sla", file_name=f"performance-{by}.csv", viewer=viewer, key="perf_csv")
    with right:
        xlsx_download(table, what="service_sla", file_name=f"performance-{by}.xlsx", viewer=viewer, key="perf_xlsx")
    if not (picked and picked.selection.rows):
        return
    value = str(frame.iloc[picked.selection.rows[0]]["value"])
    behind = data.figures(sp.tickets_of, viewer, by=by, value=value, start=start, end=end)
    st.caption(tr("service.behind", n=len(behind), value=value))
    if behind.empty:
        return
    states = {c: [tr(f"sla.state.{v}") if isinstance(v, str) else "" for v in behind[c]] for c in sp.CLOCKS}
    st.dataframe(
        behind.assign(
            kind=[label("ticket_kind", v, current) for v in behind["kind"]],
            category=[label("category", v, current) for v in behind["category"]],
            priority=[label("priority", v, current) for v in behind["priority"]],
            status=[label("ticket_status", v, current) for v in behind["status"]],
            **states,
        ),
        hide_index=True,
        key="perf_behind",
        column_config={
            "ticket": tr("service.col.ticket"),
            "kind": tr("service.col.kind"),
            "category": tr("service.col.category"),
            "priority": tr("service.col.priority"),
            "status": tr("service.col.status"),
            "resolved_at": st.column_config.DatetimeColumn(tr("service.perf.resolved_at"), format="YYYY-MM-DD HH:mm"),
            "csat": tr("service.perf.csat"),
            "reopened": tr("service.perf.reopened"),
            **{c: tr(f"sla.metric.{c}") for c in sp.CLOCKS},
        },
    )
