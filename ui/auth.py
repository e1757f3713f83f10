"""Sign-in: our translated form, the password check and lockout in core, and streamlit-authenticator for
the session, the signed re-authentication cookie and sign-out."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace

import extra_streamlit_components as stx
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.models import cookie_model
from streamlit_authenticator.utilities import LoginError

from core import access, audit, clock, db, pii, security
from core.access import Viewer
from core.db import session_scope
from core.errors import CrmError
from core.security import AccountLocked, SignInFailed, TwoStepNeeded
from ui import context
from ui.context import reason, tr

COOKIE_NAME = "crm_cockpit_session"


class _CookieWriter(stx.CookieManager):  # type: ignore[misc]
    """The authenticator's cookie manager without its read. `stx.CookieManager()` draws a component on every
    run to read the browser's cookies, and its answer reran the whole page after each load: every page's work
    done twice. The cookies came with the page request (`st.context.cookies`), which is all anything here reads;
    the component is drawn only to set or delete the session cookie."""

    def __init__(self, key: str = "init") -> None:
        self.cookie_manager = sys.modules[stx.CookieManager.__module__]._component_func
        self.cookies = dict(st.context.cookies)

    def delete(self, cookie: str, key: str = "delete") -> None:
        """Sign-out: the cookie set after this page was requested is not among the request's, yet goes too."""
        self.cookies.setdefault(cookie, "")
        super().delete(cookie, key)


cookie_model.stx = SimpleNamespace(CookieManager=_CookieWriter)  # what streamlit-authenticator 0.4 builds


def _authenticator() -> stauth.Authenticate:
    with session_scope(context.engine()) as session:
        credentials = security.authenticator_credentials(session)
    return stauth.Authenticate(
        credentials,
        cookie_name=COOKIE_NAME,
        cookie_key=context.secrets().cookie_key,
        cookie_expiry_days=security.SESSION_DAYS,
        auto_hash=False,
    )


def _source() -> str | None:
    """Where the attempt comes from, as a keyed hash: locks count by name and source."""
    address = st.context.ip_address  # None on localhost (and not a string under AppTest)
    return pii.source_hash(address if isinstance(address, str) else None, context.keyring())


def _sign_in_form() -> Viewer | None:
    """The sign-in form (then the authenticator's code, for users who sign in in two steps); the viewer once
    core accepts, else None (the message is shown)."""
    st.title(tr("app.title"))
    if "sign_in_refusal" in st.session_state:
        st.error(st.session_state.pop("sign_in_refusal"))
    if "pending_two_step" in st.session_state:
        return _code_form(*st.session_state["pending_two_step"])
    with st.form("sign_in"):
        st.subheader(tr("auth.title"))
        username = st.text_input(tr("auth.username"), key="sign_in_username")
        password = st.text_input(tr("auth.password"), type="password", key="sign_in_password")
        submitted = st.form_submit_button(tr("auth.submit"), type="primary")
    if not submitted:
        return None
    source = _source()
    try:
        return db.write(context.engine(), lambda session: security.sign_in(session, username, password, source=source))
    except TwoStepNeeded as needed:  # the password was right: the code comes next, within a few minutes
        st.session_state["pending_two_step"] = (needed.username, clock.now())
        st.rerun()
    except AccountLocked as locked:
        st.error(tr("auth.locked", time=f"{locked.until:%H:%M}"))
    except SignInFailed:
        st.error(tr("auth.failed"))
    except CrmError as err:  # the store could not take the sign-in just now (busy, full, read-only)
        st.error(reason(err))
    return None


def _code_form(username: str, started: datetime) -> Viewer | None:
    """The second step: the 6-digit code of the user's authenticator app."""
    with st.form("two_step"):
        st.subheader(tr("auth.title"))
        st.caption(tr("auth.totp_needed"))
        code = st.text_input(tr("auth.totp_code"), key="sign_in_code", max_chars=8)
        submitted = st.form_submit_button(tr("auth.totp_submit"), type="primary")
    if st.button(tr("auth.totp_cancel"), key="two_step_cancel"):
        del st.session_state["pending_two_step"]
        st.rerun()
    if not submitted:
        return None
    source = _source()
    try:
        viewer = db.write(
            context.engine(),
            lambda session: security.sign_in_second_step(
                session, username, code, keyring=context.keyring(), started=started, source=source
            ),
        )
    except AccountLocked as locked:
        refusal = tr("auth.locked", time=f"{locked.until:%H:%M}")
    except SignInFailed:
        refusal = tr("auth.totp_failed")
    except CrmError as err:
        refusal = reason(err)
    else:
        del st.session_state["pending_two_step"]
        return viewer
    del st.session_state["pending_two_step"]  # refused: start again from the password, with the reason above it
    st.session_state["sign_in_refusal"] = refusal
    st.rerun()
    return None  # unreachable: st.rerun ends the run


def two_step_setup(viewer: Viewer, *, where: object = None) -> None:
    """Turn on two-step sign-in for oneself: the key for the authenticator app, then its first code."""
    with session_scope(context.engine()) as session:
        enrolled = security.has_totp(session, viewer.username)
    box = where if where is not None else st.sidebar.expander(tr("auth.two_step"))
    with box:  # type: ignore[attr-defined]
        if enrolled:
            st.caption(tr("auth.two_step.on"))
            return
        secret = st.session_state.setdefault("totp_secret", security.new_totp_secret())
        st.caption(tr("auth.two_step.setup"))
        st.code(security.totp_uri(secret, viewer.username), language=None, wrap_lines=True)
        st.text(tr("auth.two_step.key", secret=secret))
        with st.form("two_step_setup"):
            code = st.text_input(tr("auth.totp_code"), max_chars=8)
            if st.form_submit_button(tr("auth.two_step.enable")):
                try:
                    db.write(
                        context.engine(),
                        lambda session: security.enable_totp(
                            session, viewer=viewer, secret=secret, code=code, keyring=context.keyring()
                        ),
                    )
                except CrmError as err:
                    st.error(reason(err))
                else:
                    st.session_state.pop("totp_secret", None)
                    st.success(tr("auth.two_step.enabled"))


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
        st.session_state["session_since"] = clock.now()
        authenticator.cookie_controller.set_cookie()
    if access.allowed(viewer, "users:manage") and context.settings().admin_totp:  # administrators: set it up first
        with session_scope(context.engine()) as session:
            enrolled = security.has_totp(session, viewer.username)
        if not enrolled:
            st.warning(tr("auth.two_step.required"))
            two_step_setup(viewer, where=st.container())
            on_signed_out()
            st.stop()
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
                db.write(
                    context.engine(),
                    lambda session: security.change_password(session, viewer=viewer, current=current, new=new),
                )
            except CrmError as err:
                st.error(tr("auth.password_refused", reason=reason(err)))
            else:  # every other session of this user has ended; this one carries on with a fresh cookie
                st.session_state["session_since"] = clock.now()
                _authenticator().cookie_controller.set_cookie()
                st.success(tr("auth.password_saved"))
