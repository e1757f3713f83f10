"""The schema, in one place (SQLAlchemy 2.0 typed models). Alembic migrations are generated from it.

Raw tables hold what happened; the summary tables at the bottom are derived data owned by
core/facts.py (rebuilt by seed/import, refreshed by write paths) and never written elsewhere.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator, TypeEngine

from core import clock

# Explicit constraint names keep Alembic migrations identical on SQLite, PostgreSQL and MariaDB.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(14, 2, asdecimal=False)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored as a UTC instant and seen in Python as the display zone's wall time (core.clock): the
    store stays right whatever clock the server keeps, and a comparison with a wall time or a day (a period's
    first day: its local midnight) binds the instant it means. `microseconds` keeps them on MariaDB too."""

    impl = DateTime
    cache_ok = True
    stores_utc = True  # core.db.period_bucket buckets it by the display zone's months

    def __init__(self, *, microseconds: bool = False) -> None:
        super().__init__()
        self.microseconds = microseconds

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if self.microseconds and dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | date | None, dialect: Dialect) -> datetime | None:
        return None if value is None else clock.to_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else clock.to_local(value)


ROLES = ("admin", "executive", "account_manager", "support_agent", "team_lead", "analyst")
CUSTOMER_KINDS = ("B2B", "B2C")
CUSTOMER_STATUSES = ("prospect", "active", "churned")
ACQUISITION_CHANNELS = ("website", "social_media", "trade_show", "referral", "outbound", "partner")
LEAD_STATUSES = ("new", "contacted", "qualified", "converted", "disqualified")
# why a lead is invalid: the screening rules' own reasons first (core/leads.py), then those a person gives
LEAD_SCREEN_RULES = ("missing_contact", "duplicate", "test_data", "blocked_domain")
LEAD_INVALID_REASONS = (*LEAD_SCREEN_RULES, "not_interested", "no_budget", "unreachable", "other")
INTERACTION_CHANNELS = ("phone", "email", "online_chat", "visit", "social_media", "self_service", "on_site")
TICKET_KINDS = ("complaint", "service_request", "inquiry")
TICKET_PRIORITIES = ("urgent", "high", "normal", "low")
TICKET_STATUSES = ("new", "accepted", "analysing", "waiting", "resolved", "closed")
OPEN_TICKET_STATUSES = ("new", "accepted", "analysing", "waiting")  # not yet resolved: counted as open
ROOT_CAUSES = ("product_defect", "logistics", "process", "staff", "customer_misunderstanding", "third_party", "other")
SLA_ACTION_TARGETS = ("none", "assignee", "team_lead", "admin")
INTERACTION_DIRECTIONS = ("inbound", "outbound")
INTERACTION_OUTCOMES = ("positive", "neutral", "negative", "follow_up")
TICKET_CATEGORIES = ("product_quality", "delivery", "billing", "service_attitude", "technical", "account")
TICKET_CHANNELS = ("phone", "email", "online_chat", "self_service", "social_media")
NPS_TOUCHPOINTS = ("post_purchase", "post_service", "quarterly_survey", "onboarding")
COMPANY_SIZES = ("small", "medium", "large", "enterprise")
REGIONS = ("east", "north", "south", "central", "southwest", "northwest", "northeast")
INDUSTRIES = (
    "manufacturing",
    "retail",
    "finance",
    "healthcare",
    "education",
    "it_services",
    "logistics",
    "energy",
    "real_estate",
    "hospitality",
)
PRODUCT_CATEGORIES = ("software", "hardware", "services", "consumables", "training", "subscription")
SALES_CHANNELS = ("direct", "online", "distributor", "partner")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    team: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # sessions (cookies, open pages) that began before this instant are over (security.revoke_sessions)
    sessions_valid_after: Mapped[datetime | None] = mapped_column(UtcDateTime(microseconds=True))
    totp_secret_enc: Mapped[str | None] = mapped_column(String(200))  # two-step sign-in, encrypted (core.pii)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    industry: Mapped[str] = mapped_column(String(64))
    company_size: Mapped[str | None] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    acquisition_channel: Mapped[str] = mapped_column(String(32))
    first_contact_date: Mapped[date] = mapped_column(Date)
    became_customer_date: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16))
    churned_date: Mapped[date | None] = mapped_column(Date, index=True)
    # personal data, encrypted (core/pii.py); *_hash are keyed hashes for exact search
    phone_enc: Mapped[str | None] = mapped_column(String(300))
    email_enc: Mapped[str | None] = mapped_column(String(400))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    tags: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (Index("ix_customers_dims", "region", "industry", "kind", "owner_id"),)


class Lead(Base):
    __tablename__ = "leads"
    id: Mapped[int] = mapped_column(primary_key=True)
    company_name: Mapped[str] = mapped_column(String(200))
    source_channel: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(8))
    industry: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    converted_customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    converted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    disqualified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    contacted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    qualified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    # the contact person: the name as typed, phone and e-mail encrypted with keyed hashes, as a customer's
    contact_name: Mapped[str | None] = mapped_column(String(100))
    phone_enc: Mapped[str | None] = mapped_column(String(300))
    email_enc: Mapped[str | None] = mapped_column(String(400))
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    email_domain: Mapped[str | None] = mapped_column(String(120))  # a company's domain: the blocked-domain rule
    invalid_reason: Mapped[str | None] = mapped_column(String(24))  # LEAD_INVALID_REASONS, when disqualified
    screened: Mapped[bool] = mapped_column(Boolean, default=False)  # disqualified by the rules, not a person
    duplicate_of_lead_id: Mapped[int | None] = mapped_column(Integer)
    duplicate_of_customer_id: Mapped[int | None] = mapped_column(Integer)


class LeadScreenRule(Base):
    """One invalid-lead rule (core/leads.py): on or off, with its terms (test-data words, blocked domains),
    applied to every new lead typed or imported."""

    __tablename__ = "lead_screen_rules"
    rule: Mapped[str] = mapped_column(String(24), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    terms: Mapped[str] = mapped_column(Text)  # one per line
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    order_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[float] = mapped_column(Money)
    product_category: Mapped[str] = mapped_column(String(64))
    sales_channel: Mapped[str] = mapped_column(String(32))
    __table_args__ = (
        # covering for per-customer work (customer statistics, repeat buyers, a customer's history)
        Index("ix_orders_customer_date_amount", "customer_id", "order_date", "amount"),
        # covering index: period aggregates read only the index, never the table
        Index("ix_orders_date_customer_amount", "order_date", "customer_id", "amount"),
    )


class Interaction(Base):
    __tablename__ = "interactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    subject: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(32))
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_interactions_customer_occurred", "customer_id", "occurred_at"),
        # covering index: the churn features' last year of contacts per channel read only the index
        Index("ix_interactions_occurred_customer_channel", "occurred_at", "customer_id", "channel"),
    )


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    first_response_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_response_due: Mapped[datetime] = mapped_column(UtcDateTime)
    resolution_due: Mapped[datetime] = mapped_column(UtcDateTime)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    csat: Mapped[int | None] = mapped_column(SmallInteger)
    feedback_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    description: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(64))
    policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id"))
    findings: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(String(32))
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)  # optimistic lock: every change adds one
    __table_args__ = (
        Index("ix_tickets_status_resolution_due", "status", "resolution_due"),
        # covering for the cockpit's SLA counts: due time, done time and priority read from the index alone
        Index(
            "ix_tickets_kind_first_response_due",
            "kind",
            "first_response_due",
            "first_response_at",
            "priority",
            "customer_id",
        ),
        Index("ix_tickets_kind_resolution_due", "kind", "resolution_due", "resolved_at", "priority", "customer_id"),
        Index("ix_tickets_kind_closed_at", "kind", "closed_at"),
        # covering for the re-open rate and agent or team performance: tickets resolved in a period, read from
        # the index alone (a year scanned every ticket)
        Index("ix_tickets_resolved_reopened", "resolved_at", "reopened", "assignee_id", "team"),
        # covering for the bottlenecks: the tickets created in a period with what they are grouped by
        Index("ix_tickets_created_groups", "created_at", "id", "team", "category", "priority", "kind"),
    )


class TicketEvent(Base):
    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str | None] = mapped_column(String(32))  # what happened (core/sla_engine.py reads these)
    __table_args__ = (Index("ix_ticket_events_ticket_at", "ticket_id", "at"),)


class SlaCalendar(Base):
    """A business-hours calendar (core/business_hours.py); holidays in sla_holidays."""

    __tablename__ = "sla_calendars"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    working_days: Mapped[str] = mapped_column(String(20))  # "0,1,2,3,4" (Monday = 0)
    intervals: Mapped[str] = mapped_column(String(200))  # "09:00-12:00,13:30-18:00"


class SlaHoliday(Base):
    """A holiday range of a calendar, or (kind "workday") a make-up working day (调休), first = last, with its
    own working intervals or none for the calendar's normal ones."""

    __tablename__ = "sla_holidays"
    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("sla_calendars.id"), index=True)
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    name: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8), server_default="holiday")  # holiday / workday
    intervals: Mapped[str | None] = mapped_column(String(200))  # a make-up day's own, "09:00-12:00"


class SlaPolicy(Base):
    """One version of an SLA policy: conditions (None matches anything), targets in minutes, calendar,
    warning rule and actions. An edit closes this version (valid_to) and adds the next one."""

    __tablename__ = "sla_policies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)  # the first matching policy by position applies
    kind: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str | None] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(16))
    team: Mapped[str | None] = mapped_column(String(64))
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("sla_calendars.id"))  # None: around the clock
    first_response_minutes: Mapped[float | None] = mapped_column(Float)
    next_response_minutes: Mapped[float | None] = mapped_column(Float)
    accept_minutes: Mapped[float | None] = mapped_column(Float)
    analyse_minutes: Mapped[float | None] = mapped_column(Float)
    resolution_minutes: Mapped[float | None] = mapped_column(Float)
    feedback_minutes: Mapped[float | None] = mapped_column(Float)
    warn_share: Mapped[float] = mapped_column(Float, default=0.8)
    warn_offset_minutes: Mapped[float | None] = mapped_column(Float)
    on_warning: Mapped[str] = mapped_column(String(16), default="assignee")
    on_violation: Mapped[str] = mapped_column(String(16), default="team_lead")
    on_success: Mapped[str] = mapped_column(String(16), default="none")
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime)
    replaces_id: Mapped[int | None] = mapped_column(Integer)


class TicketSla(Base):
    """Per-ticket, per-metric SLA result, kept current by every ticket write and by the SLA tick."""

    __tablename__ = "ticket_sla"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_minutes: Mapped[float] = mapped_column(Float)
    elapsed_minutes: Mapped[float] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    warn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    known_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when met or breached became known
    wait_minutes: Mapped[float | None] = mapped_column(Float)  # resolution row: the customer's total wait
    agent_minutes: Mapped[float | None] = mapped_column(Float)  # resolution row: working time with agents
    __table_args__ = (
        # covering for the outcomes known in a period by agent or team (the ticket id without a table read)
        Index("ix_ticket_sla_metric_known", "metric", "known_at", "state", "ticket_id"),
        Index("ix_ticket_sla_metric_completed", "metric", "completed_at", "elapsed_minutes"),
        Index("ix_ticket_sla_state_due", "state", "due_at"),
    )


class TicketSteps(Base):
    """Hours a ticket spent in each step of accept → analyse → resolve → feedback (core/service_flow.py computes
    them from the ticket's events), kept current with its SLA results: the same evaluation reads the same events.
    A step the ticket never reached is null."""

    __tablename__ = "ticket_steps"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    waiting_to_accept: Mapped[float | None] = mapped_column(Float)
    analysing: Mapped[float | None] = mapped_column(Float)
    resolving: Mapped[float | None] = mapped_column(Float)
    waiting_on_customer: Mapped[float | None] = mapped_column(Float)
    waiting_for_feedback: Mapped[float | None] = mapped_column(Float)


class ServiceDayFact(Base):
    """One Service figure's sums for one display-zone day and one value of one dimension (core/service_facts.py
    owns it): SLA outcomes met and breached per clock, tickets resolved and re-opened, ratings and their sum,
    complaints created and done. The page's breakdowns over a year read a few thousand of these, not millions
    of outcomes."""

    __tablename__ = "service_day_facts"
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)  # the SLA clock; '' for the others
    dim: Mapped[str] = mapped_column(String(12), primary_key=True)  # 'all' or the dimension kept
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # 'YYYY-MM-DD' in the display zone
    value: Mapped[str] = mapped_column(String(64), primary_key=True)  # the dimension's value; '' for none
    a: Mapped[int] = mapped_column(Integer, default=0)
    b: Mapped[int] = mapped_column(Integer, default=0)
    s: Mapped[float] = mapped_column(Float, default=0.0)


class SlaFiring(Base):
    """An SLA action that fired: once per ticket, metric and action (warning, violation, success)."""

    __tablename__ = "sla_firings"
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    metric: Mapped[str] = mapped_column(String(16), primary_key=True)
    action: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class NpsResponse(Base):
    __tablename__ = "nps_responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    responded_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    touchpoint: Mapped[str] = mapped_column(String(32))
    # a customer's answers in time order: the closed loop's "next answer after this follow-up" is one seek
    __table_args__ = (Index("ix_nps_responses_customer_responded", "customer_id", "responded_at"),)


class Task(Base):
    """Something an account manager has to do for a customer by a date (from a follow-up, or by hand)."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date] = mapped_column(Date)
    interaction_id: Mapped[int | None] = mapped_column(ForeignKey("interactions.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    source: Mapped[str | None] = mapped_column(
        String(16)
    )  # follow_up, sla, detractor, low_csat, escalation, survey_csat, retention
    __table_args__ = (
        Index("ix_tasks_owner_done_due", "owner_id", "done_at", "due_date"),
        # the closed loop's follow-ups of a period, read from the index alone (a scan of every task otherwise)
        Index("ix_tasks_source_created", "source", "created_at", "customer_id", "due_date", "done_at"),
    )


class FormSubmission(Base):
    """One row per submitted form token: a second submission of the same form is refused (idempotent writes)."""

    __tablename__ = "form_submissions"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    form: Mapped[str] = mapped_column(String(32))
    username: Mapped[str | None] = mapped_column(String(64))
    object: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object: Mapped[str | None] = mapped_column(String(200))
    details: Mapped[str | None] = mapped_column(Text)


class ExternalId(Base):
    """A record's id in a source system (an ERP's customer number, a shop's order number): re-importing the
    same file finds the same records instead of adding them again."""

    __tablename__ = "external_ids"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # customer, order
    external_id: Mapped[str] = mapped_column(String(128))
    record_id: Mapped[int] = mapped_column(Integer, index=True)
    __table_args__ = (UniqueConstraint("source", "kind", "external_id"),)


class ImportMapping(Base):
    """A saved column mapping (file column per field, fixed values, value synonyms), reused by name."""

    __tablename__ = "import_mappings"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class ImportBatch(Base):
    """One import: who, which file (name and SHA-256), what it did; written in the import's transaction."""

    __tablename__ = "import_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64))
    username: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    counts: Mapped[str] = mapped_column(Text)  # JSON


class CustomerMerge(Base):
    """Two records found to be one customer: `merged_id`'s rows moved to `survivor_id`, its own row kept
    here (as stored, contact details still encrypted) so the merge can be undone for 30 days."""

    __tablename__ = "customer_merges"
    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(Integer, index=True)
    merged_id: Mapped[int] = mapped_column(Integer, index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    username: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    record: Mapped[str] = mapped_column(Text)  # JSON: the merged row, the moved row ids, the survivor's filled fields
    undone_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DuplicateDecision(Base):
    """A pair a person looked at and kept apart: it leaves the review queue."""

    __tablename__ = "duplicate_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[int] = mapped_column(Integer)
    second_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    username: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (UniqueConstraint("first_id", "second_id"),)


class QualitySnapshot(Base):
    """One data-quality figure at one moment (written by imports and `refresh`): the page's trends."""

    __tablename__ = "quality_snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    figure: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)


class ChurnModel(Base):
    """A trained churn model: what it learned from, how it was judged, and the fitted pipeline itself
    (pickled by our own code into our own store; loaded only by `core.churn`)."""

    __tablename__ = "churn_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    trained_at: Mapped[datetime] = mapped_column(UtcDateTime)
    trained_by: Mapped[str] = mapped_column(String(64))
    horizon_days: Mapped[int] = mapped_column(Integer)
    first_snapshot: Mapped[date] = mapped_column(Date)
    test_snapshot: Mapped[date] = mapped_column(Date)
    chosen: Mapped[str] = mapped_column(String(32))
    grade: Mapped[str] = mapped_column(String(1))
    features: Mapped[str] = mapped_column(Text)  # JSON list
    metrics: Mapped[str] = mapped_column(Text)  # JSON: per model and the baseline
    pipeline: Mapped[bytes] = mapped_column(LargeBinary().with_variant(mysql.LONGBLOB(), "mysql"))  # BLOB: 64 KB
    # JSON, written by each scoring: band averages, global importance, the latest labelled period's check
    profile: Mapped[str | None] = mapped_column(Text, nullable=True)
    # JSON, from the training set: each health band's actual churn rate at each labelled snapshot
    health_calibration: Mapped[str | None] = mapped_column(Text, nullable=True)


class ChurnScore(Base):
    """Each active customer's latest churn risk, with the model version that scored it."""

    __tablename__ = "churn_scores"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    model_version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    risk: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(8), server_default="low")  # low / medium / high (core.churn)
    drivers: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: core.churn.explain
    __table_args__ = (Index("ix_churn_scores_risk", "risk"), Index("ix_churn_scores_band", "band"))


class RetentionCohort(Base):
    """A customer the churn model warned about (medium or high risk), entered once with the random draw that
    puts a share of them in the holdout, which gets no retention action so that their effect is measured."""

    __tablename__ = "retention_cohort"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    warned_on: Mapped[date] = mapped_column(Date)
    band: Mapped[str] = mapped_column(String(8))
    risk: Mapped[float] = mapped_column(Float)
    held_out: Mapped[bool] = mapped_column(Boolean)


class RetentionAction(Base):
    """A call, visit, offer or service review to keep a customer, with its playbook progress and outcome; its
    task sits in the owner's task list."""

    __tablename__ = "retention_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(16))  # the driver group it answers, or "other"
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))  # open, done, cancelled
    outcome: Mapped[str | None] = mapped_column(String(12))
    steps_done: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (Index("ix_retention_actions_customer_status", "customer_id", "status"),)


class SurveyRun(Base):
    """A periodic NPS or CSAT survey over a segment of customers (core.surveys): who to ask, kept as asked."""

    __tablename__ = "survey_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))  # nps / csat
    segment: Mapped[str] = mapped_column(Text)  # JSON: the filters the recipients were chosen by
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closes_on: Mapped[date] = mapped_column(Date)


class SurveyRecipient(Base):
    """One customer asked in a survey run, and their answer once it is back (an NPS answer is also an
    nps_responses row, so the cockpit's NPS counts it)."""

    __tablename__ = "survey_recipients"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("survey_runs.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    score: Mapped[int | None] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    nps_response_id: Mapped[int | None] = mapped_column(ForeignKey("nps_responses.id"))
    __table_args__ = (Index("ix_survey_recipients_run_customer", "run_id", "customer_id"),)


class CustomerValue(Base):
    """Each active customer's health, RFM, predicted value and value tier as of the latest scoring (derived;
    owner: core/churn/value.py, rebuilt whole by every `score-churn`)."""

    __tablename__ = "customer_values"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    health: Mapped[int] = mapped_column(Integer)  # 0-100
    health_band: Mapped[str] = mapped_column(String(8))  # healthy / watch / at_risk
    health_parts: Mapped[str] = mapped_column(Text)  # JSON: group -> 0-100 (or null when no data)
    r_score: Mapped[int] = mapped_column(Integer)  # quintiles 1-5
    f_score: Mapped[int] = mapped_column(Integer)
    m_score: Mapped[int] = mapped_column(Integer)
    rfm_segment: Mapped[str] = mapped_column(String(24))
    revenue_total: Mapped[float] = mapped_column(Float)  # historical value: everything bought so far
    expected_orders: Mapped[float] = mapped_column(Float)  # BG/NBD: purchases expected in the next 12 months
    p_alive: Mapped[float] = mapped_column(Float)
    expected_value: Mapped[float] = mapped_column(Float)  # Gamma-Gamma: expected average purchase value
    clv_12m: Mapped[float] = mapped_column(Float)  # predicted value of the next 12 months
    tier: Mapped[str] = mapped_column(String(16))
    __table_args__ = (Index("ix_customer_values_tier", "tier"), Index("ix_customer_values_segment", "rfm_segment"))


class TierHistory(Base):
    """Each customer's value tier at the latest scoring of each quarter: the quarter-on-quarter flow."""

    __tablename__ = "tier_history"
    quarter: Mapped[date] = mapped_column(Date, primary_key=True)  # the quarter's first day
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(16))


class KpiTarget(Base):
    """What an administrator wants one KPI to reach (core/targets.py): absolute ("at least 95 %") or a change
    against the KPI over a baseline span ("-50 % against 2026 H1"), for the periods whose last day is in
    [effective_from, effective_to], company-wide or for one region or team, with an owner. Edited in place:
    `version` counts the edits, the audit log keeps each one."""

    __tablename__ = "kpi_targets"
    id: Mapped[int] = mapped_column(primary_key=True)
    kpi: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))  # absolute | change
    value: Mapped[float] = mapped_column(Float)  # absolute: in the KPI's unit (0.95 = 95 %); change: -0.5 = -50 %
    grain: Mapped[str | None] = mapped_column(String(1))  # M/Q/Y: the period length of a revenue or count target
    effective_from: Mapped[date] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)  # the last day in force; None: open-ended
    baseline_start: Mapped[date | None] = mapped_column(Date)
    baseline_end: Mapped[date | None] = mapped_column(Date)  # the baseline's last day (inclusive)
    baseline_value: Mapped[float | None] = mapped_column(Float)  # the KPI over the baseline, worked out on save
    baseline_periods: Mapped[str | None] = mapped_column(String(200))  # JSON: its average month, quarter, year
    baseline_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # and again by `refresh`
    region: Mapped[str | None] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (Index("ix_kpi_targets_kpi", "kpi"),)


class LoyaltyProgramme(Base):
    """One version of the loyalty programme (core/loyalty.py): an edit closes this one (valid_to) and adds the
    next. Action points and levels as JSON: {"referral": 500, ...}, [[name, threshold, benefit], ...]."""

    __tablename__ = "loyalty_programmes"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    points_per_yuan: Mapped[float] = mapped_column(Float)
    action_points: Mapped[str] = mapped_column(Text)
    levels: Mapped[str] = mapped_column(Text)
    expiry_months: Mapped[int | None] = mapped_column(Integer)  # None: points never expire
    yuan_per_point: Mapped[float] = mapped_column(Float)  # what a point is worth when redeemed (the liability)
    valid_from: Mapped[datetime] = mapped_column(UtcDateTime)
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LoyaltyMember(Base):
    """A customer in the loyalty programme, since when (orders from that day on earn points)."""

    __tablename__ = "loyalty_members"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
    joined_on: Mapped[date] = mapped_column(Date)  # the display zone's day, compared with order days
    enrolled_by: Mapped[int | None] = mapped_column(Integer)


class LoyaltyEntry(Base):
    """One row of the append-only points ledger: earn (+), redeem (-), expire (-), adjust (+/-, with a reason).
    A member's balance is the sum of their rows; nothing updates or deletes one."""

    __tablename__ = "loyalty_ledger"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(8))
    points: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # order, referral, review, survey, redemption, expiry, manual
    order_id: Mapped[int | None] = mapped_column(Integer, unique=True)  # an order earns once
    reference: Mapped[str | None] = mapped_column(String(64))  # e.g. nps:123 for a survey answer's points
    reason: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # earned points: when they end
    programme_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ix_loyalty_ledger_customer_at", "customer_id", "at"), Index("ix_loyalty_ledger_at", "at"))


class AutomationRule(Base):
    """One version of an automation rule (core/rules.py): a trigger (with its threshold), conditions on the
    customer and the object, and actions, as JSON. An edit closes this version (valid_to) and adds the next with
    the same number; enabling or disabling changes the current version in place (audited)."""

    __tablename__ = "automation_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer)  # the rule, across its versions
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    trigger: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[float | None] = mapped_column(Float)  # score, rating, risk, days or amount, by trigger
    conditions: Mapped[str] = mapped_column(Text)  # JSON: {"tier": ["high_value"], "priority": ["urgent"]}
    actions: Mapped[str] = mapped_column(Text)  # JSON: [{"type": "task", "to": ["owner"], "due_days": 2}, ...]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    shipped: Mapped[str | None] = mapped_column(String(32))  # the shipped SLA actions and call-backs
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64))
    valid_to: Mapped[datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (
        UniqueConstraint("number", "version"),
        Index("ix_automation_rules_trigger_valid", "trigger", "valid_to"),
    )


class RuleFiring(Base):
    """A rule that fired for one object in one episode (at most once: the unique key), with the version that
    fired and what its actions did. A time trigger's episode ends (ended_at) when its condition stops holding."""

    __tablename__ = "rule_firings"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("automation_rules.id"))
    number: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    object_kind: Mapped[str] = mapped_column(String(12))  # ticket, nps, order, customer, import
    object_id: Mapped[int] = mapped_column(Integer)
    episode: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    done: Mapped[str] = mapped_column(Text)  # JSON list of what the actions did
    __table_args__ = (
        UniqueConstraint("number", "object_kind", "object_id", "episode"),
        Index("ix_rule_firings_number_at", "number", "at"),
    )


class Notification(Base):
    """A message in a user's in-app inbox (from a rule); e-mailed too when the rule asks and SMTP is set up."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    title: Mapped[str] = mapped_column(String(200))
    object: Mapped[str | None] = mapped_column(String(40))  # ticket:12, customer:C000123
    rule_number: Mapped[int | None] = mapped_column(Integer)
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    email_state: Mapped[str | None] = mapped_column(String(8))  # pending, sent, failed; None: in the app only
    __table_args__ = (
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_email", "email_state"),
    )


class OfferModel(Base):
    """A learned next-best-offer model (core/next_offer.py): P(next category | last category) as JSON, learned
    from `orders` orders, with its hit rate on a held-out window against the most popular categories (JSON).
    The newest row is the one in use."""

    __tablename__ = "offer_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    learned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    orders: Mapped[int] = mapped_column(Integer)
    transitions: Mapped[str] = mapped_column(Text)
    evaluation: Mapped[str] = mapped_column(Text)


class ChannelCost(Base):
    """What an acquisition channel cost in one month (core/channels.py: the cost per acquisition), entered by an
    analyst or administrator; a month's new figure replaces the old one."""

    __tablename__ = "channel_costs"
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    month: Mapped[date] = mapped_column(Date)  # the month's first day
    amount: Mapped[float] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(String(200))
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (UniqueConstraint("channel", "month"),)


class Campaign(Base):
    """A marketing campaign (core/campaigns.py): its channel, period, cost, the share held out as its control
    group and the customer-list segment (JSON) or file its members came from."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(32))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    cost: Mapped[float] = mapped_column(Money)
    holdout_percent: Mapped[int] = mapped_column(Integer)
    segment: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CampaignMember(Base):
    """A customer in a campaign, drawn once at creation into the campaign (contacted) or its control group."""

    __tablename__ = "campaign_members"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    control: Mapped[bool] = mapped_column(Boolean)


class AppMeta(Base):
    """Small key/value facts about this database: demo or not, when summaries were built."""

    __tablename__ = "app_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


# --- summary tables (derived; owner: core/facts.py) -------------------------------------------


class PeriodFact(Base):
    """Measures of one calendar period (grain M/Q/Y) for one combination of customer dimensions."""

    __tablename__ = "period_facts"
    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(1))
    period_start: Mapped[date] = mapped_column(Date)
    region: Mapped[str | None] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(8))
    owner_id: Mapped[int | None] = mapped_column(Integer)
    active_start: Mapped[int] = mapped_column(Integer, default=0)
    active_end: Mapped[int] = mapped_column(Integer, default=0)
    new_customers: Mapped[int] = mapped_column(Integer, default=0)
    churned_customers: Mapped[int] = mapped_column(Integer, default=0)
    churned_lifetime_revenue: Mapped[float] = mapped_column(Money, default=0)
    ltv_revenue: Mapped[float] = mapped_column(Money, default=0)  # revenue to period end of customers active then
    revenue: Mapped[float] = mapped_column(Money, default=0)
    orders: Mapped[int] = mapped_column(Integer, default=0)
    buyers: Mapped[int] = mapped_column(Integer, default=0)
    repeat_buyers: Mapped[int] = mapped_column(Integer, default=0)
    leads_created: Mapped[int] = mapped_column(Integer, default=0)
    leads_converted: Mapped[int] = mapped_column(Integer, default=0)
    leads_disqualified: Mapped[int] = mapped_column(Integer, default=0)
    nps_responses: Mapped[int] = mapped_column(Integer, default=0)
    nps_promoters: Mapped[int] = mapped_column(Integer, default=0)
    nps_detractors: Mapped[int] = mapped_column(Integer, default=0)
    csat_ratings: Mapped[int] = mapped_column(Integer, default=0)
    csat_satisfied: Mapped[int] = mapped_column(Integer, default=0)
    complaints_created: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when a rebuild or write last made the row
    __table_args__ = (Index("ix_period_facts_key", "grain", "period_start", "region", "industry", "kind", "owner_id"),)


class CustomerStat(Base):
    """Per-customer order statistics as of one date, with the value tier and lifecycle stage.

    It also carries a copy of the customer's list columns (code, name, dimensions) and latest activity
    (last contact, latest NPS answer, open tickets), so the customer list filters, sorts and counts a
    million customers on this one table, without a join per row.
    """

    __tablename__ = "customer_stats"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    as_of: Mapped[date] = mapped_column(Date)
    code: Mapped[str | None] = mapped_column(String(32), index=True)
    name: Mapped[str | None] = mapped_column(String(200), index=True)  # name search scans this narrow index
    region: Mapped[str | None] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(8))
    owner_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String(16))
    became_customer_date: Mapped[date | None] = mapped_column(Date)
    last_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    latest_nps_score: Mapped[int | None] = mapped_column(SmallInteger)
    latest_nps_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    open_tickets: Mapped[int] = mapped_column(Integer, default=0)
    orders_total: Mapped[int] = mapped_column(Integer, default=0)
    revenue_total: Mapped[float] = mapped_column(Money, default=0)
    first_order_date: Mapped[date | None] = mapped_column(Date)
    last_order_date: Mapped[date | None] = mapped_column(Date)
    orders_12m: Mapped[int] = mapped_column(Integer, default=0)
    revenue_12m: Mapped[float] = mapped_column(Money, default=0)
    revenue_prev_12m: Mapped[float] = mapped_column(Money, default=0)
    orders_last_90: Mapped[int] = mapped_column(Integer, default=0)
    orders_prev_90: Mapped[int] = mapped_column(Integer, default=0)
    median_gap_days: Mapped[float | None] = mapped_column(Float)
    tier: Mapped[str | None] = mapped_column(String(16))
    lifecycle_stage: Mapped[str] = mapped_column(String(16))
    churn_reason: Mapped[str | None] = mapped_column(String(32))
    __table_args__ = (
        Index("ix_customer_stats_tier_revenue", "tier", "revenue_12m"),
        # revenue ranges and the list's default order (revenue, then id: keyset pages through a tie in order),
        # with the date filters checked inside the index
        Index(
            "ix_customer_stats_revenue_dates", "revenue_12m", "customer_id", "became_customer_date", "last_order_date"
        ),
        Index("ix_customer_stats_owner_revenue", "owner_id", "revenue_12m"),
        # every list filter column: a count over any filter reads this index, not the wide rows
        Index(
            "ix_customer_stats_list_filters",
            "tier",
            "lifecycle_stage",
            "region",
            "industry",
            "kind",
            "owner_id",
            "latest_nps_score",
            "last_contact_at",
            "revenue_12m",
            "became_customer_date",
            "last_order_date",
        ),
    )


class SegmentFact(Base):
    """Customer counts and 12-month revenue by tier and lifecycle stage for each dimension combination."""

    __tablename__ = "segment_facts"
    id: Mapped[int] = mapped_column(primary_key=True)
    region: Mapped[str | None] = mapped_column(String(64))
    industry: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(8))
    owner_id: Mapped[int | None] = mapped_column(Integer)
    tier: Mapped[str | None] = mapped_column(String(16))
    lifecycle_stage: Mapped[str] = mapped_column(String(16))
    customers: Mapped[int] = mapped_column(Integer, default=0)
    revenue_12m: Mapped[float] = mapped_column(Money, default=0)


__all__ = [name for name in dir() if name[0].isupper()]


def table(model: type[Base]) -> Table:
    """A model's table, typed as a Table (`__table__` is typed as a FromClause) for core's SQL."""
    return model.__table__  # type: ignore[return-value]
