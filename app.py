"""CRM Cockpit entry point: store, language, current user and the pages that user's role may see."""

import streamlit as st

from ui import context

st.set_page_config(page_title="CRM Cockpit", page_icon=":material/monitoring:", layout="wide")
context.language_switch()
context.engine()  # opens (and on first start seeds) the store, or shows why it cannot
user = context.current_user()

PAGES = {
    "cockpit": st.Page("pages/cockpit.py", title=context.tr("nav.cockpit"), icon=":material/dashboard:",
                       default=True),
    "customer": st.Page("pages/customer.py", title=context.tr("nav.customer"), icon=":material/person:",
                        url_path="customer"),
}
ROLE_PAGES = {  # sign-in narrows this per role; every role sees the cockpit for now
    "admin": ["cockpit", "customer"], "executive": ["cockpit", "customer"], "analyst": ["cockpit", "customer"],
    "account_manager": ["cockpit", "customer"], "support_agent": ["cockpit", "customer"],
}
st.sidebar.caption(context.tr("app.signed_in_as", name=user.display_name, role=context.tr(f"role.{user.role}")))
navigation = st.navigation({context.tr("nav.section.overview"): [PAGES[p] for p in ROLE_PAGES[user.role]]})
navigation.run()
