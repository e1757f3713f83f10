"""Growth: revenue and order volume forecast for the months ahead with its backtest beside it, the next best
offer for each customer with its hit rate against the most popular categories, and the acquisition and service
channels (core.forecast, core.next_offer, core.channels). Only the open section is computed."""

from datetime import date

import pandas as pd
import streamlit as st

from core import (
    access,
    campaigns,
    channels,
    charts,
    clock,
    forecast,
    formatting,
    funnel,
    models as m,
    next_offer,
    segmentation,
)
from core.errors import CrmError
from core.i18n import label
from ui import context, data
from ui.context import lang, page_guard, reason, tr
from ui.forms import Slots, flash, saved
from ui.sections import sections

viewer = page_guard("growth")
current = lang()
st.title(tr("growth.title"))
st.caption(tr("growth.caption"))
flash()
shown = sections(
    ["forecast", "offers", "channels", "funnel", "campaigns"],
    key="growth_section",
    label=lambda name: tr(f"growth.section.{name}"),
)


def percent(value: float | None) -> str:
    return formatting.value(value, "percent", current)


def group_label(by: str, group: str) -> str:
    if by == "total":
        return tr("growth.total")
    if group == "none":
        return tr("growth.no_tier") if by == "tier" else tr("common.none")
    return label(by, group, current)


with shown.tabs["forecast"]:
    if shown.shows("forecast"):
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

with shown.tabs["offers"]:
    if shown.shows("offers"):
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


def months_back(first_of_month: date, n: int) -> date:
    index = first_of_month.year * 12 + first_of_month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def cost_form() -> None:
    """What a channel cost in a month (analysts and administrators; checked in core, audited)."""
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


with shown.tabs["channels"]:
    if shown.shows("channels"):
        span = int(
            st.select_slider(tr("growth.channels.months"), options=[3, 6, 12, 24], value=12, key="channel_months")
        )
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
                        formatting.value(v, "money", current) if v == v and v is not None else "—"
                        for v in acquired["cost"]
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
            st.plotly_chart(
                charts.cohort_retention(table, current, title=tr("growth.cohort.title")), key="cohort_chart"
            )
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
                cost_form()
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


def funnel_group_label(by: str, group: object, names: dict[object, str]) -> str:
    if by == "source":
        return label("acquisition", group, current)
    if by == "owner":
        return names.get(group, tr("growth.funnel.no_owner")) if group is not None else tr("growth.funnel.no_owner")
    return tr("growth.funnel.all")


with shown.tabs["funnel"]:
    if shown.shows("funnel"):
        a, b = st.columns(2)
        span = int(a.select_slider(tr("growth.funnel.months"), options=[3, 6, 12, 24], value=12, key="funnel_months"))
        by = (
            b.segmented_control(
                tr("growth.by"),
                list(funnel.GROUPS),
                default="none",
                format_func=lambda k: tr(f"growth.funnel.by.{k}"),
                key="funnel_by",
            )
            or "none"
        )
        end = clock.today().replace(day=1)
        start = months_back(end, span)
        st.caption(tr("growth.funnel.period", start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}"))
        table = data.figures(funnel.funnel, viewer, start=start, end=end, by=by)
        names = (
            data.read(lambda session, who, ids: funnel.owners(session, ids), viewer, list(table["group"]))
            if by == "owner"
            else {}
        )
        if table.empty:
            st.info(tr("growth.funnel.empty"))
        else:
            total = table[list(funnel.STAGES)].sum()
            st.plotly_chart(
                charts.lead_funnel(
                    {stage: int(total[stage]) for stage in ("created", "qualified", "converted")},
                    current,
                    title=tr("growth.funnel.title"),
                ),
                key="funnel_chart",
            )
            st.dataframe(
                pd.DataFrame(
                    {
                        "group": [funnel_group_label(by, g, names) for g in table["group"]],
                        "created": [f"{n:,}" for n in table["created"]],
                        "qualified": [f"{n:,}" for n in table["qualified"]],
                        "converted": [f"{n:,}" for n in table["converted"]],
                        "qualified_rate": [percent(v) for v in table["qualified_rate"]],
                        "converted_of_qualified": [percent(v) for v in table["converted_of_qualified"]],
                        "converted_rate": [percent(v) for v in table["converted_rate"]],
                        "invalid_share": [percent(v) for v in table["invalid_share"]],
                        "days_to_convert": [
                            f"{v:.0f}" if v == v and v is not None else "—" for v in table["days_to_convert"]
                        ],
                        "days_to_disqualify": [
                            f"{v:.0f}" if v == v and v is not None else "—" for v in table["days_to_disqualify"]
                        ],
                    }
                ),
                hide_index=True,
                key="funnel_table",
                column_config={
                    "group": tr(f"growth.funnel.by.{by}"),
                    **{
                        k: tr(f"growth.funnel.col.{k}")
                        for k in (
                            "created",
                            "qualified",
                            "converted",
                            "qualified_rate",
                            "converted_of_qualified",
                            "converted_rate",
                            "invalid_share",
                            "days_to_convert",
                            "days_to_disqualify",
                        )
                    },
                },
            )
            st.caption(tr("growth.funnel.how"))
            c, d = st.columns(2)
            stage = c.selectbox(
                tr("growth.funnel.stage"),
                list(funnel.STAGES),
                format_func=lambda k: tr(f"growth.funnel.stage.{k}"),
                key="funnel_stage",
            )
            groups: list[object] = [None, *table["group"]] if by != "none" else [None]
            picked = d.selectbox(
                tr(f"growth.funnel.by.{by}"),
                groups,
                format_func=lambda g: funnel_group_label(by, g, names) if g is not None else tr("growth.funnel.all"),
                key=f"funnel_group_{by}",
                disabled=by == "none",
            )
            leads = data.figures(funnel.stage_leads, viewer, start=start, end=end, stage=stage, by=by, group=picked)
            st.dataframe(
                pd.DataFrame(
                    {
                        "company": leads["company"],
                        "source": [label("acquisition", v, current) for v in leads["source"]],
                        "owner": [v or "—" for v in leads["owner"]],
                        "created_at": [f"{v:%Y-%m-%d}" for v in leads["created_at"]],
                        "status": [tr(f"growth.funnel.status.{v}") for v in leads["status"]],
                        "decided_at": [
                            f"{v:%Y-%m-%d}" if v is not None and v == v else "—" for v in leads["decided_at"]
                        ],
                        "customer_code": [v or "—" for v in leads["customer_code"]],
                    }
                ),
                hide_index=True,
                key="funnel_leads",
                column_config={
                    k: tr(f"growth.funnel.lead.{k}")
                    for k in (
                        "company",
                        "source",
                        "owner",
                        "created_at",
                        "status",
                        "decided_at",
                        "customer_code",
                    )
                },
            )
            st.caption(tr("growth.funnel.leads_note", n=len(leads)))


def difference_text(found: campaigns.Difference, unit: str) -> str:
    """ "+3.1 pp [−0.4, +6.6]" for a share, "+¥1,200 [−¥300, +¥2,700]" for money."""
    if found.difference is None:
        return "—"
    if unit == "percent":
        low, high = 100 * found.low, 100 * found.high  # type: ignore[operator]
        return f"{100 * found.difference:+.1f} {tr('campaign.pp')} [{low:+.1f}, {high:+.1f}]"
    shown = [formatting.value(v, "money", current) for v in (found.difference, found.low, found.high)]
    return f"{shown[0]} [{shown[1]}, {shown[2]}]"


def campaign_form() -> None:
    """A campaign over a segment of the customer list, or the customers a file lists by code; the control
    group is drawn when it is saved."""
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


with shown.tabs["campaigns"]:
    if shown.shows("campaigns"):
        listed = data.figures(campaigns.campaigns, viewer)
        if listed.empty:
            st.info(tr("campaign.none"))
        else:
            picked_row = st.dataframe(
                pd.DataFrame(
                    {
                        "name": listed["name"],
                        "channel": [tr(f"campaign.channel.{c}") for c in listed["channel"]],
                        "period": [
                            f"{a:%Y-%m-%d} – {b:%Y-%m-%d}" for a, b in zip(listed["starts_on"], listed["ends_on"])
                        ],
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
                campaign_form()
