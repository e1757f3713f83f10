"""Administration: users and roles, and the audit log (filter, read, export)."""

from datetime import datetime, timedelta

import streamlit as st

from core import audit, clock, db, models, security, subjects
from core.customers import customer_profile
from core.db import session_scope
from core.errors import CrmError, ValidationError
from core.i18n import label
from ui import context
from ui.context import lang, page_guard, reason, tr
from ui.downloads import csv_download
from ui.forms import flash

viewer = page_guard("admin")
current = lang()
st.title(tr("admin.title"))
users_tab, audit_tab, subjects_tab = st.tabs([tr("admin.users"), tr("admin.audit"), tr("admin.subjects")])

with users_tab:
    flash()
    with session_scope(context.engine()) as session:
        users = security.list_users(session, viewer=viewer)
        locked = security.locked_names(session)
    st.dataframe(
        [
            {
                tr("admin.col.username"): u["username"],
                tr("admin.col.name"): u["display_name"],
                tr("admin.col.role"): tr(f"role.{u['role']}"),
                tr("admin.col.team"): u["team"] or "",
                tr("admin.col.active"): bool(u["active"]),
            }
            for u in users
        ],
        hide_index=True,
    )

    def admin_write(function, done: str, *, renew: str | None = None, **values: object) -> None:  # type: ignore[no-untyped-def]
        """One user-management write; on success the page reruns, so every list shows the change, and the
        form named `renew` starts empty (a refused one keeps what was typed)."""
        try:
            db.write(context.engine(), lambda session: function(session, actor=viewer, **values))
        except CrmError as err:
            st.error(tr("admin.refused", reason=reason(err)))
        else:
            st.session_state["flash"] = done
            if renew:
                st.session_state[renew] = st.session_state.get(renew, 0) + 1
            st.rerun()

    left, right = st.columns(2)
    with left, st.form(f"create_user_{st.session_state.get('create_form', 0)}"):
        st.subheader(tr("admin.create"))
        username = st.text_input(tr("admin.col.username"))
        display_name = st.text_input(tr("admin.col.name"))
        email = st.text_input(tr("admin.col.email"))
        role = st.selectbox(
            tr("admin.col.role"),
            models.ROLES,
            index=None,
            placeholder=tr("admin.pick_role"),
            format_func=lambda r: tr(f"role.{r}"),
        )  # no default: nobody becomes an admin by accident
        team = st.text_input(tr("admin.col.team"))
        password = st.text_input(tr("admin.initial_password"), type="password")
        if st.form_submit_button(tr("admin.create_submit")):
            admin_write(
                security.create_user,
                tr("admin.created", username=username.strip().lower()),
                renew="create_form",
                username=username,
                display_name=display_name,
                role=role,
                password=password,
                email=email or None,
                team=team or None,
            )
    with right:
        st.subheader(tr("admin.change"))
        who = st.selectbox(tr("admin.col.username"), [u["username"] for u in users], key="change_who")
        chosen = next(u for u in users if u["username"] == who)
    with right, st.form(f"change_user_{who}"):  # the fields start from the chosen user's current values
        new_role = st.selectbox(
            tr("admin.col.role"),
            models.ROLES,
            index=models.ROLES.index(chosen["role"]),
            format_func=lambda r: tr(f"role.{r}"),
        )
        active = st.checkbox(tr("admin.col.active"), value=bool(chosen["active"]))
        if st.form_submit_button(tr("admin.change_submit")):
            admin_write(
                security.change_user, tr("admin.changed", username=who), username=who, role=new_role, active=active
            )
    with right, st.form(f"reset_{who}_{st.session_state.get('reset_form', 0)}"):
        new_password = st.text_input(tr("admin.reset_password"), type="password", help=tr("admin.reset_password.help"))
        if st.form_submit_button(tr("admin.reset_submit")):
            admin_write(
                security.reset_password,
                tr("admin.reset_done", username=who),
                renew="reset_form",
                username=who,
                new=new_password,
            )
    if right.button(tr("admin.totp_reset"), key=f"totp_reset_{who}"):
        admin_write(security.reset_totp, tr("admin.totp_reset_done", username=who), username=who)
    st.subheader(tr("admin.locked"))
    if not locked:
        st.caption(tr("admin.locked.none"))
    for entry in locked:
        line, button = st.columns([4, 1], vertical_alignment="center")
        line.text(tr("admin.locked.until", username=entry["username"], until=f"{entry['until']:%H:%M}"))
        if button.button(tr("admin.unlock"), key=f"unlock_{entry['username']}"):
            admin_write(security.unlock, tr("admin.unlocked", username=entry["username"]), username=entry["username"])

with audit_tab:
    cols = st.columns(4)
    who = cols[0].text_input(tr("admin.audit.user"), key="audit_user")
    action = cols[1].selectbox(
        tr("admin.audit.action"),
        ["", *audit.ACTIONS],
        key="audit_action",
        format_func=lambda a: label("audit", a, current) if a else tr("common.all"),
    )
    since = cols[2].date_input(tr("admin.audit.since"), value=clock.today() - timedelta(days=30), key="audit_since")
    until = cols[3].date_input(tr("admin.audit.until"), value=clock.today(), key="audit_until")
    wanted = {
        "username": who.strip().lower() or None,
        "action": action or None,
        "since": datetime.combine(since, datetime.min.time()),
        "until": datetime.combine(until + timedelta(days=1), datetime.min.time()),
    }

    if st.session_state.get("audit_read") != wanted:  # reading the log is on record too, once per filter and session
        db.write(
            context.engine(),
            lambda session: audit.record(
                session,
                action="audit_read",
                username=viewer.username,
                object="audit_log",
                details={
                    "user": wanted["username"],
                    "action": wanted["action"],
                    "since": f"{since}",
                    "until": f"{until}",
                },
            ),
        )
        st.session_state["audit_read"] = wanted
    with session_scope(context.engine()) as session:  # a plain read on every other load (no write lock)
        log = audit.entries(session, viewer=viewer, **wanted)
    if log.empty:
        st.info(tr("common.no_data"))
    else:
        shown = log.assign(
            action=[label("audit", a, current) for a in log["action"]],
            details=[audit.readable(d, current) for d in log["details"]],
        )
        shown = shown.rename(columns={c: tr(f"admin.audit.col.{c}") for c in shown.columns})
        st.dataframe(shown, hide_index=True)
        csv_download(shown, what="audit_log", file_name=f"audit-{since}-{until}.csv", viewer=viewer, key="export_audit")

with subjects_tab:
    st.caption(tr("admin.subjects.help"))
    code = st.text_input(tr("customer.pick"), key="subject_code")
    if code:
        try:
            with session_scope(context.engine()) as session:
                subject = customer_profile(session, viewer=viewer, keyring=context.keyring(), code=code)
        except CrmError:
            st.warning(tr("customer.not_found"))
        else:
            st.text(f"{subject.name} · {subject.code}")
            if st.button(tr("admin.subjects.prepare"), key="subject_prepare"):
                with session_scope(context.engine()) as session:
                    st.session_state["subject_export"] = (
                        subject.code,
                        subjects.export_customer(
                            session, viewer=viewer, keyring=context.keyring(), customer_id=subject.id
                        ),
                    )
            prepared = st.session_state.get("subject_export")
            if prepared and prepared[0] == subject.code:
                st.download_button(
                    tr("admin.subjects.download"),
                    prepared[1].encode("utf-8"),
                    file_name=f"{subject.code}.json",
                    mime="application/json",
                )
            with st.form("erase", clear_on_submit=True):
                why = st.text_input(tr("admin.subjects.reason"))
                confirmed = st.checkbox(tr("admin.subjects.confirm", code=subject.code))
                if st.form_submit_button(tr("admin.subjects.erase"), type="primary"):
                    try:
                        if not confirmed:
                            raise ValidationError(tr("admin.subjects.unconfirmed"))
                        db.write(
                            context.engine(),
                            lambda session: subjects.erase_customer(
                                session, viewer=viewer, keyring=context.keyring(), customer_id=subject.id, reason=why
                            ),
                        )
                    except CrmError as err:
                        st.error(tr("admin.refused", reason=reason(err)))
                    else:
                        st.success(tr("admin.subjects.erased", code=subject.code))
