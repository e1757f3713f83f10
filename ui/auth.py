"""Sign-in: our translated form, the password check and lockout in core, and streamlit-authenticator for
the session, the signed re-authentication cookie and sign-out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from core import audit, db, pii, security
from core.db import session_scope
from core.errors import CrmError
from core.security import AccountLocked, SignInFailed, Viewer
from ui import context
from ui.context import reason, tr

COOKIE_NAME = "crm_cockpit_session"


def _authenticator() -> stauth.Authenticate:
    with session_scope(context.engine()) as session:
        credentials = security.authenticator_credentials(session)
    return stauth.Authenticate(credentials, cookie_name=COOKIE_NAME, cookie_key=context.secrets().cookie_key,
                               cookie_expiry_days=1, auto_hash=False)


def _sign_in_form() -> Viewer | None:
    """The sign-in form; the viewer once core accepts the password, else None (the message is shown)."""
    st.title(tr("app.title"))
    with st.form("sign_in"):
        st.subheader(tr("auth.title"))
        username = st.text_input(tr("auth.username"), key="sign_in_username")
        password = st.text_input(tr("auth.password"), type="password", key="sign_in_password")
        submitted = st.form_submit_button(tr("auth.submit"), type="primary")
    if not submitted:
        return None
    # by name and source: someone typing a colleague's name elsewhere locks only themselves out
    address = st.context.ip_address  # None on localhost (and not a string under AppTest)
    source = pii.source_hash(address if isinstance(address, str) else None, context.keyring())
    try:
        return db.write(context.engine(), lambda session: security.sign_in(session, username, password, source=source))
    except AccountLocked as locked:
        st.error(tr("auth.locked", time=f"{locked.until:%H:%M}"))
    except SignInFailed:
        st.error(tr("auth.failed"))
    except CrmError as err:  # the store could not take the sign-in just now (busy, full, read-only)
        st.error(reason(err))
    return None


def _record_sign_out(event: dict) -> None:
    def sign_out(session):  # type: ignore[no-untyped-def]
        audit.record(session, action="sign_out", username=event.get("username"))
        if event.get("username"):  # a copy of the cookie taken before signing out no longer signs in
            security.revoke_sessions(session, username=str(event["username"]))

    db.write(context.engine(), sign_out)


def require_viewer(on_signed_out: Callable[[], object]) -> Viewer:
    """The signed-in user, re-read from the users table on every page load; otherwise the sign-in form.

    `on_signed_out` runs before the form stops the page: app.py registers its pages there, so the page a
    URL asked for is still the one shown once the session cookie arrives or the user signs in.
    """
    authenticator = _authenticator()
    ended = False  # a valid session cookie of a user who may no longer sign in
    if not st.session_state.get("authentication_status"):
        # the signed session cookie arrives with the page request, so the first run is already signed in
        # (the cookie component would answer only on a second run, losing the page a link asked for)
        remembered = security.session_from_token(st.context.cookies.get(COOKIE_NAME), context.secrets().cookie_key)
        if remembered:
            try:
                authenticator.authentication_controller.login(token={"username": remembered[0]})
                st.session_state["session_since"] = remembered[1]
            except LoginError:  # a user who may no longer sign in
                ended = True
    username = st.session_state.get("username") if st.session_state.get("authentication_status") else None
    with session_scope(context.engine()) as session:  # a revoked session (signed out elsewhere, ...) ends here
        viewer = security.load_viewer(session, username, since=st.session_state.get("session_since", datetime.min))
    # the sign-in slot exists on every run, so the page below keeps its place after signing in (no stale
    # copy of the page lingers while the next run redraws it)
    form = st.empty()
    if viewer is None:
        with form.container():
            if username:  # deactivated since signing in: the session ends at this page load
                authenticator.logout(location="unrendered")
            if username or ended:
                st.warning(tr("auth.ended"))
            viewer = _sign_in_form()
            if viewer is None:
                context.language_switch(st)
        if viewer is None:
            on_signed_out()
            st.stop()
        # signed in: the form goes and this same run carries on to the page (no rerun needed)
        form.empty()
        authenticator.authentication_controller.login(token={"username": viewer.username})
        st.session_state["session_since"] = datetime.now()
        authenticator.cookie_controller.set_cookie()
    st.session_state["viewer"] = viewer
    authenticator.logout(button_name=tr("auth.sign_out"), location="sidebar", key="sign_out", callback=_record_sign_out)
    return viewer


def password_form(viewer: Viewer) -> None:
    """Change one's own password (sidebar); the new hash goes to the users table."""
    with st.sidebar.expander(tr("auth.change_password")), st.form("change_password", clear_on_submit=True):
        current = st.text_input(tr("auth.current_password"), type="password")
        new = st.text_input(tr("auth.new_password"), type="password")
        repeat = st.text_input(tr("auth.repeat_password"), type="password")
        if st.form_submit_button(tr("auth.save_password")):
            if new != repeat:
                st.error(tr("auth.passwords_differ"))
                return
            try:
                db.write(context.engine(), lambda session: security.change_password(session, viewer=viewer,
                                                                                   current=current, new=new))
            except CrmError as err:
                st.error(tr("auth.password_refused", reason=reason(err)))
            else:  # every other session of this user has ended; this one carries on with a fresh cookie
                st.session_state["session_since"] = datetime.now()
                _authenticator().cookie_controller.set_cookie()
                st.success(tr("auth.password_saved"))
