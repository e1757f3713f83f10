"""Growth: the revenue and order forecast with its backtest, the next best offer with its hit rate, the
acquisition and service channels, the leads with their funnel and campaigns against their control groups (core.forecast,
core.next_offer, core.channels, core.funnel, core.leads, core.campaigns). Only the open section is computed."""

import streamlit as st

from ui.campaign_parts import campaigns_section
from ui.channel_parts import channels_section
from ui.context import page_guard, tr
from ui.forms import flash
from ui.growth_parts import forecast_section, offers_section
from ui.lead_parts import funnel_section
from ui.sections import sections

viewer = page_guard("growth")
st.title(tr("growth.title"))
st.caption(tr("growth.caption"))
flash()
shown = sections(
    ["forecast", "offers", "channels", "funnel", "campaigns"],
    key="growth_section",
    label=lambda name: tr(f"growth.section.{name}"),
)
for name, draw in (
    ("forecast", forecast_section),
    ("offers", offers_section),
    ("channels", channels_section),
    ("funnel", funnel_section),
    ("campaigns", campaigns_section),
):
    with shown.tabs[name]:
        if shown.shows(name):
            draw(viewer)
