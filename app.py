"""CRM Cockpit entry point: store, language, sign-in, and the pages the signed-in user's role may use.

Pages a role may not use are absent from its navigation; opened by URL they say "no access".
"""

import logging
import runpy
import uuid
from pathlib import Path

import streamlit as st

from core import access
from ui import context, data, inbox
from ui.auth import password_form, require_viewer, two_step_setup

st.set_page_config(page_title="CRM Cockpit", page_icon=":material/monitoring:", layout="wide")
# KPI cards: the previous-period line wraps under the change instead of being cut off ("上期 ¥243.…")
st.html("""<style>
div:has(> [data-testid='stMetricDeltaDescription']) { flex-wrap: wrap; row-gap: 0.25rem; }
[data-testid='stMetricDelta'] { flex-shrink: 0; }
</style>""")
context.engine()  # opens (and on first start seeds) the store, or shows why it cannot
ROOT = Path(__file__).resolve().parent
DEFINITIONS = [
    ("cockpit", "views/cockpit.py", "nav.cockpit", ":material/dashboard:"),
    ("goals", "views/goals.py", "nav.goals", ":material/flag:"),
    ("customers", "views/customers.py", "nav.customers", ":material/groups:"),
    ("churn", "views/churn.py", "nav.churn", ":material/crisis_alert:"),
    ("customer", "views/customer.py", "nav.customer", ":material/person:"),
    ("service", "views/service.py", "nav.service", ":material/support_agent:"),
    ("voice", "views/voice.py", "nav.voice", ":material/reviews:"),
    ("surveys", "views/surveys.py", "nav.surveys", ":material/quiz:"),
    ("import", "views/data_import.py", "nav.import", ":material/upload_file:"),
    ("quality", "views/quality.py", "nav.quality", ":material/fact_check:"),
    ("loyalty", "views/loyalty.py", "nav.loyalty", ":material/loyalty:"),
    ("growth", "views/growth.py", "nav.growth", ":material/trending_up:"),
    ("automation", "views/automation.py", "nav.automation", ":material/bolt:"),
    ("admin", "views/admin.py", "nav.admin", ":material/admin_panel_settings:"),
]


def pages_for(allowed: list[str]) -> list[st.Page]:
    """Every page, hidden where not allowed, behind a landing page that opens the role's first page.

    The landing is the default so that no real page is: Streamlit serves the default page only at "/",
    and a link to its own path (/customer?id=7) would answer "Page not found".
    """
    pages = {
        name: st.Page(
            path,
            title=context.tr(title),
            icon=icon,
            url_path=name,
            visibility="visible" if name in allowed else "hidden",
        )
        for name, path, title, icon in DEFINITIONS
    }
    first_view = ROOT / next(path for name, path, *_ in DEFINITIONS if name == allowed[0])
    # the landing draws the role's first view in place: switching pages would rerun at once and drop the
    # session cookie that sign-in has just set in this same run
    landing = st.Page(
        lambda: runpy.run_path(str(first_view)),
        title=context.tr("app.title"),
        url_path="start",
        default=True,
        visibility="hidden",
    )
    return [landing, *pages.values()]


# signed out: every page is registered (hidden), so the page a link asks for is the one shown after sign-in
viewer = require_viewer(lambda: st.navigation(pages_for([name for name, *_ in DEFINITIONS]), position="hidden"))
pages = pages_for(access.pages_for(viewer))
data.follow_other_writers()  # another process's writes show now, not after the cache's time to live
data.rules_if_due()  # the automation rules' time triggers, every few minutes (cron's run-rules does the same)
context.language_switch()
st.sidebar.caption(context.tr("app.signed_in_as", name=viewer.display_name, role=context.tr(f"role.{viewer.role}")))
inbox.sidebar(viewer)
password_form(viewer)
two_step_setup(viewer)
try:
    st.navigation(pages, expanded=True).run()  # every page listed: no "View 3 more" (Streamlit's English) in Chinese
except Exception:  # Streamlit's reruns and stops are not Exceptions: only real failures land here
    if context.settings().show_errors:
        raise
    reference = uuid.uuid4().hex[:8]
    logging.getLogger("crm.app").exception("Unexpected error, reference %s", reference)  # the server log only
    st.error(context.tr("app.unexpected", reference=reference))
