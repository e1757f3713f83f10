"""Preview and import: every row cleaned, checked and matched before anything is written; the import itself
is one transaction (through `core.db.write` at the caller), so a refused or interrupted batch leaves nothing.

Matching: a row's external id in its source finds the record it made before (import twice = once); a
customer without one is matched by our code, then by phone, then by email (keyed hashes: the values stay
encrypted). A row repeating an earlier row of the same file (same id, phone or email) is a duplicate.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import (
    audit,
    clock,
    db,
    exports,
    facts,
    leads,
    loyalty,
    models as m,
    pii,
    quality,
    rules,
    service,
    service_facts,
)
from core.access import Viewer, holders, require
from core.customers import next_codes
from core.errors import StoreError, ValidationError
from core.i18n import t
from core.ingest import clean
from core.ingest.fields import CUSTOMER_KEYS, FIELDS, KINDS, Field, Mapping, code_for, field_of, known_headers
from core.ingest.files import Table, normalise_header, read_table
from core.pii import Keyring

C, O, X, N = m.table(m.Customer), m.table(m.Order), m.table(m.ExternalId), m.table(m.NpsResponse)
T, E = m.table(m.Ticket), m.table(m.TicketEvent)
I, L = m.table(m.Interaction), m.table(m.Lead)
U, MAP, B = m.table(m.User), m.table(m.ImportMapping), m.table(m.ImportBatch)
SOURCE_LONGEST = 64
CHUNK = 1000  # look-ups by IN lists of this size
CHUNK_ROWS = 50_000  # a file is cleaned, planned and written this many rows at a time
PARALLEL_BYTES = 8 * 1024 * 1024  # a file this large is read and cleaned in a second process (about 150,000 rows)
MAX_REASONS = 100_000
REMEMBERED = 4 * CHUNK_ROWS  # cleaned values kept per field: repeats (codes, dates, a customer's id) hit;
# a column of unique values (order numbers) is forgotten every few chunks, so memory stays flat
ACTIONS = ("new", "update", "unchanged", "duplicate", "rejected")


@dataclass
class Issue:
    """Why a row was refused (or what was fixed in it): the file's line, the field, a catalog key."""

    line: int
    field_name: str | None
    key: str
    values: dict[str, object] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        where = t(f"import.field.{self.field_name}", lang) if self.field_name else ""
        reason = t(self.key, lang, **self.values)
        return f"{where}: {reason}" if where else reason


@dataclass(slots=True)
class PlannedRow:
    line: int
    action: str
    values: dict[str, Any]
    record_id: int | None = None
    changed: list[str] = field(default_factory=list)
    linked: bool = False  # the record already carries this row's external id


@dataclass
class Plan:
    """What an import would do (a preview) or did: counts per action, the refused rows with their reasons (the
    first MAX_REASONS of them: more means the mapping is wrong), what was fixed, the values of coded fields
    nobody knows, and problems with the mapping itself. Rows themselves are not kept: a file is planned and
    written a chunk at a time."""

    kind: str
    source: str
    problems: list[tuple[str, dict[str, object]]] = field(default_factory=list)
    found: Counter[str] = field(default_factory=Counter)
    rejected: list[Issue] = field(default_factory=list)
    fixed: Counter[tuple[str, str]] = field(default_factory=Counter)
    unknown: dict[str, Counter[str]] = field(default_factory=dict)
    written: bool = False
    tickets: list[int] = field(default_factory=list)  # tickets written (their SLA clocks follow)

    @property
    def counts(self) -> dict[str, int]:
        return {action: self.found.get(action, 0) for action in ACTIONS}

    @property
    def ready(self) -> bool:
        return not self.problems

    def refuse(self, issues: list[Issue]) -> None:
        """One row refused, for one or more reasons."""
        self.found["rejected"] += 1
        if len(self.rejected) < MAX_REASONS:
            self.rejected.extend(issues)

    def reject(self, line: int, field_name: str | None, key: str) -> None:
        """A row refused for one reason (a field's, or the row's when `field_name` is None)."""
        self.refuse([Issue(line, field_name, key)])

    def take(self, notes: Plan) -> None:
        """Add what cleaning one chunk found (refused rows, fixes, unknown values) to this plan."""
        self.found.update(notes.found)
        if len(self.rejected) < MAX_REASONS:
            self.rejected.extend(notes.rejected)
        self.fixed.update(notes.fixed)
        for name, values in notes.unknown.items():
            self.unknown.setdefault(name, Counter()).update(values)


# --- reading and mapping ----------------------------------------------------------------------------------


def read(data: bytes, *, kind: str, file_name: str, encoding: str | None = None, sheet: str | None = None) -> Table:
    """The file as a table, its header found among the first rows by the kind's field names."""
    if kind not in KINDS:
        raise ValidationError(f"Import one of: {', '.join(KINDS)}.", key="import.error.kind")
    return read_table(data, file_name=file_name, known=known_headers(kind), encoding=encoding, sheet=sheet)


def _problems(kind: str, table: Table, mapping: Mapping) -> list[tuple[str, dict[str, object]]]:
    problems: list[tuple[str, dict[str, object]]] = []
    for column in mapping.columns.values():
        if column and column not in table.header:
            problems.append(("import.problem.missing_column", {"column": column}))
    if kind == "customers":
        # a customers file may update a few fields of known customers (their contact details, say): it needs a
        # name or a way to find them; the required fields are checked on the rows that would create a customer
        if not any(mapping.columns.get(name) for name in ("name", "external_id", "code", "phone", "email")):
            problems.append(("import.problem.required", {"field": "name"}))
    else:
        for spec in FIELDS[kind]:
            if spec.required and not mapping.columns.get(spec.name) and not mapping.fixed.get(spec.name):
                problems.append(("import.problem.required", {"field": spec.name}))
    if kind in LINKED and LINKED[kind].customer_required and not any(mapping.columns.get(n) for n in CUSTOMER_KEYS):
        problems.append(("import.problem.customer_key", {}))
    if kind in LINKED and not mapping.columns.get("external_id"):
        problems.append(("import.problem.order_id", {}))
    return problems


def _users(session: Session, roles: Iterable[str]) -> dict[str, int]:
    """Active users of the roles by username and by display name (normalised): account managers for an owner
    column (who may own customers and leads), the service desk's people for a ticket's assignee."""
    found: dict[str, int] = {}
    active = (U.c.active.is_(True)) & (U.c.role.in_(list(roles)))
    for row in session.execute(select(U.c.id, U.c.username, U.c.display_name).where(active)):
        found[normalise_header(row.username)] = row.id
        found.setdefault(normalise_header(row.display_name), row.id)
    return found


def _clean_value(spec: Field, raw: str, mapping: Mapping, today: date) -> tuple[Any, str | None]:
    if spec.type == "text":
        return clean.text(raw, longest=spec.longest)
    if spec.type == "prose":
        return clean.prose(raw, longest=spec.longest)
    if spec.type == "key":
        return clean.key(raw)
    if spec.type == "phone":
        return clean.phone(raw)
    if spec.type == "email":
        return clean.email(raw)
    if spec.type == "date":
        return clean.day(raw, today=today)
    if spec.type == "moment":
        return clean.moment(raw, today=today)
    if spec.type == "amount":
        return clean.amount(raw)
    if spec.type == "code":
        value, _ = clean.text(raw, longest=200)
        if value is None:
            return None, None
        code = code_for(spec, value, mapping.values.get(spec.name))
        if code is None:
            raise clean.Problem("unknown value", key="import.reason.unknown_value", value=value[:40])
        return code, None
    return clean.text(raw, longest=200)  # owner, agent: resolved by the caller


class _Cleaner:
    """Cleans a file's rows a chunk at a time, column by column: each distinct value of a field is cleaned once
    (up to REMEMBERED values per field), and only rows holding a refused or fixed value are visited one by
    one."""

    def __init__(self, kind: str, table: Table, mapping: Mapping, today: date) -> None:
        positions = {name: table.header.index(c) for name, c in mapping.columns.items() if c in table.header}
        self.specs = [(spec, positions.get(spec.name), mapping.fixed.get(spec.name, "")) for spec in FIELDS[kind]]
        self.kind, self.mapping, self.today = kind, mapping, today
        self.values: dict[str, dict[str, Any]] = {spec.name: {} for spec in FIELDS[kind]}
        self.notes: dict[str, dict[str, clean.Problem | str]] = {spec.name: {} for spec in FIELDS[kind]}

    def _learn(self, spec: Field, distinct: set[str], required: bool) -> None:
        values, notes = self.values[spec.name], self.notes[spec.name]
        for raw in distinct.difference(values):
            try:
                value, fixed = _clean_value(spec, raw, self.mapping, self.today)
            except clean.Problem as problem:
                values[raw], notes[raw] = None, problem
                continue
            values[raw] = value
            if value is None and required:
                notes[raw] = REQUIRED
            elif fixed:
                notes[raw] = fixed

    def chunk(self, rows: list[tuple[int, list[str]]]) -> tuple[list[tuple[int, dict[str, Any]]], Plan]:
        """The chunk's rows cleaned, and notes of what cleaning found (for `Plan.take`): a row with a refused
        value is recorded there and left out."""
        found = Plan(kind=self.kind, source="")
        count = len(rows)
        columns: dict[str, list[Any]] = {}
        issues: dict[int, list[Issue]] = {}
        fixes: dict[tuple[str, str], list[int]] = {}
        for spec, position, fixed_value in self.specs:
            if len(self.values[spec.name]) > REMEMBERED:
                self.values[spec.name], self.notes[spec.name] = {}, {}
            required = spec.required and (position is not None or bool(fixed_value))
            if position is None:  # one value for every row: the fixed one, or none
                self._learn(spec, {fixed_value}, required)
                columns[spec.name] = [self.values[spec.name][fixed_value]] * count
                if fixed_value not in self.notes[spec.name]:
                    continue
                raw = [fixed_value] * count
            else:
                raw = [cells[position] for _, cells in rows]
                self._learn(spec, set(raw), required)
                columns[spec.name] = list(map(self.values[spec.name].__getitem__, raw))
            notes = self.notes[spec.name]
            if not notes or notes.keys().isdisjoint(raw):
                continue
            for i, value in enumerate(raw):
                note = notes.get(value)
                if note is None:
                    continue
                if isinstance(note, clean.Problem):
                    if note.key == "import.reason.unknown_value":
                        found.unknown.setdefault(spec.name, Counter())[str(note.values["value"])] += 1
                    issue = Issue(rows[i][0], spec.name, note.key or "import.reason.invalid", note.values)
                    issues.setdefault(i, []).append(issue)
                elif note == REQUIRED:
                    issues.setdefault(i, []).append(Issue(rows[i][0], spec.name, "import.reason.required"))
                else:
                    fixes.setdefault((spec.name, note), []).append(i)
        for i in sorted(issues):
            found.refuse(issues[i])
        for fix, at in fixes.items():
            found.fixed[fix] += sum(1 for i in at if i not in issues)
        names = list(columns)
        cleaned = [
            (line, dict(zip(names, values)))
            for i, ((line, _), values) in enumerate(zip(rows, zip(*columns.values())))
            if i not in issues
        ]
        return cleaned, found


REQUIRED = "required"  # a note: the field is mapped but this row leaves it empty


def _chunks_of(table: Table) -> Iterator[list[tuple[int, list[str]]]]:
    rows = table.rows()
    while chunk := list(islice(rows, CHUNK_ROWS)):
        yield chunk


def _cleaned(cleaner: _Cleaner, table: Table) -> Iterator[tuple[list[tuple[int, dict[str, Any]]], Plan]]:
    """The file's chunks cleaned, each with its notes. A large file is read and cleaned by a second process
    while this one matches and writes the chunk before (the machine's second core: 2,000,000 orders took
    a fifth less); both paths run the same cleaner, so they give the same rows and notes."""
    if table.size < PARALLEL_BYTES or not sys.platform.startswith("linux"):
        for rows in _chunks_of(table):
            yield cleaner.chunk(rows)
        return
    context = multiprocessing.get_context("fork")  # the child inherits the file and the cleaner: nothing copied
    receiving, sending = context.Pipe(duplex=False)
    worker = context.Process(target=_clean_aside, args=(cleaner, table, sending), daemon=True)
    worker.start()
    sending.close()
    try:
        while True:
            try:
                item = receiving.recv()  # the pipe holds about one chunk: the reader stays a chunk ahead
            except EOFError:
                raise StoreError(
                    "The process reading the file stopped unexpectedly (out of memory?); nothing was imported.",
                    key="import.error.reader",
                ) from None
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        receiving.close()
        if worker.is_alive():  # the import stopped early (an error while writing): the reader is not needed
            worker.kill()
        worker.join()


def _clean_aside(cleaner: _Cleaner, table: Table, sending: Any) -> None:
    """In the reader process: each chunk cleaned and sent, then None; an error is sent for the importer to
    raise (the file's own errors, like a broken CSV line, read the same as without the second process)."""
    try:
        for rows in _chunks_of(table):
            sending.send(cleaner.chunk(rows))
        sending.send(None)
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the importer, which raises it
        try:
            sending.send(exc)
        except Exception:  # noqa: BLE001 - an error that cannot be pickled goes back as its text
            sending.send(RuntimeError(f"{type(exc).__name__}: {exc}"))
    finally:
        sending.close()


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _lookup(session: Session, column: Any, key_column: Any, keys: Iterable[Any], where: Any = None) -> dict[Any, int]:
    """key -> id for the keys present, by IN lists (never a whole-table read)."""
    found: dict[Any, int] = {}
    for part in _chunks(sorted({k for k in keys if k is not None})):
        stmt = select(key_column, column).where(key_column.in_(part))
        if where is not None:
            stmt = stmt.where(where)
        found.update({key: record for key, record in session.execute(stmt).all()})
    return found


def _external(session: Session, source: str, kind: str, ids: Iterable[Any]) -> dict[Any, int]:
    return _lookup(session, X.c.record_id, X.c.external_id, ids, (X.c.source == source) & (X.c.kind == kind))


@dataclass
class _Import:
    """One import in progress: what every chunk needs and what carries from one chunk to the next."""

    session: Session
    kind: str
    mapping: Mapping
    plan: Plan
    keyring: Keyring
    today: date
    owners: dict[str, int]
    agents: dict[str, int]
    fresh: bool  # the store holds no record of this kind from this source yet: nothing to look up by its ids
    seen: set[Any] = field(default_factory=set)  # this file's ids, phones, emails so far: a repeat is a duplicate
    customers: dict[str, dict[Any, int | None]] = field(default_factory=dict)  # linked rows' owners, by how found
    campaigns: dict[str, int] | None = None  # a leads file's campaigns by name, read once
    contacts: set[str] = field(default_factory=set)  # a leads file's phone and e-mail hashes so far (duplicates)


def _customers_of(
    job: _Import, rows: list[dict[str, Any]], *, external: str, code: str, phone: str, email: str
) -> dict[int, tuple[int, bool]]:
    """Row index -> (customer id, found by the source's own id): by the source's external id, then our code,
    then phone, then email hash (the rows carry `phone_hash` and `email_hash`); rows with no match are left out.
    Only the keys the file maps are asked. Rows linked to customers (orders, answers) remember every look-up:
    a customer's many orders ask once."""
    session, source, given = job.session, job.plan.source, _given(job.mapping)
    finders = [
        (how, name, find)
        for how, name, field_name, find in (
            ("external", external, external, lambda keys: _external(session, source, "customer", keys)),
            ("code", code, code, lambda keys: _lookup(session, C.c.id, C.c.code, keys)),
            ("phone", "phone_hash", phone, lambda keys: _lookup(session, C.c.id, C.c.phone_hash, keys)),
            ("email", "email_hash", email, lambda keys: _lookup(session, C.c.id, C.c.email_hash, keys)),
        )
        if field_name in given
    ]
    known = job.customers if job.kind != "customers" else {}  # a customers file makes customers as it goes
    asking = []
    for how, name, find in finders:
        answered = known.setdefault(how, {})
        asked = [key for key in {v.get(name) for v in rows} if key is not None and key not in answered]
        answers = find(asked)
        answered.update({key: answers.get(key) for key in asked})
        asking.append((answered, name, how == "external"))
    found = {}
    for i, v in enumerate(rows):
        for answered, name, own_id in asking:
            match = answered.get(v.get(name))
            if match is not None:
                found[i] = (match, own_id)
                break
    return found


# --- customers --------------------------------------------------------------------------------------------


def _plan_customers(job: _Import, cleaned: list[tuple[int, dict[str, Any]]]) -> list[PlannedRow]:
    plan, keyring = job.plan, job.keyring
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, values in cleaned:
        if values.get("owner"):
            owner_id = job.owners.get(normalise_header(values["owner"]))
            if owner_id is None:
                plan.reject(line, "owner", "import.reason.owner")
                continue
            values["owner_id"] = owner_id
        values.pop("owner", None)
        problem = _customer_dates(values, job.today)
        if problem:
            plan.reject(line, problem[0], problem[1])
            continue
        values["phone_hash"] = pii.search_hash("phone", values.get("phone"), keyring)
        values["email_hash"] = pii.search_hash("email", values.get("email"), keyring)
        rows.append((line, values))
    matches = _customers_of(
        job, [v for _, v in rows], external="external_id", code="code", phone="phone", email="email"
    )
    stored = _stored_customers(job.session, {record for record, _ in matches.values()})
    given = _given(job.mapping)
    planned: list[PlannedRow] = []
    for i, (line, values) in enumerate(rows):
        keys = {(name, values[name]) for name in ("external_id", "phone_hash", "email_hash") if values.get(name)}
        if not keys.isdisjoint(job.seen):
            planned.append(PlannedRow(line, "duplicate", values))
            continue
        job.seen |= keys
        if i not in matches:
            missing = [spec.name for spec in FIELDS["customers"] if spec.required and values.get(spec.name) is None]
            if missing:  # a new customer needs every required field
                plan.reject(line, missing[0], "import.reason.required")
                continue
            planned.append(PlannedRow(line, "new", values))
            continue
        record, by_own_id = matches[i]
        changed = [
            name
            for name, value in _customer_columns(values).items()
            if name in given and value is not None and stored[record].get(name) != value
        ]
        linked = values.get("external_id") is None or by_own_id
        action = "update" if changed or not linked else "unchanged"
        planned.append(PlannedRow(line, action, values, record, changed, linked))
    return planned


def _given(mapping: Mapping) -> set[str]:
    """The stored columns a file speaks for: an update leaves the others (and what is derived from fields
    the file lacks, such as the status) as they are."""
    fields = {name for name, column in mapping.columns.items() if column} | {n for n, v in mapping.fixed.items() if v}
    given = set(fields)
    given |= {"owner_id"} if "owner" in fields else set()
    given |= {f"{kind}_hash" for kind in ("phone", "email") if kind in fields}
    if fields & {"status", "first_contact_date", "became_customer_date", "churned_date"}:
        given |= {"status", "first_contact_date", "became_customer_date", "churned_date"}
    return given


def _customer_dates(values: dict[str, Any], today: date) -> tuple[str, str] | None:
    """Status from the dates when not given; a first contact after becoming a customer is moved to that day."""
    became, churned = values.get("became_customer_date"), values.get("churned_date")
    status = values.get("status") or ("churned" if churned else "active" if became else "prospect")
    if status in ("active", "churned") and became is None:
        became = values.get("first_contact_date")
        if became is None:
            return "became_customer_date", "import.reason.required"
    if status == "churned" and churned is None:
        return "churned_date", "import.reason.required"
    if churned is not None and became is not None and churned < became:
        return "churned_date", "import.reason.churn_before"
    first = values.get("first_contact_date") or became or today
    if became is not None and first > became:
        first = became
    values.update(
        status=status,
        became_customer_date=became if status != "prospect" else None,
        churned_date=churned if status == "churned" else None,
        first_contact_date=first,
    )
    return None


CUSTOMER_COLUMNS = (
    "name",
    "kind",
    "industry",
    "region",
    "city",
    "company_size",
    "owner_id",
    "acquisition_channel",
    "first_contact_date",
    "became_customer_date",
    "churned_date",
    "status",
    "tags",
    "phone_hash",
    "email_hash",
)


def _customer_columns(values: dict[str, Any]) -> dict[str, Any]:
    return {name: values.get(name) for name in CUSTOMER_COLUMNS}


def _stored_customers(session: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for part in _chunks(sorted(ids)):
        for row in session.execute(
            select(C.c.id, *(C.c[c] for c in CUSTOMER_COLUMNS)).where(C.c.id.in_(part))
        ).mappings():
            found[row["id"]] = dict(row)
    return found


def _write_customers(job: _Import, planned: list[PlannedRow]) -> None:
    session, keyring = job.session, job.keyring
    new = [row for row in planned if row.action == "new"]
    if new:
        columns: dict[str, list[Any]] = {name: [row.values.get(name) for row in new] for name in CUSTOMER_COLUMNS}
        columns["code"] = list(next_codes(session, len(new)))
        for kind in ("phone", "email"):
            columns[f"{kind}_enc"] = [pii.encrypt(row.values.get(kind), keyring) for row in new]
        for row, record_id in zip(new, _insert_new(session, C, columns)):
            row.record_id = record_id
    for row in planned:
        if row.action == "update" and row.record_id is not None:
            changes = {name: row.values[name] for name in row.changed}
            for kind in ("phone", "email"):
                if f"{kind}_hash" in changes:
                    changes[f"{kind}_enc"] = pii.encrypt(row.values[kind], keyring)
            if changes:
                session.execute(C.update().where(C.c.id == row.record_id).values(**changes))
    _link(job, planned, "customer")


def _insert_new(session: Session, table: Any, columns: dict[str, list[Any]]) -> list[int]:
    """Insert many rows fast (raw executemany on SQLite, COPY on PostgreSQL) with ids taken after the highest
    one: safe, since an import holds the write lock; PostgreSQL's sequence is moved past them."""
    count = len(next(iter(columns.values()), []))
    if not count:
        return []
    start = int(session.scalar(select(func.max(table.c.id))) or 0) + 1
    ids = list(range(start, start + count))
    connection = session.connection()
    db.bulk_insert(connection, table, {"id": ids, **columns})
    db.reset_sequences(connection, [table])
    return ids


def _link(job: _Import, planned: list[PlannedRow], kind: str) -> None:
    """External ids for the rows that brought one and whose record does not carry it yet."""
    wanted = {
        row.values["external_id"]: row.record_id
        for row in planned
        if row.action in ("new", "update", "unchanged")
        and row.values.get("external_id")
        and row.record_id
        and not row.linked
    }
    if wanted:
        keys = sorted(wanted)  # in index order: the unique index is filled from one end, not at random
        columns = {
            "source": [job.plan.source] * len(keys),
            "kind": [kind] * len(keys),
            "external_id": keys,
            "record_id": [wanted[key] for key in keys],
        }
        db.bulk_insert(job.session.connection(), X, columns)


# --- orders -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Linked:
    """A kind of row that belongs to a customer: its table, its columns, the kind its external ids carry."""

    table: Any
    columns: tuple[str, ...]
    id_kind: str
    customer_column: str = "customer_id"
    customer_required: bool = True  # a lead may name the customer it became, or none


LINKED = {
    "orders": Linked(O, ("customer_id", "order_date", "amount", "product_category", "sales_channel"), "order"),
    "nps": Linked(N, ("customer_id", "responded_at", "score", "touchpoint", "comment"), "nps"),
    "interactions": Linked(
        I,
        ("customer_id", "occurred_at", "channel", "direction", "subject", "notes", "outcome", "duration_minutes"),
        "interaction",
    ),
    "leads": Linked(
        L,
        (
            "company_name",
            "source_channel",
            "created_at",
            "status",
            "kind",
            "industry",
            "region",
            "owner_id",
            "converted_customer_id",
            "converted_at",
            "disqualified_at",
            "contacted_at",
            "qualified_at",
            "campaign_id",
            "contact_name",
            "phone_enc",
            "email_enc",
            "phone_hash",
            "email_hash",
            "email_domain",
            "invalid_reason",
            "screened",
            "duplicate_of_lead_id",
            "duplicate_of_customer_id",
        ),
        "lead",
        customer_column="converted_customer_id",
        customer_required=False,
    ),
    "tickets": Linked(
        T,
        (
            "customer_id",
            "kind",
            "category",
            "priority",
            "channel",
            "status",
            "created_at",
            "first_response_at",
            "resolved_at",
            "closed_at",
            "assignee_id",
            "description",
            "resolution",
            "csat",
            "feedback_at",
            "feedback_comment",
        ),
        "ticket",
    ),
}
# a ticket's history as the file gives it: each time it names is the step that set it
TICKET_STEPS = (
    ("created_at", "created", None, "new"),
    ("first_response_at", "accept", "new", "accepted"),
    ("resolved_at", "resolve", "accepted", "resolved"),
    ("closed_at", "close", "resolved", "closed"),
)


def _ticket_problem(values: dict[str, Any]) -> tuple[str, str] | None:
    """Times in the order the workflow sets them; the status from the times when the file has none, and a
    status the times must support when it has one; CSAT 1-5, its time the close."""
    values["kind"], values["channel"] = values.pop("ticket_kind"), values.pop("ticket_channel")
    times = [values.get(name) for name, *_ in TICKET_STEPS]
    given = [(name, at) for (name, *_), at in zip(TICKET_STEPS, times) if at is not None]
    if any(later < earlier for (_, earlier), (_, later) in zip(given, given[1:])):
        return given[-1][0], "import.reason.ticket_times"
    derived = "closed" if times[3] else "resolved" if times[2] else "accepted" if times[1] else "new"
    status = values.get("status") or derived
    needs = {"accepted": 1, "analysing": 1, "waiting": 1, "resolved": 2, "closed": 3}.get(status)
    if needs is not None and times[needs] is None:
        return TICKET_STEPS[needs][0], "import.reason.required"
    values["status"] = status
    score = values.get("csat")
    if score is not None:
        if score != int(score) or not 1 <= score <= 5:
            return "csat", "import.reason.csat"
        values["csat"] = int(score)
    values["feedback_at"] = times[3] if score is not None else None
    return None


LEAD_STAGE_TIMES = ("created_at", "contacted_at", "qualified_at", "converted_at")
SCREEN_VERDICT = (
    "status",
    "disqualified_at",
    "invalid_reason",
    "screened",
    "duplicate_of_lead_id",
    "duplicate_of_customer_id",
)


def _lead_problem(values: dict[str, Any]) -> tuple[str, str] | None:
    """Each stage's date in order (a status implies the stages before it: a missing date defaults to the next
    stage's, else to the last one known before it); an invalid lead's date is not before its creation, and only
    an invalid lead keeps a reason."""
    moment = {
        name: datetime.combine(values[name], datetime.min.time()) if values.get(name) else None
        for name in (*LEAD_STAGE_TIMES, "disqualified_at")
    }
    status = values["status"]
    reached = {"contacted": 1, "qualified": 2, "converted": 3}.get(status, 0)
    if status != "disqualified":  # an invalid lead keeps the stages the file says it reached
        for i in (3, 2, 1):
            name = LEAD_STAGE_TIMES[i]
            if i > reached:
                moment[name] = None  # a stage not reached has no date
            elif moment[name] is None:  # the next stage's date, else the last one known before it
                later = moment[LEAD_STAGE_TIMES[i + 1]] if i < 3 else None
                earlier = max((t for n in LEAD_STAGE_TIMES[:i] if (t := moment[n]) is not None), default=None)
                moment[name] = later or earlier
    invalid_at = moment["disqualified_at"] or moment["created_at"]
    moment["disqualified_at"] = invalid_at if status == "disqualified" else None
    times = [moment[name] for name in LEAD_STAGE_TIMES]
    given = [at for at in times if at is not None]
    if any(later < earlier for earlier, later in zip(given, given[1:])) or (
        moment["disqualified_at"] and moment["created_at"] and moment["disqualified_at"] < moment["created_at"]
    ):
        return "created_at", "import.reason.lead_dates"
    if status != "disqualified":
        values["invalid_reason"] = None
    values.update(moment)
    return None


def _lead_contacts(job: _Import, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """A leads file's own side: its campaign by name (an unknown one refuses the row), its contact details
    encrypted with their hashes."""
    if job.campaigns is None:
        job.campaigns = {normalise_header(name): i for i, name in leads.campaigns_to_name(job.session).items()}
    kept: list[tuple[int, dict[str, Any]]] = []
    for line, values in rows:
        name = values.pop("campaign", None)
        values["campaign_id"] = job.campaigns.get(normalise_header(name)) if name else None
        if name and values["campaign_id"] is None:
            job.plan.reject(line, "campaign", "import.reason.campaign")
            continue
        phone, email = values.pop("phone", None), values.pop("email", None)
        values |= {
            "phone_enc": pii.encrypt(phone, job.keyring) if phone else None,
            "email_enc": pii.encrypt(email, job.keyring) if email else None,
            "phone_hash": pii.search_hash("phone", phone, job.keyring),
            "email_hash": pii.search_hash("email", email, job.keyring),
            "email_domain": leads.domain_of(email),
            "screened": False,
            "duplicate_of_lead_id": None,
            "duplicate_of_customer_id": None,
            "has_phone": bool(phone),
            "plain_email": email,
        }
        kept.append((line, values))
    rows[:] = kept


def _lead_screen(job: _Import, rows: list[tuple[int, dict[str, Any]]], known: dict[Any, int]) -> None:
    """The screening rules for each new lead still open (a file without contact columns is not screened for a
    missing contact); a lead found again keeps what the rules decided the first time."""
    rules_now = leads.screen_rules(job.session)
    if not any(job.mapping.columns.get(k) for k in ("phone", "email")):
        rules_now["missing_contact"] = leads.ScreenRule("missing_contact", False, (), "", None)
    fresh = [v for _, v in rows if v.get("external_id") not in known and v["status"] in ("new", "contacted")]
    found = leads.same_contact(job.session, [(v["phone_hash"], v["email_hash"]) for v in fresh])
    for values in fresh:
        finding = leads.screen(
            job.session,
            rules_now,
            company=values["company_name"],
            contact=values.get("contact_name"),
            phone_hash=values["phone_hash"],
            email_hash=values["email_hash"],
            has_phone=values["has_phone"],
            email=values["plain_email"],
            known=found,
        )
        hashes = {h for h in (values["phone_hash"], values["email_hash"]) if h}
        if finding.reason is None and rules_now["duplicate"].enabled and hashes & job.contacts:
            finding = leads.Finding("duplicate")  # an earlier line of this file
        job.contacts |= hashes
        values.update(leads.screened_values(finding, values["created_at"]))
    for _, values in rows:
        values.pop("has_phone"), values.pop("plain_email")


def _row_problem(kind: str, values: dict[str, Any]) -> tuple[str, str] | None:
    """A rule beyond each field's own: (field, reason key) when the row cannot be used."""
    if kind == "orders" and values["amount"] < 0:
        return "amount", "import.reason.negative"
    if kind == "tickets":
        return _ticket_problem(values)
    if kind == "nps":
        score = values["score"]
        if score != int(score) or not 0 <= score <= 10:
            return "score", "import.reason.score"
        values["score"] = int(score)
        values["responded_at"] = datetime.combine(values["responded_at"], datetime.min.time())
    if kind == "leads":
        return _lead_problem(values)
    if kind == "interactions":
        minutes = values.get("duration_minutes")
        if minutes is not None and (minutes != int(minutes) or not 0 <= minutes <= 24 * 60):
            return "duration_minutes", "import.reason.duration"
        values["duration_minutes"] = None if minutes is None else int(minutes)
        values["occurred_at"] = datetime.combine(values["occurred_at"], datetime.min.time())
    return None


def _plan_linked(job: _Import, cleaned: list[tuple[int, dict[str, Any]]]) -> list[PlannedRow]:
    """Orders, answers, interactions, leads: each finds its customer (the source's customer id, our code,
    phone, email) and its own earlier import by its id in the source."""
    plan, keyring, kind = job.plan, job.keyring, job.kind
    linked = LINKED[kind]
    by_phone, by_email = (bool(job.mapping.columns.get(f"customer_{k}")) for k in ("phone", "email"))
    rows: list[tuple[int, dict[str, Any]]] = []
    for line, values in cleaned:
        problem = _row_problem(kind, values)
        if problem:
            plan.reject(line, problem[0], problem[1])
            continue
        if values.get("owner"):
            values["owner_id"] = job.owners.get(normalise_header(values["owner"]))
            if values["owner_id"] is None:
                plan.reject(line, "owner", "import.reason.owner")
                continue
        if values.get("assignee"):
            values["assignee_id"] = job.agents.get(normalise_header(values["assignee"]))
            if values["assignee_id"] is None:
                plan.reject(line, "assignee", "import.reason.assignee")
                continue
        values["phone_hash"] = pii.search_hash("phone", values.get("customer_phone"), keyring) if by_phone else None
        values["email_hash"] = pii.search_hash("email", values.get("customer_email"), keyring) if by_email else None
        rows.append((line, values))
    if kind == "leads":
        _lead_contacts(job, rows)
    matches = _customers_of(
        job,
        [v for _, v in rows],
        external="customer_external_id",
        code="customer_code",
        phone="customer_phone",
        email="customer_email",
    )
    ids = {v.get("external_id") for _, v in rows} - job.seen
    known = {} if job.fresh else _external(job.session, plan.source, linked.id_kind, ids)
    if kind == "leads":
        _lead_screen(job, rows, known)
    stored: dict[int, dict[str, Any]] = {}
    target = linked.table
    for part in _chunks(sorted(set(known.values()))):
        stmt = select(target.c.id, *(target.c[c] for c in linked.columns)).where(target.c.id.in_(part))
        for row in job.session.execute(stmt).mappings():
            stored[row["id"]] = dict(row)
    planned: list[PlannedRow] = []
    for i, (line, values) in enumerate(rows):
        if i not in matches and linked.customer_required:
            plan.reject(line, None, "import.reason.no_customer")
            continue
        values[linked.customer_column] = matches[i][0] if i in matches else None
        key = values.get("external_id")
        if key in job.seen:
            planned.append(PlannedRow(line, "duplicate", values))
            continue
        job.seen.add(key)
        record = known.get(key)
        if record is None:
            planned.append(PlannedRow(line, "new", values))
            continue
        before = stored[record]
        if kind == "leads" and before["screened"] and values["status"] in ("new", "contacted"):
            values.update({c: before[c] for c in SCREEN_VERDICT})  # what the rules decided stays
        # encrypted values differ every time: their hashes say whether they changed
        changed = [c for c in linked.columns if not c.endswith("_enc") and before.get(c) != values.get(c)]
        changed += [f"{c[:-5]}_enc" for c in changed if c in ("phone_hash", "email_hash")]
        planned.append(PlannedRow(line, "update" if changed else "unchanged", values, record, changed, True))
    return planned


def _write_linked(job: _Import, planned: list[PlannedRow]) -> None:
    linked = LINKED[job.kind]
    target = linked.table
    # in customer order: each customer's rows sit together in the index by customer, and in the table, so the
    # insert touches fewer pages and the summaries' rebuild reads fewer (2,000,000 orders: 4 s less)
    new = sorted(
        (row for row in planned if row.action == "new"), key=lambda r: r.values.get(linked.customer_column) or 0
    )
    if new:
        values = [row.values for row in new]
        columns = {c: [v.get(c) for v in values] for c in linked.columns}
        if job.kind == "tickets":
            columns.update(_new_ticket_columns(job, new))
        for row, record_id in zip(new, _insert_new(job.session, target, columns)):
            row.record_id = record_id
    for row in planned:
        if row.action == "update" and row.record_id is not None:
            changes = {c: row.values.get(c) for c in row.changed}
            job.session.execute(target.update().where(target.c.id == row.record_id).values(**changes))
    if job.kind == "tickets":
        _ticket_history(job, planned)
    _link(job, planned, linked.id_kind)


def _new_ticket_columns(job: _Import, new: list[PlannedRow]) -> dict[str, list[Any]]:
    """What a new ticket needs beyond the file: due times (set right when its clocks are computed at the end
    of the import), its team (the assignee's), a version and no re-opens."""
    teams = dict(job.session.execute(select(U.c.id, U.c.team).where(U.c.id.in_(set(job.agents.values())))).all())
    created = [row.values["created_at"] for row in new]
    return {
        "first_response_due": created,
        "resolution_due": created,
        "team": [teams.get(row.values.get("assignee_id")) for row in new],
        "reopened": [0] * len(new),
        "version": [0] * len(new),
    }


def _ticket_history(job: _Import, planned: list[PlannedRow]) -> None:
    """An event for each step the file dates (created, first response, resolved, closed) that the ticket's
    history lacks: a new ticket gets them all, a ticket imported again only the steps taken since."""
    rows = [row for row in planned if row.action in ("new", "update") and row.record_id is not None]
    if not rows:
        return
    had: set[tuple[int, str]] = set()
    for part in _chunks(sorted(row.record_id for row in rows if row.action == "update")):
        had |= set(job.session.execute(select(E.c.ticket_id, E.c.action).where(E.c.ticket_id.in_(part))).all())
    events: dict[str, list[Any]] = {name: [] for name in ("ticket_id", "at", "from_status", "to_status", "action")}
    for row in rows:
        for name, action, before, after in TICKET_STEPS:
            at = row.values.get(name)
            if at is None or (row.record_id, action) in had:
                continue
            for column, value in zip(events, (row.record_id, at, before, after, action)):
                events[column].append(value)
        job.plan.tickets.append(int(row.record_id))  # type: ignore[arg-type]
    if events["ticket_id"]:
        db.bulk_insert(job.session.connection(), E, events)


# --- CSAT answers: a score on a ticket imported before ----------------------------------------------------------


CSAT_COLUMNS = ("csat", "feedback_at", "feedback_comment")


def _plan_csat(job: _Import, cleaned: list[tuple[int, dict[str, Any]]]) -> list[PlannedRow]:
    """Each answer finds its ticket by the source's ticket number; a ticket answers once (a second answer in
    the file is a duplicate, a changed one an update). Only resolved or closed tickets are rated."""
    plan = job.plan
    found = _external(job.session, plan.source, "ticket", {v["ticket_external_id"] for _, v in cleaned})
    stored: dict[int, Any] = {}
    for part in _chunks(sorted(set(found.values()))):
        stmt = select(T.c.id, T.c.status, T.c.closed_at, T.c.resolved_at, *(T.c[c] for c in CSAT_COLUMNS))
        stored.update({row.id: row for row in job.session.execute(stmt.where(T.c.id.in_(part)))})
    planned: list[PlannedRow] = []
    for line, values in cleaned:
        score = values["csat"]
        if score != int(score) or not 1 <= score <= 5:
            plan.reject(line, "csat", "import.reason.csat")
            continue
        record = found.get(values["ticket_external_id"])
        if record is None:
            plan.reject(line, "ticket_external_id", "import.reason.no_ticket")
            continue
        ticket = stored[record]
        if ticket.status not in ("resolved", "closed"):
            plan.reject(line, "ticket_external_id", "import.reason.ticket_open")
            continue
        if record in job.seen:
            planned.append(PlannedRow(line, "duplicate", values, record))
            continue
        job.seen.add(record)
        answer = {
            "csat": int(score),
            "feedback_at": values.get("answered_at") or ticket.closed_at or ticket.resolved_at,
            "feedback_comment": values.get("comment"),
        }
        changed = [c for c in CSAT_COLUMNS if getattr(ticket, c) != answer[c]]
        action = "unchanged" if not changed else "new" if ticket.csat is None else "update"
        planned.append(PlannedRow(line, action, answer, record, changed, True))
    return planned


def _write_csat(job: _Import, planned: list[PlannedRow]) -> None:
    """The answer onto its ticket. No follow-up task is opened for a low score: these are answers from the
    past (the app opens one when an agent records a low score)."""
    for row in planned:
        if row.action in ("new", "update") and row.record_id is not None:
            job.session.execute(T.update().where(T.c.id == row.record_id).values(**row.values))


PLANNERS = {"customers": (_plan_customers, _write_customers), "csat": (_plan_csat, _write_csat)}


# --- the two entry points -----------------------------------------------------------------------------------


def default_source(file_name: str) -> str:
    """The source a file's name suggests: erp-customers.csv -> erp (files from one system share it)."""
    stem = file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return re.split(r"[-_ .]", stem, maxsplit=1)[0].lower()[:SOURCE_LONGEST] or "file"


BATCH_COLUMNS = ["at", "username", "kind", "source", "file_name", "counts"]


def recent_batches(session: Session, viewer: Viewer, *, limit: int = 20) -> list[dict[str, Any]]:
    """The last imports, newest first (the page shows them; the data-quality page will judge freshness)."""
    require(viewer, "import:run")
    rows = session.execute(select(*(B.c[c] for c in BATCH_COLUMNS)).order_by(B.c.at.desc(), B.c.id.desc()).limit(limit))
    return [{**row, "counts": json.loads(row["counts"])} for row in rows.mappings()]


def _source(source: str) -> str:
    value, _ = clean.text(source or "", longest=SOURCE_LONGEST)
    if not value:
        raise ValidationError("Name the source system (e.g. erp, shop).", key="import.error.source")
    return value.lower()


def check(kind: str, table: Table, mapping: Mapping) -> list[tuple[str, dict[str, object]]]:
    """Problems with the mapping itself (a required field or a column missing), found without reading rows."""
    if kind not in KINDS:
        raise ValidationError(f"Import one of: {', '.join(KINDS)}.", key="import.error.kind")
    return _problems(kind, table, mapping)


def _written_tables(kind: str) -> list[Any]:
    return [C if kind == "customers" else T if kind == "csat" else LINKED[kind].table, X]


def _process(
    session: Session,
    *,
    kind: str,
    table: Table,
    mapping: Mapping,
    source: str,
    keyring: Keyring,
    today: date,
    write: bool,
) -> Plan:
    """Clean, check and match the file a chunk at a time; with `write`, each chunk is written before the next
    is read (in the caller's one transaction), so memory stays flat however long the file."""
    plan = Plan(kind=kind, source=_source(source), problems=check(kind, table, mapping))
    if plan.problems:
        return plan
    id_kind = {"customers": "customer", "csat": "ticket"}.get(kind) or LINKED[kind].id_kind
    fresh = session.scalar(select(X.c.id).where((X.c.source == plan.source) & (X.c.kind == id_kind)).limit(1)) is None
    types = {spec.type for spec in FIELDS[kind]}
    owners = _users(session, ["account_manager"]) if "owner" in types else {}
    agents = _users(session, holders("tickets:work")) if "agent" in types else {}
    job = _Import(session, kind, mapping, plan, keyring, today, owners, agents, fresh)
    cleaner = _Cleaner(kind, table, mapping, today)
    planner, writer = PLANNERS.get(kind, (_plan_linked, _write_linked))
    written = _written_tables(kind)
    with db.bulk_work(session):
        for number, (cleaned, notes) in enumerate(_cleaned(cleaner, table), start=1):
            plan.take(notes)
            planned = planner(job, cleaned)
            plan.found.update(row.action for row in planned)
            if write:
                writer(job, planned)
                if number & (number - 1) == 0:  # after chunks 1, 2, 4, 8 ...: PostgreSQL's planner sees
                    db.analyze(session, written)  # the rows loaded so far, and keeps using the indexes
    plan.rejected.sort(key=lambda issue: issue.line)
    return plan


def preview(
    session: Session,
    viewer: Viewer,
    *,
    kind: str,
    table: Table,
    mapping: Mapping,
    source: str,
    keyring: Keyring,
    today: date | None = None,
) -> Plan:
    """What the import would do; nothing is written."""
    require(viewer, "import:run")
    return _process(
        session,
        kind=kind,
        table=table,
        mapping=mapping,
        source=source,
        keyring=keyring,
        today=today or clock.today(),
        write=False,
    )


def run(
    session: Session,
    viewer: Viewer,
    *,
    kind: str,
    table: Table,
    mapping: Mapping,
    source: str,
    keyring: Keyring,
    file_name: str,
    data: bytes,
    today: date | None = None,
    now: datetime | None = None,
) -> Plan:
    """Plan again inside the write transaction (what others wrote since the preview counts) and write it a
    chunk at a time: records, external ids, the batch record and its audit row; then every summary is rebuilt.
    Refused, with nothing written, when the mapping has problems; a file failing halfway (a broken CSV line)
    raises, and the caller's transaction leaves nothing."""
    require(viewer, "import:run")
    today = today or clock.today()
    orders_before = (session.scalar(select(func.max(O.c.id))) or 0) if kind == "orders" else 0
    plan = _process(
        session, kind=kind, table=table, mapping=mapping, source=source, keyring=keyring, today=today, write=True
    )
    if plan.problems:
        raise ValidationError("The mapping misses a required field.", key="import.error.mapping_incomplete")
    counts = plan.counts
    digest = hashlib.sha256(data).hexdigest()
    at = now or clock.now()
    batch_id = db.new_id(
        session,
        B.insert().values(
            kind=kind,
            source=plan.source,
            file_name=file_name[:200],
            file_sha256=digest,
            username=viewer.username,
            at=at,
            counts=json.dumps(counts),
        ),
    )
    audit.record(
        session,
        action="import",
        username=viewer.username,
        object=f"import:{kind}",
        details={"source": plan.source, "file": file_name[:200], "sha256": digest, **counts},
        at=at,
    )
    db.analyze(session, _written_tables(kind))
    if kind == "tickets" and plan.tickets:
        service.rebuild_ticket_sla(session, now=at, ticket_ids=plan.tickets)  # no actions fired for history
    elif kind == "csat" and (counts["new"] or counts["update"]):
        service_facts.rebuild(session)  # ratings from the past land on days across years: rebuilt, not patched
    if counts["new"] or counts["update"]:
        facts.rebuild_all(session, as_of=today)  # tiers are a top-20% rule over everyone: rebuilt, not patched
    if kind == "orders" and counts["new"]:
        loyalty.earn_from_orders(session, now=at)  # members' imported orders earn their points in the same write
    quality.snapshot(session, now=at)
    lowest = rules.lowest_threshold(session, "order_above") if kind == "orders" and counts["new"] else None
    if lowest is not None:  # big orders: the rules see the tiers the rebuild has just made
        big = select(O.c.id).where(O.c.id > orders_before, O.c.amount > lowest).order_by(O.c.id)
        for order_id in session.scalars(big).all():
            rules.fire(session, "order_above", order_id, now=at, episode="order")
    rules.fire(session, "import_finished", batch_id, now=at, episode="batch")
    plan.written = True
    return plan


def rejected_csv(table: Table, plan: Plan, lang: str) -> bytes:
    """The refused rows as they were in the file, with the line and the reasons, formula cells neutralised."""
    reasons: dict[int, list[str]] = {}
    for issue in plan.rejected:
        reasons.setdefault(issue.line, []).append(issue.text(lang))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([t("import.col.line", lang), *table.header, t("import.col.reason", lang)])
    for line, cells in table.rows():
        if line in reasons:
            writer.writerow([line, *(exports.neutralise(c) for c in cells), "; ".join(reasons[line])])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --- saved mappings ---------------------------------------------------------------------------------------------


def save_mapping(session: Session, viewer: Viewer, *, name: str, mapping: Mapping, now: datetime | None = None) -> None:
    """Save (or replace) a mapping under a name, to reuse for the next file from the same source."""
    require(viewer, "import:run")
    clean_name, _ = clean.text(name or "", longest=64)
    if not clean_name:
        raise ValidationError("Name the mapping.", key="import.error.mapping_name")
    values = {
        "kind": mapping.kind,
        "spec": mapping.to_json(),
        "updated_at": now or clock.now(),
        "updated_by": viewer.username,
    }
    if db.affected(session, MAP.update().where(MAP.c.name == clean_name).values(**values)) == 0:
        session.execute(MAP.insert().values(name=clean_name, **values))


def mappings(session: Session, viewer: Viewer, *, kind: str) -> dict[str, Mapping]:
    require(viewer, "import:run")
    rows = session.execute(select(MAP.c.name, MAP.c.spec).where(MAP.c.kind == kind).order_by(MAP.c.name)).all()
    return {row.name: Mapping.from_json(row.spec) for row in rows}


def spec_of(kind: str, name: str) -> Field:
    """A field of a kind of import (the page offers the codes of an unknown value's field)."""
    return field_of(kind, name)
