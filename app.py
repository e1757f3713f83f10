"""CRM Cockpit entry point: store, language, sign-in, and the pages the signed-in user's role may use.

Pages a role may not use are absent from its navigation; opened by URL they say "no access".
"""

import streamlit as st

from core import security
from ui import context
from ui.auth import password_form, require_viewer

st.set_page_config(page_title="CRM Cockpit", page_icon=":material/monitoring:", layout="wide")
context.engine()  # opens (and on first start seeds) the store, or shows why it cannot
DEFINITIONS = [
    ("cockpit", "views/cockpit.py", "nav.cockpit", ":material/dashboard:"),
    ("customer", "views/customer.py", "nav.customer", ":material/person:"),
    ("admin", "views/admin.py", "nav.admin", ":material/admin_panel_settings:"),
]


def pages_for(allowed: list[str]) -> list[st.Page]:
    return [st.Page(path, title=context.tr(title), icon=icon, url_path=name, default=(name == allowed[0]),
                    visibility="visible" if name in allowed else "hidden")
            for name, path, title, icon in DEFINITIONS]


# signed out: every page is registered (hidden), so the page a link asks for is the one shown after sign-in
viewer = require_viewer(lambda: st.navigation(pages_for([name for name, *_ in DEFINITIONS]), position="hidden"))
pages = pages_for(security.pages_for(viewer))
context.language_switch()
st.sidebar.caption(context.tr("app.signed_in_as", name=viewer.display_name, role=context.tr(f"role.{viewer.role}")))
password_form(viewer)
st.navigation(pages).run()
