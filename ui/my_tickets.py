"""An account manager's view of the service desk's work for their customers: the open tickets of every
customer they own, each target's state, a row opening the customer (where a note for the agent is added)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st

from core import clock
from core.access import Viewer
from core.customer_view import my_customers_tickets
from core.i18n import label
from ui import data
from ui.context import lang, tr
from ui.escalation_parts import signals_text


def labelled(tickets: pd.DataFrame, current: str) -> pd.DataFrame:
    """Open tickets with their codes and target states in words (the 360° view's list and the manager's)."""
    return tickets.assign(
        kind=[label("ticket_kind", v, current) for v in tickets["kind"]],
        category=[label("category", v, current) for v in tickets["category"]],
        priority=[label("priority", v, current) for v in tickets["priority"]],
        status=[label("ticket_status", v, current) for v in tickets["status"]],
        first_response=[tr(f"sla.state.{v}") for v in tickets["first_response"]],
        resolution=[tr(f"sla.state.{v}") for v in tickets["resolution"]],
    )


def my_tickets_panel(viewer: Viewer, open_row: Callable[[str, list[int]], None]) -> None:
    current = lang()
    tickets = data.read(my_customers_tickets, viewer, now=clock.now())
    breached = int(((tickets["first_response"] == "breached") | (tickets["resolution"] == "breached")).sum())
    with st.expander(tr("list.my_tickets", open=f"{len(tickets):,}", breached=f"{breached:,}"), expanded=breached > 0):
        if tickets.empty:
            st.caption(tr("customer.no_open_tickets"))
            return
        st.caption(tr("list.my_tickets.help"))
        shown = labelled(tickets, current).assign(escalation=[signals_text(v) for v in tickets["escalation"]])
        st.dataframe(
            shown.drop(columns=["customer_id", "first_response_left_h"]),
            hide_index=True,
            key="my_tickets_grid",
            on_select=partial(open_row, "my_tickets_grid", [int(i) for i in tickets["customer_id"]]),
            selection_mode="single-row",
            column_config={
                "code": tr("column.code"),
                "name": tr("column.name"),
                **{c: tr(f"ticket.col.{c}") for c in tickets.columns if c not in ("customer_id", "code", "name")},
            },
        )
