"""Administration: users and roles, and the audit log (filter, read, export)."""

from datetime import date, datetime, timedelta

import streamlit as st

from core import audit, models, security
from core.db import session_scope
from core.errors import CrmError
from core.i18n import label
from ui import context
from ui.context import lang, page_guard, tr

viewer = page_guard("admin")
current = lang()
st.title(tr("admin.title"))
users_tab, audit_tab = st.tabs([tr("admin.users"), tr("admin.audit")])

with users_tab:
    with session_scope(context.engine()) as session:
        users = security.users_frame(session)
    st.dataframe([{tr("admin.col.username"): u["username"], tr("admin.col.name"): u["display_name"],
                   tr("admin.col.role"): tr(f"role.{u['role']}"), tr("admin.col.team"): u["team"] or "",
                   tr("admin.col.active"): bool(u["active"])} for u in users], hide_index=True)
    left, right = st.columns(2)
    with left, st.form("create_user", clear_on_submit=True):
        st.subheader(tr("admin.create"))
        username = st.text_input(tr("admin.col.username"))
        display_name = st.text_input(tr("admin.col.name"))
        email = st.text_input(tr("admin.col.email"))
        role = st.selectbox(tr("admin.col.role"), models.ROLES, format_func=lambda r: tr(f"role.{r}"))
        team = st.text_input(tr("admin.col.team"))
        password = st.text_input(tr("admin.initial_password"), type="password")
        if st.form_submit_button(tr("admin.create_submit")):
            try:
                with session_scope(context.engine()) as session:
                    security.create_user(session, username=username, display_name=display_name, role=role,
                                         password=password, email=email or None, team=team or None, actor=viewer)
            except CrmError as err:
                st.error(tr("admin.refused", reason=str(err)))
            else:
                st.success(tr("admin.created", username=username))
    with right, st.form("change_user"):
        st.subheader(tr("admin.change"))
        who = st.selectbox(tr("admin.col.username"), [u["username"] for u in users])
        new_role = st.selectbox(tr("admin.col.role"), models.ROLES, format_func=lambda r: tr(f"role.{r}"))
        active = st.checkbox(tr("admin.col.active"), value=True)
        if st.form_submit_button(tr("admin.change_submit")):
            try:
                with session_scope(context.engine()) as session:
                    security.change_user(session, username=who, role=new_role, active=active, actor=viewer)
            except CrmError as err:
                st.error(tr("admin.refused", reason=str(err)))
            else:
                st.success(tr("admin.changed", username=who))

with audit_tab:
    cols = st.columns(4)
    who = cols[0].text_input(tr("admin.audit.user"), key="audit_user")
    action = cols[1].selectbox(tr("admin.audit.action"), ["", *audit.ACTIONS], key="audit_action",
                               format_func=lambda a: label("audit", a, current) if a else tr("common.all"))
    since = cols[2].date_input(tr("admin.audit.since"), value=date.today() - timedelta(days=30), key="audit_since")
    until = cols[3].date_input(tr("admin.audit.until"), value=date.today(), key="audit_until")
    with session_scope(context.engine()) as session:
        log = audit.entries(session, username=who.strip().lower() or None, action=action or None,
                            since=datetime.combine(since, datetime.min.time()),
                            until=datetime.combine(until + timedelta(days=1), datetime.min.time()))
    if log.empty:
        st.info(tr("common.no_data"))
    else:
        shown = log.assign(action=[label("audit", a, current) for a in log["action"]])
        st.dataframe(shown.rename(columns={c: tr(f"admin.audit.col.{c}") for c in shown.columns}), hide_index=True)
