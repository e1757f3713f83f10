"""The audit log: append-only from the application (this module has no update or delete)."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock, models as m
from core.access import Viewer, require

A = m.table(m.AuditLog)
ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "lockout",
    "sign_out",
    "password_changed",
    "user_created",
    "user_changed",
    "pii_revealed",
    "export",
    "customer_exported",
    "customer_erased",
    "key_rotated",
    "interaction_logged",
    "task_done",
    "retention_action",
    "retention_update",
    "ticket_created",
    "rule_created",
    "channel_cost_set",
    "campaign_created",
    "lead_created",
    "lead_moved",
    "lead_rule_changed",
    "rule_changed",
    "rule_enabled",
    "rule_disabled",
    "nps_recorded",
    "survey_created",
    "survey_answer",
    "survey_import",
    "customer_updated",
    "customer_viewed",
    "sla_policy_changed",
    "password_reset",
    "unlocked",
    "sign_in_locked",
    "store_replaced",
    "backup",
    "restore",
    "ticket_step",
    "tickets_assigned",
    "access_refused",
    "reveal_refused",
    "audit_read",
    "contacts_listed",
    "totp_enabled",
    "totp_reset",
    "import",
    "customer_created",
    "customers_handed_over",
    "customers_merged",
    "merge_undone",
    "duplicates_kept_apart",
    "target_created",
    "target_changed",
    "target_deleted",
    "loyalty_programme_changed",
    "loyalty_enrolled",
    "loyalty_redeemed",
    "loyalty_adjusted",
)


def record(
    session: Session,
    *,
    action: str,
    username: str | None,
    object: str | None = None,
    details: dict[str, object] | None = None,
    at: datetime | None = None,
) -> None:
    """Append one entry (inside the caller's transaction, so it commits or rolls back with the change)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.execute(
        A.insert().values(
            at=at or clock.now(),
            username=(username or "")[:64] or None,
            action=action,
            object=object,
            details=json.dumps(details, ensure_ascii=False, default=str) if details else None,
        )
    )


def count(session: Session, *, action: str, username: str, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(A).where(A.c.action == action, A.c.username == username, A.c.at >= since)
        )
        or 0
    )


def last_at(session: Session, *, action: str, username: str) -> datetime | None:
    return session.scalar(select(func.max(A.c.at)).where(A.c.action == action, A.c.username == username))


AUDIT_COLUMNS = ["at", "username", "action", "object", "details"]


def entries(
    session: Session,
    *,
    viewer: Viewer,
    username: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Newest first, filtered; at most `limit` rows (the page shows them and exports the same filter).
    Administrators only: the log names who did what to whom."""
    require(viewer, "audit:read")
    stmt = select(A.c.at, A.c.username, A.c.action, A.c.object, A.c.details).order_by(A.c.at.desc(), A.c.id.desc())
    if username:
        stmt = stmt.where(A.c.username == username)
    if action:
        stmt = stmt.where(A.c.action == action)
    if since:
        stmt = stmt.where(A.c.at >= since)
    if until:
        stmt = stmt.where(A.c.at < until)
    return pd.DataFrame(session.execute(stmt.limit(limit)).mappings().all(), columns=AUDIT_COLUMNS)


_CODED = {
    "step": "service.event",
    "from": "ticket_status",
    "to": "ticket_status",
    "role": "role",
    "role.from": "role",
    "role.to": "role",
}


def readable(details: object, lang: str) -> str:
    """An entry's details as "rows: 400 · format: csv" in the page's language, not raw JSON."""
    from core.i18n import label, t

    if not isinstance(details, str) or not details:  # None (NaN in a DataFrame): nothing recorded
        return ""
    try:
        parsed = json.loads(details)
    except ValueError:
        return details

    def flat(prefix: str, value: object) -> list[str]:
        if isinstance(value, dict):
            return [part for k, v in value.items() for part in flat(f"{prefix}.{k}" if prefix else str(k), v)]
        if value in (None, "", [], ()):
            return []
        name = " ".join(t(f"audit.detail.{p}", lang) for p in prefix.split("."))
        if prefix == "fields" and isinstance(value, list):  # the names of a customer's fields, in words
            value = [t(f"customer.field.{v}", lang) for v in value]
        elif prefix in _CODED and isinstance(value, str):  # codes (a status, a step, a role) in words
            value = label(_CODED[prefix], value, lang)
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        return [f"{name}: {shown}"]

    return " · ".join(flat("", parsed)) if isinstance(parsed, dict) else str(parsed)
