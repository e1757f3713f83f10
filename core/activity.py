"""Logging what happened: interactions, follow-up tasks, tickets, offline NPS answers and profile edits.

Every write here validates all its fields first (a FieldErrors names each bad one with a message key),
checks the viewer may act on that customer (an account manager: own customers only), claims the form's
token so a second submission of the same form writes nothing, and refreshes the summaries its rows
feed, all in the caller's one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock, db, facts, loyalty, models as m, pii, rules, service, validators
from core.access import Viewer, allowed, require, visible
from core.errors import AlreadySubmitted, Conflict, FieldErrors, NotFound, PermissionDenied
from core.pii import Keyring
from core.sla import due_times

C, I, T, E, N = (
    m.table(m.Customer),
    m.table(m.Interaction),
    m.table(m.Ticket),
    m.table(m.TicketEvent),
    m.table(m.NpsResponse),
)
TASKS, SUB = m.table(m.Task), m.table(m.FormSubmission)

NPS_BACKDATE_DAYS = 366  # an offline answer older than this belongs in an import, which rebuilds the summaries
FOLLOW_UP_DAYS = 366
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Errors = validators.Errors


def may_write(viewer: Viewer, form: str) -> bool:
    """Whether the viewer's role may submit `form` (interaction, ticket, nps, profile, task): `core.access`."""
    return allowed(viewer, f"write:{form}")


def _customer(session: Session, viewer: Viewer, customer_id: int | None, form: str) -> dict[str, Any]:
    """The customer row, if the viewer may write `form` for it; the check every write goes through."""
    require(viewer, f"write:{form}")
    if customer_id is None:
        raise FieldErrors({"customer": ("form.error.required", {})})
    stmt = select(
        C.c.id,
        C.c.code,
        C.c.region,
        C.c.industry,
        C.c.kind,
        C.c.owner_id,
        C.c.first_contact_date,
        C.c.name,
        C.c.city,
        C.c.company_size,
        C.c.tags,
        C.c.phone_enc,
        C.c.email_enc,
    ).where(C.c.id == customer_id)
    row = session.execute(visible(stmt, C, viewer)).mappings().first()
    if row is None:
        exists = session.scalar(select(C.c.id).where(C.c.id == customer_id))
        if exists is None:
            raise NotFound("No such customer.", key="customer.not_found")
        raise PermissionDenied("You may only log activity for your own customers.", key="error.own_customers")
    return dict(row)


def _claim(session: Session, token: str | None, form: str, viewer: Viewer, now: datetime) -> None:
    """Record the form's one-time token; a token seen before means this is a repeated submission."""
    if not token:
        return
    if session.scalar(select(SUB.c.token).where(SUB.c.token == token)) is not None:
        raise AlreadySubmitted("This form was already submitted; nothing was saved again.")
    session.execute(SUB.insert().values(token=token[:64], form=form, username=viewer.username, at=now))


_text = validators.text  # one rule for every form's text (length, no NUL or control characters)


def _choice(errors: Errors, name: str, value: str | None, allowed: tuple[str, ...], *, required: bool = True) -> None:
    if value is None and not required:
        return
    if value not in allowed:
        errors[name] = ("form.error.choice", {})


def _first_contact(row: dict[str, object]) -> date:
    value = row["first_contact_date"]
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# --- interactions and tasks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InteractionForm:
    customer_id: int | None
    channel: str
    direction: str
    occurred_at: datetime
    subject: str
    notes: str | None = None
    outcome: str | None = None
    duration_minutes: int | None = None
    follow_up: date | None = None


def log_interaction(
    session: Session, viewer: Viewer, form: InteractionForm, *, token: str | None = None, now: datetime | None = None
) -> int:
    """Log an interaction (and its follow-up task, when a date is given); returns the interaction id."""
    now = now or clock.now()
    customer = _customer(session, viewer, form.customer_id, "interaction")
    errors: Errors = {}
    _choice(errors, "channel", form.channel, m.INTERACTION_CHANNELS)
    _choice(errors, "direction", form.direction, m.INTERACTION_DIRECTIONS)
    _choice(errors, "outcome", form.outcome, m.INTERACTION_OUTCOMES, required=False)
    if form.occurred_at > now + timedelta(minutes=1):
        errors["occurred_at"] = ("form.error.future", {})
    elif form.occurred_at.date() < _first_contact(customer):
        errors["occurred_at"] = ("form.error.before_first_contact", {"day": _first_contact(customer).isoformat()})
    subject = _text(errors, "subject", form.subject, required=True, longest=200)
    notes = _text(errors, "notes", form.notes, required=False, longest=4000, multiline=True)
    validators.whole_number(errors, "duration_minutes", form.duration_minutes, low=0, high=24 * 60, required=False)
    if form.follow_up is not None and not now.date() <= form.follow_up <= now.date() + timedelta(days=FOLLOW_UP_DAYS):
        errors["follow_up"] = ("form.error.follow_up", {"days": FOLLOW_UP_DAYS})
    if errors:
        raise FieldErrors(errors)
    _claim(session, token, "interaction", viewer, now)
    new_id = int(
        db.new_id(
            session,
            I.insert().values(
                customer_id=customer["id"],
                user_id=viewer.user_id,
                channel=form.channel,
                direction=form.direction,
                occurred_at=form.occurred_at.replace(microsecond=0),
                subject=subject,
                notes=notes,
                outcome=form.outcome,
                duration_minutes=form.duration_minutes,
            ),
        )
    )
    if form.follow_up is not None:
        session.execute(
            TASKS.insert().values(
                customer_id=customer["id"],
                owner_id=customer["owner_id"] or viewer.user_id,
                title=subject,
                due_date=form.follow_up,
                interaction_id=new_id,
                created_at=now,
                created_by=viewer.user_id,
            )
        )
    facts.customer_changed(session, [customer["id"]])
    audit.record(
        session,
        action="interaction_logged",
        username=viewer.username,
        object=f"customer:{customer['code']}",
        details={"interaction": new_id, "follow_up": form.follow_up},
    )
    return new_id


def complete_task(session: Session, viewer: Viewer, task_id: int, *, now: datetime | None = None) -> None:
    """Mark a task done: its owner (a role that works tasks), or an administrator."""
    require(viewer, "write:task")
    row = session.execute(
        select(TASKS.c.owner_id, TASKS.c.customer_id, TASKS.c.done_at).where(TASKS.c.id == task_id)
    ).first()
    if row is None:
        raise NotFound("No such task.", key="error.no_task")
    if not allowed(viewer, "tasks:everyone") and row.owner_id != viewer.user_id:
        raise PermissionDenied("Only the task's owner may complete it.", key="error.task_owner")
    if row.done_at is not None:
        raise Conflict("This task is already done.", key="error.task_done")
    session.execute(TASKS.update().where(TASKS.c.id == task_id).values(done_at=now or clock.now()))
    audit.record(session, action="task_done", username=viewer.username, object=f"task:{task_id}")


# --- tickets ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketForm:
    customer_id: int | None
    kind: str
    category: str
    priority: str
    channel: str
    description: str


def create_ticket(
    session: Session, viewer: Viewer, form: TicketForm, *, token: str | None = None, now: datetime | None = None
) -> int:
    """Open a ticket or complaint: its SLA clocks start now (due times from core.sla)."""
    now = (now or clock.now()).replace(microsecond=0)
    customer = _customer(session, viewer, form.customer_id, "ticket")
    errors: Errors = {}
    _choice(errors, "kind", form.kind, m.TICKET_KINDS)
    _choice(errors, "category", form.category, m.TICKET_CATEGORIES)
    _choice(errors, "priority", form.priority, m.TICKET_PRIORITIES)
    _choice(errors, "channel", form.channel, m.TICKET_CHANNELS)
    description = _text(
        errors, "description", form.description, required=True, longest=4000, shortest=5, multiline=True
    )
    if errors:
        raise FieldErrors(errors)
    _claim(session, token, "ticket", viewer, now)
    first_due, resolution_due = due_times(form.kind, form.priority, now)
    new_id = int(
        db.new_id(
            session,
            T.insert().values(
                customer_id=customer["id"],
                kind=form.kind,
                category=form.category,
                priority=form.priority,
                channel=form.channel,
                status="new",
                created_at=now,
                first_response_due=first_due,
                resolution_due=resolution_due,
                description=description,
            ),
        )
    )
    session.execute(
        E.insert().values(
            ticket_id=new_id, at=now, user_id=viewer.user_id, from_status=None, to_status="new", action="created"
        )
    )
    service.ensure_defaults(session)  # the service desk's policies decide the clocks
    ticket = {
        "id": new_id,
        "kind": form.kind,
        "priority": form.priority,
        "category": form.category,
        "channel": form.channel,
        "team": None,
    }
    service.open_ticket_sla(session, ticket, service.tier_of(session, int(customer["id"])), now=now)
    rules.fire(session, "ticket_created", new_id, now=now, episode="created")
    facts.customer_changed(session, [customer["id"]], since=now.date(), as_of=now.date())
    audit.record(
        session,
        action="ticket_created",
        username=viewer.username,
        object=f"customer:{customer['code']}",
        details={"ticket": new_id, "kind": form.kind, "priority": form.priority},
    )
    return new_id


# --- NPS answers received offline --------------------------------------------------------------------


@dataclass(frozen=True)
class NpsForm:
    customer_id: int | None
    score: int | None
    responded_at: datetime
    touchpoint: str
    comment: str | None = None


def record_nps(
    session: Session, viewer: Viewer, form: NpsForm, *, token: str | None = None, now: datetime | None = None
) -> int:
    """Record an NPS answer given on paper or by phone; the cockpit's NPS of its period is refreshed."""
    now = now or clock.now()
    customer = _customer(session, viewer, form.customer_id, "nps")
    errors: Errors = {}
    validators.whole_number(errors, "score", form.score, low=0, high=10)
    _choice(errors, "touchpoint", form.touchpoint, m.NPS_TOUCHPOINTS)
    if form.responded_at > now + timedelta(minutes=1):
        errors["responded_at"] = ("form.error.future", {})
    elif form.responded_at < now - timedelta(days=NPS_BACKDATE_DAYS):
        errors["responded_at"] = ("form.error.too_old", {"days": NPS_BACKDATE_DAYS})
    elif form.responded_at.date() < _first_contact(customer):
        errors["responded_at"] = ("form.error.before_first_contact", {"day": _first_contact(customer).isoformat()})
    comment = _text(errors, "comment", form.comment, required=False, longest=2000, multiline=True)
    if errors:
        raise FieldErrors(errors)
    _claim(session, token, "nps", viewer, now)
    new_id = save_nps(
        session,
        customer,
        score=int(form.score or 0),
        comment=comment,
        at=form.responded_at,
        touchpoint=form.touchpoint,
        now=now,
    )
    audit.record(
        session,
        action="nps_recorded",
        username=viewer.username,
        object=f"customer:{customer['code']}",
        details={"response": new_id, "score": form.score},
    )
    return new_id


def save_nps(
    session: Session,
    customer: dict[str, Any],
    *,
    score: int,
    comment: str | None,
    at: datetime,
    touchpoint: str,
    now: datetime,
    refresh: bool = True,
) -> int:
    """Write one validated NPS answer: the row, the closed loop (a detractor gets a call back from the owner)
    and, unless the caller refreshes many customers at once, the summaries. Callers check and audit."""
    new_id = int(
        db.new_id(
            session,
            N.insert().values(
                customer_id=customer["id"],
                score=score,
                comment=comment,
                responded_at=at.replace(microsecond=0),
                touchpoint=touchpoint,
            ),
        )
    )
    if refresh:
        facts.customer_changed(session, [customer["id"]], since=at.date(), as_of=now.date())
    loyalty.award(session, None, int(customer["id"]), "survey", at=at, reference=f"nps:{new_id}")  # members only
    rules.fire(session, "nps_detractor", new_id, now=now, episode="answer")  # the closed loop's call-back is a rule
    return new_id


# --- profile ---------------------------------------------------------------------------------------------

PROFILE_FIELDS = ("name", "city", "company_size", "tags", "phone", "email")


@dataclass(frozen=True)
class ProfileForm:
    customer_id: int
    name: str
    city: str | None
    company_size: str | None
    tags: str | None
    phone: str | None
    email: str | None


def current_profile(session: Session, viewer: Viewer, customer_id: int, keyring: Keyring) -> ProfileForm:
    """The editable fields as stored now. Contact details are masked for roles that see them masked
    elsewhere (an administrator may replace a number, not read it here: revealing takes a reason)."""
    row = _customer(session, viewer, customer_id, "profile")
    contacts = {kind: pii.decrypt(row[f"{kind}_enc"], keyring) for kind in ("phone", "email")}
    if not allowed(viewer, "contacts:clear"):
        contacts = {kind: pii.mask(kind, value) for kind, value in contacts.items()}
    return ProfileForm(
        customer_id,
        row["name"],
        row["city"],
        row["company_size"],
        row["tags"],
        contacts["phone"],
        contacts["email"],
    )


def update_profile(
    session: Session,
    viewer: Viewer,
    form: ProfileForm,
    *,
    seen: ProfileForm,
    keyring: Keyring,
    now: datetime | None = None,
) -> list[str]:
    """Save the editable fields; `seen` is what the form showed, so a concurrent edit is refused, not overwritten.

    Dimensions (region, industry, kind, owner) are not editable here: they key the summaries' history.
    Returns the names of the fields that changed (audited by name; personal values are not logged).
    """
    stored = current_profile(session, viewer, form.customer_id, keyring)
    if stored != seen:
        raise Conflict(
            "Someone else changed this customer since you opened it; reload and try again.",
            key="error.customer_changed",
        )
    errors: Errors = {}
    name = _text(errors, "name", form.name, required=True, longest=200)
    city = _text(errors, "city", form.city, required=False, longest=64)
    _choice(errors, "company_size", form.company_size, m.COMPANY_SIZES, required=False)
    tags = ",".join(
        sorted({tag.strip().lower() for tag in (form.tags or "").replace("，", ",").split(",") if tag.strip()})
    )
    if len(tags) > 200 or any(len(tag) > 32 for tag in tags.split(",")):
        errors["tags"] = ("form.error.tags", {})
    # a contact detail sent back as shown (masked for an administrator) is unchanged, not a bad number
    if form.phone == stored.phone:
        phone = stored.phone
    else:
        phone = validators.phone(errors, "phone", form.phone)
        if phone is not None and "phone" not in errors and not 7 <= len(pii.normalise("phone", phone)) <= 15:
            errors["phone"] = ("form.error.phone", {})
    if form.email == stored.email:
        email = stored.email
    else:
        email = _text(errors, "email", form.email, required=False, longest=200)
        if email is not None and "email" not in errors and not EMAIL.match(email):
            errors["email"] = ("form.error.email", {})
    if errors:
        raise FieldErrors(errors)
    wanted = ProfileForm(form.customer_id, name or "", city, form.company_size, tags or None, phone, email)
    changed = [f for f in PROFILE_FIELDS if getattr(wanted, f) != getattr(stored, f)]
    if not changed:
        return []
    values: dict[str, object] = {
        f: getattr(wanted, f) for f in ("name", "city", "company_size", "tags") if f in changed
    }
    for kind in ("phone", "email"):
        if kind in changed:
            value = getattr(wanted, kind)
            values[f"{kind}_enc"] = pii.encrypt(value, keyring) if value else None
            values[f"{kind}_hash"] = pii.search_hash(kind, value, keyring)
    session.execute(C.update().where(C.c.id == form.customer_id).values(**values))
    facts.customer_changed(session, [form.customer_id])
    code = session.scalar(select(C.c.code).where(C.c.id == form.customer_id))
    audit.record(
        session,
        action="customer_updated",
        username=viewer.username,
        object=f"customer:{code}",
        details={"fields": changed},
        at=now,
    )
    return changed
