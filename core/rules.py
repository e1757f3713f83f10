"""Automation rules (issue 15): when something happens to a ticket, an answer, an order, a customer or an import,
check conditions on the customer and the object, then act (assign, create a task, escalate, tag, notify).

- A rule is a trigger with its threshold, conditions (field -> allowed values, all must hold) and a list of
  actions. Administrators create and edit rules; an edit adds a version, the firing records which one acted.
- Event triggers fire inside the write that caused them (`fire`, called by the SLA engine, the ticket workflow,
  the NPS write and the import); time triggers (churn risk, no contact) by `run` from `python -m core run-rules`
  and from the app every few minutes (`run_due`).
- At most once per object and episode: the firing's unique key. An event's episode is named by the event
  (a metric's breach, the n-th re-open); a time trigger's lasts while its condition holds (ended_at closes it).
- `dry_run` replays the last 90 days through the same matcher and says what the rule would have done;
  `outcome` compares the objects a rule touched with comparable ones from the 90 days before it existed.
- The shipped SLA actions and the closed loop's call-backs are rules like any other (migration 0026), with
  their tasks' titles and sources as before, so the closed-loop figures keep counting them.
"""

from __future__ import annotations

import json
import math
import smtplib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, literal, null, or_, select, update
from sqlalchemy.orm import Session

from core import audit, clock, db, models as m
from core.access import Viewer, require
from core.errors import Conflict, FieldErrors, NotFound
from core.segmentation import TIERS

RULES, FIRINGS, NOTES = m.table(m.AutomationRule), m.table(m.RuleFiring), m.table(m.Notification)
T, E, C, S, U = m.table(m.Ticket), m.table(m.TicketEvent), m.table(m.Customer), m.table(m.CustomerStat), m.table(m.User)
N, O, R, TASKS = m.table(m.NpsResponse), m.table(m.Order), m.table(m.TicketSla), m.table(m.Task)
P = m.table(m.SlaPolicy)
B, SCORES, I = m.table(m.ImportBatch), m.table(m.ChurnScore), m.table(m.Interaction)


@dataclass(frozen=True)
class Trigger:
    """What starts a rule: the object it fires for, whether cron starts it, its threshold's range and default,
    and the outcome that measures it (see `outcome`)."""

    object_kind: str  # ticket, nps, order, customer, import
    timed: bool = False
    low: float | None = None
    high: float | None = None
    default: float | None = None
    outcome: str | None = None  # resolution_met, repurchase


TRIGGERS: dict[str, Trigger] = {
    "ticket_created": Trigger("ticket", outcome="resolution_met"),
    "ticket_at_risk": Trigger("ticket", outcome="resolution_met"),
    "ticket_breached": Trigger("ticket", outcome="resolution_met"),
    "sla_met": Trigger("ticket", outcome="resolution_met"),
    "ticket_reopened": Trigger("ticket", outcome="resolution_met"),
    "nps_detractor": Trigger("nps", low=0, high=10, default=6, outcome="repurchase"),  # score at most
    "csat_low": Trigger("ticket", low=1, high=5, default=2, outcome="repurchase"),  # rating at most
    "churn_risk": Trigger("customer", timed=True, low=0.01, high=1, default=0.5, outcome="repurchase"),  # at least
    "no_contact": Trigger("customer", timed=True, low=1, high=3650, default=90, outcome="repurchase"),  # days
    "order_above": Trigger("order", low=0, high=1e12, default=50_000, outcome="repurchase"),  # amount over
    "import_finished": Trigger("import"),
}
CUSTOMER_FIELDS = ("tier", "region", "industry", "kind", "owner")
TICKET_FIELDS = ("ticket_kind", "priority", "category", "channel", "team")
FIELD_CHOICES: dict[str, tuple[str, ...]] = {
    "tier": TIERS,
    "region": m.REGIONS,
    "industry": m.INDUSTRIES,
    "kind": m.CUSTOMER_KINDS,
    "ticket_kind": m.TICKET_KINDS,
    "priority": m.TICKET_PRIORITIES,
    "category": m.TICKET_CATEGORIES,
    "channel": m.TICKET_CHANNELS,
}  # owner: user ids; team: the teams users belong to
ACTION_TYPES = ("assign", "task", "escalate", "tag", "notify")
RECIPIENTS = ("owner", "assignee", "team_lead", "admins", "policy")  # policy: whom the ticket's SLA policy names
ASSIGN_MODES = ("round_robin", "least_open")
OUTCOME_DAYS = 60  # repurchase: an order within this many days after the trigger
REPLAY_DAYS = 90
SHIPPED_SOURCES = {"sla_warning": "sla", "sla_violation": "sla", "sla_success": "sla", "detractor": "detractor"}
SHIPPED_SOURCES["low_csat"] = "low_csat"
CONTEXT_COLUMNS = [
    "object_id",
    "customer_id",
    "code",
    "tier",
    "region",
    "industry",
    "kind",
    "owner",
    "ticket_kind",
    "priority",
    "category",
    "channel",
    "team",
    "assignee_id",
    "status",
    "value",
]
RUN_META = "rules_run_at"
CACHE = "crm_rules"  # session info: the enabled rules of each trigger, read once per write


@dataclass(frozen=True)
class Rule:
    """One version of a rule, as stored (conditions and actions decoded)."""

    id: int
    number: int
    version: int
    name: str
    trigger: str
    threshold: float | None
    conditions: dict[str, tuple[Any, ...]]
    actions: tuple[dict[str, Any], ...]
    enabled: bool
    shipped: str | None
    created_at: datetime
    created_by: str
    valid_to: datetime | None = None


@dataclass(frozen=True)
class RuleChange:
    """What an administrator typed: checked by `check` before anything is written."""

    name: str
    trigger: str
    threshold: float | None = None
    conditions: Mapping[str, Iterable[Any]] = field(default_factory=dict)
    actions: tuple[Mapping[str, Any], ...] = ()
    enabled: bool = True


def _rule(row: Any) -> Rule:
    return Rule(
        id=int(row["id"]),
        number=int(row["number"]),
        version=int(row["version"]),
        name=str(row["name"]),
        trigger=str(row["trigger"]),
        threshold=None if row["threshold"] is None else float(row["threshold"]),
        conditions={k: tuple(v) for k, v in json.loads(row["conditions"] or "{}").items()},
        actions=tuple(json.loads(row["actions"] or "[]")),
        enabled=bool(row["enabled"]),
        shipped=row["shipped"],
        created_at=row["created_at"],
        created_by=str(row["created_by"]),
        valid_to=row["valid_to"],
    )


def current(session: Session, *, trigger: str | None = None, enabled_only: bool = False) -> list[Rule]:
    """The rules in force (each one's latest version), by number; one indexed read per event."""
    stmt = select(RULES).where(RULES.c.valid_to.is_(None)).order_by(RULES.c.number)
    if trigger is not None:
        stmt = stmt.where(RULES.c.trigger == trigger)
    if enabled_only:
        stmt = stmt.where(RULES.c.enabled.is_(True))
    return [_rule(r) for r in session.execute(stmt).mappings()]


def get(session: Session, number: int) -> Rule:
    row = session.execute(select(RULES).where(RULES.c.number == number, RULES.c.valid_to.is_(None))).mappings().first()
    if row is None:
        raise NotFound("No such rule.", key="rules.error.not_found")
    return _rule(row)


def versions(session: Session, viewer: Viewer, number: int) -> list[Rule]:
    """Every version of a rule, newest first (what was in force when a firing happened)."""
    require(viewer, "rules:manage")
    rows = session.execute(select(RULES).where(RULES.c.number == number).order_by(RULES.c.version.desc())).mappings()
    return [_rule(r) for r in rows]


# --- checking what an administrator typed -----------------------------------------------------------------

Errors = dict[str, tuple[str, dict[str, object]]]


def teams(session: Session) -> set[str]:
    """The teams users belong to (what an assignment or a team condition may name)."""
    return {t for t in session.scalars(select(U.c.team).where(U.c.team.is_not(None)).distinct()) if t}


def people(session: Session, *, everyone: bool = False) -> list[tuple[int, str]]:
    """Active users by name, for an owner condition (`everyone`: the departed too, to name past firings)."""
    stmt = select(U.c.id, U.c.display_name).order_by(U.c.display_name)
    return db.tuples(session.execute(stmt if everyone else stmt.where(U.c.active.is_(True))))


def check(session: Session, change: RuleChange) -> tuple[dict[str, list[Any]], list[dict[str, Any]], float | None]:
    """The change's conditions, actions and threshold as stored, or FieldErrors naming each bad field."""
    errors: Errors = {}
    name = (change.name or "").strip()
    if not name or len(name) > 100 or any(ord(ch) < 32 for ch in name):
        errors["name"] = ("rules.error.name", {})
    trigger = TRIGGERS.get(change.trigger)
    if trigger is None:
        errors["trigger"] = ("form.error.choice", {})
        raise FieldErrors(errors)
    threshold = change.threshold
    if trigger.default is None:
        threshold = None
    elif threshold is None or not math.isfinite(threshold) or not trigger.low <= threshold <= trigger.high:  # type: ignore[operator]
        errors["threshold"] = ("rules.error.threshold", {"low": trigger.low, "high": trigger.high})
    fields = CUSTOMER_FIELDS + (TICKET_FIELDS if trigger.object_kind == "ticket" else ())
    conditions: dict[str, list[Any]] = {}
    users = set(session.scalars(select(U.c.id)))
    known_teams = teams(session)
    for name_, values in (change.conditions or {}).items():
        picked = sorted({v for v in values if v is not None and v != ""}, key=str)
        if not picked:
            continue
        if name_ not in fields or trigger.object_kind == "import":
            errors["conditions"] = ("rules.error.condition_field", {"field": name_})
        elif name_ == "owner":
            if not all(isinstance(v, int) and v in users for v in picked):
                errors["conditions"] = ("form.error.choice", {})
        elif name_ == "team":
            if not all(v in known_teams for v in picked):
                errors["conditions"] = ("form.error.choice", {})
        elif not all(v in FIELD_CHOICES[name_] for v in picked):
            errors["conditions"] = ("form.error.choice", {})
        conditions[name_] = picked
    actions: list[dict[str, Any]] = []
    if not change.actions:
        errors["actions"] = ("rules.error.no_action", {})
    for action in change.actions:
        kind = action.get("type")
        if kind not in ACTION_TYPES:
            errors["actions"] = ("form.error.choice", {})
            continue
        if kind in ("assign", "escalate") and trigger.object_kind != "ticket":
            errors["actions"] = ("rules.error.ticket_only", {})
            continue
        clean: dict[str, Any] = {"type": kind}
        if kind in ("task", "notify"):
            to = [r for r in action.get("to") or () if r]
            if not to or any(r not in RECIPIENTS for r in to):
                errors["actions"] = ("rules.error.recipients", {})
            if "policy" in to and change.trigger not in ("ticket_at_risk", "ticket_breached", "sla_met"):
                errors["actions"] = ("rules.error.policy_recipient", {})
            if any(r in ("assignee", "policy") for r in to) and trigger.object_kind != "ticket":
                errors["actions"] = ("rules.error.ticket_only", {})
            clean["to"] = to
            text = (action.get("title") or "").strip()
            if len(text) > 120 or any(ord(ch) < 32 for ch in text):
                errors["actions"] = ("rules.error.title", {})
            if text:
                clean["title"] = text
        if kind == "task":
            days = action.get("due_days", 0)
            if not isinstance(days, int) or not 0 <= days <= 365:
                errors["actions"] = ("rules.error.due_days", {})
            clean["due_days"] = days
        if kind == "notify":
            clean["email"] = bool(action.get("email"))
        if kind == "assign":
            if action.get("mode") not in ASSIGN_MODES:
                errors["actions"] = ("form.error.choice", {})
            team = action.get("team") or None
            if team is not None and team not in known_teams:
                errors["actions"] = ("form.error.choice", {})
            clean.update(mode=action.get("mode"), team=team)
        if kind == "tag":
            tag = str(action.get("tag") or "").strip().lower().replace(",", "")
            if not tag or len(tag) > 32 or any(ord(ch) < 32 for ch in tag):
                errors["actions"] = ("form.error.tags", {})
            clean["tag"] = tag
        actions.append(clean)
    if errors:
        raise FieldErrors(errors)
    return conditions, actions, threshold


def create_rule(session: Session, viewer: Viewer, change: RuleChange, *, now: datetime | None = None) -> int:
    """A new rule, version 1; returns its number. Audited (its trigger and action types, not its texts)."""
    require(viewer, "rules:manage")
    session.info.pop(CACHE, None)
    now = (now or clock.now()).replace(microsecond=0)
    conditions, actions, threshold = check(session, change)
    number = (session.scalar(select(func.max(RULES.c.number))) or 0) + 1
    _insert(session, number, 1, change, conditions, actions, threshold, viewer, now, shipped=None)
    audit.record(
        session,
        action="rule_created",
        username=viewer.username,
        object=f"rule:{number}",
        at=now,
        details={"trigger": change.trigger, "actions": [a["type"] for a in actions], "enabled": change.enabled},
    )
    return number


def _insert(
    session: Session,
    number: int,
    version: int,
    change: RuleChange,
    conditions: dict[str, list[Any]],
    actions: list[dict[str, Any]],
    threshold: float | None,
    viewer: Viewer,
    now: datetime,
    *,
    shipped: str | None,
) -> None:
    session.execute(
        RULES.insert().values(
            number=number,
            version=version,
            name=change.name.strip(),
            trigger=change.trigger,
            threshold=threshold,
            conditions=json.dumps(conditions, ensure_ascii=False),
            actions=json.dumps(actions, ensure_ascii=False),
            enabled=change.enabled,
            shipped=shipped,
            created_at=now,
            created_by=viewer.username,
        )
    )


def update_rule(
    session: Session, viewer: Viewer, number: int, change: RuleChange, *, version: int, now: datetime | None = None
) -> int:
    """A new version of the rule (the one shown was `version`: Conflict if someone saved since); returns it."""
    require(viewer, "rules:manage")
    session.info.pop(CACHE, None)
    now = (now or clock.now()).replace(microsecond=0)
    rule = get(session, number)
    if rule.version != version:
        raise Conflict("Someone changed this rule since you opened it; reload it.", key="rules.error.conflict")
    conditions, actions, threshold = check(session, change)
    closed = update(RULES).where(RULES.c.id == rule.id, RULES.c.valid_to.is_(None)).values(valid_to=now)
    if db.affected(session, closed) != 1:
        raise Conflict("Someone changed this rule since you opened it; reload it.", key="rules.error.conflict")
    _insert(session, number, version + 1, change, conditions, actions, threshold, viewer, now, shipped=rule.shipped)
    audit.record(
        session,
        action="rule_changed",
        username=viewer.username,
        object=f"rule:{number}",
        at=now,
        details={"version": version + 1, "trigger": change.trigger, "actions": [a["type"] for a in actions]},
    )
    return version + 1


def set_enabled(session: Session, viewer: Viewer, number: int, enabled: bool, *, now: datetime | None = None) -> None:
    """Turn a rule on or off (the current version, in place: what it does is unchanged). Audited."""
    require(viewer, "rules:manage")
    session.info.pop(CACHE, None)
    rule = get(session, number)
    session.execute(update(RULES).where(RULES.c.id == rule.id).values(enabled=enabled))
    audit.record(
        session,
        action="rule_enabled" if enabled else "rule_disabled",
        username=viewer.username,
        object=f"rule:{number}",
        at=now,
    )


# --- what a rule sees: the object and its customer ---------------------------------------------------------


def _context_select(kind: str) -> Any:
    """One row per object with the customer's dimensions (tier from the summaries) and the ticket's fields."""
    blank: list[Any] = [null()] * 6
    customer: list[Any] = [C.c.id, C.c.code, S.c.tier, C.c.region, C.c.industry, C.c.kind, C.c.owner_id]
    base: Any
    if kind == "ticket":
        cols = [T.c.id, *customer, T.c.kind, T.c.priority, T.c.category, T.c.channel, T.c.team, T.c.assignee_id]
        cols += [T.c.status, T.c.csat]
        base = T.join(C, C.c.id == T.c.customer_id)
    elif kind in ("nps", "order"):
        table = N if kind == "nps" else O
        value = N.c.score if kind == "nps" else O.c.amount
        cols = [table.c.id, *customer, *blank, C.c.status, value]
        base = table.join(C, C.c.id == table.c.customer_id)
    elif kind == "customer":
        cols = [C.c.id, *customer, *blank, C.c.status, null()]
        base = C
    else:  # import: no customer
        return select(B.c.id, *([null()] * 15))
    return select(*cols).select_from(base.outerjoin(S, S.c.customer_id == C.c.id))


def _id_column(kind: str):  # type: ignore[no-untyped-def]
    return {"ticket": T.c.id, "nps": N.c.id, "order": O.c.id, "customer": C.c.id, "import": B.c.id}[kind]


def contexts(session: Session, kind: str, ids: Iterable[int]) -> pd.DataFrame:
    """The context rows of these objects (chunked: a replay asks for tens of thousands)."""
    wanted = sorted({int(i) for i in ids})
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start : start + 5000]
        rows += db.tuples(session.execute(_context_select(kind).where(_id_column(kind).in_(chunk))))
    frame = pd.DataFrame(rows, columns=CONTEXT_COLUMNS)
    return frame.astype({"value": float}) if len(frame) else frame


def matches(
    rule: Rule | RuleChange, frame: pd.DataFrame, conditions: Mapping[str, Iterable[Any]] | None = None
) -> pd.Series:
    """Which rows meet every condition of the rule (a field's listed values; an empty list allows any)."""
    wanted = conditions if conditions is not None else rule.conditions
    keep = pd.Series(True, index=frame.index)
    for name, values in wanted.items():
        values = list(values)
        if values:
            keep &= frame[name].isin(values)
    return keep


def _passes(trigger: str, threshold: float | None, value: Any) -> bool:
    """The trigger's threshold for one object: score or rating at most, risk at least, amount above."""
    if threshold is None or trigger not in ("nps_detractor", "csat_low", "order_above", "churn_risk"):
        return True
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    if trigger == "order_above":
        return float(value) > threshold
    if trigger == "churn_risk":
        return float(value) >= threshold
    return float(value) <= threshold


# --- firing ----------------------------------------------------------------------------------------------


def fire(
    session: Session,
    trigger: str,
    object_id: int,
    *,
    now: datetime,
    episode: str,
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Run the enabled rules of an event trigger for one object, inside the caller's write; returns how many
    fired. `episode` names the occurrence (a rule acts once per object and episode)."""
    cache = session.info.setdefault(CACHE, {})  # an import's answers ask once per write, not once per row
    if trigger not in cache:
        cache[trigger] = current(session, trigger=trigger, enabled_only=True)
    rules = cache[trigger]
    if not rules:
        return 0
    kind = TRIGGERS[trigger].object_kind
    frame = contexts(session, kind, [object_id])
    if frame.empty:
        return 0
    context = {**frame.iloc[0].to_dict(), **(extra or {})}
    return sum(_fire_one(session, rule, context, episode=episode, now=now) for rule in rules)


def lowest_threshold(session: Session, trigger: str) -> float | None:
    """The lowest threshold among the trigger's enabled rules (None: no rule), so a bulk write asks the rules
    only about the rows that could pass (an import's orders above the smallest amount)."""
    found = [r.threshold or 0.0 for r in current(session, trigger=trigger, enabled_only=True)]
    return min(found) if found else None


def _fired(session: Session, rule: Rule, kind: str, object_id: int, episode: str) -> bool:
    return (
        session.scalar(
            select(FIRINGS.c.id).where(
                FIRINGS.c.number == rule.number,
                FIRINGS.c.object_kind == kind,
                FIRINGS.c.object_id == object_id,
                FIRINGS.c.episode == episode,
            )
        )
        is not None
    )


def _fire_one(session: Session, rule: Rule, context: dict[str, Any], *, episode: str, now: datetime) -> bool:
    kind = TRIGGERS[rule.trigger].object_kind
    object_id = int(context["object_id"])
    if not _passes(rule.trigger, rule.threshold, context.get("value")):
        return False
    if not bool(matches(rule, pd.DataFrame([context])).iloc[0]):
        return False
    if _fired(session, rule, kind, object_id, episode):
        return False
    done = [_act(session, rule, action, context, now) for action in rule.actions]
    if not any(_did(entry) for entry in done):  # nobody to tell, nothing to change: no firing to record
        return False
    session.execute(
        FIRINGS.insert().values(
            rule_id=rule.id,
            number=rule.number,
            version=rule.version,
            object_kind=kind,
            object_id=object_id,
            episode=episode[:40],
            customer_id=None if pd.isna(context.get("customer_id")) else int(context["customer_id"]),
            at=now,
            done=json.dumps(done, ensure_ascii=False),
        )
    )
    if kind == "ticket":
        from core import service

        service._event(session, object_id, now, None, "rule", note=f"rule {rule.number} v{rule.version}")
    return True


def _did(entry: Mapping[str, Any]) -> bool:
    """An action did something, or found it already done (a tag the customer has): not "nobody to tell"."""
    return any(value not in (None, [], "no_room") for value in entry.values())


def _user_ids(session: Session, context: Mapping[str, Any], names: Iterable[str]) -> list[int]:
    """The active users a task or a notification goes to (whom the policy names: core.service's rule)."""
    from core import service

    ticket = {"assignee_id": _int(context.get("assignee_id")), "team": context.get("team") or None}
    found: set[int | None] = set()
    for name in names:
        if name == "owner":
            owner = _int(context.get("owner"))
            if owner is not None and session.scalar(select(U.c.active).where(U.c.id == owner)):
                found.add(owner)
        elif name == "assignee":
            found.add(ticket["assignee_id"])
        elif name == "team_lead":
            found.add(service._recipient(session, ticket, "team_lead"))
        elif name == "admins":
            found |= set(session.scalars(select(U.c.id).where(U.c.role == "admin", U.c.active.is_(True))))
        elif name == "policy":
            who = (context.get("policy") or {}).get(f"on_{context.get('sla_action')}")
            if who and who != "none":
                found.add(service._recipient(session, ticket, str(who)))
    return sorted(u for u in found if u is not None)


def _int(value: Any) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def task_title(rule: Rule, action: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    """A task's title: the shipped rules compose theirs as before (the 360° view translates them); a rule
    someone wrote uses its own words, or its name."""
    ticket = context.get("object_id")
    if rule.shipped in ("sla_warning", "sla_violation", "sla_success"):
        return f"SLA {context.get('sla_action')}: #{ticket} {context.get('metric')}"
    if rule.shipped == "detractor":
        return f"NPS {int(context['value'])}: call back"
    if rule.shipped == "low_csat":
        return f"CSAT {int(context['value'])} on ticket #{ticket}"
    return str(action.get("title") or rule.name)[:200]


def _act(
    session: Session, rule: Rule, action: Mapping[str, Any], context: dict[str, Any], now: datetime
) -> dict[str, Any]:
    """Do one action; returns what was done (kept on the firing)."""
    kind = action["type"]
    ticket_id = int(context["object_id"]) if TRIGGERS[rule.trigger].object_kind == "ticket" else None
    customer_id = _int(context.get("customer_id"))
    if kind == "task":
        owners = _user_ids(session, context, action["to"])
        if customer_id is None:
            return {"task": []}
        title = task_title(rule, action, context)
        for owner in owners:
            session.execute(
                TASKS.insert().values(
                    customer_id=customer_id,
                    owner_id=owner,
                    title=title,
                    due_date=now.date() + timedelta(days=int(action.get("due_days") or 0)),
                    created_at=now,
                    ticket_id=ticket_id,
                    source=SHIPPED_SOURCES.get(rule.shipped or "", "rule"),
                )
            )
        return {"task": owners}
    if kind == "notify":
        owners = _user_ids(session, context, action["to"])
        ref = f"ticket:{ticket_id}" if ticket_id else f"customer:{context['code']}" if context.get("code") else None
        if ref is None and TRIGGERS[rule.trigger].object_kind == "import":
            ref = f"import:{context['object_id']}"
        for owner in owners:
            session.execute(
                NOTES.insert().values(
                    user_id=owner,
                    at=now,
                    title=str(action.get("title") or rule.name)[:200],
                    object=ref,
                    rule_number=rule.number,
                    email_state="pending" if action.get("email") else None,
                )
            )
        return {"notify": owners}
    if kind == "tag" and customer_id is not None:
        tags = session.scalar(select(C.c.tags).where(C.c.id == customer_id)) or ""
        present = {t for t in tags.split(",") if t}
        if action["tag"] in present:
            return {"tag": "already"}
        joined = ",".join(sorted(present | {action["tag"]}))
        if len(joined) > 200:
            return {"tag": "no_room"}
        session.execute(C.update().where(C.c.id == customer_id).values(tags=joined))
        return {"tag": action["tag"]}
    if kind == "assign" and ticket_id is not None:
        agent = pick_agent(session, rule, action, context.get("team") or None)
        if agent is None:
            return {"assign": None}
        _assign(session, ticket_id, agent, now, note=f"rule {rule.number}")
        context["assignee_id"] = agent  # a later action of the same firing (tell the assignee) sees them
        return {"assign": agent}
    if kind == "escalate" and ticket_id is not None:
        from core import service

        lead = service._recipient(session, {"assignee_id": None, "team": context.get("team") or None}, "team_lead")
        service._event(session, ticket_id, now, None, "escalate", note=f"rule {rule.number}")
        if lead is not None and customer_id is not None:
            service.tell(
                session,
                {"id": ticket_id, "customer_id": customer_id},
                lead,
                f"Escalated: #{ticket_id} ({rule.name})"[:200],
                source="rule",
                now=now,
            )
        return {"escalate": lead}
    return {kind: None}


def _agents(session: Session, team: str | None) -> list[int]:
    """Who a ticket can be assigned to: the active support agents of the team, or of every team (leads supervise)."""
    stmt = select(U.c.id).where(U.c.active.is_(True), U.c.role == "support_agent")
    if team:
        stmt = stmt.where(U.c.team == team)
    return sorted(session.scalars(stmt))


def open_load(session: Session, agents: list[int]) -> dict[int, int]:
    """Open (not yet resolved) tickets per agent: read from the open tickets by status (a few hundred), not from
    each agent's whole history (0.12 s at 100,000 customers through the assignee index)."""
    counts = dict(
        db.tuples(
            session.execute(
                select(T.c.assignee_id, func.count())
                .where(T.c.status.in_(m.OPEN_TICKET_STATUSES), T.c.assignee_id.is_not(None))
                .group_by(T.c.assignee_id)
            )
        )
    )
    return {a: int(counts.get(a, 0)) for a in agents}


def pick_agent(session: Session, rule: Rule, action: Mapping[str, Any], ticket_team: str | None) -> int | None:
    """Round-robin (the next agent after the rule's last pick, by id, kept in app_meta) or the one with the least
    open work (ties: the lowest id), within the action's team, else the ticket's, else everyone's."""
    agents = _agents(session, action.get("team") or ticket_team)
    if not agents:
        return None
    if action.get("mode") == "least_open":
        load = open_load(session, agents)
        return min(agents, key=lambda a: (load[a], a))
    from core import facts

    key = f"rule_rr_{rule.number}"
    last = int(facts.get_meta(session, key) or 0)
    chosen = next((a for a in agents if a > last), agents[0])
    facts.set_meta(session, key, str(chosen))
    return chosen


def _assign(session: Session, ticket_id: int, agent: int, now: datetime, *, note: str) -> None:
    from core import service, service_facts

    team = session.scalar(select(U.c.team).where(U.c.id == agent))
    with service_facts.tickets_changing(session, [ticket_id]):  # its outcomes count for the new agent and team
        session.execute(
            T.update()
            .where(T.c.id == ticket_id, T.c.status != "closed")
            .values(assignee_id=agent, team=team, version=T.c.version + 1)
        )
        service._event(session, ticket_id, now, None, "assign", note=f"user {agent}, {note}")


# --- time triggers ----------------------------------------------------------------------------------------


def _due_now(session: Session, rule: Rule, now: datetime) -> pd.DataFrame:
    """Customers a time trigger holds for now: [object_id, episode, value]."""
    active = C.c.status == "active"
    if rule.trigger == "churn_risk":
        rows = session.execute(
            select(SCORES.c.customer_id, SCORES.c.risk)
            .join(C, C.c.id == SCORES.c.customer_id)
            .where(SCORES.c.risk >= rule.threshold, active)
        )
        frame = pd.DataFrame(db.tuples(rows), columns=["object_id", "value"])
        frame["episode"] = f"{now:%Y-%m-%d}"
        return frame
    cutoff = now - timedelta(days=float(rule.threshold or 0))
    last = S.c.last_contact_at
    rows = session.execute(
        select(C.c.id, S.c.last_contact_at, C.c.first_contact_date)
        .join(S, S.c.customer_id == C.c.id)
        .where(active, or_(last < cutoff, and_(last.is_(None), C.c.first_contact_date < cutoff.date())))
    )
    frame = pd.DataFrame(db.tuples(rows), columns=["object_id", "last", "first"])
    frame["episode"] = [
        f"since {(a.date() if a is not None and not pd.isna(a) else f):%Y-%m-%d}"
        for a, f in zip(frame["last"], frame["first"])
    ]
    frame["value"] = float(rule.threshold or 0)
    return frame[["object_id", "episode", "value"]]


def run(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """The time triggers, for cron (`python -m core run-rules`) and the app's schedule: fire for customers the
    trigger holds for (once per episode), and end the episodes of those it no longer holds for."""
    now = (now or clock.now()).replace(microsecond=0)
    fired = ended = 0
    for rule in current(session, enabled_only=True):
        if not TRIGGERS[rule.trigger].timed:
            continue
        due = _due_now(session, rule, now)
        open_ = set(
            session.scalars(
                select(FIRINGS.c.object_id).where(
                    FIRINGS.c.number == rule.number, FIRINGS.c.object_kind == "customer", FIRINGS.c.ended_at.is_(None)
                )
            )
        )
        holding = set(due["object_id"].astype(int)) if len(due) else set()
        gone = sorted(open_ - holding)
        for start in range(0, len(gone), 5000):
            ended += db.affected(
                session,
                update(FIRINGS)
                .where(
                    FIRINGS.c.number == rule.number,
                    FIRINGS.c.object_kind == "customer",
                    FIRINGS.c.object_id.in_(gone[start : start + 5000]),
                    FIRINGS.c.ended_at.is_(None),
                )
                .values(ended_at=now),
            )
        fresh = due[~due["object_id"].isin(open_)] if len(due) else due
        if fresh.empty:
            continue
        frame = contexts(session, "customer", fresh["object_id"]).drop(columns="value")
        frame = frame.merge(fresh, on="object_id")
        frame = frame[matches(rule, frame)]
        for context in frame.to_dict("records"):
            fired += _fire_one(session, rule, context, episode=str(context["episode"]), now=now)
    from core import facts

    facts.set_meta(session, RUN_META, now.isoformat(timespec="seconds"))
    return {"fired": fired, "ended": ended}


def last_run(session: Session) -> datetime | None:
    from core import facts

    value = facts.get_meta(session, RUN_META)
    return datetime.fromisoformat(value) if value else None


# --- e-mail: an outbox, sent after the write that queued it ------------------------------------------------


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int = 25
    sender: str = "crm-cockpit@localhost"
    username: str = ""
    password: str = ""


def pending_mail(session: Session, *, limit: int = 200) -> list[tuple[int, str, str, str | None]]:
    """Queued e-mails: (notification id, address, title, object reference); users without an address are skipped."""
    rows = session.execute(
        select(NOTES.c.id, U.c.email, NOTES.c.title, NOTES.c.object)
        .join(U, U.c.id == NOTES.c.user_id)
        .where(NOTES.c.email_state == "pending")
        .order_by(NOTES.c.id)
        .limit(limit)
    )
    return [(int(i), e, t, o) for i, e, t, o in rows]


def send_mail(smtp: Smtp, queued: list[tuple[int, str, str, str | None]]) -> dict[int, str]:
    """Send each queued message over one SMTP connection (outside any transaction: a slow server never holds the
    store's write lock); returns the state of each (sent, or failed: no address or refused)."""
    states: dict[int, str] = {}
    if not queued:
        return states
    with smtplib.SMTP(smtp.host, smtp.port, timeout=20) as server:
        if smtp.port == 587:
            server.starttls()
        if smtp.username:
            server.login(smtp.username, smtp.password)
        for note_id, address, title, ref in queued:
            if not address:
                states[note_id] = "failed"
                continue
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = smtp.sender, address, f"[CRM Cockpit] {title}"
            message.set_content(f"{title}\n\n{ref or ''}\n")  # no personal data: the reference, not the customer
            try:
                server.send_message(message)
                states[note_id] = "sent"
            except smtplib.SMTPException:
                states[note_id] = "failed"
    return states


def mark_mail(session: Session, states: Mapping[int, str]) -> None:
    for state in ("sent", "failed"):
        ids = [i for i, s in states.items() if s == state]
        if ids:
            session.execute(update(NOTES).where(NOTES.c.id.in_(ids)).values(email_state=state))


def deliver(engine: Any, smtp: Smtp | None) -> dict[str, int]:
    """Send the queued e-mails: read, send with no transaction open, then record each one's state in a write.
    Without a mail server they stay queued (and in the app)."""
    if smtp is None:
        return {"sent": 0, "failed": 0}
    with db.session_scope(engine) as session:
        queued = pending_mail(session)
    try:
        states = send_mail(smtp, queued)
    except (OSError, smtplib.SMTPException):  # the server is down: they stay queued for the next run
        return {"sent": 0, "failed": 0}
    db.write(engine, lambda session: mark_mail(session, states))
    return {
        "sent": sum(1 for v in states.values() if v == "sent"),
        "failed": sum(1 for v in states.values() if v == "failed"),
    }


def run_due(session: Session, *, now: datetime | None = None, every: timedelta) -> dict[str, int] | None:
    """`run` when the last one (by any process) is older than `every`; None when it is not due yet."""
    now = (now or clock.now()).replace(microsecond=0)
    last = last_run(session)
    if last is not None and now - last < every:
        return None
    return run(session, now=now)


# --- the in-app inbox -------------------------------------------------------------------------------------


def inbox(session: Session, viewer: Viewer, *, limit: int = 20) -> tuple[int, pd.DataFrame]:
    """The viewer's unread count and latest notifications (their own only)."""
    if viewer.user_id is None:
        return 0, pd.DataFrame(columns=["id", "at", "title", "object", "read_at"])
    unread = int(
        session.scalar(
            select(func.count()).select_from(NOTES).where(NOTES.c.user_id == viewer.user_id, NOTES.c.read_at.is_(None))
        )
        or 0
    )
    rows = session.execute(
        select(NOTES.c.id, NOTES.c.at, NOTES.c.title, NOTES.c.object, NOTES.c.read_at)
        .where(NOTES.c.user_id == viewer.user_id)
        .order_by(NOTES.c.id.desc())
        .limit(limit)
    )
    return unread, pd.DataFrame(db.tuples(rows), columns=["id", "at", "title", "object", "read_at"])


def mark_read(session: Session, viewer: Viewer, *, now: datetime | None = None) -> int:
    """Mark all of the viewer's notifications read."""
    return db.affected(
        session,
        update(NOTES)
        .where(NOTES.c.user_id == viewer.user_id, NOTES.c.read_at.is_(None))
        .values(read_at=(now or clock.now()).replace(microsecond=0)),
    )


# --- replaying history: the dry run and the comparison ----------------------------------------------------


def history(session: Session, trigger: str, threshold: float | None, *, start: datetime, end: datetime) -> pd.DataFrame:
    """The moments a trigger would have fired in [start, end): [object_id, at, episode, value], per object and
    episode as `fire` names them."""
    columns = ["object_id", "at", "episode", "value"]

    def frame(stmt: Any) -> pd.DataFrame:
        return pd.DataFrame(db.tuples(session.execute(stmt)), columns=columns)

    window = lambda col: and_(col >= start, col < end)  # noqa: E731
    if trigger == "ticket_created":
        found = frame(select(T.c.id, T.c.created_at, literal("created"), null()).where(window(T.c.created_at)))
    elif trigger in ("ticket_at_risk", "ticket_breached", "sla_met"):
        col = {"ticket_at_risk": R.c.warn_at, "ticket_breached": R.c.breached_at, "sla_met": R.c.completed_at}[trigger]
        where = window(col)
        if trigger == "ticket_at_risk":  # reached its warning point before it was done
            where = and_(where, or_(R.c.completed_at.is_(None), R.c.completed_at > R.c.warn_at))
        if trigger == "sla_met":
            where = and_(where, R.c.state == "met")
        found = frame(select(R.c.ticket_id, col, R.c.metric, null()).where(where))
        told = {"ticket_at_risk": P.c.on_warning, "ticket_breached": P.c.on_violation, "sla_met": P.c.on_success}
        policy_to = dict(  # whom each ticket's policy names for this action (a dry run counts only those told)
            db.tuples(
                session.execute(
                    select(T.c.id, told[trigger])
                    .join(P, P.c.id == T.c.policy_id)
                    .where(T.c.id.in_(select(R.c.ticket_id).where(where)))
                )
            )
        )
    elif trigger == "ticket_reopened":
        found = frame(select(E.c.ticket_id, E.c.at, E.c.id, null()).where(E.c.action == "reopen", window(E.c.at)))
        found = found.sort_values(["object_id", "at", "episode"])
        found["episode"] = "reopen:" + (found.groupby("object_id").cumcount() + 1).astype(str)
    elif trigger == "nps_detractor":
        found = frame(
            select(N.c.id, N.c.responded_at, literal("answer"), N.c.score).where(
                window(N.c.responded_at), N.c.score <= threshold
            )
        )
    elif trigger == "csat_low":
        found = frame(
            select(T.c.id, T.c.feedback_at, T.c.reopened, T.c.csat).where(
                window(T.c.feedback_at), T.c.csat <= threshold
            )
        )
        found["episode"] = "csat:" + found["episode"].astype(str)
    elif trigger == "order_above":
        found = frame(
            select(O.c.id, O.c.order_date, literal("order"), O.c.amount).where(
                O.c.order_date >= start.date(), O.c.order_date < end.date(), O.c.amount > threshold
            )
        )
        found["at"] = pd.to_datetime(found["at"])
    elif trigger == "import_finished":
        found = frame(select(B.c.id, B.c.at, literal("batch"), null()).where(window(B.c.at)))
    elif trigger == "churn_risk":  # scores keep no history: who it would fire for today
        found = _due_now(session, Rule(0, 0, 0, "", trigger, threshold, {}, (), True, None, end, ""), end)
        found["at"] = end
    else:  # no_contact
        found = _no_contact_history(session, float(threshold or 0), start=start, end=end)
    if trigger.startswith(("ticket_at", "ticket_br", "sla_")):
        found["episode"] = found["episode"].astype(str)
    found = found[columns].reset_index(drop=True)
    if trigger in ("ticket_at_risk", "ticket_breached", "sla_met"):
        found["policy_to"] = found["object_id"].map(policy_to)
    return found


def _no_contact_history(session: Session, days: float, *, start: datetime, end: datetime) -> pd.DataFrame:
    """The moments active customers reached `days` without a contact in [start, end): after each contact whose
    next one came later than that (or not yet); those already overdue at `start` count at `start`."""
    gap = timedelta(days=days)
    before = pd.DataFrame(
        db.tuples(
            session.execute(
                select(I.c.customer_id, func.max(I.c.occurred_at))
                .where(I.c.occurred_at < start - gap)
                .group_by(I.c.customer_id)
            )
        ),
        columns=["object_id", "at"],
    )
    within = pd.DataFrame(
        db.tuples(
            session.execute(
                select(I.c.customer_id, I.c.occurred_at).where(I.c.occurred_at >= start - gap, I.c.occurred_at < end)
            )
        ),
        columns=["object_id", "at"],
    )
    active = set(session.scalars(select(C.c.id).where(C.c.status == "active")))
    contacts = pd.concat([before, within]).sort_values(["object_id", "at"])
    contacts = contacts[contacts["object_id"].isin(active)]
    contacts["next"] = contacts.groupby("object_id")["at"].shift(-1)
    mark = contacts["at"] + gap
    fire_at = mark.where(mark > start, start)
    keep = (mark < end) & (contacts["next"].isna() | (contacts["next"] > fire_at))
    found = contacts[keep].assign(at=fire_at[keep])
    found["episode"] = "since " + contacts.loc[keep, "at"].dt.strftime("%Y-%m-%d")
    found["value"] = days
    return found[["object_id", "at", "episode", "value"]]


@dataclass(frozen=True)
class DryRun:
    """What a rule would have done over [start, end): how many moments its trigger had, how many met the
    conditions, what each action would have done, and the first rows."""

    start: datetime
    end: datetime
    triggered: int
    matched: int
    customers: int
    effects: list[tuple[str, dict[str, object]]]  # (catalog key, values)
    rows: pd.DataFrame


def _replayed(
    session: Session,
    trigger: str,
    threshold: float | None,
    conditions: Mapping[str, Any],
    *,
    start: datetime,
    end: datetime,
) -> tuple[int, pd.DataFrame]:
    moments = history(session, trigger, threshold, start=start, end=end)
    kind = TRIGGERS[trigger].object_kind
    frame = contexts(session, kind, moments["object_id"]).drop(columns="value")
    frame = moments.merge(frame, on="object_id", how="inner")
    if kind == "customer":
        frame = frame[frame["status"] == "active"]
    fake = RuleChange("", trigger, threshold, conditions)
    return len(moments), frame[matches(fake, frame, conditions)].sort_values("at").reset_index(drop=True)


def dry_run(
    session: Session, viewer: Viewer, change: RuleChange, *, now: datetime | None = None, days: int = REPLAY_DAYS
) -> DryRun:
    """Replay the last `days` days through the rule as typed (saved or not) and say what it would have done;
    nothing is written. The same matcher as `fire`, with the actions counted instead of done."""
    require(viewer, "rules:manage")
    now = (now or clock.now()).replace(microsecond=0)
    conditions, actions, threshold = check(session, change)
    start = now - timedelta(days=days)
    triggered, hits = _replayed(session, change.trigger, threshold, conditions, start=start, end=now)
    effects: list[tuple[str, dict[str, object]]] = []
    n = len(hits)
    for action in actions:
        kind = action["type"]
        if kind in ("task", "notify"):
            to = ", ".join(action["to"])
            effects.append((f"rules.effect.{kind}", {"n": int(_reachable(hits, action["to"]).sum()), "to": to}))
        elif kind == "tag":
            effects.append(
                ("rules.effect.tag", {"n": int(hits["customer_id"].nunique()) if n else 0, "tag": action["tag"]})
            )
        elif kind == "escalate":
            effects.append(("rules.effect.escalate", {"n": n}))
        elif kind == "assign":
            agents = _agents(session, action.get("team"))
            spread = _spread(session, action, agents, hits)
            names = dict(db.tuples(session.execute(select(U.c.id, U.c.display_name).where(U.c.id.in_(agents)))))
            text = ", ".join(f"{names.get(a, a)} {c}" for a, c in spread.items()) or "—"
            effects.append(("rules.effect.assign", {"n": n, "agents": len(agents), "spread": text}))
    rows = (
        hits.head(200)[["at", "object_id", "episode", "code", "value"]]
        if n
        else pd.DataFrame(columns=["at", "object_id", "episode", "code", "value"])
    )
    customers = int(hits["customer_id"].nunique()) if n else 0
    return DryRun(start, now, triggered, n, customers, effects, rows)


def _reachable(hits: pd.DataFrame, names: Iterable[str]) -> pd.Series:
    """The replayed rows a task or notification would reach someone for: a customer with an account manager,
    a ticket with an assignee, a policy that names someone; leads and administrators are always there."""
    reach = pd.Series(False, index=hits.index)
    for name in names:
        if name == "owner":
            reach |= hits["owner"].notna()
        elif name == "assignee":
            reach |= hits["assignee_id"].notna()
        elif name == "policy":
            reach |= hits["policy_to"].notna() & (hits["policy_to"] != "none") if "policy_to" in hits else False
        else:
            reach |= True
    return reach


def _spread(session: Session, action: Mapping[str, Any], agents: list[int], hits: pd.DataFrame) -> dict[int, int]:
    """How a replay's tickets would have been shared: in turn, or each to the agent with the least open work
    (today's open tickets, plus the ones the replay has given them)."""
    counts = {a: 0 for a in agents}
    if not agents:
        return counts
    if action.get("mode") == "least_open":
        load = open_load(session, agents)
        for _ in range(len(hits)):
            chosen = min(agents, key=lambda a: (load[a], a))
            load[chosen] += 1
            counts[chosen] += 1
    else:
        for i in range(len(hits)):
            counts[agents[i % len(agents)]] += 1
    return counts


@dataclass(frozen=True)
class Outcome:
    """The objects a rule touched against comparable ones from before it existed: the share with a good outcome
    in each, and the difference with a 95 % interval (normal approximation). Not a controlled trial."""

    measure: str  # resolution_met, repurchase
    touched: int
    touched_rate: float | None
    before: int
    before_rate: float | None
    difference: float | None
    low: float | None
    high: float | None
    pending: int  # touched objects whose outcome is not known yet


def _good(session: Session, measure: str, frame: pd.DataFrame, now: datetime) -> tuple[pd.Series, int]:
    """For each row (object_id, customer_id, at): good outcome or not, and how many are still pending."""
    if frame.empty:
        return pd.Series(dtype=bool), 0
    if measure == "resolution_met":
        ids = sorted(set(frame["object_id"].astype(int)))
        states: dict[int, str] = {}
        for start in range(0, len(ids), 5000):
            states.update(
                db.tuples(
                    session.execute(
                        select(R.c.ticket_id, R.c.state).where(
                            R.c.metric == "resolution", R.c.ticket_id.in_(ids[start : start + 5000])
                        )
                    )
                )
            )
        state = frame["object_id"].map(states)
        known = state.isin(["met", "breached"])
        return (state[known] == "met"), int((~known).sum())
    ready = pd.to_datetime(frame["at"]) + timedelta(days=OUTCOME_DAYS) <= now
    rows = frame[ready]
    customers = sorted(set(rows["customer_id"].dropna().astype(int)))
    orders: list[tuple[Any, ...]] = []
    if customers:
        first = pd.to_datetime(rows["at"]).min().date()
        for start in range(0, len(customers), 5000):
            orders += db.tuples(
                session.execute(
                    select(O.c.customer_id, O.c.order_date).where(
                        O.c.customer_id.in_(customers[start : start + 5000]), O.c.order_date > first
                    )
                )
            )
    dates = pd.DataFrame(orders, columns=["customer_id", "order_date"])
    joined = rows.reset_index().merge(dates, on="customer_id", how="left")
    day = pd.to_datetime(joined["at"]).dt.normalize()
    ordered = pd.to_datetime(joined["order_date"])
    joined["good"] = (ordered > day) & (ordered <= day + timedelta(days=OUTCOME_DAYS))
    good = joined.groupby("index")["good"].any()
    return good, int((~ready).sum())


def outcome(session: Session, viewer: Viewer, number: int, *, now: datetime | None = None) -> Outcome | None:
    """The objects this rule fired for, against those its first version would have matched in the 90 days
    before it was created (none for a trigger without an outcome, such as an import)."""
    require(viewer, "rules:manage")
    now = (now or clock.now()).replace(microsecond=0)
    first = session.execute(select(RULES).where(RULES.c.number == number, RULES.c.version == 1)).mappings().first()
    if first is None:
        raise NotFound("No such rule.", key="rules.error.not_found")
    rule = _rule(first)
    measure = TRIGGERS[rule.trigger].outcome
    if measure is None:
        return None
    touched = pd.DataFrame(
        db.tuples(
            session.execute(
                select(FIRINGS.c.object_id, FIRINGS.c.customer_id, FIRINGS.c.at).where(FIRINGS.c.number == number)
            )
        ),
        columns=["object_id", "customer_id", "at"],
    )
    _, before = _replayed(
        session,
        rule.trigger,
        rule.threshold,
        rule.conditions,
        start=rule.created_at - timedelta(days=REPLAY_DAYS),
        end=rule.created_at,
    )
    good_after, pending = _good(session, measure, touched, now)
    good_before, _ = _good(session, measure, before[["object_id", "customer_id", "at"]], now)
    a, n_a = int(good_after.sum()), len(good_after)
    b, n_b = int(good_before.sum()), len(good_before)
    rate_a = a / n_a if n_a else None
    rate_b = b / n_b if n_b else None
    diff = low = high = None
    if rate_a is not None and rate_b is not None:
        diff = rate_a - rate_b
        se = math.sqrt(rate_a * (1 - rate_a) / n_a + rate_b * (1 - rate_b) / n_b)
        low, high = diff - 1.96 * se, diff + 1.96 * se
    return Outcome(measure, n_a, rate_a, n_b, rate_b, diff, low, high, pending)


def overview(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Every rule in force with its fire count and last firing (one grouped read over the firings)."""
    require(viewer, "rules:manage")
    fires = dict(
        (n, (c, last))
        for n, c, last in db.tuples(
            session.execute(select(FIRINGS.c.number, func.count(), func.max(FIRINGS.c.at)).group_by(FIRINGS.c.number))
        )
    )
    rows = []
    for rule in current(session):
        count, last = fires.get(rule.number, (0, None))
        rows.append(
            {
                "number": rule.number,
                "version": rule.version,
                "name": rule.name,
                "shipped": rule.shipped,
                "trigger": rule.trigger,
                "enabled": rule.enabled,
                "fires": int(count),
                "last_fired": last,
            }
        )
    return pd.DataFrame(
        rows, columns=["number", "version", "name", "shipped", "trigger", "enabled", "fires", "last_fired"]
    )


def firings(session: Session, viewer: Viewer, number: int, *, limit: int = 100) -> pd.DataFrame:
    """A rule's latest firings: when, which version, which object and episode, what was done."""
    require(viewer, "rules:manage")
    rows = session.execute(
        select(
            FIRINGS.c.at,
            FIRINGS.c.version,
            FIRINGS.c.object_kind,
            FIRINGS.c.object_id,
            FIRINGS.c.episode,
            FIRINGS.c.ended_at,
            FIRINGS.c.done,
        )
        .where(FIRINGS.c.number == number)
        .order_by(FIRINGS.c.id.desc())
        .limit(limit)
    )
    return pd.DataFrame(
        db.tuples(rows), columns=["at", "version", "object_kind", "object_id", "episode", "ended_at", "done"]
    )
