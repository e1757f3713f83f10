"""The Service page's bottlenecks (`core.service_flow`): hours per step by category, team or priority, which
step grew on the period before, and suggestions in plain words, each with the tickets behind it."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from core import service_flow as flow
from core.access import Viewer
from core.i18n import label
from ui import data
from ui.context import lang, tr

GROUPS = {"category": "category", "priority": "priority"}  # data codes shown through the catalogs


def _name(by: str, value: object, current: str) -> str:
    return label(GROUPS[by], value, current) if by in GROUPS else str(value)


def bottlenecks_panel(viewer: Viewer, *, start: datetime, end: datetime) -> None:
    """Where the time goes over the page's period, against the same length of time before it."""
    current = lang()
    st.subheader(tr("service.flow.title"))
    st.caption(tr("service.flow.help"))
    by = (
        st.segmented_control(
            tr("service.by"), flow.BY, default="category", key="flow_by", format_func=lambda x: tr(f"service.dim.{x}")
        )
        or "category"
    )
    now = data.figures(flow.step_times, viewer, start=start, end=end)
    if now.empty:
        st.info(tr("common.no_data"))
        return
    before = data.figures(flow.step_times, viewer, start=start - (end - start), end=start)
    found = flow.suggestions(now, by=by)
    for suggestion in found:
        st.warning(
            tr(
                f"service.flow.suggest.{suggestion.step}",
                value=_name(by, suggestion.value, current),
                dim=tr(f"service.dim.{by}"),
                hours=f"{suggestion.hours:.1f}",
                others=f"{suggestion.others:.1f}",
                ratio=f"{suggestion.ratio:.1f}",
            ),
            icon=":material/lightbulb:",
        )
        with st.expander(tr("service.flow.behind", n=len(suggestion.tickets))):
            st.text(", ".join(f"#{t}" for t in suggestion.tickets))
    if not found:
        st.caption(tr("service.flow.none"))
    table = flow.medians(now, by=by)
    steps = {s: tr(f"service.flow.step.{s}") for s in flow.STEPS}
    st.dataframe(
        table.assign(value=[_name(by, v, current) for v in table["value"]]).round(1),
        hide_index=True,
        column_config={
            "value": tr(f"service.dim.{by}"),
            "tickets": tr("service.flow.tickets"),
            **{s: st.column_config.NumberColumn(name, format="%.1f h") for s, name in steps.items()},
        },
    )
    grew = flow.growth(now, before)
    st.dataframe(
        pd.DataFrame(
            {
                tr("service.flow.step"): [steps[s] for s in grew["step"]],
                tr("service.flow.now"): grew["now"].round(1),
                tr("service.flow.before"): grew["before"].round(1),
                tr("service.flow.change"): grew["change"].round(1),
            }
        ),
        hide_index=True,
    )
