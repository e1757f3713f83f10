"""Retention actions and their measured effect.

Every customer the model warns about (medium or high risk) enters the cohort once, on the day it was first
warned, with a random draw: a share of them (setting CRM_RETENTION_HOLDOUT_PERCENT, default 10 %) is held out
and gets no action, so the churn and revenue of treated customers can be compared with customers nobody
touched. The draw is a keyed hash of the customer id with a salt made once per store: random across
customers, the same for a customer every time it is asked.

An action (call, visit, offer, service review) has an owner, a due date, a playbook of steps, a status and an
outcome; at most one open action per customer, kind and reason; its task appears in the owner's task list.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from core import audit, clock, db, models as m
from core.access import Viewer, require, visible
from core.churn.explain import GROUPS
from core.db import new_id
from core.errors import Conflict, FieldErrors, NotFound, ValidationError
from core.periods import Filters

C, O, U = m.table(m.Customer), m.table(m.Order), m.table(m.User)
RC, RA, TASKS, META = (
    m.table(m.RetentionCohort),
    m.table(m.RetentionAction),
    m.table(m.Task),
    m.table(m.AppMeta),
)
KINDS = ("call", "visit", "offer", "service_review")
REASONS = (*GROUPS, "other")
STATUSES = ("open", "done", "cancelled")
OUTCOMES = ("stays", "undecided", "leaving", "no_contact")
PLAYBOOK_STEPS = {"call": 3, "visit": 4, "offer": 3, "service_review": 4}  # texts: retention.step.<kind>.<n>
HOLDOUT_PERCENT = 10
DUE_WITHIN_DAYS = 90
NOTE_MAX = 500
WARNED = ("medium", "high")


# --- the cohort and its holdout -------------------------------------------------------------------------------


def _salt(session: Session) -> str:
    """The store's own salt for the holdout draw, made on first use (inside the caller's write)."""
    salt = session.scalar(select(META.c.value).where(META.c.key == "retention_salt"))
    if salt is None:
        salt = secrets.token_hex(16)
        session.execute(META.insert().values(key="retention_salt", value=salt))
    return str(salt)


def draw(salt: str, customer_id: int) -> float:
    """A number in [0, 1) that is uniform across customers and fixed for one customer."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def enrol(session: Session, scores: pd.DataFrame, *, as_of: date, holdout_percent: int = HOLDOUT_PERCENT) -> int:
    """Customers warned for the first time (columns customer_id, band, risk) enter the cohort, each with its
    holdout draw. Returns how many entered."""
    warned = scores[scores["band"].isin(WARNED)]
    if warned.empty:
        return 0
    known = set(session.execute(select(RC.c.customer_id)).scalars())
    fresh = warned[~warned["customer_id"].isin(known)]
    if fresh.empty:
        return 0
    salt = _salt(session)
    session.execute(
        RC.insert(),
        [
            {
                "customer_id": int(row.customer_id),
                "warned_on": as_of,
                "band": str(row.band),
                "risk": float(row.risk),
                "held_out": draw(salt, int(row.customer_id)) < holdout_percent / 100,
            }
            for row in fresh.itertuples(index=False)
        ],
    )
    return len(fresh)


def held_out(session: Session, customer_id: int) -> bool:
    return bool(session.scalar(select(RC.c.held_out).where(RC.c.customer_id == customer_id)))


# --- actions --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionForm:
    kind: str
    reason: str
    due_date: date | None
    note: str = ""


def _customer(session: Session, viewer: Viewer, customer_id: int) -> tuple[str, int | None]:
    """(code, owner id) of a customer the viewer may act for; refused otherwise (in core, not by the page)."""
    require(viewer, "write:retention")
    row = session.execute(visible(select(C.c.code, C.c.owner_id).where(C.c.id == customer_id), C, viewer)).first()
    if row is None:
        raise NotFound("No customer with that code or id.", key="customer.not_found")
    return str(row.code), row.owner_id


def _check(form: ActionForm, today: date) -> None:
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    if form.kind not in KINDS:
        errors["kind"] = ("form.error.choice", {})
    if form.reason not in REASONS:
        errors["reason"] = ("form.error.choice", {})
    if form.due_date is None:
        errors["due_date"] = ("form.error.required", {})
    elif not today <= form.due_date <= today + timedelta(days=DUE_WITHIN_DAYS):
        errors["due_date"] = ("retention.error.due", {"days": DUE_WITHIN_DAYS})
    if len(form.note) > NOTE_MAX:
        errors["note"] = ("form.error.too_long", {"n": NOTE_MAX})
    if errors:
        raise FieldErrors(errors)


def create_action(
    session: Session, viewer: Viewer, customer_id: int, form: ActionForm, *, now: datetime | None = None
) -> int:
    """One retention action and its task; refused for a held-out customer and when the same kind for the same
    reason is already open for this customer."""
    now = now or clock.now()
    code, owner = _customer(session, viewer, customer_id)
    _check(form, now.date())
    if held_out(session, customer_id):
        raise ValidationError(
            "This customer is in the holdout: no retention action, so that the effect of actions can be measured.",
            key="retention.error.held_out",
        )
    duplicate = session.scalar(
        select(RA.c.id).where(
            RA.c.customer_id == customer_id, RA.c.kind == form.kind, RA.c.reason == form.reason, RA.c.status == "open"
        )
    )
    if duplicate is not None:
        raise Conflict("The same action for the same reason is already open.", key="retention.error.duplicate")
    owner_id = owner or viewer.user_id
    task_id = new_id(
        session,
        TASKS.insert().values(
            customer_id=customer_id,
            owner_id=owner_id,
            title=f"Retention {form.kind}",
            due_date=form.due_date,
            created_at=now,
            created_by=viewer.user_id,
            source="retention",
        ),
    )
    action_id = new_id(
        session,
        RA.insert().values(
            customer_id=customer_id,
            kind=form.kind,
            reason=form.reason,
            owner_id=owner_id,
            due_date=form.due_date,
            status="open",
            steps_done=0,
            note=form.note.strip() or None,
            task_id=task_id,
            created_at=now,
            created_by=viewer.user_id,
        ),
    )
    audit.record(
        session,
        action="retention_action",
        username=viewer.username,
        object=f"customer:{code}",
        details={"action": int(action_id), "kind": form.kind, "reason": form.reason},
    )
    return int(action_id)


@dataclass(frozen=True)
class Batch:
    created: int
    held_out: int
    already_open: int


def create_for_selection(
    session: Session, viewer: Viewer, customer_ids: list[int], form: ActionForm, *, now: datetime | None = None
) -> Batch:
    """The same action for each selected customer: held-out customers and open duplicates are skipped and
    counted, never an error for the whole selection (every other refusal still stops it)."""
    created = skipped_holdout = skipped_open = 0
    for customer_id in dict.fromkeys(customer_ids):
        try:
            create_action(session, viewer, customer_id, form, now=now)
            created += 1
        except ValidationError as err:
            if err.key != "retention.error.held_out":
                raise
            skipped_holdout += 1
        except Conflict:
            skipped_open += 1
    return Batch(created, skipped_holdout, skipped_open)


def update_action(
    session: Session,
    viewer: Viewer,
    action_id: int,
    *,
    steps_done: int,
    status: str,
    outcome: str | None,
    now: datetime | None = None,
) -> None:
    """Progress through the playbook, then close the action with its outcome (its task is done with it)."""
    row = session.execute(select(RA).where(RA.c.id == action_id)).first()
    if row is None:
        raise NotFound("No such retention action.", key="retention.error.no_action")
    code, _ = _customer(session, viewer, row.customer_id)
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    if status not in STATUSES:
        errors["status"] = ("form.error.choice", {})
    if not 0 <= steps_done <= PLAYBOOK_STEPS[row.kind]:
        errors["steps_done"] = ("form.error.choice", {})
    if outcome is not None and outcome not in OUTCOMES:
        errors["outcome"] = ("form.error.choice", {})
    if status == "done" and outcome is None:
        errors["outcome"] = ("form.error.required", {})
    if errors:
        raise FieldErrors(errors)
    if row.status != "open":
        raise Conflict("This action is already closed.", key="retention.error.closed")
    now = now or clock.now()
    closing = status != "open"
    session.execute(
        RA.update()
        .where(RA.c.id == action_id)
        .values(steps_done=steps_done, status=status, outcome=outcome, closed_at=now if closing else None)
    )
    if closing and row.task_id is not None:
        session.execute(TASKS.update().where(TASKS.c.id == row.task_id, TASKS.c.done_at.is_(None)).values(done_at=now))
    audit.record(
        session,
        action="retention_update",
        username=viewer.username,
        object=f"customer:{code}",
        details={"action": action_id, "status": status, "outcome": outcome, "steps": steps_done},
    )


ACTION_COLUMNS = [
    "id",
    "customer_id",
    "code",
    "name",
    "kind",
    "reason",
    "owner",
    "due_date",
    "status",
    "outcome",
    "steps_done",
    "note",
    "created_at",
]


def actions(
    session: Session,
    filters: Filters,
    *,
    viewer: Viewer,
    customer_id: int | None = None,
    open_only: bool = False,
    limit: int = 200,
) -> pd.DataFrame:
    """Retention actions the viewer may see, newest first (one customer's, or all in scope)."""
    stmt = (
        select(
            RA.c.id,
            RA.c.customer_id,
            C.c.code,
            C.c.name,
            RA.c.kind,
            RA.c.reason,
            U.c.display_name.label("owner"),
            RA.c.due_date,
            RA.c.status,
            RA.c.outcome,
            RA.c.steps_done,
            RA.c.note,
            RA.c.created_at,
        )
        .select_from(RA.join(C, C.c.id == RA.c.customer_id).outerjoin(U, U.c.id == RA.c.owner_id))
        .order_by(RA.c.created_at.desc(), RA.c.id.desc())
        .limit(limit)
    )
    if customer_id is not None:
        stmt = stmt.where(RA.c.customer_id == customer_id)
    if open_only:
        stmt = stmt.where(RA.c.status == "open")
    return pd.DataFrame(db.tuples(session.execute(visible(stmt, C, viewer, filters))), columns=ACTION_COLUMNS)


# --- the measured effect --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arm:
    """Warned customers of one group: how many churned since they were warned (with a 95 % Wilson interval)
    and the revenue per customer since then."""

    customers: int
    churned: int
    revenue_per_customer: float

    @property
    def churn_rate(self) -> float | None:
        return self.churned / self.customers if self.customers else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return wilson(self.churned, self.customers)


@dataclass(frozen=True)
class Effect:
    treated: Arm  # warned, not held out, with at least one action
    untreated: Arm  # warned, not held out, no action (yet)
    held_out: Arm  # warned and held out: nobody acted

    def difference(self) -> tuple[float, float, float] | None:
        """Churn of the held-out minus churn of everyone eligible for actions (treated or not: comparing
        with the treated alone would flatter them, since people choose whom to call), with a 95 % interval."""
        eligible = Arm(
            self.treated.customers + self.untreated.customers,
            self.treated.churned + self.untreated.churned,
            0.0,
        )
        if not eligible.customers or not self.held_out.customers or not eligible.churned + self.held_out.churned:
            return None  # nobody has churned yet in either group: nothing to compare
        p1, n1 = self.held_out.churned / self.held_out.customers, self.held_out.customers
        p2, n2 = eligible.churned / eligible.customers, eligible.customers
        spread = 1.96 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        return p1 - p2, p1 - p2 - spread, p1 - p2 + spread


def wilson(successes: int, total: int, z: float = 1.96) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (sound at small counts, unlike p ± 1.96·se)."""
    if total == 0:
        return None
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def effect(session: Session, filters: Filters, *, viewer: Viewer) -> Effect:
    """Churn and revenue since the warning, per group, over the warned customers in the viewer's scope."""
    acted = exists(select(RA.c.id).where(RA.c.customer_id == RC.c.customer_id))
    arm = case((RC.c.held_out, "held_out"), (acted, "treated"), else_="untreated")
    revenue = (
        select(func.coalesce(func.sum(O.c.amount), 0))
        .where(O.c.customer_id == RC.c.customer_id, O.c.order_date >= RC.c.warned_on)
        .scalar_subquery()
    )
    churned = case((and_(C.c.churned_date.is_not(None), C.c.churned_date >= RC.c.warned_on), 1), else_=0)
    per_customer = visible(
        select(arm.label("arm"), churned.label("churned"), revenue.label("revenue")).select_from(
            RC.join(C, C.c.id == RC.c.customer_id)
        ),
        C,
        viewer,
        filters,
    ).subquery()
    rows = session.execute(
        select(
            per_customer.c.arm,
            func.count().label("customers"),
            func.sum(per_customer.c.churned).label("churned"),
            func.sum(per_customer.c.revenue).label("revenue"),
        ).group_by(per_customer.c.arm)
    ).all()
    found = {r.arm: r for r in rows}

    def one(name: str) -> Arm:
        r = found.get(name)
        if r is None:
            return Arm(0, 0, 0.0)
        return Arm(int(r.customers), int(r.churned or 0), float(r.revenue or 0) / int(r.customers))

    return Effect(one("treated"), one("untreated"), one("held_out"))
