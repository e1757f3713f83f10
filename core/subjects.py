"""Data-subject requests: everything held about one customer (JSON), and erasure by anonymisation.

Erasure removes what identifies the person (name, contact details, free text) and keeps the facts that
carry no identity (order amounts and dates, ticket timings, scores, region and industry), so every
aggregate and summary stays exactly as it was.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.orm import Session

from core import audit, facts, models as m, pii
from core.access import Viewer, require
from core.customers import customer_profile
from core.errors import ValidationError
from core.pii import Keyring

ERASED = "[erased]"


def _rows(session: Session, table, where) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [dict(r) for r in session.execute(select(table).where(where)).mappings()]


def export_customer(session: Session, *, viewer: Viewer, keyring: Keyring, customer_id: int) -> str:
    """Everything held about one customer as JSON (contact details decrypted); audited."""
    require(viewer, "subjects:handle")
    profile = customer_profile(session, viewer=viewer, keyring=keyring, customer_id=customer_id)
    C, T = m.table(m.Customer), m.table(m.Ticket)
    record = _rows(session, C, C.c.id == customer_id)[0]
    record["phone"] = pii.decrypt(record.pop("phone_enc"), keyring)
    record["email"] = pii.decrypt(record.pop("email_enc"), keyring)
    record.pop("phone_hash"), record.pop("email_hash")
    tickets = _rows(session, T, T.c.customer_id == customer_id)
    ticket_ids = [t["id"] for t in tickets]
    data = {
        "customer": record,
        "leads": _rows(session, m.table(m.Lead), m.table(m.Lead).c.converted_customer_id == customer_id),
        "orders": _rows(session, m.table(m.Order), m.table(m.Order).c.customer_id == customer_id),
        "interactions": _rows(session, m.table(m.Interaction), m.table(m.Interaction).c.customer_id == customer_id),
        "tickets": tickets,
        "ticket_events": _rows(session, m.table(m.TicketEvent), m.table(m.TicketEvent).c.ticket_id.in_(ticket_ids)),
        "nps_responses": _rows(session, m.table(m.NpsResponse), m.table(m.NpsResponse).c.customer_id == customer_id),
        "survey_answers": _rows(
            session, m.table(m.SurveyRecipient), m.table(m.SurveyRecipient).c.customer_id == customer_id
        ),
    }
    audit.record(
        session,
        action="customer_exported",
        username=viewer.username,
        object=f"customer:{profile.code}",
        details={table: len(rows) for table, rows in data.items() if isinstance(rows, list)},
    )
    return json.dumps(
        data,
        ensure_ascii=False,
        indent=1,
        default=lambda v: v.isoformat() if isinstance(v, (date, datetime)) else str(v),
    )


def erase_customer(session: Session, *, viewer: Viewer, keyring: Keyring, customer_id: int, reason: str) -> None:
    """Anonymise one customer in one transaction (identity gone, aggregates unchanged); audited."""
    require(viewer, "subjects:handle")
    if len(reason.strip()) < 5:
        raise ValidationError("Record why the customer is erased (at least 5 characters).", key="error.reason", n=5)
    profile = customer_profile(session, viewer=viewer, keyring=keyring, customer_id=customer_id)
    C = m.table(m.Customer)
    if str(session.scalar(select(C.c.name).where(C.c.id == customer_id))).startswith(ERASED):
        raise ValidationError(
            f"Customer {profile.code} is already erased.", key="error.already_erased", code=profile.code
        )
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))  # freed pages are zeroed: the old bytes leave the file
    contact = session.execute(select(C.c.phone_hash, C.c.email_hash).where(C.c.id == customer_id)).one()
    hashes = [h for h in contact if h]
    session.execute(
        C.update()
        .where(C.c.id == customer_id)
        .values(
            name=f"{ERASED} {profile.code}",
            phone_enc=None,
            email_enc=None,
            phone_hash=None,
            email_hash=None,
            tags=None,
            city=None,
        )
    )
    L, I, T, N, E, K = (
        m.table(m.Lead),
        m.table(m.Interaction),
        m.table(m.Ticket),
        m.table(m.NpsResponse),
        m.table(m.TicketEvent),
        m.table(m.Task),
    )
    tickets = select(T.c.id).where(T.c.customer_id == customer_id).scalar_subquery()
    # every column that can hold the person's identity or words: what they said and what was noted about them
    # the leads the person was: the one that became the customer and any with their phone or e-mail
    theirs = or_(L.c.converted_customer_id == customer_id, L.c.phone_hash.in_(hashes), L.c.email_hash.in_(hashes))
    session.execute(
        L.update()
        .where(theirs)
        .values(
            company_name=ERASED,
            contact_name=None,
            phone_enc=None,
            email_enc=None,
            phone_hash=None,
            email_hash=None,
            email_domain=None,
        )
    )
    session.execute(I.update().where(I.c.customer_id == customer_id).values(subject=ERASED, notes=None))
    session.execute(
        T.update()
        .where(T.c.customer_id == customer_id)
        .values(description=ERASED, resolution=None, findings=None, feedback_comment=None)
    )
    session.execute(E.update().where(E.c.ticket_id.in_(tickets)).values(note=None))
    session.execute(K.update().where(K.c.customer_id == customer_id).values(title=ERASED))
    session.execute(N.update().where(N.c.customer_id == customer_id).values(comment=None))
    RA = m.table(m.RetentionAction)  # what an account manager noted of a retention call
    session.execute(RA.update().where(RA.c.customer_id == customer_id).values(note=None))
    SR = m.table(m.SurveyRecipient)  # what they wrote in a survey
    session.execute(SR.update().where(SR.c.customer_id == customer_id).values(comment=None))
    facts.customer_changed(session, [customer_id])  # the list shows and finds the erased name no more
    audit.record(
        session,
        action="customer_erased",
        username=viewer.username,
        object=f"customer:{profile.code}",
        details={"reason": reason.strip()},
    )
