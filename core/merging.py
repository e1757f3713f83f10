"""Duplicate customers: the review queue, merging two records into one, and undoing a merge for 30 days.

The queue holds pairs with the same phone or email (keyed hashes) and pairs whose names are alike (rapidfuzz,
legal forms left out) within one region; names are compared within blocks of the same region and first two
characters, so the work grows with the size of a block, not with the square of the store. A pair kept apart
leaves the queue for good.

A merge moves the merged record's orders, interactions, tickets, survey answers, tasks, converted leads and
external ids to the survivor, fills the survivor's empty fields from it, keeps the merged row (as stored,
contact details still encrypted) in the merge record and deletes it; every summary is rebuilt. An undo
within 30 days puts everything back.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, clock, db, facts, models as m, validators
from core.access import Viewer, require, visible
from core.customer_changes import NAME_SIMILARITY, _core_name
from core.errors import FieldErrors, NotFound, ValidationError

C, S = m.table(m.Customer), m.table(m.CustomerStat)
MERGES, DECISIONS, X = m.table(m.CustomerMerge), m.table(m.DuplicateDecision), m.table(m.ExternalId)
MOVED = {  # table -> the column that points at the customer
    "orders": m.table(m.Order).c.customer_id,
    "interactions": m.table(m.Interaction).c.customer_id,
    "tickets": m.table(m.Ticket).c.customer_id,
    "nps_responses": m.table(m.NpsResponse).c.customer_id,
    "tasks": m.table(m.Task).c.customer_id,
    "leads": m.table(m.Lead).c.converted_customer_id,
    "retention_actions": m.table(m.RetentionAction).c.customer_id,
    "survey_recipients": m.table(m.SurveyRecipient).c.customer_id,
    "loyalty_ledger": m.table(m.LoyaltyEntry).c.customer_id,  # points follow the customer; the sum stays right
}
MEMBERS = m.table(m.LoyaltyMember)
DERIVED = (  # the merged customer's rows: rescored with the survivor
    m.table(m.ChurnScore),
    m.table(m.RetentionCohort),
    m.table(m.CustomerValue),
    m.table(m.TierHistory),
)
FILLED = (
    "city",
    "company_size",
    "tags",
    "owner_id",
    "phone_enc",
    "phone_hash",
    "email_enc",
    "email_hash",
    "became_customer_date",
)
UNDO_DAYS = 30


@dataclass(frozen=True)
class Pair:
    first_id: int
    second_id: int
    why: str  # phone, email, name
    score: float


def candidates(session: Session, viewer: Viewer, *, limit: int = 100) -> list[Pair]:
    """Pairs to review, exact matches first, then the most alike names; pairs kept apart are left out."""
    require(viewer, "customers:merge")
    apart = {(r.first_id, r.second_id) for r in session.execute(select(DECISIONS.c.first_id, DECISIONS.c.second_id))}
    pairs: dict[tuple[int, int], Pair] = {}
    for kind in ("phone", "email"):
        column = C.c[f"{kind}_hash"]
        shared = select(column).where(column.is_not(None)).group_by(column).having(func.count() > 1)
        groups: dict[str, list[int]] = defaultdict(list)
        for value, customer_id in session.execute(visible(select(column, C.c.id).where(column.in_(shared)), C, viewer)):
            groups[value].append(int(customer_id))
        for ids in groups.values():
            ids.sort()
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    pairs.setdefault((a, b), Pair(a, b, kind, 100.0))
    blocks: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for customer_id, name, region in session.execute(visible(select(C.c.id, C.c.name, C.c.region), C, viewer)):
        core = _core_name(name)
        if len(core) >= 2:
            blocks[(region, core[:2])].append((int(customer_id), core))
    for members in blocks.values():
        for i, (a, name_a) in enumerate(members):
            for b, name_b in members[i + 1 :]:
                score = fuzz.ratio(name_a, name_b, score_cutoff=NAME_SIMILARITY)
                if score:
                    key = (min(a, b), max(a, b))
                    pairs.setdefault(key, Pair(key[0], key[1], "name", float(score)))
    ordered = sorted((p for k, p in pairs.items() if k not in apart), key=lambda p: (p.why == "name", -p.score))
    return ordered[:limit]


def pair_details(session: Session, viewer: Viewer, ids: list[int]) -> list[dict[str, Any]]:
    """Side by side: code, name, region, owner, customer since, orders, 12-month revenue (no contact details)."""
    require(viewer, "customers:merge")
    U = m.table(m.User)
    stmt = (
        select(
            C.c.id,
            C.c.code,
            C.c.name,
            C.c.region,
            C.c.city,
            U.c.display_name.label("owner"),
            C.c.became_customer_date,
            S.c.orders_total,
            S.c.revenue_12m,
        )
        .select_from(C.outerjoin(U, U.c.id == C.c.owner_id).outerjoin(S, S.c.customer_id == C.c.id))
        .where(C.c.id.in_(ids))
        .order_by(C.c.id)
    )
    return [dict(r) for r in session.execute(visible(stmt, C, viewer)).mappings()]


def keep_apart(session: Session, viewer: Viewer, first_id: int, second_id: int, *, now: datetime | None = None) -> None:
    require(viewer, "customers:merge")
    a, b = sorted((first_id, second_id))
    if session.scalar(select(DECISIONS.c.id).where(DECISIONS.c.first_id == a, DECISIONS.c.second_id == b)) is None:
        session.execute(
            DECISIONS.insert().values(first_id=a, second_id=b, at=now or clock.now(), username=viewer.username)
        )
    audit.record(session, action="duplicates_kept_apart", username=viewer.username, object=f"customers:{a},{b}", at=now)


def _row(session: Session, viewer: Viewer, customer_id: int) -> dict[str, Any]:
    row = session.execute(visible(select(C).where(C.c.id == customer_id), C, viewer)).mappings().first()
    if row is None:
        raise NotFound("No customer with that code or id.", key="customer.not_found")
    return dict(row)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def merge(
    session: Session, viewer: Viewer, survivor_id: int, merged_id: int, *, reason: str, now: datetime | None = None
) -> int:
    """Merge `merged_id` into `survivor_id` (see the module's docstring); returns the merge's id."""
    require(viewer, "customers:merge")
    now = now or clock.now()
    errors: validators.Errors = {}
    why = validators.text(errors, "reason", reason, required=True, longest=500, shortest=5)
    if errors:
        raise FieldErrors(errors)
    if survivor_id == merged_id:
        raise ValidationError("A customer cannot be merged into itself.", key="merge.same")
    survivor, merged = _row(session, viewer, survivor_id), _row(session, viewer, merged_id)
    moved: dict[str, list[int]] = {}
    for name, column in MOVED.items():
        table = column.table
        ids = [int(i) for i in session.scalars(select(table.c.id).where(column == merged_id))]
        if ids:
            session.execute(table.update().where(table.c.id.in_(ids)).values({column.name: survivor_id}))
        moved[name] = ids
    links = [int(i) for i in session.scalars(select(X.c.id).where(X.c.kind == "customer", X.c.record_id == merged_id))]
    session.execute(X.update().where(X.c.id.in_(links or [-1])).values(record_id=survivor_id))
    filled = {f: merged[f] for f in FILLED if survivor.get(f) in (None, "") and merged.get(f) not in (None, "")}
    if filled.get("became_customer_date") and survivor["status"] == "prospect":
        filled["status"] = merged["status"]
    membership = session.execute(select(MEMBERS).where(MEMBERS.c.customer_id == merged_id)).mappings().first()
    gained = False
    if membership is not None:  # the survivor stays or becomes a member, since the earlier of the two days
        survivor_joined = session.scalar(select(MEMBERS.c.joined_at).where(MEMBERS.c.customer_id == survivor_id))
        session.execute(MEMBERS.delete().where(MEMBERS.c.customer_id == merged_id))
        if survivor_joined is None:
            session.execute(MEMBERS.insert().values({**membership, "customer_id": survivor_id}))
            gained = True
    session.execute(S.delete().where(S.c.customer_id == merged_id))
    for table in DERIVED:
        session.execute(table.delete().where(table.c.customer_id == merged_id))
    session.execute(C.delete().where(C.c.id == merged_id))
    if filled:
        session.execute(C.update().where(C.c.id == survivor_id).values(**filled))
    record = {
        "merged": {k: _plain(v) for k, v in merged.items()},
        "moved": moved,
        "links": links,
        "filled": sorted(filled),
        "membership": {k: _plain(v) for k, v in membership.items()} if membership is not None else None,
        "membership_moved": gained,
    }
    merge_id = db.new_id(
        session,
        MERGES.insert().values(
            survivor_id=survivor_id,
            merged_id=merged_id,
            at=now,
            username=viewer.username,
            reason=why,
            record=json.dumps(record, default=str),
        ),
    )
    facts.rebuild_all(session, as_of=now.date())
    audit.record(
        session,
        action="customers_merged",
        username=viewer.username,
        object=f"customer:{survivor['code']}",
        at=now,
        details={"merged": merged["code"], "reason": why, **{k: len(v) for k, v in moved.items() if v}},
    )
    return merge_id


def recent_merges(session: Session, viewer: Viewer, *, now: datetime, limit: int = 20) -> list[dict[str, Any]]:
    """The last merges, with whether each can still be undone."""
    require(viewer, "customers:merge")
    rows = session.execute(
        select(
            MERGES.c.id,
            MERGES.c.survivor_id,
            MERGES.c.at,
            MERGES.c.username,
            MERGES.c.reason,
            MERGES.c.record,
            MERGES.c.undone_at,
        )
        .order_by(MERGES.c.at.desc())
        .limit(limit)
    )
    result = []
    for row in rows.mappings():
        merged = json.loads(row["record"])["merged"]
        result.append(
            {
                "id": row["id"],
                "at": row["at"],
                "username": row["username"],
                "reason": row["reason"],
                "merged_code": merged["code"],
                "merged_name": merged["name"],
                "undone": row["undone_at"],
                "undoable": row["undone_at"] is None and now - row["at"] <= timedelta(days=UNDO_DAYS),
            }
        )
    return result


def undo(session: Session, viewer: Viewer, merge_id: int, *, now: datetime | None = None) -> None:
    """Put a merge back within 30 days: the merged row returns with its own id, its rows go back to it, the
    survivor loses what was filled from it. Refused after 30 days or when undone already."""
    require(viewer, "customers:merge")
    now = now or clock.now()
    row = session.execute(select(MERGES).where(MERGES.c.id == merge_id)).mappings().first()
    if row is None:
        raise NotFound("No such merge.", key="merge.not_found")
    if row["undone_at"] is not None or now - row["at"] > timedelta(days=UNDO_DAYS):
        raise ValidationError("This merge can no longer be undone.", key="merge.too_late", days=UNDO_DAYS)
    record = json.loads(row["record"])
    merged = dict(record["merged"])
    for name in ("first_contact_date", "became_customer_date", "churned_date"):
        if merged.get(name):
            merged[name] = date.fromisoformat(merged[name])
    session.execute(C.insert().values(**merged))
    if record.get("membership"):  # the merged customer's membership comes back; one lent to the survivor goes
        if record.get("membership_moved"):
            session.execute(MEMBERS.delete().where(MEMBERS.c.customer_id == row["survivor_id"]))
        kept = dict(record["membership"])
        kept["joined_at"] = datetime.fromisoformat(kept["joined_at"])
        kept["joined_on"] = date.fromisoformat(kept["joined_on"])
        session.execute(MEMBERS.insert().values(**kept))
    for name, ids in record["moved"].items():
        column = MOVED[name]
        if ids:
            session.execute(column.table.update().where(column.table.c.id.in_(ids)).values({column.name: merged["id"]}))
    session.execute(X.update().where(X.c.id.in_(record["links"] or [-1])).values(record_id=merged["id"]))
    if record["filled"]:
        session.execute(
            C.update()
            .where(C.c.id == row["survivor_id"])
            .values(
                **{f: None for f in record["filled"] if f != "status"},
                **({"status": "prospect"} if "status" in record["filled"] else {}),
            )
        )
    session.execute(MERGES.update().where(MERGES.c.id == merge_id).values(undone_at=now))
    facts.rebuild_all(session, as_of=now.date())
    audit.record(session, action="merge_undone", username=viewer.username, object=f"customer:{merged['code']}", at=now)
