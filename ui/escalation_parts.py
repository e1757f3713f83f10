"""Complaints likely to escalate (`core.service_escalation`): the open ones on the cockpit, and on the Service
page how often a flagged complaint did escalate, with the complaints behind the figure."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from core import access
from core.access import Viewer
from core.i18n import label
from ui import data
from ui.context import lang, tr


def signals_text(signals: object) -> str:
    """The signals' codes in the viewer's language, comma-separated ('' for none)."""
    return tr("common.list_sep").join(tr(f"escalation.signal.{s}") for s in signals or ())  # type: ignore[attr-defined]


def open_complaints(viewer: Viewer) -> None:
    """The open complaints likely to escalate in the viewer's scope; a picked row opens the ticket (the desk)
    or the customer (an account manager, who works through the customer)."""
    current = lang()
    st.caption(tr("escalation.help"))
    flagged = data.open_escalations(viewer)
    if flagged.empty:
        st.info(tr("cockpit.escalation_empty"))
        return
    shown = flagged.assign(
        priority=[label("priority", v, current) for v in flagged["priority"]],
        signals=[signals_text(v) for v in flagged["signals"]],
        team=flagged["team"].fillna("—"),
    )
    columns = ["ticket", "code", "customer", "priority", "team", "signals", "flagged_at"]
    picked = st.dataframe(
        shown[columns],
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="escalations",
        column_config={
            **{c: tr(f"escalation.col.{c}") for c in columns},
            "flagged_at": st.column_config.DatetimeColumn(tr("escalation.col.flagged_at"), format="YYYY-MM-DD HH:mm"),
        },
    )
    rows = picked.selection.rows if picked else []
    if rows:
        row = flagged.iloc[rows[0]]
        if access.may_open(viewer, "service"):
            st.switch_page("views/service.py", query_params={"ticket": str(int(row["ticket"]))})
        st.switch_page("views/customer.py", query_params={"id": str(int(row["customer_id"]))})


def backtest_panel(viewer: Viewer, now: datetime) -> None:
    """Did the flag mean something? The share of flagged complaints that escalated beside the others'."""
    result = data.escalation_backtest(viewer, now=now)
    st.subheader(tr("escalation.title"))
    st.caption(tr("escalation.backtest.help", start=f"{result.start:%Y-%m-%d}", end=f"{result.end:%Y-%m-%d}"))
    cards = st.columns(4)
    cards[0].metric(tr("escalation.complaints"), f"{result.complaints:,}", border=True)
    cards[1].metric(
        tr("escalation.flagged"),
        f"{result.flagged:,}",
        border=True,
        delta=f"{result.flagged / result.complaints:.1%}" if result.complaints else None,
        delta_color="off",
        delta_arrow="off",
    )
    cards[2].metric(
        tr("escalation.precision"),
        f"{result.precision:.1%}" if result.precision is not None else "—",
        border=True,
        delta=tr("escalation.lift", lift=f"{result.lift:.1f}") if result.lift is not None else None,
        delta_color="off",
        delta_arrow="off",
    )
    cards[3].metric(
        tr("escalation.base_rate"), f"{result.base_rate:.1%}" if result.base_rate is not None else "—", border=True
    )
    if result.tickets.empty:
        return
    with st.expander(tr("escalation.behind", n=len(result.tickets))):
        table = result.tickets.assign(
            signals=[signals_text(v) for v in result.tickets["signals"]],
            escalated=[tr(f"escalation.how.{h}") if isinstance(h, str) else "" for h in result.tickets["how"]],
        )
        columns = ["ticket", "flagged_at", "signals", "escalated"]
        st.dataframe(
            table[columns],
            hide_index=True,
            column_config={
                **{c: tr(f"escalation.col.{c}") for c in columns},
                "flagged_at": st.column_config.DatetimeColumn(
                    tr("escalation.col.flagged_at"), format="YYYY-MM-DD HH:mm"
                ),
            },
        )
