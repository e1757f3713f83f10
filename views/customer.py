"""Customer profile with key figures (placeholder for the 360° view of the customers work)."""

import streamlit as st

from core import formatting
from core.errors import CrmError, NotFound
from core.i18n import label
from ui import data
from ui.context import lang, page_guard, tr

viewer = page_guard("customer")
current = lang()
st.title(tr("customer.title"))
st.caption(tr("customer.placeholder"))
customer_id = st.query_params.get("id")
code = st.text_input(tr("customer.pick"), value="", placeholder="C0000001 · 13812345678 · name@example.com")
try:
    if code:
        profile = data.profile(viewer, code=code)
    elif customer_id and customer_id.isdigit():
        profile = data.profile(viewer, customer_id=int(customer_id))
    else:
        st.info(tr("customer.prompt"))
        st.stop()
except NotFound:
    st.warning(tr("customer.not_found"))
    st.stop()

st.header(f"{profile.name} · {profile.code}")
money = formatting.money
left, middle, right, far = st.columns(4)
left.metric(tr("customer.field.tier"), label("tier", profile.tier, current), border=True)
middle.metric(tr("customer.field.revenue_12m"), money(profile.revenue_12m, current), border=True)
right.metric(tr("customer.field.revenue_total"), money(profile.revenue_total, current), border=True)
far.metric(tr("customer.field.orders_12m"), f"{profile.orders_12m:,}", border=True)
if profile.churn_reason:
    st.warning(f"{tr('customer.field.reason')}: {label('reason', profile.churn_reason, current)}")
fields = [
    ("customer.field.kind", label("kind", profile.kind, current)),
    ("customer.field.industry", label("industry", profile.industry, current)),
    ("customer.field.region", label("region", profile.region, current)),
    ("customer.field.city", label("city", profile.city, current)),
    ("customer.field.owner", profile.owner or tr("common.none")),
    ("customer.field.status", label("status", profile.status, current)),
    ("customer.field.became", f"{profile.became_customer_date:%Y-%m-%d}" if profile.became_customer_date else tr("common.none")),
    ("customer.field.stage", label("stage", profile.lifecycle_stage, current)),
    ("customer.field.last_order", f"{profile.last_order_date:%Y-%m-%d}" if profile.last_order_date else tr("common.none")),
]
fields += [("customer.field.phone", profile.phone or tr("common.none")),
           ("customer.field.email", profile.email or tr("common.none"))]
st.table({tr(key): [value] for key, value in fields}, border="horizontal")
if profile.contact_masked and viewer.role == "admin":
    with st.form("reveal", clear_on_submit=True):
        reason = st.text_input(tr("customer.reveal_reason"))
        if st.form_submit_button(tr("customer.reveal")):
            try:
                phone, email = data.reveal(viewer, profile.id, reason)
            except CrmError as err:
                st.error(tr("customer.reveal_refused", reason=str(err)))
            else:
                st.info(tr("customer.revealed", phone=phone or tr("common.none"), email=email or tr("common.none")))
