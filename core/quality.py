"""Data quality: how complete, valid, unique, whole and fresh the store is, in figures a person can drill into.

- completeness: the share of customers holding each field, overall and per source (the system whose import
  linked them; "typed" for customers with no external id). Core fields aim at >= 98 % (seed 003);
- validity: dates in order (first contact <= customer since <= churned), nothing in the future, orders with
  a positive amount under a sane ceiling (phones and emails are checked on the way in, where they are clear);
- duplicates: customers sharing a phone number or an email (the keyed hashes, so nothing is decrypted);
- orphans: orders and tickets whose customer is missing, customers without an account manager;
- freshness: each source's last import against CRM_FEED_MAX_AGE_HOURS.
Every figure is counted in the database within the viewer's scope; `snapshot` stores them for the trends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from core import clock, db, models as m
from core.access import Viewer, require, visible

C, O, T, X = m.table(m.Customer), m.table(m.Order), m.table(m.Ticket), m.table(m.ExternalId)
U, B, Q = m.table(m.User), m.table(m.ImportBatch), m.table(m.QualitySnapshot)
CORE_FIELDS = ("name", "kind", "industry", "region", "acquisition_channel", "owner", "contact")
OTHER_FIELDS = ("phone", "email", "city", "company_size", "became_customer_date", "tags")
AMOUNT_CEILING = 10_000_000  # an order above ten million is more likely a typo than a sale
TYPED = "typed"  # customers no import linked: typed in, or the demo


def _present(name: str) -> Any:
    """SQL: 1 when the customer holds the field."""
    column = {"owner": C.c.owner_id, "phone": C.c.phone_hash, "email": C.c.email_hash}.get(name)
    if name == "contact":
        return case((or_(C.c.phone_hash.is_not(None), C.c.email_hash.is_not(None)), 1), else_=0)
    column = column if column is not None else C.c[name]
    if name in ("name", "city", "tags", "kind", "industry", "region", "acquisition_channel", "company_size"):
        return case((and_(column.is_not(None), column != ""), 1), else_=0)
    return case((column.is_not(None), 1), else_=0)


def _source_column() -> Any:
    """Each customer's source: the first (by name) system whose import linked it, else "typed"."""
    first = (
        select(func.min(X.c.source))
        .where(X.c.kind == "customer", X.c.record_id == C.c.id)
        .correlate(C)
        .scalar_subquery()
    )
    return func.coalesce(first, literal(TYPED))


@dataclass(frozen=True)
class Completeness:
    customers: int
    share: dict[str, float | None]  # field -> share of customers holding it (None: no customers)

    @property
    def core(self) -> float | None:
        """The lowest core field's share: the store is only as complete as its weakest core field."""
        shares = [self.share[f] for f in CORE_FIELDS if self.share.get(f) is not None]
        return min(shares) if shares else None  # type: ignore[type-var]


def completeness(session: Session, viewer: Viewer) -> Completeness:
    """Overall shares, within the viewer's scope (the cockpit shows `core` beside its KPIs)."""
    fields = (*CORE_FIELDS, *OTHER_FIELDS)
    stmt = select(func.count(), *(func.sum(_present(f)) for f in fields)).select_from(C)
    total, *present = session.execute(visible(stmt, C, viewer)).one()
    total = int(total or 0)
    return Completeness(total, {f: (int(n or 0) / total if total else None) for f, n in zip(fields, present)})


def completeness_by_source(session: Session, viewer: Viewer) -> pd.DataFrame:
    """One row per source: customers, then the share holding each field (core fields first)."""
    require(viewer, "page:quality")
    fields = (*CORE_FIELDS, *OTHER_FIELDS)
    source = _source_column().label("source")
    stmt = (
        select(source, func.count().label("customers"), *(func.sum(_present(f)).label(f) for f in fields))
        .select_from(C)
        .group_by(source)
        .order_by(source)
    )
    frame = pd.DataFrame(
        session.execute(visible(stmt, C, viewer)).mappings().all(), columns=["source", "customers", *fields]
    )
    for f in fields:
        frame[f] = [float(n or 0) / total if total else None for n, total in zip(frame[f], frame["customers"])]
    return frame


def _invalid_dates(today: date) -> Any:
    return or_(
        C.c.became_customer_date < C.c.first_contact_date,
        C.c.churned_date < C.c.became_customer_date,
        C.c.first_contact_date > today,
        C.c.became_customer_date > today,
        C.c.churned_date > today,
    )


def _invalid_amount() -> Any:
    return or_(O.c.amount <= 0, O.c.amount > AMOUNT_CEILING)


def _duplicate_hashes(kind: str) -> Select:
    column = C.c[f"{kind}_hash"]
    return select(column).where(column.is_not(None)).group_by(column).having(func.count() > 1)


@dataclass(frozen=True)
class Issues:
    invalid_dates: int
    invalid_amounts: int
    duplicate_customers: int  # customers sharing a phone or an email with another
    orphan_orders: int
    orphan_tickets: int
    no_owner: int


def issues(session: Session, viewer: Viewer, *, today: date) -> Issues:
    require(viewer, "page:quality")
    count = select(func.count()).select_from(C)
    duplicate = or_(C.c.phone_hash.in_(_duplicate_hashes("phone")), C.c.email_hash.in_(_duplicate_hashes("email")))
    orders = select(func.count()).select_from(O.join(C, C.c.id == O.c.customer_id))
    orphan = select(func.count()).select_from(O.outerjoin(C, C.c.id == O.c.customer_id)).where(C.c.id.is_(None))
    orphan_tickets = select(func.count()).select_from(T.outerjoin(C, C.c.id == T.c.customer_id)).where(C.c.id.is_(None))
    return Issues(
        invalid_dates=int(session.scalar(visible(count.where(_invalid_dates(today)), C, viewer)) or 0),
        invalid_amounts=int(session.scalar(visible(orders.where(_invalid_amount()), C, viewer)) or 0),
        duplicate_customers=int(session.scalar(visible(count.where(duplicate), C, viewer)) or 0),
        orphan_orders=int(session.scalar(orphan) or 0),  # no customer: no scope to apply
        orphan_tickets=int(session.scalar(orphan_tickets) or 0),
        no_owner=int(session.scalar(visible(count.where(C.c.owner_id.is_(None)), C, viewer)) or 0),
    )


DRILLS = ("missing", "invalid_dates", "invalid_amounts", "duplicate_customers", "no_owner")
DRILL_COLUMNS = ["customer_id", "code", "name", "owner", "source", "detail"]


def rows_behind(
    session: Session, viewer: Viewer, figure: str, *, field: str | None = None, today: date, limit: int = 200
) -> pd.DataFrame:
    """The customers behind a figure (names, never contact details), within the viewer's scope."""
    require(viewer, "page:quality")
    detail: Any = literal("")
    base = select(
        C.c.id.label("customer_id"),
        C.c.code,
        C.c.name,
        U.c.display_name.label("owner"),
        _source_column().label("source"),
    ).select_from(C.outerjoin(U, U.c.id == C.c.owner_id))
    if figure == "missing" and field in (*CORE_FIELDS, *OTHER_FIELDS):
        stmt = base.where(_present(field) == 0)
    elif figure == "invalid_dates":
        stmt = base.where(_invalid_dates(today))
        detail = func.coalesce(C.c.became_customer_date, C.c.first_contact_date)
    elif figure == "invalid_amounts":
        stmt = base.join(O, O.c.customer_id == C.c.id).where(_invalid_amount())
        detail = O.c.amount
    elif figure == "duplicate_customers":
        stmt = base.where(
            or_(C.c.phone_hash.in_(_duplicate_hashes("phone")), C.c.email_hash.in_(_duplicate_hashes("email")))
        )
        detail = func.coalesce(C.c.phone_hash, C.c.email_hash)  # rows with one value sort together
    elif figure == "no_owner":
        stmt = base.where(C.c.owner_id.is_(None))
    else:
        return pd.DataFrame(columns=DRILL_COLUMNS)
    stmt = visible(stmt.add_columns(detail.label("detail")), C, viewer).order_by(detail, C.c.id).limit(limit)
    frame = pd.DataFrame(session.execute(stmt).mappings().all(), columns=DRILL_COLUMNS)
    if figure == "duplicate_customers":  # a group number instead of the keyed hash
        frame["detail"] = pd.factorize(frame["detail"])[0] + 1
    return frame


def freshness(session: Session, viewer: Viewer, *, now: datetime, max_age_hours: int) -> pd.DataFrame:
    """Each source's last import, its age in hours and whether it is older than `max_age_hours`."""
    require(viewer, "page:quality")
    rows = db.tuples(
        session.execute(
            select(B.c.source, func.max(B.c.at).label("last"), func.count().label("imports"))
            .group_by(B.c.source)
            .order_by(B.c.source)
        )
    )
    frame = pd.DataFrame(rows, columns=["source", "last", "imports"])
    frame["age_hours"] = [round((now - last).total_seconds() / 3600, 1) for last in frame["last"]]
    frame["stale"] = frame["age_hours"] > max_age_hours
    return frame


SNAPSHOT_FIGURES = (
    "completeness_core",
    *(f"completeness_{f}" for f in CORE_FIELDS),
    "invalid_dates",
    "invalid_amounts",
    "duplicate_customers",
    "orphan_orders",
    "orphan_tickets",
    "no_owner",
)


def snapshot(session: Session, *, now: datetime | None = None) -> None:
    """Store the whole store's figures for the trends; imports and `refresh` call it."""
    from core.access import SYSTEM

    now = now or clock.now()
    whole = completeness(session, SYSTEM)
    found = issues(session, SYSTEM, today=now.date())
    values = {
        "completeness_core": whole.core,
        **{f"completeness_{f}": whole.share[f] for f in CORE_FIELDS},
        **{
            name: float(getattr(found, name))
            for name in (
                "invalid_dates",
                "invalid_amounts",
                "duplicate_customers",
                "orphan_orders",
                "orphan_tickets",
                "no_owner",
            )
        },
    }
    session.execute(Q.insert(), [{"at": now, "figure": k, "value": v} for k, v in values.items() if v is not None])


def trend(session: Session, viewer: Viewer, *, since: datetime) -> pd.DataFrame:
    """The stored figures since a moment: at, figure, value (the page draws one line per figure)."""
    require(viewer, "page:quality")
    rows = db.tuples(session.execute(select(Q.c.at, Q.c.figure, Q.c.value).where(Q.c.at >= since).order_by(Q.c.at)))
    return pd.DataFrame(rows, columns=["at", "figure", "value"])


def stale_sources(frame: pd.DataFrame) -> list[str]:
    return [str(s) for s, stale in zip(frame["source"], frame["stale"]) if stale]
