"""The 360° view of one customer: header and key figures, timeline, charts, tickets and tasks, forms."""

import streamlit as st

from core import access, activity, charts, clock, customer_view as cv, formatting
from core.customer_list import SEARCH_MAX, CustomerQuery
from core.errors import CrmError, NotFound
from core.i18n import label
from ui import data
from ui.churn_parts import risk_panel
from ui.context import lang, page_guard, reason, tr
from ui.customer_forms import (
    dimensions_form,
    hand_over_form,
    interaction_form,
    nps_form,
    profile_form,
    ticket_form,
    ticket_note_form,
)
from ui.customer_parts import task_list, timeline_tab
from ui.filters import url_int
from ui.forms import flash
from ui.growth_parts import offer_caption
from ui.loyalty_parts import loyalty_panel
from ui.my_tickets import labelled
from ui.value_parts import customer_value_panel

viewer = page_guard("customer")
current = lang()
money, plain = formatting.money, formatting.plain
st.title(tr("customer.title"))
flash()

recent: list[tuple[int, str, str]] = st.session_state.setdefault(
    "recent_customers", []
)  # (id, code, name), newest first
typed = st.text_input(tr("customer.pick"), value="", placeholder=tr("customer.pick_hint"), max_chars=SEARCH_MAX)
customer_id = st.query_params.get("id") or (str(recent[0][0]) if recent else None)  # the navigation remembers
if len(recent) > 1:
    again = st.pills(
        tr("customer.recent"),
        [r[0] for r in recent[1:]],
        key=f"recent_{recent[0][0]}",
        format_func=lambda i: next(plain(f"{c} · {n}") for r_id, c, n in recent if r_id == i),
    )
    if again:
        customer_id = str(again)
try:
    if typed and access.may_open(viewer, "customers"):
        matches = data.customers(viewer, CustomerQuery(text=typed, sort="name", descending=False), 1, 25).rows
        if matches.empty:
            raise NotFound(typed)
        choice = st.selectbox(
            tr("customer.matches", n=len(matches)),
            matches.index,
            format_func=lambda i: f"{matches.at[i, 'code']} · {matches.at[i, 'name']}",
        )
        profile = data.profile(viewer, customer_id=int(matches.at[choice, "customer_id"]))
    elif typed:
        profile = data.profile(viewer, code=typed)
    elif (wanted_id := url_int(customer_id)) is not None:
        profile = data.profile(viewer, customer_id=wanted_id)
    else:
        st.info(tr("customer.prompt"))
        st.stop()
except NotFound:
    st.warning(tr("customer.not_found"))
    st.stop()
st.query_params["id"] = str(profile.id)
st.session_state["recent_customers"] = [
    (profile.id, profile.code, profile.name),
    *[r for r in recent if r[0] != profile.id],
][:8]
data.note_view(viewer, profile)
today, now = clock.today(), clock.now()

st.header(f"{plain(profile.name)} · {profile.code}")
badges = [
    label("tier", profile.tier, current) if profile.tier else None,
    label("stage", profile.lifecycle_stage, current),
    tr("customer.owned_by", owner=profile.owner or tr("common.none")),
    *[f"#{tag.strip()}" for tag in (profile.tags or "").split(",") if tag.strip()],
]
st.markdown(" ".join(f":gray-badge[{plain(b)}]" for b in badges if b))
st.caption(
    " · ".join(
        plain(x)
        for x in (
            label("kind", profile.kind, current),
            label("industry", profile.industry, current),
            label("region", profile.region, current),
            label("city", profile.city, current),
            f"{tr('customer.field.phone')}: {profile.phone or tr('common.none')}",
            f"{tr('customer.field.email')}: {profile.email or tr('common.none')}",
        )
        if x
    )
)
compare = data.read(cv.order_comparison, viewer, profile.id, today=today)
cards = st.columns(5)
cards[0].metric(tr("customer.field.revenue_total"), money(profile.revenue_total, current), border=True)
cards[1].metric(
    tr("customer.orders_12m"),
    f"{compare.orders_12m:,}",
    border=True,
    delta=compare.orders_12m - compare.orders_prev_12m,
    delta_description=tr("customer.previous_12m", n=compare.orders_prev_12m),
)
cards[2].metric(
    tr("customer.last_contact"),
    tr("customer.days_ago", n=(today - profile.last_contact_at.date()).days)
    if profile.last_contact_at
    else tr("common.none"),
    border=True,
    help=f"{profile.last_contact_at:%Y-%m-%d %H:%M}" if profile.last_contact_at else None,
)
cards[3].metric(tr("customer.open_tickets"), f"{profile.open_tickets:,}", border=True)
cards[4].metric(
    tr("customer.latest_nps"),
    str(profile.latest_nps_score) if profile.latest_nps_score is not None else tr("common.none"),
    border=True,
)
customer_value_panel(viewer, profile.id)
loyalty_panel(viewer, profile.id)
offer_caption(viewer, profile.id)  # the next best offer after the last order (core.next_offer)
if not risk_panel(viewer, profile.id) and profile.churn_reason:  # the written rule until a model scores
    st.warning(
        tr(
            f"reason.{profile.churn_reason}.detail",
            last=profile.orders_last_90,
            previous=profile.orders_prev_90,
            days=(today - profile.last_order_date).days if profile.last_order_date else 0,
            gap=round(profile.median_gap_days or 0),
        ),
        icon=":material/trending_down:",
    )
if profile.contact_masked and access.allowed(viewer, "contacts:reveal"):
    with st.expander(tr("customer.reveal")), st.form("reveal", clear_on_submit=True):
        why = st.text_input(tr("customer.reveal_reason"))
        if st.form_submit_button(tr("customer.reveal")):
            try:
                phone, email = data.reveal(viewer, profile.id, why)
            except CrmError as err:
                st.error(tr("customer.reveal_refused", reason=reason(err)))
            else:
                st.info(tr("customer.revealed", phone=phone or tr("common.none"), email=email or tr("common.none")))

if access.allowed(viewer, "customers:dimensions"):
    with st.expander(tr("dimensions.title")):
        dimensions_form(viewer, profile)
if access.allowed(viewer, "customers:hand_over"):
    with st.expander(tr("handover.one", owner=profile.owner or tr("common.none"))):
        hand_over_form(viewer, [profile.id], key=f"one_{profile.id}")

tabs = st.tabs(
    [tr("customer.tab.timeline"), tr("customer.tab.charts"), tr("customer.tab.service"), tr("customer.tab.log")]
)
with tabs[0]:
    timeline_tab(viewer, profile.id)
with tabs[1]:
    left, middle, right = st.columns(3)
    left.plotly_chart(
        charts.customer_revenue(data.read(cv.monthly_revenue, viewer, profile.id, today=today), current),
        key="c_revenue",
    )
    middle.plotly_chart(
        charts.customer_channels(data.read(cv.interactions_by_channel, viewer, profile.id, today=today), current),
        key="c_channels",
    )
    right.plotly_chart(charts.customer_nps(data.read(cv.nps_history, viewer, profile.id), current), key="c_nps")
with tabs[2]:
    st.subheader(tr("customer.open_tickets"))
    tickets = data.read(cv.open_tickets, viewer, profile.id, now=now)
    if tickets.empty:
        st.caption(tr("customer.no_open_tickets"))
    else:
        st.dataframe(
            labelled(tickets, current),
            hide_index=True,
            column_config={c: tr(f"ticket.col.{c}") for c in tickets.columns},
        )
        ticket_note_form(viewer, [int(t) for t in tickets["ticket"]])
    st.subheader(tr("customer.tasks"))
    task_list(viewer, profile.id, today=today)
with tabs[3]:
    forms = [f for f in ("interaction", "ticket", "nps", "profile") if activity.may_write(viewer, f)]
    if not forms:
        st.info(tr("customer.read_only"))
    else:
        choice = (
            st.segmented_control(
                tr("customer.log_what"),
                forms,
                default=forms[0],
                key="log_what",
                format_func=lambda f: tr(f"form.{f}.title"),
            )
            or forms[0]
        )
        {"interaction": interaction_form, "ticket": ticket_form, "nps": nps_form, "profile": profile_form}[choice](
            viewer, profile
        )
