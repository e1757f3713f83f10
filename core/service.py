"""The service desk: SLA policies and calendars in the database, the complaint workflow, per-ticket SLA
results and the actions they fire.

The workflow is accept (受理) -> analyse (分析) -> resolve (解决) -> feedback (反馈), with waiting on the
customer, re-open and close beside it. Every transition is checked here (an illegal one is refused and
writes nothing), takes the ticket version the agent saw (a concurrent change is refused, not
overwritten), appends an event, and recomputes the ticket's SLA results from its events in the same
transaction. `tick` does the same for open tickets as time passes; actions fire once per ticket,
metric and action, each recorded as an event (and a task for its recipient).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, or_, select, true, update
from sqlalchemy.orm import Session

from core import audit, clock, db, facts, models as m, rules, service_facts, service_flow, validators
from core.access import Viewer, holders, require, visible
from core.business_hours import LONGEST_TARGET_MINUTES, Calendar, parse_intervals, parse_schedule
from core.errors import Conflict, FieldErrors, NotFound, ValidationError
from core.sla import COMPLAINT_TARGET, PRIORITY_TARGETS
from core.sla_engine import METRICS, Event, MetricResult, Targets, TicketSla as TicketSlaResult, action_of, evaluate

T, E, C, U = m.table(m.Ticket), m.table(m.TicketEvent), m.table(m.Customer), m.table(m.User)
P, CAL, HOL = m.table(m.SlaPolicy), m.table(m.SlaCalendar), m.table(m.SlaHoliday)
R, FIRE, TASKS, S = m.table(m.TicketSla), m.table(m.SlaFiring), m.table(m.Task), m.table(m.CustomerStat)

H = 60.0

# --- defaults shipped (targets: core.sla's priority table, complaints capped at 2 h / 48 h) --------------

TIGHTER = {"urgent": "urgent", "high": "urgent", "normal": "high", "low": "normal"}  # high-value: one step tighter
OFFICE_CALENDAR = {
    "name": "China office",
    "timezone": "Asia/Shanghai",
    "working_days": "0,1,2,3,4",
    "intervals": "09:00-12:00,13:30-18:00",
}
SCHEDULES = Path(__file__).parent / "calendars"
SHIPPED_SCHEDULE = SCHEDULES / "cn-mainland.csv"  # the State Council's 2025 and 2026 notices, 调休 included


def _policy_row(
    name: str,
    position: int,
    *,
    first: float,
    resolution: float,
    calendar_id: int | None,
    now: datetime,
    **conditions: object,
) -> dict[str, object]:
    return {
        "name": name,
        "position": position,
        "first_response_minutes": first * H,
        "next_response_minutes": first * H,
        "accept_minutes": first * H,
        "analyse_minutes": resolution * H / 2,
        "resolution_minutes": resolution * H,
        "feedback_minutes": 72 * H,
        "warn_share": 0.8,
        "on_warning": "assignee",
        "on_violation": "team_lead",
        "on_success": "none",
        "calendar_id": calendar_id,
        "valid_from": now,
        **conditions,
    }


def _shipped_name(kind: str | None, priority: str | None, tier: str | None) -> str:
    return " · ".join(x for x in (kind and "Complaint", priority, tier and "high value") if x) or "Default"


def policy_label(policy: Mapping[str, object] | None, lang: str) -> str:
    """A policy's name in `lang`. The shipped policies are named after their conditions, so their names are
    composed in the page's language; a name an administrator typed shows as typed."""
    from core.i18n import label, t

    if not policy:
        return t("common.none", lang)
    kind, priority, tier = (policy.get(k) for k in ("kind", "priority", "tier"))
    if policy.get("name") != _shipped_name(kind, priority, tier):  # type: ignore[arg-type]
        return str(policy.get("name"))
    parts = [
        label(group, code, lang)
        for group, code in (("ticket_kind", kind), ("priority", priority), ("tier", tier))
        if code
    ]
    return " · ".join(parts) or t("service.policy.default", lang)


def ensure_defaults(session: Session, *, now: datetime | None = None) -> bool:
    """Install the shipped calendar and policies when the store has none (first start, seed); idempotent."""
    if session.scalar(select(func.count()).select_from(P)):
        return False
    now = now or datetime(2000, 1, 1)
    calendar_id = db.new_id(session, CAL.insert().values(**OFFICE_CALENDAR))
    holidays, workdays = parse_schedule(SHIPPED_SCHEDULE.read_text(encoding="utf-8"))
    _write_days(session, calendar_id, holidays, [(day, None, name) for day, name in workdays])
    rows, position = [], 10
    for kind in ("complaint", None):  # complaints: around the clock, capped at 2 h / 48 h (the seeds)
        for tier in ("high_value", None):  # high-value customers: one priority step tighter
            for priority in m.TICKET_PRIORITIES:
                fr, res = PRIORITY_TARGETS[TIGHTER[priority] if tier else priority]
                if kind:
                    fr, res = min(fr, COMPLAINT_TARGET[0]), min(res, COMPLAINT_TARGET[1])
                name = _shipped_name(kind, priority, tier)
                rows.append(
                    _policy_row(
                        name,
                        position,
                        first=fr,
                        resolution=res,
                        calendar_id=None if kind else calendar_id,
                        now=now,
                        kind=kind,
                        tier=tier,
                        priority=priority,
                    )
                )
                position += 10
    rows.append(
        _policy_row(
            _shipped_name(None, None, None),
            10_000,
            first=4,
            resolution=48,
            calendar_id=calendar_id,
            now=now,  # catch-all
            kind=None,
            tier=None,
            priority=None,
        )
    )
    session.execute(P.insert(), rows)
    return True


# --- policies ---------------------------------------------------------------------------------------

CONDITIONS = ("kind", "priority", "category", "channel", "tier", "team")
TARGET_COLUMNS = tuple(f"{metric}_minutes" for metric in METRICS)


def current_policies(session: Session, at: datetime | None = None) -> list[dict[str, object]]:
    """Policies valid at `at` (default now), in the order they are tried."""
    at = at or clock.now()
    stmt = (
        select(P)
        .where(P.c.valid_from <= at, or_(P.c.valid_to.is_(None), P.c.valid_to > at))
        .order_by(P.c.position, P.c.id)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]


def match_policy(policies: list[dict[str, object]], ticket: dict[str, object]) -> dict[str, object]:
    """The first policy whose every set condition equals the ticket's (tier: the customer's value tier)."""
    for policy in policies:
        if all(policy[c] is None or policy[c] == ticket.get(c) for c in CONDITIONS):
            return policy
    raise ValidationError("No SLA policy matches this ticket and there is no default policy.", key="error.no_policy")


def targets_of(policy: dict[str, object]) -> Targets:
    minutes = {metric: policy[f"{metric}_minutes"] for metric in METRICS}
    return Targets(minutes, float(policy["warn_share"] or 0.8), policy["warn_offset_minutes"])  # type: ignore[arg-type]


def calendar_of(session: Session, calendar_id: int | None, store_timezone: str | None = None) -> Calendar:
    """A policy's calendar (None: around the clock), reading the wall times it is given in `store_timezone`
    (default the display zone, core.clock: the zone every timestamp read from the store is in)."""
    zone = store_timezone or clock.zone_name()
    if calendar_id is None:
        return Calendar(always=True, store_timezone=zone)
    row = session.execute(select(CAL).where(CAL.c.id == calendar_id)).mappings().one()
    entries = session.execute(
        select(HOL.c.first_day, HOL.c.last_day, HOL.c.kind, HOL.c.intervals).where(HOL.c.calendar_id == calendar_id)
    ).all()
    return Calendar(
        timezone=row["timezone"],
        working_days=tuple(int(d) for d in row["working_days"].split(",") if d),
        intervals=parse_intervals(row["intervals"]),
        holidays=tuple((h.first_day, h.last_day) for h in entries if h.kind != "workday"),
        workdays=tuple((h.first_day, parse_intervals(h.intervals or "")) for h in entries if h.kind == "workday"),
        store_timezone=zone,
    )


KEEP = "keep"


@dataclass(frozen=True)
class PolicyChange:
    """New values for a policy; a field left at its default keeps the current value.

    `targets`: metric -> minutes (None removes that target). `conditions`: all six conditions at once
    (None in it: any). `calendar`: a calendar id, "always" (around the clock) or KEEP."""

    targets: dict[str, float | None] = field(default_factory=dict)
    conditions: dict[str, str | None] | None = None
    calendar: int | str = KEEP
    name: str | None = None
    position: int | None = None
    warn_share: float | None = None
    warn_offset_minutes: float | None = None
    on_warning: str | None = None
    on_violation: str | None = None
    on_success: str | None = None


CONDITION_CODES: dict[str, tuple[str, ...] | None] = {
    "kind": m.TICKET_KINDS,
    "priority": m.TICKET_PRIORITIES,
    "category": m.TICKET_CATEGORIES,
    "channel": m.TICKET_CHANNELS,
    "tier": ("high_value", "potential", "general", "churn_risk"),
    "team": None,
}


def _policy_values(session: Session, change: PolicyChange, base: dict[str, object]) -> dict[str, object]:
    """`base` with the change applied; every invalid field is reported at once (FieldErrors), nothing written."""
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    for metric, minutes in change.targets.items():
        if metric not in METRICS:
            errors[metric] = ("form.error.choice", {})
        elif minutes is not None and minutes <= 0:
            errors[metric] = ("form.error.positive", {})
        elif minutes is not None and minutes > LONGEST_TARGET_MINUTES:  # the engine answers within a year
            errors[metric] = ("form.error.range", {"low": 1, "high": f"{LONGEST_TARGET_MINUTES:,}"})
    for name, value in (change.conditions or {}).items():
        allowed = CONDITION_CODES.get(name, ())
        if name not in CONDITION_CODES or (value is not None and allowed is not None and value not in allowed):
            errors[name] = ("form.error.choice", {})
    if (
        change.calendar not in (KEEP, "always")
        and session.scalar(select(CAL.c.id).where(CAL.c.id == change.calendar)) is None
    ):
        errors["calendar"] = ("form.error.choice", {})
    if change.name is not None and not change.name.strip():
        errors["name"] = ("form.error.required", {})
    if change.position is not None and change.position < 0:
        errors["position"] = ("form.error.positive", {})
    if change.warn_share is not None and not 0 < change.warn_share < 1:
        errors["warn_share"] = ("form.error.range", {"low": 0, "high": 1})
    if change.warn_offset_minutes is not None and change.warn_offset_minutes < 0:
        errors["warn_offset_minutes"] = ("form.error.positive", {})
    for name in ("on_warning", "on_violation", "on_success"):
        value = getattr(change, name)
        if value is not None and value not in m.SLA_ACTION_TARGETS:
            errors[name] = ("form.error.choice", {})
    values = dict(base)
    values.update({f"{metric}_minutes": minutes for metric, minutes in change.targets.items()})
    if not errors and not any(values.get(f"{metric}_minutes") for metric in METRICS):
        errors["first_response"] = ("form.error.required", {})  # a policy with no target at all measures nothing
    if errors:
        raise FieldErrors(errors)
    if change.conditions is not None:
        values.update({name: change.conditions.get(name) for name in CONDITIONS})
    if change.calendar != KEEP:
        values["calendar_id"] = None if change.calendar == "always" else int(change.calendar)
    for name in ("name", "position", "warn_share", "warn_offset_minutes", "on_warning", "on_violation", "on_success"):
        if getattr(change, name) is not None:
            values[name] = getattr(change, name).strip() if name == "name" else getattr(change, name)
    return values


def create_policy(session: Session, viewer: Viewer, change: PolicyChange, *, now: datetime | None = None) -> int:
    """An administrator adds a policy (tried at its position among the others, for tickets opened from now)."""
    require(viewer, "service:policies")
    now = now or clock.now()
    base: dict[str, object] = {
        "name": "",
        "position": 5000,
        "warn_share": 0.8,
        "warn_offset_minutes": None,
        "on_warning": "assignee",
        "on_violation": "team_lead",
        "on_success": "none",
        "calendar_id": None,
        **dict.fromkeys(CONDITIONS),
        **dict.fromkeys(TARGET_COLUMNS),
    }
    values = _policy_values(session, replace(change, name=change.name or ""), base)
    values.update(valid_from=now, valid_to=None, replaces_id=None)
    new_id = db.new_id(session, P.insert().values(**values))
    audit.record(
        session,
        action="sla_policy_changed",
        username=viewer.username,
        object=f"sla_policy:{new_id}",
        details={"created": True, "targets": change.targets, "conditions": change.conditions},
        at=now,
    )
    return new_id


def change_policy(
    session: Session,
    viewer: Viewer,
    policy_id: int,
    change: PolicyChange,
    *,
    move_open: bool,
    now: datetime | None = None,
) -> int:
    """An administrator edits a policy: this version ends now and a new one starts. With `move_open`, open
    tickets on the old version move to the new one (their clocks recomputed from their own events, so no
    pause time is lost); without it they finish under the version they started with. Audited."""
    require(viewer, "service:policies")
    now = now or clock.now()
    old = session.execute(select(P).where(P.c.id == policy_id, P.c.valid_to.is_(None))).mappings().first()
    if old is None:
        raise NotFound("No current policy with that id.", key="error.no_policy_id")
    values = _policy_values(session, change, {k: v for k, v in old.items() if k != "id"})
    values.update(valid_from=now, valid_to=None, replaces_id=policy_id)
    session.execute(P.update().where(P.c.id == policy_id).values(valid_to=now))
    new_id = db.new_id(session, P.insert().values(**values))
    moved = 0
    if move_open:
        open_ids = session.scalars(
            select(T.c.id).where(T.c.policy_id == policy_id, T.c.status.in_(m.OPEN_TICKET_STATUSES))
        ).all()
        with service_facts.tickets_changing(session, open_ids):
            for ticket_id in open_ids:
                session.execute(T.update().where(T.c.id == ticket_id).values(policy_id=new_id, version=T.c.version + 1))
                _event(session, ticket_id, now, viewer, "policy_change", note=f"policy {policy_id} -> {new_id}")
                recompute(session, ticket_id, now=now)
        moved = len(open_ids)
    audit.record(
        session,
        action="sla_policy_changed",
        username=viewer.username,
        object=f"sla_policy:{policy_id}",
        details={
            "new_version": new_id,
            "move_open": move_open,
            "moved": moved,
            "targets": change.targets,
            "conditions": change.conditions,
        },
        at=now,
    )
    return new_id


# --- per-ticket results ------------------------------------------------------------------------------


def _events(session: Session, ticket_id: int) -> list[Event]:
    return _events_by_ticket(session, [ticket_id], E.c.ticket_id == ticket_id)[ticket_id]


def _known_at(result: MetricResult) -> datetime | None:
    if result.state == "met":
        return result.completed_at
    if result.state == "breached":
        return result.breached_at
    return None


def recompute(
    session: Session, ticket_id: int, *, now: datetime, store_timezone: str | None = None
) -> dict[str, MetricResult]:
    """Evaluate one ticket's clocks from its events, store them in ticket_sla, mirror the first-response
    and resolution due times onto the ticket (what the cockpit counts), and fire due actions."""
    with service_facts.tickets_changing(session, [ticket_id]):
        return _recompute(session, ticket_id, now=now, store_timezone=store_timezone)


def _recompute(
    session: Session, ticket_id: int, *, now: datetime, store_timezone: str | None
) -> dict[str, MetricResult]:
    ticket = session.execute(select(T).where(T.c.id == ticket_id)).mappings().one()
    events = _events(session, ticket_id)
    service_flow.store_steps(session, {ticket_id: events})
    policy = (
        session.execute(select(P).where(P.c.id == ticket["policy_id"])).mappings().first()
        if ticket["policy_id"]
        else None
    )
    if policy is None:
        return {}
    calendar = calendar_of(session, policy["calendar_id"], store_timezone)
    sla = evaluate(events, targets_of(dict(policy)), calendar, now)
    session.execute(delete(R).where(R.c.ticket_id == ticket_id))
    rows = _result_rows(ticket_id, sla)
    if rows:
        session.execute(R.insert(), rows)
    mirror = _mirror(sla, calendar, now)
    if mirror:
        session.execute(T.update().where(T.c.id == ticket_id).values(**mirror))
    _fire(session, dict(ticket), dict(policy), sla.metrics, now)
    return sla.metrics


def _result_rows(ticket_id: int, sla: TicketSlaResult) -> list[dict[str, object]]:
    """ticket_sla rows of one evaluation (the customer's wait and the agents' time on the resolution row)."""
    rows = []
    for metric, result in sla.metrics.items():
        resolution = metric == "resolution"
        rows.append(
            {
                "ticket_id": ticket_id,
                "metric": metric,
                "target_minutes": result.target_minutes,
                "elapsed_minutes": round(result.elapsed_minutes, 2),
                "state": result.state,
                "due_at": result.due_at,
                "warn_at": result.warn_at,
                "completed_at": result.completed_at,
                "breached_at": result.breached_at,
                "known_at": _known_at(result),
                "wait_minutes": round(sla.customer_wait_minutes, 2) if resolution else None,
                "agent_minutes": round(sla.agent_minutes, 2) if resolution else None,
            }
        )
    return rows


def _mirror(sla: TicketSlaResult, calendar: Calendar, now: datetime) -> dict[str, datetime]:
    """The first-response and resolution due times the cockpit counts with, as the engine sees them: the
    breach time, else the running due time, else when it was done. A paused clock cannot breach, so its due
    time is pushed on by what is left, from now (every tick moves it)."""
    mirror = {}
    for metric, column in (("first_response", "first_response_due"), ("resolution", "resolution_due")):
        result = sla.metrics.get(metric)
        if result is None:
            continue
        due = result.breached_at or result.due_at or result.completed_at
        if result.state == "paused":
            due = calendar.add_working_minutes(now, result.left_minutes)
        if due is not None:
            mirror[column] = due
    return mirror


ACTION_OF_STATE = {"at_risk": "warning", "breached": "violation", "met": "success"}


def _recipient(session: Session, ticket: dict[str, object], who: str) -> int | None:
    if who == "assignee":
        return ticket["assignee_id"]  # type: ignore[return-value]
    if who == "team_lead":
        same_team = true() if ticket["team"] is None else U.c.team == ticket["team"]  # no team: any lead
        lead = session.scalar(
            select(U.c.id).where(U.c.role == "team_lead", U.c.active.is_(True), same_team).order_by(U.c.id)
        )
        if lead is not None:
            return lead
    return session.scalar(select(U.c.id).where(U.c.role == "admin", U.c.active.is_(True)).order_by(U.c.id))


def _account_manager(session: Session, ticket: dict[str, object]) -> int | None:
    """The active account manager who owns the ticket's customer, if any."""
    return session.scalar(
        select(U.c.id)
        .select_from(C.join(U, U.c.id == C.c.owner_id))
        .where(C.c.id == ticket["customer_id"], U.c.active.is_(True), U.c.role == "account_manager")
    )


def tell(
    session: Session, ticket: Mapping[str, object], owner: int | None, title: str, *, source: str, now: datetime
) -> None:
    """A task due today about a ticket, for the person who must act on it (the SLA actions, escalation warnings)."""
    session.execute(
        TASKS.insert().values(
            customer_id=ticket["customer_id"],
            owner_id=owner,
            title=title,
            due_date=now.date(),
            created_at=now,
            ticket_id=ticket["id"],
            source=source,
        )
    )


def _fire(
    session: Session,
    ticket: dict[str, object],
    policy: dict[str, object],
    metrics: dict[str, MetricResult],
    now: datetime,
) -> int:
    """Fire each (metric, action) at most once per ticket: an event on the ticket, and a task for the recipient."""
    fired = {
        (r.metric, r.action)
        for r in session.execute(select(FIRE.c.metric, FIRE.c.action).where(FIRE.c.ticket_id == ticket["id"]))
    }
    count = 0
    for metric, result in metrics.items():
        action = ACTION_OF_STATE.get(result.state)
        if action is None or (metric, action) in fired:
            continue
        if action == "warning" and (metric, "violation") in fired:
            continue
        session.execute(FIRE.insert().values(ticket_id=ticket["id"], metric=metric, action=action, at=now))
        _event(session, int(ticket["id"]), now, None, f"sla_{action}", note=metric)  # type: ignore[call-overload]
        # who is told is up to the rules (core.rules): the shipped ones tell whom the policy names, and the
        # customer's account manager of a breach
        rules.fire(
            session,
            RULE_TRIGGERS[action],
            int(ticket["id"]),  # type: ignore[call-overload]
            now=now,
            episode=metric,
            extra={"policy": policy, "sla_action": action, "metric": metric},
        )
        count += 1
    return count


RULE_TRIGGERS = {"warning": "ticket_at_risk", "violation": "ticket_breached", "success": "sla_met"}


def tick(session: Session, *, now: datetime | None = None, store_timezone: str | None = None) -> int:
    """Recompute the open tickets whose clocks change state by `now` (at risk, breached) and fire actions, then
    tell team leads of complaints newly likely to escalate (core.service_escalation). Returns how many tickets
    were evaluated or flagged. Run by `python -m core sla-tick` and by the Service page."""
    from core import service_escalation  # it uses this module's recipients and events

    now = now or clock.now()
    # only clocks whose state changes by `now`: a running one reaching its warning point or target, an
    # at-risk one reaching its target, and paused ones (their mirrored due time moves on)
    due = or_(
        and_(R.c.state == "running", or_(R.c.warn_at <= now, R.c.due_at <= now)),
        and_(R.c.state == "at_risk", R.c.due_at <= now),
        R.c.state == "paused",
    )
    ids = session.scalars(select(R.c.ticket_id).where(due).distinct()).all()
    with service_facts.tickets_changing(session, ids):  # the days they count on summarised once, not per ticket
        for ticket_id in ids:
            recompute(session, ticket_id, now=now, store_timezone=store_timezone)
    routed = service_escalation.route(session, now=now)
    facts.set_meta(session, "sla_tick_at", now.isoformat(timespec="seconds"))
    return len(ids) + routed


def last_tick(session: Session) -> datetime | None:
    value = facts.get_meta(session, "sla_tick_at")
    return datetime.fromisoformat(value) if value else None


# --- the workflow -----------------------------------------------------------------------------------

# action -> (statuses it may start from, status it leads to; None keeps the status)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "accept": (("new",), "accepted"),
    "analyse": (("accepted",), "analysing"),
    "resolve": (("accepted", "analysing"), "resolved"),
    "feedback": (("resolved",), "closed"),
    "close": (("resolved",), "closed"),
    "wait": (("accepted", "analysing"), "waiting"),
    "customer_reply": (("waiting",), None),  # back to the status it was waiting from
    "customer_message": (("new", "accepted", "analysing"), None),
    "agent_reply": (("new", "accepted", "analysing", "waiting"), None),
    "reopen": (("resolved", "closed"), "accepted"),
}


@dataclass(frozen=True)
class Step:
    """One workflow action on a ticket, with the version the agent saw and the fields it needs."""

    ticket_id: int
    action: str
    version: int
    findings: str | None = None
    root_cause: str | None = None
    resolution: str | None = None
    csat: int | None = None
    comment: str | None = None
    note: str | None = None


def add_note(session: Session, viewer: Viewer, ticket_id: int, text: str, *, now: datetime | None = None) -> None:
    """An internal note on a ticket, from whoever may write on the customer's tickets within their scope (an
    account manager on their own customer's ticket, the desk on any): kept in the ticket's history, where the
    agent reads it; the clocks ignore it. FieldErrors for an empty, too long or control-character note."""
    require(viewer, "write:ticket")
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    cleaned = validators.text(errors, "note", text, required=True, longest=200, multiline=False)
    if errors:
        raise FieldErrors(errors)
    customer_id = session.scalar(select(T.c.customer_id).where(T.c.id == ticket_id))
    if customer_id is None or session.scalar(visible(select(C.c.id).where(C.c.id == customer_id), C, viewer)) is None:
        raise NotFound("No such ticket.", key="service.no_ticket")
    _event(session, ticket_id, now or clock.now(), viewer, "note", note=cleaned)


def _event(
    session: Session,
    ticket_id: int,
    at: datetime,
    viewer: Viewer | None,
    action: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
) -> None:
    if to_status is None:
        to_status = session.scalar(select(T.c.status).where(T.c.id == ticket_id))
    session.execute(
        E.insert().values(
            ticket_id=ticket_id,
            at=at,
            user_id=viewer.user_id if viewer else None,
            from_status=from_status,
            to_status=to_status,
            action=action,
            note=(note or None) and note[:200],
        )
    )


def _validate(step: Step) -> dict[str, object]:
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    values: dict[str, object] = {}
    if step.action == "analyse":
        findings = validators.text(
            errors, "findings", step.findings, required=False, shortest=5, longest=4000, multiline=True
        )
        if findings is None:
            errors.setdefault("findings", ("form.error.too_short", {"n": 5}))
        if step.root_cause not in m.ROOT_CAUSES:
            errors["root_cause"] = ("form.error.choice", {})
        values.update(findings=findings, root_cause=step.root_cause)
    if step.action == "resolve":
        resolution = validators.text(
            errors, "resolution", step.resolution, required=False, shortest=5, longest=4000, multiline=True
        )
        if resolution is None:
            errors.setdefault("resolution", ("form.error.too_short", {"n": 5}))
        values["resolution"] = resolution
    if step.action == "feedback":
        csat = validators.whole_number(errors, "csat", step.csat, low=1, high=5)
        comment = validators.text(errors, "comment", step.comment, required=False, longest=2000, multiline=True)
        values.update(csat=csat, feedback_comment=comment)
    if step.note is not None:
        validators.text(errors, "note", step.note, required=False, longest=200)
    if errors:
        raise FieldErrors(errors)
    return values


class IllegalTransition(ValidationError):
    """The action is not possible from the ticket's status; `key` names the message for the UI."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def act(
    session: Session, viewer: Viewer, step: Step, *, now: datetime | None = None, store_timezone: str | None = None
) -> int:
    """Apply one workflow step; returns the ticket's new version. Refused with nothing written when the role
    may not, the step is not legal from the current status, a field is invalid, or the ticket changed since
    the agent loaded it (Conflict: "changed by someone else, reload")."""
    require(viewer, "tickets:work")
    now = (now or clock.now()).replace(microsecond=0)
    ticket = session.execute(select(T).where(T.c.id == step.ticket_id)).mappings().first()
    if ticket is None:
        raise NotFound("No such ticket.", key="service.no_ticket")
    if ticket["version"] != step.version:
        raise Conflict("This ticket was changed by someone else; reload it and try again.", key="service.conflict")
    if step.action not in TRANSITIONS:
        raise ValidationError(f"Unknown action {step.action!r}.", key="error.role_may_not")
    allowed_from, target = TRANSITIONS[step.action]
    status = ticket["status"]
    if status not in allowed_from:
        key = "service.illegal.closed" if status == "closed" else f"service.illegal.{step.action}"
        raise IllegalTransition(key, f"Cannot {step.action.replace('_', ' ')} a ticket that is {status}.")
    values = _validate(step)
    if step.action == "customer_reply":
        target = (
            session.scalar(
                select(E.c.from_status)
                .where(E.c.ticket_id == step.ticket_id, E.c.action == "wait")
                .order_by(E.c.at.desc(), E.c.id.desc())
            )
            or "accepted"
        )
    new_status = target or status
    values.update(status=new_status, version=ticket["version"] + 1)
    if step.action in ("accept", "agent_reply") and ticket["first_response_at"] is None:
        values["first_response_at"] = now
    if step.action == "accept" and ticket["assignee_id"] is None:
        values["assignee_id"] = viewer.user_id
    if step.action == "resolve":
        values["resolved_at"] = now
    if step.action in ("feedback", "close"):
        values["closed_at"] = now
    if step.action == "feedback":
        values["feedback_at"] = now
    if step.action == "reopen":
        values.update(resolved_at=None, closed_at=None, reopened=ticket["reopened"] + 1)
    with service_facts.tickets_changing(session, [step.ticket_id]):  # a re-open moves its resolved day
        stmt = update(T).where(T.c.id == step.ticket_id, T.c.version == step.version).values(**values)
        if db.affected(session, stmt) != 1:  # someone saved between our read and this write
            raise Conflict("This ticket was changed by someone else; reload it and try again.", key="service.conflict")
        _event(
            session, step.ticket_id, now, viewer, step.action, from_status=status, to_status=new_status, note=step.note
        )
        recompute(session, step.ticket_id, now=now, store_timezone=store_timezone)
    customer = session.execute(
        select(C.c.region, C.c.industry, C.c.kind, C.c.owner_id, C.c.id).where(C.c.id == ticket["customer_id"])
    ).one()
    if step.action == "feedback" and step.csat is not None:  # the low-CSAT call-back is a rule (core.rules)
        rules.fire(session, "csat_low", step.ticket_id, now=now, episode=f"csat:{ticket['reopened']}")
    if step.action == "reopen":
        rules.fire(session, "ticket_reopened", step.ticket_id, now=now, episode=f"reopen:{ticket['reopened'] + 1}")
    facts.customer_changed(
        session, [customer.id], since=now.date() if step.action == "feedback" else None, as_of=now.date()
    )
    audit.record(
        session,
        action="ticket_step",
        username=viewer.username,
        object=f"ticket:{step.ticket_id}",
        at=now,
        details={"step": step.action, "from": status, "to": new_status},
    )  # what was done, not the words
    return int(values["version"])  # type: ignore[call-overload]


FOLLOW_UP_DAYS = 2  # a detractor or an unhappy CSAT gets a call from the account manager within two days


def follow_up(
    session: Session,
    *,
    customer_id: int,
    owner_id: int | None,
    now: datetime,
    source: str,
    title: str,
    ticket_id: int | None = None,
) -> None:
    """Closed loop: a follow-up task for the customer's owner, due FOLLOW_UP_DAYS later."""
    session.execute(
        TASKS.insert().values(
            customer_id=customer_id,
            owner_id=owner_id,
            title=title[:200],
            due_date=now.date() + timedelta(days=FOLLOW_UP_DAYS),
            created_at=now,
            ticket_id=ticket_id,
            source=source,
        )
    )


def open_ticket_sla(session: Session, ticket: dict[str, object], tier: str | None, *, now: datetime) -> int:
    """Give a new ticket its policy (first match among those valid now) and compute its first clocks."""
    policy = match_policy(current_policies(session, now), {**ticket, "tier": tier})
    session.execute(T.update().where(T.c.id == ticket["id"]).values(policy_id=policy["id"]))
    recompute(session, int(ticket["id"]), now=now)  # type: ignore[call-overload]
    return int(policy["id"])  # type: ignore[call-overload]


def assign(
    session: Session, viewer: Viewer, ticket_ids: list[int], assignee_id: int, *, now: datetime | None = None
) -> int:
    """Bulk assignment by a team lead or an administrator (an event on each ticket; versions move on)."""
    require(viewer, "tickets:assign")
    now = now or clock.now()
    agent = session.execute(
        select(U.c.id, U.c.team).where(
            U.c.id == assignee_id, U.c.active.is_(True), U.c.role.in_(holders("tickets:work"))
        )
    ).first()
    if agent is None:
        raise FieldErrors({"assignee": ("form.error.choice", {})})
    count = 0
    with service_facts.tickets_changing(session, ticket_ids):  # their outcomes count for the new agent and team
        for ticket_id in ticket_ids:
            if db.affected(
                session,
                T.update()
                .where(T.c.id == ticket_id, T.c.status != "closed")
                .values(assignee_id=assignee_id, team=agent.team, version=T.c.version + 1),
            ):
                _event(session, ticket_id, now, viewer, "assign", note=f"user {assignee_id}")
                count += 1
    audit.record(
        session,
        action="tickets_assigned",
        username=viewer.username,
        object=f"user:{assignee_id}",
        at=now,
        details={"tickets": count},
    )
    return count


def tier_of(session: Session, customer_id: int) -> str | None:
    return session.scalar(select(S.c.tier).where(S.c.customer_id == customer_id))


def _events_by_ticket(session: Session, ticket_ids: list[int], where: ColumnElement[bool]) -> dict[int, list[Event]]:
    """The events of a chunk of tickets (`where` selects them), each ticket's in time order; none for a ticket
    without events."""
    events: dict[int, list[Event]] = {ticket_id: [] for ticket_id in ticket_ids}
    for row in session.execute(
        select(E.c.ticket_id, E.c.at, E.c.action, E.c.to_status).where(where).order_by(E.c.ticket_id, E.c.at, E.c.id)
    ):
        events[row.ticket_id].append(Event(row.at, action_of(row.action, row.to_status)))
    return events


def rebuild_steps(session: Session, *, chunk: int = 20_000) -> int:
    """Every ticket's ticket_steps row from its events, `chunk` tickets at a time (a store upgraded to that
    table: far cheaper than re-evaluating every SLA clock). Returns the tickets done."""
    session.execute(delete(m.table(m.TicketSteps)))
    done, last_id = 0, 0
    while ids := list(session.scalars(select(T.c.id).where(T.c.id > last_id).order_by(T.c.id).limit(chunk))):
        service_flow.store_steps(session, _events_by_ticket(session, ids, E.c.ticket_id.between(ids[0], ids[-1])))
        done, last_id = done + len(ids), ids[-1]
    return done


def rebuild_ticket_sla(
    session: Session,
    *,
    now: datetime,
    store_timezone: str | None = None,
    chunk: int = 20_000,
    ticket_ids: list[int] | None = None,
) -> int:
    """Give every ticket (or those of `ticket_ids`: an import's) its policy when it has none and recompute its
    SLA results in bulk (seed, import, or a store from before the service desk), `chunk` tickets at a time so
    memory stays flat. Actions are not fired for history. Returns the number of result rows written."""
    ensure_defaults(session)
    policies = current_policies(session, now)
    by_id = {p["id"]: dict(p) for p in session.execute(select(P)).mappings()}
    calendars_by_id: dict[object, Calendar] = {}
    wanted = sorted(set(ticket_ids)) if ticket_ids is not None else None
    if wanted is None:
        session.execute(delete(R))
        session.execute(delete(m.table(m.TicketSteps)))
    written, last_id = 0, 0
    while True:
        if wanted is not None:
            part, wanted = wanted[:chunk], wanted[chunk:]
            if not part:
                break
            session.execute(delete(R).where(R.c.ticket_id.in_(part)))
        tickets = (
            session.execute(
                select(
                    T.c.id,
                    T.c.kind,
                    T.c.priority,
                    T.c.category,
                    T.c.channel,
                    T.c.team,
                    T.c.customer_id,
                    T.c.policy_id,
                    S.c.tier,
                )
                .select_from(T.outerjoin(S, S.c.customer_id == T.c.customer_id))
                .where(T.c.id.in_(part) if wanted is not None else T.c.id > last_id)
                .order_by(T.c.id)
                .limit(chunk)
            )
            .mappings()
            .all()
        )
        if not tickets:
            break
        first, last_id = tickets[0]["id"], tickets[-1]["id"]
        assigned = {t["id"]: int(t["policy_id"] or match_policy(policies, dict(t))["id"]) for t in tickets}  # type: ignore[arg-type]
        new_policies = [{"tid": t["id"], "pid": assigned[t["id"]]} for t in tickets if not t["policy_id"]]
        if new_policies:
            session.execute(
                update(T).where(T.c.id == bindparam("tid")).values(policy_id=bindparam("pid")), new_policies
            )
        in_chunk = E.c.ticket_id.in_(part) if wanted is not None else E.c.ticket_id.between(first, last_id)
        events = _events_by_ticket(session, list(assigned), in_chunk)
        service_flow.store_steps(session, events)
        rows, mirrors = [], []
        for ticket_id, policy_id in assigned.items():
            policy = by_id[policy_id]
            if policy["calendar_id"] not in calendars_by_id:
                calendars_by_id[policy["calendar_id"]] = calendar_of(session, policy["calendar_id"], store_timezone)
            calendar = calendars_by_id[policy["calendar_id"]]
            sla = evaluate(events[ticket_id], targets_of(policy), calendar, now)
            rows += _result_rows(ticket_id, sla)
            mirror = _mirror(sla, calendar, now)
            if len(mirror) == 2:
                mirrors.append({"tid": ticket_id, "fr": mirror["first_response_due"], "res": mirror["resolution_due"]})
        if rows:
            session.execute(R.insert(), rows)
        if mirrors:
            session.execute(
                update(T)
                .where(T.c.id == bindparam("tid"))
                .values(first_response_due=bindparam("fr"), resolution_due=bindparam("res")),
                mirrors,
            )
        written += len(rows)
    if ticket_ids is None:
        facts.set_meta(session, "ticket_sla_as_of", now.isoformat(timespec="seconds"))
        db.analyze(session, [R, m.table(m.TicketSteps)])  # every row rewritten: PostgreSQL's statistics follow
    service_facts.rebuild(session)  # an import's tickets may span years: rebuilt, not patched day by day
    return written


def calendars(session: Session) -> list[dict[str, object]]:
    """Every calendar with its holidays as text ('2026-10-01..2026-10-08 National Day' per line) and its make-up
    working days ('2026-09-20 National Day', or '2026-09-20 09:00-12:00 National Day' with their own hours)."""
    out = []
    for row in session.execute(select(CAL).order_by(CAL.c.id)).mappings():
        entries = session.execute(
            select(HOL.c.first_day, HOL.c.last_day, HOL.c.name, HOL.c.kind, HOL.c.intervals)
            .where(HOL.c.calendar_id == row["id"])
            .order_by(HOL.c.first_day)
        ).all()
        holidays = [f"{e.first_day}..{e.last_day} {e.name or ''}".strip() for e in entries if e.kind != "workday"]
        workdays = [
            " ".join(str(x) for x in (e.first_day, e.intervals, e.name) if x) for e in entries if e.kind == "workday"
        ]
        out.append({**row, "holidays": "\n".join(holidays), "workdays": "\n".join(workdays)})
    return out


def parse_workdays(text: str) -> list[tuple[date, str | None, str | None]]:
    """Lines of 'YYYY-MM-DD [HH:MM-HH:MM,...] name': a make-up working day, its own hours if given (else the
    calendar's), and a name; a ValidationError names the bad line."""
    days = []
    for line in (raw.strip() for raw in text.splitlines() if raw.strip()):
        first, _, rest = line.partition(" ")
        hours, _, name = rest.strip().partition(" ")
        if not (":" in hours and "-" in hours):  # no hours given: it is all name
            hours, name = "", rest.strip()
        try:
            day = date.fromisoformat(first)
        except ValueError:
            raise ValidationError(
                f"{line!r} is not a make-up working day like 2026-09-20 National Day.",
                key="error.workday_line",
                line=line,
            ) from None
        parse_intervals(hours)  # says what is wrong with them
        days.append((day, hours.replace("，", ",") or None, name.strip() or None))
    return days


def parse_holidays(text: str) -> list[tuple[date, date, str | None]]:
    """Lines of 'YYYY-MM-DD..YYYY-MM-DD name' or 'YYYY-MM-DD name'; a ValidationError names the bad line."""
    holidays = []
    for line in (raw.strip() for raw in text.splitlines() if raw.strip()):
        span, _, name = line.partition(" ")
        first, _, last = span.partition("..")
        try:
            holidays.append((date.fromisoformat(first), date.fromisoformat(last or first), name.strip() or None))
        except ValueError:
            raise ValidationError(
                f"{line!r} is not a holiday like 2026-10-01..2026-10-08 National Day.",
                key="error.holiday_line",
                line=line,
            ) from None
    return holidays


def _write_days(
    session: Session,
    calendar_id: int,
    holidays: list[tuple[date, date, str | None]],
    workdays: list[tuple[date, str | None, str | None]],
) -> None:
    """A calendar's holiday ranges and make-up working days (day, own hours or None, name) as stored rows."""
    for first, last, name in holidays:
        session.execute(
            HOL.insert().values(calendar_id=calendar_id, first_day=first, last_day=last, name=name and name[:64])
        )
    for day, hours, name in workdays:
        session.execute(
            HOL.insert().values(
                calendar_id=calendar_id,
                first_day=day,
                last_day=day,
                name=name and name[:64],
                kind="workday",
                intervals=hours,
            )
        )


def import_schedule(session: Session, viewer: Viewer, calendar_id: int, text: str) -> tuple[int, int]:
    """An official schedule (see `parse_schedule`) put into a calendar: the file's years replace what the
    calendar had for those years, other years are kept; saved through `save_calendar` (validated, open tickets
    re-evaluated, audited). Returns the holiday ranges and make-up days imported."""
    require(viewer, "service:policies")
    holidays, workdays = parse_schedule(text)
    if not holidays and not workdays:
        raise ValidationError("The file lists no holiday and no make-up working day.", key="error.schedule_empty")
    years = {d.year for d, _ in workdays} | {y for first, last, _ in holidays for y in (first.year, last.year)}
    row = next((r for r in calendars(session) if r["id"] == calendar_id), None)
    if row is None:
        raise NotFound("No such calendar.", key="error.no_calendar")

    def kept(text: object) -> list[str]:
        return [line for line in str(text).splitlines() if line and int(line[:4]) not in years]

    save_calendar(
        session,
        viewer,
        calendar_id,
        timezone=str(row["timezone"]),
        working_days=str(row["working_days"]),
        intervals=str(row["intervals"]),
        holidays="\n".join(
            kept(row["holidays"]) + [f"{first}..{last} {name or ''}".strip() for first, last, name in holidays]
        ),
        workdays="\n".join(kept(row["workdays"]) + [f"{day} {name or ''}".strip() for day, name in workdays]),
    )
    return len(holidays), len(workdays)


def save_calendar(
    session: Session,
    viewer: Viewer,
    calendar_id: int,
    *,
    timezone: str,
    working_days: str,
    intervals: str,
    holidays: str,
    workdays: str = "",
) -> None:
    """An administrator edits a calendar. Refused (nothing written) without working time, with overlapping
    intervals or overlapping holidays, a make-up day that is also a holiday, or an unknown time zone. Open
    tickets are re-evaluated. Audited."""
    require(viewer, "service:policies")
    try:
        days = tuple(sorted({int(d) for d in working_days.replace("，", ",").split(",") if d.strip()}))
    except ValueError:
        raise ValidationError(
            "Working days are numbers from 0 (Monday) to 6 (Sunday), separated by commas.", key="error.working_days"
        ) from None
    parsed = parse_holidays(holidays)
    worked = parse_workdays(workdays)
    Calendar(
        timezone=timezone,
        working_days=days,
        intervals=parse_intervals(intervals),
        holidays=tuple((a, b) for a, b, _ in parsed),
        workdays=tuple((day, parse_intervals(hours or "")) for day, hours, _ in worked),
    )  # validates: raises before anything is written
    if (
        db.affected(
            session,
            CAL.update()
            .where(CAL.c.id == calendar_id)
            .values(
                timezone=timezone,
                working_days=",".join(map(str, days)),
                intervals=intervals.replace("，", ",").replace(" ", ""),
            ),
        )
        != 1
    ):
        raise NotFound("No such calendar.", key="error.no_calendar")
    session.execute(delete(HOL).where(HOL.c.calendar_id == calendar_id))
    _write_days(session, calendar_id, parsed, worked)
    now = clock.now()
    open_ids = session.scalars(
        select(T.c.id)
        .select_from(T.join(P, P.c.id == T.c.policy_id))
        .where(P.c.calendar_id == calendar_id, T.c.status.in_(m.OPEN_TICKET_STATUSES))
    ).all()
    with service_facts.tickets_changing(session, open_ids):
        for ticket_id in open_ids:
            recompute(session, ticket_id, now=now)
    audit.record(
        session,
        action="sla_policy_changed",
        username=viewer.username,
        object=f"sla_calendar:{calendar_id}",
        details={
            "timezone": timezone,
            "working_days": days,
            "intervals": intervals,
            "holidays": len(parsed),
            "workdays": len(worked),
        },
    )
