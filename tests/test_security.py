"""Passwords, lockout, user management and the row-level scope, on real databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from core import access, audit, clock, models as m, security
from core.access import SYSTEM, Viewer
from core.db import session_scope
from core.errors import PermissionDenied, ValidationError
from core.periods import Filters
from core.security import AccountLocked, SignInFailed

NOW = datetime(2026, 11, 25, 10, 0)
PASSWORD = "correct-horse-1"


def _users(engine: Engine) -> None:
    with session_scope(engine) as s:
        security.create_user(s, username="ann", display_name="Ann", role="account_manager", password=PASSWORD)
        security.create_user(s, username="bob", display_name="Bob", role="executive", password=PASSWORD)


def test_sign_in_and_the_one_refusal_message(engine: Engine) -> None:
    _users(engine)
    with session_scope(engine) as s:
        assert security.sign_in(s, "ANN ", PASSWORD, now=NOW).role == "account_manager"
        security.change_user(s, username="bob", active=False, actor=SYSTEM)
    messages = set()
    for username, password in [("ann", "wrong-password-1"), ("nobody", PASSWORD), ("bob", PASSWORD)]:
        with session_scope(engine) as s, pytest.raises(SignInFailed) as refused:
            security.sign_in(s, username, password, now=NOW)
        messages.add(str(refused.value))
    assert messages == {"Username or password is incorrect."}
    with session_scope(engine) as s:
        assert audit.count(s, action="sign_in_failed", username="nobody", since=NOW) == 1
        assert audit.count(s, action="sign_in", username="ann", since=NOW) == 1


@pytest.mark.parametrize("username", ["ann", "ghost"])  # unknown names lock alike: no way to probe for accounts
def test_five_failures_lock_for_fifteen_minutes(engine: Engine, username: str) -> None:
    _users(engine)
    for minute in range(4):
        with session_scope(engine) as s, pytest.raises(SignInFailed):
            security.sign_in(s, username, "wrong-password-1", now=NOW + timedelta(minutes=minute))
    with session_scope(engine) as s, pytest.raises(AccountLocked) as locked:
        security.sign_in(s, username, "wrong-password-1", now=NOW + timedelta(minutes=4))
    assert locked.value.until == NOW + timedelta(minutes=19)
    with session_scope(engine) as s, pytest.raises(AccountLocked):  # even the right password waits
        security.sign_in(s, username, PASSWORD, now=NOW + timedelta(minutes=18))
    with session_scope(engine) as s:
        assert audit.count(s, action="lockout", username=username, since=NOW) == 1
    if username == "ann":
        with session_scope(engine) as s:
            assert security.sign_in(s, "ann", PASSWORD, now=NOW + timedelta(minutes=20)).username == "ann"


def test_passwords_are_hashed_and_changed_in_the_users_table(engine: Engine) -> None:
    _users(engine)
    with session_scope(engine) as s:
        stored = s.scalar(select(m.User.password_hash).where(m.User.username == "ann"))
        assert stored.startswith("$2") and PASSWORD not in stored
        ann = security.load_viewer(s, "ann")
        with pytest.raises(ValidationError, match="current password"):
            security.change_password(s, viewer=ann, current="nope-nope-1", new="another-pass-2")
        security.change_password(s, viewer=ann, current=PASSWORD, new="another-pass-2")
    with session_scope(engine) as s:
        assert security.sign_in(s, "ann", "another-pass-2", now=NOW).username == "ann"


def test_user_rules(engine: Engine) -> None:
    _users(engine)
    with session_scope(engine) as s:
        security.create_user(s, username="root", display_name="Root", role="admin", password=PASSWORD)
        admin = security.load_viewer(s, "root")
        for bad, message in [
            ({"username": "Bad Name"}, "username"),
            ({"role": "king"}, "Unknown role"),
            ({"password": "short"}, "at least"),
            ({"username": "ann"}, "taken"),
            ({"email": "not-an-email"}, "email"),
        ]:
            args = {"username": "carol", "display_name": "Carol", "role": "analyst", "password": PASSWORD, **bad}
            with pytest.raises(ValidationError, match=message):
                security.create_user(s, **args, actor=admin)
        with pytest.raises(PermissionDenied):
            security.create_user(
                s,
                username="carol",
                display_name="C",
                role="analyst",
                password=PASSWORD,
                actor=security.load_viewer(s, "bob"),
            )
        with pytest.raises(ValidationError, match="yourself"):
            security.change_user(s, username="root", active=False, actor=admin)
        security.change_user(s, username="ann", role="analyst", actor=admin)
        assert security.load_viewer(s, "ann").role == "analyst"


def test_scope_per_role() -> None:
    asked = Filters(regions=("east",), owner_ids=(7,))
    assert access.scoped(Viewer(3, "am", "AM", "account_manager"), asked) == Filters(regions=("east",), owner_ids=(3,))
    assert access.scoped(Viewer(4, "ag", "AG", "support_agent"), asked).with_tickets_only
    for role in ("admin", "executive", "analyst"):
        assert access.scoped(Viewer(5, "x", "X", role), asked) == asked
    assert access.pages_for(Viewer(4, "ag", "AG", "support_agent")) == ["customer", "service", "voice", "surveys"]
    assert "admin" not in access.pages_for(Viewer(5, "x", "X", "executive"))


def test_an_administrator_unlocks_a_locked_name_and_resets_a_password(engine) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timedelta

    from core import audit
    from core.db import session_scope
    from core.errors import PermissionDenied, ValidationError
    from core.i18n import error_text

    now = datetime(2026, 11, 30, 10, 0)
    admin = access.Viewer(None, "root", "Root", "admin")
    with session_scope(engine) as s:
        security.create_user(
            s, username="dora", display_name="Dora", role="analyst", password="first-pass-1", actor=admin
        )
    for i in range(security.MAX_FAILURES):
        with session_scope(engine) as s:
            try:
                security.sign_in(s, "dora", "wrong", now=now + timedelta(seconds=i))
            except security.CrmError:
                pass
    with session_scope(engine) as s:
        assert [e["username"] for e in security.locked_names(s, now=now + timedelta(minutes=1))] == ["dora"]
        with pytest.raises(PermissionDenied):
            security.unlock(s, username="dora", actor=access.Viewer(9, "eve", "Eve", "analyst"))
        security.unlock(s, username="dora", actor=admin, now=now + timedelta(minutes=1))
    with session_scope(engine) as s:
        assert security.locked_names(s, now=now + timedelta(minutes=2)) == []
        with pytest.raises(ValidationError) as refused:
            security.reset_password(s, username="dora", new="short", actor=admin)
        assert error_text(refused.value, "zh") == "密码至少需要 10 个字符。"  # core's refusal in the page's language
        security.reset_password(s, username="dora", new="second-pass-2", actor=admin)
    with session_scope(engine) as s:
        assert security.sign_in(s, "dora", "second-pass-2", now=now + timedelta(minutes=3)).username == "dora"
        assert {"unlocked", "password_reset"} <= set(audit.entries(s, viewer=SYSTEM)["action"])
        with pytest.raises(ValidationError) as no_role:
            security.create_user(
                s, username="fred", display_name="Fred", role=None, password="first-pass-1", actor=admin
            )
        assert error_text(no_role.value, "zh") == "请选择角色。"


def test_audit_details_read_as_words_not_json() -> None:
    from core import audit

    assert (
        audit.readable('{"rows": 12, "format": "csv", "query": {"tiers": ["high_value"]}, "x": null}', "zh")
        == "行数: 12 · 格式: csv · 筛选 价值分层: high_value"
    )


def test_a_lock_holds_for_the_source_that_guessed_and_a_cap_holds_for_the_name(engine) -> None:  # type: ignore[no-untyped-def]
    """Someone typing a colleague's name from their own machine locks only that machine out; guessing from
    many sources still locks the name everywhere after 20 failures."""
    from core.db import session_scope
    from core.pii import source_hash
    from tests.conftest import TEST_KEYRING

    now = datetime(2026, 11, 30, 9, 0)
    admin = Viewer(None, "root", "Root", "admin")
    with session_scope(engine) as s:
        security.create_user(
            s, username="gil", display_name="Gil", role="analyst", password="first-pass-1", actor=admin
        )
    mallory, gil_desk = source_hash("203.0.113.9", TEST_KEYRING), source_hash("198.51.100.4", TEST_KEYRING)
    assert mallory != gil_desk and "203.0" not in (mallory or "")  # the address itself is never stored
    for i in range(security.MAX_FAILURES):
        with session_scope(engine) as s, pytest.raises(security.CrmError):
            security.sign_in(s, "gil", "guess", now=now + timedelta(seconds=i), source=mallory)
    with session_scope(engine) as s:
        with pytest.raises(AccountLocked):  # the guesser's machine is locked out...
            security.sign_in(s, "gil", "first-pass-1", now=now + timedelta(minutes=1), source=mallory)
        assert (
            security.sign_in(s, "gil", "first-pass-1", now=now + timedelta(minutes=1), source=gil_desk).username
            == "gil"
        )
    later = now + timedelta(hours=1)
    for i in range(security.MAX_FAILURES_ANY_SOURCE):  # ...and 20 guesses from 20 places lock the name everywhere
        with session_scope(engine) as s, pytest.raises(security.CrmError):
            security.sign_in(s, "gil", "guess", now=later + timedelta(seconds=i), source=f"src{i}")
    with session_scope(engine) as s, pytest.raises(AccountLocked):
        security.sign_in(s, "gil", "first-pass-1", now=later + timedelta(minutes=1), source=gil_desk)
    with session_scope(engine) as s:
        assert [e["username"] for e in security.locked_names(s, now=later + timedelta(minutes=1))] == ["gil"]


def test_revoked_sessions_no_longer_sign_in(engine) -> None:  # type: ignore[no-untyped-def]
    """A cookie or an open page from before sign-out, a password change, a role change or deactivation is
    over; one begun after is not."""
    import jwt as pyjwt

    from core.db import session_scope

    key = "k" * 40
    admin = Viewer(None, "root", "Root", "admin")
    with session_scope(engine) as s:
        security.create_user(
            s, username="hal", display_name="Hal", role="analyst", password="first-pass-1", actor=admin
        )
    issued = clock.now() - timedelta(hours=1)
    cookie = pyjwt.encode(
        {"username": "hal", "exp_date": clock.epoch(issued + timedelta(days=security.SESSION_DAYS))},
        key,
        algorithm="HS256",
    )
    username, since = security.session_from_token(cookie, key)  # type: ignore[misc]
    assert username == "hal" and abs((since - issued).total_seconds()) < 1
    with session_scope(engine) as s:
        assert security.load_viewer(s, "hal", since=since) is not None
        security.revoke_sessions(s, username="hal")  # signed out (or elsewhere)
    with session_scope(engine) as s:
        assert security.load_viewer(s, "hal", since=since) is None  # the copied cookie is over
        assert security.load_viewer(s, "hal", since=clock.now()) is not None  # a new sign-in is fine
    later = clock.now()
    with session_scope(engine) as s:
        security.change_password(
            s, viewer=Viewer(None, "hal", "Hal", "analyst"), current="first-pass-1", new="second-pass-2"
        )
    with session_scope(engine) as s:
        assert security.load_viewer(s, "hal", since=later) is None
    later = clock.now()
    with session_scope(engine) as s:
        security.change_user(s, username="hal", team="North", actor=admin)  # a team change keeps the session
    with session_scope(engine) as s:
        assert security.load_viewer(s, "hal", since=later) is not None
        security.change_user(s, username="hal", role="executive", actor=admin)
    with session_scope(engine) as s:
        assert security.load_viewer(s, "hal", since=later) is None


@pytest.mark.parametrize("role", ["executive", "analyst", "account_manager", "support_agent", "team_lead"])
def test_only_administrators_read_the_audit_log_and_the_users(engine, role: str) -> None:  # type: ignore[no-untyped-def]
    from core.db import session_scope

    someone = Viewer(7, "someone", "Someone", role)
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            audit.entries(s, viewer=someone)
        with pytest.raises(PermissionDenied):
            security.list_users(s, viewer=someone)
        assert audit.entries(s, viewer=SYSTEM).empty and security.list_users(s, viewer=SYSTEM) == []


def test_two_step_sign_in_with_an_authenticator_code(engine) -> None:  # type: ignore[no-untyped-def]
    import pyotp

    from core.db import session_scope
    from tests.conftest import TEST_KEYRING

    now = datetime(2026, 11, 30, 11, 0)
    admin = Viewer(None, "root", "Root", "admin")
    with session_scope(engine) as s:
        security.create_user(s, username="kim", display_name="Kim", role="admin", password="first-pass-1", actor=admin)
    kim = Viewer(None, "kim", "Kim", "admin")
    secret = security.new_totp_secret()
    assert "otpauth://totp/" in security.totp_uri(secret, "kim") and "CRM%20Cockpit" in security.totp_uri(secret, "kim")
    with session_scope(engine) as s, pytest.raises(ValidationError):  # a wrong first code: not turned on
        security.enable_totp(s, viewer=kim, secret=secret, code="000000", keyring=TEST_KEYRING, now=now)
    with session_scope(engine) as s:
        security.enable_totp(
            s,
            viewer=kim,
            secret=secret,
            code=pyotp.TOTP(secret).at(int(clock.epoch(now))),
            keyring=TEST_KEYRING,
            now=now,
        )
        stored = s.scalar(select(m.User.totp_secret_enc).where(m.User.username == "kim"))
    assert stored and secret not in stored  # kept encrypted
    with session_scope(engine) as s, pytest.raises(security.TwoStepNeeded):  # the password alone no longer signs in
        security.sign_in(s, "kim", "first-pass-1", now=now)
    later = now + timedelta(minutes=1)
    with session_scope(engine) as s, pytest.raises(SignInFailed):
        security.sign_in_second_step(s, "kim", "123456", keyring=TEST_KEYRING, started=now, now=later)
    with session_scope(engine) as s, pytest.raises(SignInFailed):  # the right code, but long after the password
        security.sign_in_second_step(
            s,
            "kim",
            pyotp.TOTP(secret).at(int(clock.epoch(now + timedelta(minutes=9)))),
            keyring=TEST_KEYRING,
            started=now,
            now=now + timedelta(minutes=9),
        )
    with session_scope(engine) as s:
        signed = security.sign_in_second_step(
            s, "kim", pyotp.TOTP(secret).at(int(clock.epoch(later))), keyring=TEST_KEYRING, started=now, now=later
        )
        assert signed.username == "kim"
        failed = s.scalar(
            select(func.count()).where(m.AuditLog.action == "sign_in_failed", m.AuditLog.username == "kim")
        )
        assert failed == 2  # wrong codes count towards the lockout like wrong passwords
        security.reset_totp(s, username="kim", actor=admin)  # a lost phone
    with session_scope(engine) as s:
        assert security.sign_in(s, "kim", "first-pass-1", now=later + timedelta(minutes=1)).username == "kim"
