"""Tiny hand-made data sets: every expected figure in the tests is worked out from these rows by hand."""

from __future__ import annotations

from datetime import date, datetime
from itertools import count

from sqlalchemy.orm import Session

from core import models as m
from core.sla import due_times

_ids = count(1)


def user(session: Session, username: str, role: str = "account_manager") -> m.User:
    row = m.User(
        username=username,
        display_name=username.title(),
        role=role,
        active=True,
        email=f"{username}@cockpit.example",
        created_at=datetime(2024, 1, 1),
    )
    session.add(row)
    session.flush()
    return row


def customer(
    session: Session,
    *,
    owner: m.User | None = None,
    became: date | None = None,
    churned: date | None = None,
    region: str = "east",
    industry: str = "retail",
    kind: str = "B2B",
) -> m.Customer:
    n = next(_ids)
    status = "prospect" if became is None else "churned" if churned else "active"
    row = m.Customer(
        code=f"T{n:07d}",
        name=f"Customer {n}",
        kind=kind,
        industry=industry,
        region=region,
        owner_id=owner.id if owner else None,
        acquisition_channel="website",
        first_contact_date=became or date(2024, 1, 1),
        became_customer_date=became,
        status=status,
        churned_date=churned,
    )
    session.add(row)
    session.flush()
    return row


def order(session: Session, who: m.Customer, day: date, amount: float) -> m.Order:
    row = m.Order(
        customer_id=who.id, order_date=day, amount=amount, product_category="software", sales_channel="direct"
    )
    session.add(row)
    return row


def lead(
    session: Session,
    created: datetime,
    status: str,
    *,
    region: str = "east",
    industry: str = "retail",
    kind: str = "B2B",
    owner: m.User | None = None,
) -> m.Lead:
    row = m.Lead(
        company_name="Lead Co",
        source_channel="website",
        created_at=created,
        status=status,
        kind=kind,
        industry=industry,
        region=region,
        owner_id=owner.id if owner else None,
    )
    session.add(row)
    return row


def nps(session: Session, who: m.Customer, at: datetime, score: int) -> m.NpsResponse:
    row = m.NpsResponse(customer_id=who.id, score=score, responded_at=at, touchpoint="post_purchase")
    session.add(row)
    return row


def ticket(
    session: Session,
    who: m.Customer,
    created: datetime,
    *,
    kind: str = "complaint",
    priority: str = "normal",
    responded: datetime | None = None,
    resolved: datetime | None = None,
    closed: datetime | None = None,
    csat: int | None = None,
    feedback: datetime | None = None,
) -> m.Ticket:
    first_due, resolution_due = due_times(kind, priority, created)
    status = "closed" if closed else "resolved" if resolved else "accepted" if responded else "new"
    row = m.Ticket(
        customer_id=who.id,
        kind=kind,
        category="delivery",
        priority=priority,
        channel="phone",
        status=status,
        created_at=created,
        first_response_at=responded,
        resolved_at=resolved,
        closed_at=closed,
        first_response_due=first_due,
        resolution_due=resolution_due,
        csat=csat,
        feedback_at=feedback,
    )
    session.add(row)
    return row
