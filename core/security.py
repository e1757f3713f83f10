"""Who may sign in: passwords, lockout, sessions, two-step codes and the user accounts.

What a signed-in user may see and do is decided in `core.access`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import NoReturn

import bcrypt
import jwt
import pyotp
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, clock, db, models as m
from core.access import SYSTEM, Viewer, require
from core.errors import CrmError, ValidationError
from core.pii import Keyring, decrypt, encrypt

U = m.table(m.User)
MAX_FAILURES = 5  # from one source
MAX_FAILURES_ANY_SOURCE = 20  # for one name from anywhere
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{1,63}$")


class SignInFailed(CrmError):
    """Wrong password, unknown or deactivated user: one message for all, so none can be told apart."""


class AccountLocked(CrmError):
    """Too many failed sign-ins for this username; `until` says when it may try again."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"Too many failed sign-ins. Try again after {until:%H:%M}.")
        self.until = until


# --- passwords and sign-in -------------------------------------------------------------------------


BCRYPT_ROUNDS = 12  # the work factor of new hashes; the tests lower it (no setting: production keeps 12)


def hash_password(password: str) -> str:
    """bcrypt, the same format streamlit-authenticator checks."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def check_password(password: str, hashed: str | None) -> bool:
    if not hashed:
        return False
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


_DUMMY_HASHES: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash to check an unknown name's password against, at the current work factor, so that a name that
    does not exist takes as long to refuse as one that does."""
    if BCRYPT_ROUNDS not in _DUMMY_HASHES:
        _DUMMY_HASHES[BCRYPT_ROUNDS] = bcrypt.hashpw(b"timing-equaliser", bcrypt.gensalt(BCRYPT_ROUNDS)).decode()
    return _DUMMY_HASHES[BCRYPT_ROUNDS]


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters.",
            key="error.password_short",
            n=MIN_PASSWORD_LENGTH,
        )
    if password.isdigit() or password.isalpha():
        raise ValidationError("A password needs both letters and digits or symbols.", key="error.password_mix")


def _lock_after(failures: list[datetime], threshold: int, window: timedelta) -> datetime | None:
    """The end of a lock if the newest `threshold` failures (newest first) fell within `window`."""
    if len(failures) < threshold or failures[0] - failures[threshold - 1] > window:
        return None
    return failures[0] + window


def locked_until(session: Session, username: str, now: datetime, *, source: str | None = None) -> datetime | None:
    """Locked until 15 minutes after the fifth failed sign-in from the same source, or the twentieth from any
    source, within 15 minutes (failures before the last successful sign-in or an administrator's unlock do
    not count; refused attempts while locked are not failures, so waiting is enough).

    Counted from the audit log by the name typed, so unknown names lock exactly like real ones and a lock
    message reveals nothing. By source (a keyed hash of the browser's address, never the address): someone
    typing a colleague's name from elsewhere locks only themselves out, while guessing from many places at
    once still hits the cap for the name. Without a source, every failure counts as the same source.
    """
    window = timedelta(minutes=LOCK_MINUTES)
    since = now - 2 * window
    A = m.table(m.AuditLog)
    last_success = audit.last_at(session, action="sign_in", username=username)
    last_unlock = session.scalar(
        select(func.max(A.c.at)).where(A.c.action == "unlocked", A.c.object == f"user:{username}")
    )
    for reset in (last_success, last_unlock):  # a success or an administrator's unlock starts the count again
        if reset and reset > since:
            since = reset
    recent = select(A.c.at, A.c.object).where(A.c.action == "sign_in_failed", A.c.username == username, A.c.at > since)
    rows = session.execute(recent.order_by(A.c.at.desc()).limit(MAX_FAILURES_ANY_SOURCE)).all()
    same = [r.at for r in rows if source is None or r.object == f"source:{source}"]
    ends = [
        end
        for end in (
            _lock_after(same, MAX_FAILURES, window),
            _lock_after([r.at for r in rows], MAX_FAILURES_ANY_SOURCE, window),
        )
        if end and end > now
    ]
    return max(ends) if ends else None


def _where(source: str | None) -> str | None:
    """How an attempt's source is kept in the audit log (a keyed hash, never the address)."""
    return f"source:{source}" if source else None


def _refuse_if_locked(session: Session, name: str, now: datetime, source: str | None) -> None:
    """A locked name is refused before anything is checked; the attempt is on record (not as a failure)."""
    until = locked_until(session, name, now, source=source)
    if until:
        audit.record(session, action="sign_in_locked", username=name, object=_where(source), at=now)
        session.commit()
        raise AccountLocked(until)


def _refuse(
    session: Session, name: str, now: datetime, source: str | None, refusal: CrmError, **details: object
) -> NoReturn:
    """A wrong password or code: recorded as a failure (it counts towards the lockout, which may start now)."""
    where = _where(source)
    audit.record(session, action="sign_in_failed", username=name, object=where, at=now, details=details or None)
    until = locked_until(session, name, now, source=source)
    if until is not None:
        audit.record(
            session, action="lockout", username=name, object=where, at=now, details={"until": until.isoformat()}
        )
    session.commit()  # the refusal below must not roll back its own audit entries
    raise AccountLocked(until) if until is not None else refusal


def sign_in(
    session: Session, username: str, password: str, *, now: datetime | None = None, source: str | None = None
) -> Viewer:
    """Check a sign-in attempt against the users table; every outcome is written to the audit log.
    `source`: a keyed hash of where the attempt comes from (see locked_until)."""
    now = now or clock.now()
    name = (username or "").strip().lower()[:64]
    _refuse_if_locked(session, name, now, source)  # before the password: nothing to guess with
    row = session.execute(select(U).where(U.c.username == name)).mappings().first()
    valid = check_password(password or "", row["password_hash"] if row else _dummy_hash()) and bool(
        row and row["active"]
    )
    if not valid or row is None:
        _refuse(session, name, now, source, SignInFailed("Username or password is incorrect."))
    if row["totp_secret_enc"] is not None:  # the password was right; the code decides (and is what is recorded)
        raise TwoStepNeeded(name)
    audit.record(session, action="sign_in", username=name, object=_where(source), at=now)
    return _viewer(row)


# --- two-step sign-in (TOTP, RFC 6238: any authenticator app) ---------------------------------------

TOTP_ISSUER = "CRM Cockpit"
TWO_STEP_MINUTES = 5  # the code must follow the password within this time


class TwoStepNeeded(CrmError):
    """The password was right and this user signs in in two steps: ask for the authenticator's code."""

    def __init__(self, username: str) -> None:
        super().__init__("Enter the code from your authenticator app.", key="auth.totp_needed")
        self.username = username


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    """What an authenticator app reads (as a QR code or typed in) to produce this user's codes."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def has_totp(session: Session, username: str) -> bool:
    return session.scalar(select(U.c.totp_secret_enc).where(U.c.username == username)) is not None


def _code_ok(secret: str, code: object, now: datetime) -> bool:
    text = str(code or "").strip().replace(" ", "")
    return (
        text.isascii()
        and text.isdigit()
        and len(text) == 6
        and pyotp.TOTP(secret).verify(text, for_time=int(clock.epoch(now)), valid_window=1)
    )


def enable_totp(
    session: Session, *, viewer: Viewer, secret: str, code: str, keyring: Keyring, now: datetime | None = None
) -> None:
    """Turn two-step sign-in on for oneself, proven by a first code from the app (the secret stored encrypted)."""
    if not _code_ok(secret, code, now or clock.now()):
        raise ValidationError(
            "That code does not match; check the app's clock and try the next code.", key="error.totp_code"
        )
    session.execute(U.update().where(U.c.username == viewer.username).values(totp_secret_enc=encrypt(secret, keyring)))
    audit.record(session, action="totp_enabled", username=viewer.username, object=f"user:{viewer.username}")


def reset_totp(session: Session, *, username: str, actor: Viewer) -> None:
    """An administrator turns a user's two-step sign-in off (a lost phone); the user enrols again."""
    require(actor, "users:manage")
    session.execute(U.update().where(U.c.username == username).values(totp_secret_enc=None))
    revoke_sessions(session, username=username)
    audit.record(session, action="totp_reset", username=actor.username, object=f"user:{username}")


def sign_in_second_step(
    session: Session,
    username: str,
    code: str,
    *,
    keyring: Keyring,
    started: datetime,
    now: datetime | None = None,
    source: str | None = None,
) -> Viewer:
    """The code after a right password: a wrong one counts towards the lockout like a wrong password."""
    now = now or clock.now()
    name = (username or "").strip().lower()[:64]
    _refuse_if_locked(session, name, now, source)
    row = session.execute(select(U).where(U.c.username == name, U.c.active.is_(True))).mappings().first()
    secret = decrypt(row["totp_secret_enc"], keyring) if row and row["totp_secret_enc"] else None
    fresh = now - started <= timedelta(minutes=TWO_STEP_MINUTES)
    if secret is None or not fresh or not _code_ok(secret, code, now):
        _refuse(
            session,
            name,
            now,
            source,
            SignInFailed("The code is not right, or came too late; sign in again.", key="auth.totp_failed"),
            step="code",
        )
    audit.record(session, action="sign_in", username=name, object=_where(source), at=now, details={"two_step": True})
    return _viewer(row)


def _viewer(row) -> Viewer:  # type: ignore[no-untyped-def]
    return Viewer(row["id"], row["username"], row["display_name"], row["role"], row["team"])


def load_viewer(session: Session, username: str | None, *, since: datetime | None = None) -> Viewer | None:
    """The current record of a signed-in user, or None once deactivated, removed, or when the session (begun
    at `since`) has been revoked since (checked on every page load; without `since`, no session is checked)."""
    if not username:
        return None
    row = session.execute(select(U).where(U.c.username == username, U.c.active.is_(True))).mappings().first()
    if row is None:
        return None
    revoked = row["sessions_valid_after"]
    if revoked is not None and since is not None and since < revoked:
        return None
    return _viewer(row)


SESSION_DAYS = 1  # the signed cookie's life (ui.auth gives streamlit-authenticator the same)


def session_from_token(
    token: str | None, cookie_key: str, *, now: datetime | None = None
) -> tuple[str, datetime] | None:
    """The username in a streamlit-authenticator session cookie (HS256 JWT) and when that session began,
    if its signature and expiry hold."""
    if not token:
        return None
    try:
        claims = jwt.decode(token, cookie_key, algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    expires = claims.get("exp_date")
    if not isinstance(expires, (int, float)) or expires <= clock.epoch(now or clock.now()):
        return None
    username = claims.get("username")
    if not isinstance(username, str):
        return None
    return username, clock.from_epoch(expires) - timedelta(days=SESSION_DAYS)


def username_from_session_token(token: str | None, cookie_key: str, *, now: datetime | None = None) -> str | None:
    """The username in a session cookie, if its signature and expiry hold (see session_from_token)."""
    found = session_from_token(token, cookie_key, now=now)
    return found[0] if found else None


def revoke_sessions(session: Session, *, username: str, now: datetime | None = None) -> None:
    """End every session of this user that began before now: a copied cookie or an open page no longer
    signs in (sign-out, password change or reset, role change, deactivation)."""
    session.execute(U.update().where(U.c.username == username).values(sessions_valid_after=now or clock.now()))


def authenticator_credentials(session: Session) -> dict[str, dict[str, dict[str, object]]]:
    """The streamlit-authenticator credentials dict, fed from the users table (active users only)."""
    rows = session.execute(
        select(U.c.username, U.c.display_name, U.c.email, U.c.role, U.c.password_hash).where(
            U.c.active.is_(True), U.c.password_hash.is_not(None)
        )
    ).all()
    return {
        "usernames": {
            r.username: {
                "email": r.email or "",
                "first_name": r.display_name,
                "last_name": "",
                "password": r.password_hash,
                "roles": [r.role],
            }
            for r in rows
        }
    }


# --- users ---------------------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: str | None,
    password: str,
    email: str | None = None,
    team: str | None = None,
    actor: Viewer = SYSTEM,
) -> int:
    """Create a user (validated, password hashed, audited); returns the new id."""
    require(actor, "users:manage")
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise ValidationError(
            "A username is 2-64 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter.",
            key="error.username_format",
        )
    if role not in m.ROLES:  # None too: the form has no default role, an administrator chooses one
        raise ValidationError(f"Unknown role {role!r}; use one of {', '.join(m.ROLES)}.", key="error.role_required")
    if not display_name.strip():
        raise ValidationError("A display name is required.", key="error.display_name")
    if email and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", email):
        raise ValidationError(f"{email!r} is not an email address.", key="error.email")
    validate_password(password)
    if session.scalar(select(func.count()).select_from(U).where(U.c.username == name)):
        raise ValidationError(f"The username {name!r} is taken.", key="error.username_taken", name=name)
    new_id = db.new_id(
        session,
        U.insert().values(
            username=name,
            display_name=display_name.strip(),
            email=email,
            role=role,
            team=team,
            active=True,
            password_hash=hash_password(password),
            created_at=clock.now(),
        ),
    )
    audit.record(
        session,
        action="user_created",
        username=actor.username,
        object=f"user:{name}",
        details={"role": role, "team": team},
    )
    return int(new_id)


def change_user(
    session: Session,
    *,
    username: str,
    actor: Viewer,
    role: str | None = None,
    active: bool | None = None,
    team: str | None = None,
) -> None:
    """An administrator changes a user's role, team or active flag (audited; effective on the next page load)."""
    require(actor, "users:manage")
    row = session.execute(select(U).where(U.c.username == username)).mappings().first()
    if row is None:
        raise ValidationError(f"No user {username!r}.", key="error.no_user")
    if role is not None and role not in m.ROLES:
        raise ValidationError(f"Unknown role {role!r}.", key="error.role_required")
    if username == actor.username and (active is False or (role is not None and role != "admin")):
        raise ValidationError(
            "You cannot deactivate or demote yourself; ask another administrator.", key="error.not_yourself"
        )
    changes = {k: v for k, v in (("role", role), ("active", active), ("team", team)) if v is not None and v != row[k]}
    if not changes:
        return
    session.execute(U.update().where(U.c.username == username).values(**changes))
    if "role" in changes or changes.get("active") is False:  # what they may see has changed: sign in again
        revoke_sessions(session, username=username)
    audit.record(
        session,
        action="user_changed",
        username=actor.username,
        object=f"user:{username}",
        details={k: {"from": row[k], "to": v} for k, v in changes.items()},
    )


def change_password(session: Session, *, viewer: Viewer, current: str, new: str) -> None:
    """The signed-in user changes their own password; the new hash is written to the users table."""
    row = session.execute(select(U).where(U.c.username == viewer.username)).mappings().first()
    if row is None or not check_password(current, row["password_hash"]):
        raise ValidationError("The current password is not right.", key="error.current_password")
    if new == current:
        raise ValidationError("The new password must differ from the current one.", key="error.same_password")
    validate_password(new)
    session.execute(U.update().where(U.c.username == viewer.username).values(password_hash=hash_password(new)))
    revoke_sessions(session, username=viewer.username)  # every other session ends; the page renews its own
    audit.record(session, action="password_changed", username=viewer.username, object=f"user:{viewer.username}")


def reset_password(session: Session, *, username: str, new: str, actor: Viewer) -> None:
    """An administrator sets a user's password (a forgotten one); the user should change it after signing in."""
    require(actor, "users:manage")
    if session.scalar(select(func.count()).select_from(U).where(U.c.username == username)) != 1:
        raise ValidationError(f"No user {username!r}.", key="error.no_user")
    validate_password(new)
    session.execute(U.update().where(U.c.username == username).values(password_hash=hash_password(new)))
    revoke_sessions(session, username=username)
    audit.record(session, action="password_reset", username=actor.username, object=f"user:{username}")


def locked_names(session: Session, *, now: datetime | None = None) -> list[dict[str, object]]:
    """Sign-in names locked right now (real users or not: a lock on any typed name looks the same), with
    when each lock ends, for administrators to unlock."""
    now = now or clock.now()
    A = m.table(m.AuditLog)
    names = session.execute(
        select(A.c.username, A.c.object)
        .where(A.c.action == "lockout", A.c.at > now - timedelta(minutes=LOCK_MINUTES))
        .distinct()
    ).all()
    found: dict[str, datetime] = {}
    for name, where in names:
        source = where.removeprefix("source:") if where and where.startswith("source:") else None
        until = locked_until(session, name, now, source=source) if name else None
        if until is not None:
            found[name] = max(until, found.get(name, until))
    locked = list(found.items())
    return [{"username": name, "until": until} for name, until in sorted(locked)]


def unlock(session: Session, *, username: str, actor: Viewer, now: datetime | None = None) -> None:
    """An administrator lifts a lockout at once (the failures before it no longer count); audited."""
    require(actor, "users:manage")
    audit.record(session, action="unlocked", username=actor.username, object=f"user:{username.strip().lower()}", at=now)


def list_users(session: Session, *, viewer: Viewer) -> list[dict[str, object]]:
    """Every user with role and team, for administrators."""
    require(viewer, "users:manage")
    return [
        dict(r)
        for r in session.execute(
            select(U.c.username, U.c.display_name, U.c.email, U.c.role, U.c.team, U.c.active).order_by(
                U.c.role, U.c.username
            )
        ).mappings()
    ]
