"""The Growth page's campaigns section (core.campaigns): the list, one campaign against its control group, and
the form that creates one."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core import access, campaigns, clock, formatting, models as m, segmentation
from core.access import Viewer
from core.i18n import label
from ui import context, data
from ui.context import lang, tr
from ui.forms import Slots, saved


def difference_text(found: campaigns.Difference, unit: str) -> str:
    """ "+3.1 pp [−0.4, +6.6]" for a share, "+¥1,200 [−¥300, +¥2,700]" for money."""
    if found.difference is None:
        return "—"
    if unit == "percent":
        low, high = 100 * found.low, 100 * found.high  # type: ignore[operator]
        return f"{100 * found.difference:+.1f} {tr('campaign.pp')} [{low:+.1f}, {high:+.1f}]"
    shown = [formatting.value(v, "money", lang()) for v in (found.difference, found.low, found.high)]
    return f"{shown[0]} [{shown[1]}, {shown[2]}]"


def campaign_form(viewer: Viewer) -> None:
    """A campaign over a segment of the customer list, or the customers a file lists by code; the control
    group is drawn when it is saved."""
    current = lang()
    with st.form(f"campaign_{st.session_state.get('campaign_form', 0)}"):
        slots = Slots()
        slots.top()
        a, b = st.columns(2)
        name = a.text_input(tr("campaign.name"), max_chars=100)
        with a:
            slots("name")
        channel = b.selectbox(
            tr("campaign.channel"), list(campaigns.CHANNELS), format_func=lambda k: tr(f"campaign.channel.{k}")
        )
        today = clock.today()
        c, d, e, g = st.columns(4)
        starts = c.date_input(tr("campaign.starts_on"), value=today)
        ends = d.date_input(tr("campaign.ends_on"), value=today.replace(day=28))
        with d:
            slots("ends_on")
        cost = e.number_input(tr("campaign.cost"), min_value=0.0, value=None, step=1000.0)
        with e:
            slots("cost")
        holdout = g.number_input(tr("campaign.holdout"), min_value=5, max_value=50, value=20, step=5)
        with g:
            slots("holdout_percent")
        st.markdown(f"**{tr('campaign.members')}**")
        h, i = st.columns(2)
        tiers = h.multiselect(tr("list.tier"), segmentation.TIERS, format_func=lambda t: label("tier", t, current))
        stages = i.multiselect(
            tr("list.stage"),
            segmentation.LIFECYCLE_STAGES,
            default=[x for x in segmentation.LIFECYCLE_STAGES if x not in ("prospect", "churned")],
            format_func=lambda x: label("stage", x, current),
        )
        regions = h.multiselect(tr("filters.region"), m.REGIONS, format_func=lambda r: label("region", r, current))
        upload = i.file_uploader(tr("campaign.file"), type=["csv", "txt"], help=tr("campaign.file.help"))
        if not st.form_submit_button(tr("campaign.create"), type="primary"):
            return
    codes: tuple[str, ...] = ()
    if upload is not None:
        text = upload.getvalue().decode("utf-8-sig", errors="replace")
        codes = tuple(line.split(",")[0].strip() for line in text.splitlines()[1:] if line.strip())
    from core.customer_list import CustomerQuery

    plan = campaigns.CampaignPlan(
        str(name),
        str(channel),
        starts if isinstance(starts, date) else today,
        ends if isinstance(ends, date) else today,
        cost,
        int(holdout),
        CustomerQuery(tiers=tuple(tiers), stages=tuple(stages), regions=tuple(regions)),
        codes,
    )
    saved(
        lambda: data.write(campaigns.create, viewer, plan, context.keyring()),
        slots,
        done=tr("campaign.created"),
        form="campaign_form",
    )


def campaigns_section(viewer: Viewer) -> None:
    current = lang()
    listed = data.figures(campaigns.campaigns, viewer)
    if listed.empty:
        st.info(tr("campaign.none"))
    else:
        picked_row = st.dataframe(
            pd.DataFrame(
                {
                    "name": listed["name"],
                    "channel": [tr(f"campaign.channel.{c}") for c in listed["channel"]],
                    "period": [f"{a:%Y-%m-%d} – {b:%Y-%m-%d}" for a, b in zip(listed["starts_on"], listed["ends_on"])],
                    "cost": [formatting.value(float(v), "money", current) for v in listed["cost"]],
                    "members": [f"{int(n or 0):,}" for n in listed["members"]],
                    "control": [
                        f"{int(n or 0):,} ({p}%)" for n, p in zip(listed["control"], listed["holdout_percent"])
                    ],
                }
            ),
            hide_index=True,
            on_select="rerun",
            selection_mode="single-row",
            key="campaign_table",
            column_config={
                k: tr(f"campaign.col.{k}") for k in ("name", "channel", "period", "cost", "members", "control")
            },
        )
        rows = picked_row.selection.rows if picked_row else []
        chosen = int(listed["id"].iloc[rows[0] if rows else 0])
        found = data.figures(campaigns.results, viewer, campaign_id=chosen, today=clock.today())
        st.subheader(
            tr(
                "campaign.results",
                name=formatting.plain(listed.loc[listed["id"] == chosen, "name"].iloc[0]),  # typed text, as typed
                start=f"{found.start:%Y-%m-%d}",
                end=f"{found.end:%Y-%m-%d}",
            )
        )
        st.caption(tr("campaign.groups", contacted=f"{found.contacted:,}", control=f"{found.control:,}"))
        cells = st.columns(4)
        for cell, key, value, unit in (
            (cells[0], "conversion", found.conversion, "percent"),
            (cells[1], "revenue_per_member", found.revenue_per_member, "money"),
            (cells[2], "repurchase", found.repurchase, "percent"),
            (cells[3], "churn", found.churn, "percent"),
        ):
            cell.metric(
                tr(f"campaign.measure.{key}"),
                formatting.value(value.contacted, unit, current),
                delta=tr("campaign.vs_control", value=formatting.value(value.control, unit, current)),
                delta_color="off",
                delta_arrow="off",
                border=True,
            )
            cell.caption(difference_text(value, unit))
        if found.roi.contacted is not None:
            st.metric(
                tr("campaign.roi"),
                f"{100 * found.roi.contacted:+.0f}%",
                delta=tr(
                    "campaign.roi_interval",
                    low=f"{100 * found.roi.low:+.0f}%",
                    high=f"{100 * found.roi.high:+.0f}%",
                ),  # type: ignore[operator]
                delta_color="off",
                delta_arrow="off",
            )
        st.caption(tr("campaign.how"))
    if access.allowed(viewer, "campaigns:run"):
        with st.expander(tr("campaign.new")):
            campaign_form(viewer)
