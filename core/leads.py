"""Leads kept by hand (issue 16, seed 003 智能获取管理): a lead typed into the form or imported is screened by
the invalid-lead rules, then worked through its stages: new → contacted → qualified → converted, or invalid
with a reason.

The rules (`lead_screen_rules`, on or off, with their terms): no phone and no e-mail; the same phone or
e-mail as a customer or another lead (keyed hashes: exact, never a guess); a test word in the company or
contact name or the e-mail's local part; an e-mail at a blocked domain. A lead they catch is invalid with
that reason and `screened` set, so the funnel can say what share of the invalid leads the rules filtered;
anyone working it may reopen it. A name alike to a customer's or another lead's in the same region (rapidfuzz)
is uncertain: it is shown as a warning, never filtered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, clock, db, facts, models as m, pii, validators
from core.access import Viewer, allowed, require, scope, scoped, visible
from core.customer_changes import CustomerForm, Match, alike, create_customer
from core.errors import FieldErrors, NotFound, ValidationError
from core.ingest import clean
from core.periods import Filters
from core.pii import Keyring

L, C, U = m.table(m.Lead), m.table(m.Customer), m.table(m.User)
RULES, CAMPAIGNS = m.table(m.LeadScreenRule), m.table(m.Campaign)
SCREEN_RULES = m.LEAD_SCREEN_RULES
REASONS = m.LEAD_INVALID_REASONS
# where a lead may go from each status ("reopen": an invalid lead back to the furthest stage it had reached)
MOVES: dict[str, tuple[str, ...]] = {
    "new": ("contacted", "qualified", "converted", "disqualified"),
    "contacted": ("qualified", "converted", "disqualified"),
    "qualified": ("converted", "disqualified"),
    "disqualified": ("reopen",),
    "converted": (),
}
TERMS_LONGEST = 4000


@dataclass(frozen=True)
class ScreenRule:
    rule: str
    enabled: bool
    terms: tuple[str, ...]
    changed_by: str
    changed_at: datetime | None


@dataclass(frozen=True)
class LeadForm:
    company_name: str
    source_channel: str | None
    kind: str | None
    industry: str | None
    region: str | None
    contact_name: str | None = None
    phone: str | None = None
    email: str | None = None
    campaign_id: int | None = None
    owner_id: int | None = None  # an administrator chooses; an account manager's leads are their own


@dataclass
class Finding:
    """What the screen found: the rule, and for a duplicate what the lead repeats."""

    reason: str | None = None
    duplicate_of_lead_id: int | None = None
    duplicate_of_customer_id: int | None = None


@dataclass(frozen=True)
class NewLead:
    id: int
    reason: str | None  # the rule that filtered it, or None
    duplicate: Match | None  # the customer (or lead, why="lead") it repeats, as the viewer may see it
    alike: list[Match] = field(default_factory=list)  # names alike in the region: a warning only


# --- the rules ----------------------------------------------------------------------------------------


def screen_rules(session: Session) -> dict[str, ScreenRule]:
    """Every rule as stored (a rule missing from the table is off)."""
    rows = {r.rule: r for r in session.execute(select(RULES))}
    return {
        rule: ScreenRule(
            rule,
            bool(rows[rule].enabled) if rule in rows else False,
            tuple(t for t in (rows[rule].terms or "").splitlines() if t.strip()) if rule in rows else (),
            rows[rule].changed_by if rule in rows else "",
            rows[rule].changed_at if rule in rows else None,
        )
        for rule in SCREEN_RULES
    }


def set_screen_rule(
    session: Session, viewer: Viewer, rule: str, *, enabled: bool, terms: str = "", now: datetime | None = None
) -> None:
    """Switch a rule and set its terms (one per line: test words, blocked domains). Leads already screened
    keep their verdict; the next ones follow the new rule. Audited."""
    require(viewer, "leads:rules")
    if rule not in SCREEN_RULES:
        raise ValidationError(f"Unknown rule {rule!r}.", key="error.role_may_not")
    errors: validators.Errors = {}
    text = validators.text(errors, "terms", terms, required=False, longest=TERMS_LONGEST, multiline=True) or ""
    lines = [t.strip().casefold() for t in text.splitlines() if t.strip()]
    if rule == "blocked_domain":
        lines = [t.removeprefix("@") for t in lines]
        if any(not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", t) for t in lines):
            errors["terms"] = ("leads.error.domain", {})
    if errors:
        raise FieldErrors(errors)
    now = now or clock.now()
    values = {"enabled": enabled, "terms": "\n".join(dict.fromkeys(lines)), "changed_by": viewer.username}
    if session.scalar(select(RULES.c.rule).where(RULES.c.rule == rule)) is None:
        session.execute(RULES.insert().values(rule=rule, changed_at=now, **values))
    else:
        session.execute(RULES.update().where(RULES.c.rule == rule).values(changed_at=now, **values))
    audit.record(
        session,
        action="lead_rule_changed",
        username=viewer.username,
        object=f"lead_rule:{rule}",
        at=now,
        details={"enabled": enabled, "terms": len(lines)},
    )


def _has_word(text: str | None, words: Iterable[str]) -> bool:
    """A test word as a word of its own in Latin text ("test", not "contest"), anywhere in Chinese."""
    folded = (text or "").casefold()
    for word in words:
        if word.isascii():
            if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", folded):
                return True
        elif word in folded:
            return True
    return False


def domain_of(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1].casefold() if email and "@" in email else None


def text_finding(
    rules: dict[str, ScreenRule], *, company: str | None, contact: str | None, phone: str | None, email: str | None
) -> str | None:
    """The first rule a lead's own fields break (no look-up): missing contact, test data, blocked domain."""
    if rules["missing_contact"].enabled and not phone and not email:
        return "missing_contact"
    local = email.rsplit("@", 1)[0] if email else None
    if rules["test_data"].enabled and any(_has_word(v, rules["test_data"].terms) for v in (company, contact, local)):
        return "test_data"
    domain = domain_of(email)
    blocked = rules["blocked_domain"]
    if blocked.enabled and domain and any(domain == d or domain.endswith(f".{d}") for d in blocked.terms):
        return "blocked_domain"
    return None


def same_contact(
    session: Session, hashes: Iterable[tuple[str | None, str | None]], *, except_leads: Iterable[int] = ()
) -> dict[str, tuple[str, int]]:
    """For each phone or e-mail hash: the customer that has it (first), else the oldest other lead."""
    wanted = sorted({h for pair in hashes for h in pair if h})
    skip = set(except_leads)
    found: dict[str, tuple[str, int]] = {}
    for start in range(0, len(wanted), 500):
        part = wanted[start : start + 500]
        for table, kind in ((C, "customer"), (L, "lead")):
            for column in (table.c.phone_hash, table.c.email_hash):
                for row_id, value in session.execute(
                    select(table.c.id, column).where(column.in_(part)).order_by(table.c.id)
                ):
                    if kind == "lead" and row_id in skip:
                        continue
                    found.setdefault(value, (kind, int(row_id)))
    return found


def screen(
    session: Session,
    rules: dict[str, ScreenRule],
    *,
    company: str | None,
    contact: str | None,
    phone_hash: str | None,
    email_hash: str | None,
    has_phone: bool,
    email: str | None,
    known: dict[str, tuple[str, int]] | None = None,
) -> Finding:
    """Every rule for one lead; `known` is `same_contact` looked up beforehand for many leads at once."""
    reason = text_finding(rules, company=company, contact=contact, phone="x" if has_phone else None, email=email)
    if reason:
        return Finding(reason)
    if rules["duplicate"].enabled:
        known = known if known is not None else same_contact(session, [(phone_hash, email_hash)])
        hit = known.get(phone_hash or "") or known.get(email_hash or "")
        if hit:
            kind, row_id = hit
            return Finding("duplicate", *((row_id, None) if kind == "lead" else (None, row_id)))
    return Finding()


def screened_values(finding: Finding, created_at: datetime) -> dict[str, Any]:
    """The columns a finding sets on a new lead (invalid at once, by the rules), or none."""
    if finding.reason is None:
        return {}
    return {
        "status": "disqualified",
        "disqualified_at": created_at,
        "invalid_reason": finding.reason,
        "screened": True,
        "duplicate_of_lead_id": finding.duplicate_of_lead_id,
        "duplicate_of_customer_id": finding.duplicate_of_customer_id,
    }


# --- a lead typed in ----------------------------------------------------------------------------------


def _shown_match(session: Session, viewer: Viewer, why: str, kind: str, row_id: int, score: float) -> Match:
    """A customer or lead as the viewer may see it: outside their scope, without its code or name."""
    if kind == "customer":
        row = session.execute(visible(select(C.c.code, C.c.name).where(C.c.id == row_id), C, viewer)).first()
        return Match(why, row.code if row else None, row.name if row else None, score)
    stmt = select(L.c.id, L.c.company_name).where(L.c.id == row_id)
    row = session.execute(scope(stmt, L, scoped(viewer, Filters()))).first()
    return Match(why, f"#{row_id}", row.company_name if row else None, score)  # a lead's number is no secret


def names_alike(session: Session, viewer: Viewer, name: str, region: str | None) -> list[Match]:
    """Customers and open leads of the region whose names are at least NAME_SIMILARITY alike (legal forms
    left out): a warning beside the new lead, for the person to judge."""
    if not name or not region:
        return []
    found: list[Match] = []
    for kind, stmt in (
        ("customer", select(C.c.id, C.c.name).where(C.c.region == region)),
        (
            "lead",
            select(L.c.id, L.c.company_name).where(
                L.c.region == region, L.c.status.in_(("new", "contacted", "qualified"))
            ),
        ),
    ):
        for row_id, score in alike(name, dict(session.execute(stmt).all()), limit=3):
            found.append(_shown_match(session, viewer, "name", kind, int(row_id), score))
    return found


def _owner(session: Session, viewer: Viewer, wanted: int | None, errors: validators.Errors) -> int | None:
    if not allowed(viewer, "customers:hand_over"):
        return viewer.user_id  # an account manager's leads are their own
    if wanted is not None and (
        session.scalar(select(U.c.id).where(U.c.id == wanted, U.c.active.is_(True), U.c.role == "account_manager"))
        is None
    ):
        errors["owner_id"] = ("form.error.choice", {})
    return wanted


def _clean(session: Session, viewer: Viewer, form: LeadForm) -> dict[str, Any]:
    errors: validators.Errors = {}
    values: dict[str, Any] = {
        "company_name": validators.text(errors, "company_name", form.company_name, required=True, longest=200),
        "contact_name": validators.text(errors, "contact_name", form.contact_name, required=False, longest=100),
    }
    for name, codes in (
        ("source_channel", m.ACQUISITION_CHANNELS),
        ("kind", m.CUSTOMER_KINDS),
        ("industry", m.INDUSTRIES),
        ("region", m.REGIONS),
    ):
        value = getattr(form, name)
        if value not in codes:
            errors[name] = ("form.error.choice" if value else "form.error.required", {})
        values[name] = value
    for name, cleaner, key in (("phone", clean.phone, "form.error.phone"), ("email", clean.email, "form.error.email")):
        try:
            values[name] = cleaner(getattr(form, name) or "")[0]
        except clean.Problem:
            errors[name] = (key, {})
    if (
        form.campaign_id is not None
        and session.scalar(select(CAMPAIGNS.c.id).where(CAMPAIGNS.c.id == form.campaign_id)) is None
    ):
        errors["campaign_id"] = ("form.error.choice", {})
    values["campaign_id"] = form.campaign_id
    values["owner_id"] = _owner(session, viewer, form.owner_id, errors)
    if errors:
        raise FieldErrors(errors)
    return values


def create_lead(
    session: Session, viewer: Viewer, form: LeadForm, *, keyring: Keyring, now: datetime | None = None
) -> NewLead:
    """Save a lead typed into the form, screened by the rules (a lead they catch is saved as invalid, with
    the reason, so nothing typed is lost); the period summaries and the audit log follow."""
    require(viewer, "leads:work")
    now = now or clock.now()
    values = _clean(session, viewer, form)
    phone, email = values.pop("phone"), values.pop("email")
    hashes = {k: pii.search_hash(k, v, keyring) for k, v in (("phone", phone), ("email", email))}
    rules = screen_rules(session)
    finding = screen(
        session,
        rules,
        company=values["company_name"],
        contact=values["contact_name"],
        phone_hash=hashes["phone"],
        email_hash=hashes["email"],
        has_phone=bool(phone),
        email=email,
    )
    row = values | {
        "created_at": now,
        "status": "new",
        "phone_enc": pii.encrypt(phone, keyring) if phone else None,
        "email_enc": pii.encrypt(email, keyring) if email else None,
        "phone_hash": hashes["phone"],
        "email_hash": hashes["email"],
        "email_domain": domain_of(email),
        "screened": False,
    }
    lead_id = db.new_id(session, L.insert().values(**(row | screened_values(finding, now))))
    _summaries(session, [_key(values)], now.date())
    audit.record(
        session,
        action="lead_created",
        username=viewer.username,
        object=f"lead:{lead_id}",
        at=now,
        details={"screened": finding.reason},
    )
    duplicate = None
    if finding.reason == "duplicate":
        kind, row_id = (
            ("lead", finding.duplicate_of_lead_id)
            if finding.duplicate_of_lead_id is not None
            else ("customer", finding.duplicate_of_customer_id)
        )
        duplicate = _shown_match(session, viewer, kind, kind, int(row_id or 0), 100.0)
    alike = [] if duplicate else names_alike(session, viewer, values["company_name"], values["region"])
    return NewLead(lead_id, finding.reason, duplicate, [a for a in alike if a.code != f"#{lead_id}"])


def _key(row: Any) -> facts.DimKey:
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return facts.DimKey(get("region"), get("industry"), get("kind"), get("owner_id"))


def _summaries(session: Session, keys: list[facts.DimKey], day: date) -> None:
    """A lead counts in the periods of its creation, under its dimensions: those periods, summarised again."""
    for key in dict.fromkeys(keys):
        facts.refresh_periods_containing(session, key=key, day=day)


# --- working a lead -----------------------------------------------------------------------------------


def lead(session: Session, viewer: Viewer, lead_id: int, *, keyring: Keyring) -> dict[str, Any]:
    """One lead as the work form shows it (contact details masked unless the viewer's role sees them)."""
    require(viewer, "page:growth")
    stmt = (
        select(L, CAMPAIGNS.c.name.label("campaign"), U.c.display_name.label("owner"), C.c.code.label("customer_code"))
        .select_from(
            L.outerjoin(CAMPAIGNS, CAMPAIGNS.c.id == L.c.campaign_id)
            .outerjoin(U, U.c.id == L.c.owner_id)
            .outerjoin(C, C.c.id == L.c.converted_customer_id)
        )
        .where(L.c.id == lead_id)
    )
    row = session.execute(scope(stmt, L, scoped(viewer, Filters()))).mappings().first()
    if row is None:
        raise NotFound("No such lead in your list.", key="leads.error.not_found")
    record = dict(row)
    clear = allowed(viewer, "contacts:clear")
    for kind in ("phone", "email"):
        value = pii.decrypt(record.pop(f"{kind}_enc"), keyring)
        record[kind] = value if clear else pii.mask(kind, value)
    record["moves"] = MOVES[record["status"]]
    return record


def move_lead(
    session: Session,
    viewer: Viewer,
    lead_id: int,
    *,
    to: str,
    seen_status: str,
    keyring: Keyring,
    reason: str | None = None,
    customer_code: str | None = None,
    confirmed: bool = False,
    now: datetime | None = None,
) -> int | None:
    """Move a lead on: contacted, qualified, converted (to the customer `customer_code`, or a new customer
    made from the lead, checked for duplicates like the customer form unless `confirmed`), invalid with a
    reason, or reopened. `seen_status` is what the person saw: a lead someone else moved meanwhile is
    refused. Returns the customer a conversion links. Audited."""
    require(viewer, "leads:work")
    now = now or clock.now()
    stmt = select(L).where(L.c.id == lead_id)
    row = session.execute(scope(stmt, L, scoped(viewer, Filters()))).first()
    if row is None:
        raise NotFound("No such lead in your list.", key="leads.error.not_found")
    if row.status != seen_status:
        raise ValidationError("Someone else moved this lead meanwhile.", key="leads.error.stale")
    if to not in MOVES[row.status]:
        raise ValidationError(f"A {row.status} lead cannot move to {to}.", key="leads.error.move")
    values: dict[str, Any] = {}
    if to in ("contacted", "qualified", "converted"):
        values["contacted_at"] = row.contacted_at or now
    if to in ("qualified", "converted"):
        values["qualified_at"] = row.qualified_at or now
    customer_id: int | None = None
    if to == "converted":
        customer_id = _customer_for(session, viewer, row, customer_code, keyring=keyring, confirmed=confirmed, now=now)
        values |= {"status": "converted", "converted_at": now, "converted_customer_id": customer_id}
    elif to == "disqualified":
        if reason not in REASONS:
            raise FieldErrors({"reason": ("form.error.required" if not reason else "form.error.choice", {})})
        values |= {"status": "disqualified", "disqualified_at": now, "invalid_reason": reason, "screened": False}
    elif to == "reopen":
        back = "qualified" if row.qualified_at else "contacted" if row.contacted_at else "new"
        values |= {
            "status": back,
            "disqualified_at": None,
            "invalid_reason": None,
            "screened": False,
            "duplicate_of_lead_id": None,
            "duplicate_of_customer_id": None,
        }
    else:
        values["status"] = to
    session.execute(L.update().where(L.c.id == lead_id).values(**values))
    _summaries(session, [_key(row)], row.created_at.date())
    audit.record(
        session,
        action="lead_moved",
        username=viewer.username,
        object=f"lead:{lead_id}",
        at=now,
        details={"from": row.status, "to": values["status"], "reason": values.get("invalid_reason")},
    )
    return customer_id


def _customer_for(
    session: Session,
    viewer: Viewer,
    row: Any,
    customer_code: str | None,
    *,
    keyring: Keyring,
    confirmed: bool,
    now: datetime,
) -> int:
    """The customer a lead became: one the viewer may see by its code, or a new one made from the lead."""
    if customer_code and customer_code.strip():
        found = session.scalar(visible(select(C.c.id).where(C.c.code == customer_code.strip()), C, viewer))
        if found is None:
            raise FieldErrors({"customer_code": ("leads.error.customer", {})})
        return int(found)
    form = CustomerForm(
        name=row.company_name,
        kind=row.kind,
        industry=row.industry,
        region=row.region,
        acquisition_channel=row.source_channel,
        first_contact_date=row.created_at.date(),
        became_customer_date=now.date(),
        phone=pii.decrypt(row.phone_enc, keyring),
        email=pii.decrypt(row.email_enc, keyring),
        owner_id=row.owner_id,
    )
    return create_customer(session, viewer, form, keyring=keyring, confirmed=confirmed, now=now)


def campaigns_to_name(session: Session) -> dict[int, str]:
    """Campaigns a lead can come from, newest first."""
    rows = session.execute(select(CAMPAIGNS.c.id, CAMPAIGNS.c.name).order_by(CAMPAIGNS.c.starts_on.desc()))
    return {int(r.id): r.name for r in rows}
