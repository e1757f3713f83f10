"""The Growth page's channels section (core.channels) and the channel-cost form."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core import access, channels, charts, clock, formatting
from core.access import Viewer
from core.i18n import label
from ui import data
from ui.context import lang, tr
from ui.forms import Slots, saved
from ui.growth_parts import group_label, months_back, percent


def cost_form(viewer: Viewer) -> None:
    """What a channel cost in a month (analysts and administrators; checked in core, audited)."""
    current = lang()
    with st.form(f"channel_cost_{st.session_state.get('cost_form', 0)}"):
        slots = Slots()
        slots.top()
        a, b, c = st.columns(3)
        channel = a.selectbox(
            tr("growth.col.channel"), list(channels.CHANNELS), format_func=lambda k: label("acquisition", k, current)
        )
        with a:
            slots("channel")
        month = b.date_input(tr("growth.cost.month"), value=months_back(clock.today().replace(day=1), 1))
        with b:
            slots("month")
        amount = c.number_input(tr("growth.cost.amount"), min_value=0.0, value=None, step=1000.0)
        with c:
            slots("amount")
        note = st.text_input(tr("growth.cost.note"), max_chars=200)
        slots("note")
        if not st.form_submit_button(tr("growth.cost.save"), type="primary"):
            return
    entry = channels.CostEntry(str(channel), month if isinstance(month, date) else clock.today(), amount, note)
    saved(lambda: data.write(channels.set_cost, viewer, entry), slots, done=tr("growth.cost.saved"), form="cost_form")


def channels_section(viewer: Viewer) -> None:
    current = lang()
    span = int(st.select_slider(tr("growth.channels.months"), options=[3, 6, 12, 24], value=12, key="channel_months"))
    end = clock.today().replace(day=1)
    start = months_back(end, span)
    st.caption(tr("growth.channels.period", start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}"))
    acquired = data.figures(channels.acquisition, viewer, start=start, end=end)
    st.dataframe(
        pd.DataFrame(
            {
                "channel": [label("acquisition", c, current) for c in acquired["channel"]],
                "acquired": [f"{n:,}" for n in acquired["acquired"]],
                "revenue_per_customer": [
                    formatting.value(v, "money", current) for v in acquired["revenue_per_customer"]
                ],
                "retained": [percent(v) for v in acquired["retained"]],
                "nps": [
                    f"{v:+.1f} ({n:,})" if v is not None and v == v else "—"
                    for v, n in zip(acquired["nps"], acquired["nps_answers"])
                ],
                "cost": [
                    formatting.value(v, "money", current) if v == v and v is not None else "—" for v in acquired["cost"]
                ],
                "cpa": [
                    formatting.value(v, "money", current) if v == v and v is not None else "—"
                    for v in acquired["cost_per_acquisition"]
                ],
            }
        ),
        hide_index=True,
        key="channel_table",
        column_config={
            "channel": tr("growth.col.channel"),
            "acquired": tr("growth.col.acquired"),
            "revenue_per_customer": tr("growth.col.revenue_per_customer"),
            "retained": tr("growth.col.retained"),
            "nps": tr("growth.col.nps"),
            "cost": tr("growth.col.cost"),
            "cpa": tr("growth.col.cpa"),
        },
    )
    st.caption(tr("growth.channels.how"))
    monthly = data.figures(channels.acquired_by_month, viewer, start=start, end=end)
    if not monthly.empty:
        st.plotly_chart(
            charts.stacked_counts(
                monthly,
                "month",
                "channel",
                "acquired",
                tr("growth.channels.by_month"),
                lambda d: f"{d:%Y-%m}",
                lambda k: label("acquisition", k, current),
            ),
            key="channel_months_chart",
        )
    options: list[str | None] = [None, *channels.CHANNELS]
    picked = st.selectbox(
        tr("growth.cohort_of"),
        options,
        format_func=lambda k: label("acquisition", k, current) if k else tr("growth.all_channels"),
        key="cohort_channel",
    )
    table = data.figures(channels.cohorts, viewer, channel=picked, today=clock.today())
    if table.empty:
        st.caption(tr("growth.cohort.none"))
    else:
        st.plotly_chart(charts.cohort_retention(table, current, title=tr("growth.cohort.title")), key="cohort_chart")
    st.subheader(tr("growth.service_channels"))
    served = data.figures(channels.service, viewer, start=start, end=end)
    st.dataframe(
        pd.DataFrame(
            {
                "channel": [label("channel", c, current) for c in served["channel"]],
                "tickets": [f"{n:,}" for n in served["tickets"]],
                "csat": [
                    f"{v:.2f} ({n:,})" if v == v and v is not None else "—"
                    for v, n in zip(served["csat"], served["csat_ratings"])
                ],
                "resolution_met": [percent(v) if v == v else "—" for v in served["resolution_met"]],
            }
        ),
        hide_index=True,
        key="service_channel_table",
        column_config={
            "channel": tr("growth.col.channel"),
            "tickets": tr("growth.col.tickets"),
            "csat": tr("growth.col.csat"),
            "resolution_met": tr("growth.col.resolution_met"),
        },
    )
    st.subheader(tr("growth.mix"))
    mix = data.figures(channels.interaction_mix, viewer, start=start, end=end)
    if mix.empty:
        st.caption(tr("growth.mix.none"))
    else:
        shown_mix = pd.DataFrame(
            {label("channel", c, current): [percent(v) for v in mix[c]] for c in mix.columns if c != "interactions"}
        )
        shown_mix.insert(0, tr("growth.col.interactions"), [f"{int(n):,}" for n in mix["interactions"]])
        shown_mix.insert(0, tr("growth.col.tier"), [group_label("tier", t) for t in mix.index])
        st.dataframe(shown_mix, hide_index=True, key="mix_table")
    if access.allowed(viewer, "channels:costs"):
        with st.expander(tr("growth.cost.title")):
            cost_form(viewer)
            entered = data.read(channels.costs, viewer)
            if not entered.empty:
                st.dataframe(
                    pd.DataFrame(
                        {
                            "channel": [label("acquisition", c, current) for c in entered["channel"]],
                            "month": [f"{d:%Y-%m}" for d in entered["month"]],
                            "amount": [formatting.value(v, "money", current) for v in entered["amount"]],
                            "note": [n or "" for n in entered["note"]],
                            "entered_by": entered["entered_by"],
                        }
                    ),
                    hide_index=True,
                    key="cost_table",
                    column_config={
                        "channel": tr("growth.col.channel"),
                        "month": tr("growth.cost.month"),
                        "amount": tr("growth.cost.amount"),
                        "note": tr("growth.cost.note"),
                        "entered_by": tr("growth.cost.by"),
                    },
                )
