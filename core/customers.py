"""Customer look-ups for the pages: filter options and one customer's profile with key figures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit, models as m, pii
from core.access import Viewer, allowed, require, visible
from core.errors import NotFound, ValidationError
from core.pii import Keyring

CUSTOMER_CODE = re.compile(r"^[A-Za-z]\d+$")  # C0000001; anything else with 7+ digits is a phone number
C, S, U, SEG = m.table(m.Customer), m.table(m.CustomerStat), m.table(m.User), m.table(m.SegmentFact)


@dataclass(frozen=True)
class FilterOptions:
    regions: list[str]
    industries: list[str]
    kinds: list[str]
    owners: list[tuple[int, str]]  # (user id, display name)


def filter_options(session: Session) -> FilterOptions:
    """Distinct dimension values present in the data, read from segment_facts (a few thousand rows,
    where every customer's dimensions appear) instead of scanning customers."""

    def distinct(column) -> list[str]:  # type: ignore[no-untyped-def]
        return [v for v in session.scalars(select(column).distinct().order_by(column)) if v is not None]

    owners = session.execute(
        select(U.c.id, U.c.display_name).where(U.c.role == "account_manager").order_by(U.c.display_name)
    ).all()
    return FilterOptions(
        distinct(SEG.c.region), distinct(SEG.c.industry), distinct(SEG.c.kind), [(int(i), str(n)) for i, n in owners]
    )


@dataclass(frozen=True)
class CustomerProfile:
    id: int
    code: str
    name: str
    kind: str
    industry: str
    region: str
    city: str | None
    owner: str | None
    status: str
    became_customer_date: date | None
    tier: str | None
    lifecycle_stage: str | None
    churn_reason: str | None
    revenue_total: float
    revenue_12m: float
    orders_12m: int
    last_order_date: date | None
    tags: str | None = None
    company_size: str | None = None
    orders_last_90: int = 0
    orders_prev_90: int = 0
    median_gap_days: float | None = None
    last_contact_at: datetime | None = None
    latest_nps_score: int | None = None
    latest_nps_at: datetime | None = None
    open_tickets: int = 0
    phone: str | None = None  # clear or masked, as the viewer's role allows
    email: str | None = None
    contact_masked: bool = True


def customer_profile(
    session: Session, *, viewer: Viewer, keyring: Keyring, customer_id: int | None = None, code: str | None = None
) -> CustomerProfile:
    """One customer's profile and order statistics, by id, code, or exact phone number or email (typed
    into `code`); NotFound when there is none or it is outside the viewer's scope (not told apart).
    Contact details come in clear for support agents and account managers, masked for everyone else."""
    stmt = select(
        C.c.id,
        C.c.code,
        C.c.name,
        C.c.kind,
        C.c.industry,
        C.c.region,
        C.c.city,
        U.c.display_name.label("owner"),
        C.c.status,
        C.c.became_customer_date,
        S.c.tier,
        S.c.lifecycle_stage,
        S.c.churn_reason,
        func.coalesce(S.c.revenue_total, 0).label("revenue_total"),
        func.coalesce(S.c.revenue_12m, 0).label("revenue_12m"),
        func.coalesce(S.c.orders_12m, 0).label("orders_12m"),
        S.c.last_order_date,
        C.c.tags,
        C.c.company_size,
        func.coalesce(S.c.orders_last_90, 0).label("orders_last_90"),
        func.coalesce(S.c.orders_prev_90, 0).label("orders_prev_90"),
        S.c.median_gap_days,
        S.c.last_contact_at,
        S.c.latest_nps_score,
        S.c.latest_nps_at,
        func.coalesce(S.c.open_tickets, 0).label("open_tickets"),
        C.c.phone_enc,
        C.c.email_enc,
    ).select_from(C.outerjoin(S, S.c.customer_id == C.c.id).outerjoin(U, U.c.id == C.c.owner_id))
    if customer_id is not None:
        stmt = stmt.where(C.c.id == customer_id)
    elif code and "@" in code:
        stmt = stmt.where(C.c.email_hash == pii.search_hash("email", code, keyring))
    elif code and not CUSTOMER_CODE.match(code.strip()) and len(pii.normalise("phone", code)) >= 7:
        stmt = stmt.where(C.c.phone_hash == pii.search_hash("phone", code, keyring))
    elif code:
        stmt = stmt.where(C.c.code == code.strip().upper())
    else:
        raise NotFound("No customer given.", key="customer.not_found")
    row = session.execute(visible(stmt, C, viewer)).mappings().first()
    if row is None:
        raise NotFound("No customer with that code or id.", key="customer.not_found")
    values = dict(row)
    values["revenue_total"], values["revenue_12m"] = float(values["revenue_total"]), float(values["revenue_12m"])
    for name in ("orders_12m", "orders_last_90", "orders_prev_90", "open_tickets"):
        values[name] = int(values[name])
    phone, email = pii.decrypt(values.pop("phone_enc"), keyring), pii.decrypt(values.pop("email_enc"), keyring)
    clear = allowed(viewer, "contacts:clear")
    return CustomerProfile(
        **values,
        phone=phone if clear else pii.mask("phone", phone),
        email=email if clear else pii.mask("email", email),
        contact_masked=not clear,
    )


def reveal_contact(
    session: Session, *, viewer: Viewer, keyring: Keyring, customer_id: int, reason: str
) -> tuple[str | None, str | None]:
    """Phone and email in clear for a role allowed to reveal them, with a reason; always audited."""
    require(viewer, "contacts:reveal")
    if len(reason.strip()) < 5:
        raise ValidationError("Say why you need the contact details (at least 5 characters).", key="error.reason", n=5)
    profile = customer_profile(session, viewer=viewer, keyring=keyring, customer_id=customer_id)
    row = session.execute(select(C.c.phone_enc, C.c.email_enc).where(C.c.id == profile.id)).one()
    audit.record(
        session,
        action="pii_revealed",
        username=viewer.username,
        object=f"customer:{profile.code}",
        details={"reason": reason.strip(), "fields": ["phone", "email"]},
    )
    return pii.decrypt(row.phone_enc, keyring), pii.decrypt(row.email_enc, keyring)


def record_view(session: Session, *, viewer: Viewer, profile: CustomerProfile) -> bool:
    """Audit that the viewer saw this customer's contact details in clear (masked views are not personal-data
    access). Returns whether an entry was written; the page calls it once per customer and session."""
    if profile.contact_masked or not (profile.phone or profile.email):
        return False
    audit.record(
        session,
        action="customer_viewed",
        username=viewer.username,
        object=f"customer:{profile.code}",
        details={"fields": [f for f in ("phone", "email") if getattr(profile, f)]},
    )
    return True


def lists_contacts_in_clear(viewer: Viewer) -> bool:
    """Whether the customer list shows this viewer phone numbers and emails in clear (own customers only)."""
    return allowed(viewer, "contacts:clear")


def record_list_view(session: Session, *, viewer: Viewer, codes: list[str]) -> bool:
    """Audit that a page of the list showed these customers' contact details in clear (an account manager's
    own customers); masked lists are not personal-data access. The page calls it once per page and session."""
    if not lists_contacts_in_clear(viewer) or not codes:
        return False
    audit.record(
        session,
        action="contacts_listed",
        username=viewer.username,
        object="customer_list",
        details={"customers": len(codes), "first": codes[0], "last": codes[-1]},
    )
    return True


def next_codes(session: Session, n: int) -> list[str]:
    """`n` new customer codes (C0000001 ...) after the highest one in use; callers hold the write lock."""
    highest = session.scalar(select(func.max(C.c.code)).where(C.c.code.like("C%"))) or "C0"
    start = int(highest[1:]) + 1 if highest[1:].isdigit() else 1
    return [f"C{start + i:07d}" for i in range(n)]
