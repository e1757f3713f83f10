"""The access registry enforced where it matters: every role x every action in `core.access.ACTIONS` (pages,
exports, writes, reveals, ticket work, administration) is tried through the core function that does it, and
must be done or refused exactly as the registry says. Reads are checked for rows outside the viewer's scope."""

from __future__ import annotations

import ast
import io
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import (
    access,
    activity,
    audit,
    campaigns,
    channels,
    clock,
    customer_changes,
    customer_list,
    customer_view as cv,
    customers,
    exports,
    facts,
    kpi,
    leads,
    loyalty,
    merging,
    models as m,
    next_offer,
    pii,
    quality,
    rules,
    security,
    service,
    service_analytics as sa,
    subjects,
    surveys,
    targets,
    voice,
)
from core.access import Viewer
from core.activity import InteractionForm, NpsForm, TicketForm
from core.churn import retention, warnings as churn_warnings
from core.customer_list import CustomerQuery
from core.db import make_engine, migrate, session_scope
from core.errors import NotFound, PermissionDenied
from core.ingest import batch
from core.ingest.fields import propose
from core.periods import Filters, period_containing
from core.service import PolicyChange, Step
from tests import factories as f
from tests.conftest import TEST_KEYRING

NOW = clock.now().replace(microsecond=0)
ORDER_DAY = NOW.date() - timedelta(days=20)  # the scope test reads the month holding it (not always this month)
START, END = NOW - timedelta(days=60), NOW + timedelta(days=1)
ROOT = Path(__file__).resolve().parents[1]


def build_world(engine: Engine) -> dict[str, object]:
    """Two account managers, a desk, and three customers: `mine` (amy's, with a ticket), `theirs` (bob's, with a
    ticket) and `quiet` (bob's, no ticket). Each customer's text carries its own marker word."""
    with session_scope(engine) as s:
        users = {role: f.user(s, f"u_{role}", role=role) for role in access.ROLES}
        bob = f.user(s, "bob")
        amy = users["account_manager"]
        world: dict[str, object] = {
            "viewers": {role: Viewer(u.id, u.username, u.display_name, role) for role, u in users.items()},
            "bob": Viewer(bob.id, "bob", "Bob", "account_manager"),
            "agent_id": users["support_agent"].id,
        }
        for name, owner, ticket, word, score in (
            ("mine", amy, True, "alphaword", 2),
            ("theirs", bob, True, "zuluword", 1),
            ("quiet", bob, False, "quietword", 0),
        ):
            who = f.customer(s, owner=owner, became=date(2024, 3, 1))
            who.phone_enc = pii.encrypt(f"1381234567{len(name)}", TEST_KEYRING)
            f.order(s, who, ORDER_DAY, 100)
            s.add(
                m.NpsResponse(
                    customer_id=who.id,
                    score=score,
                    responded_at=NOW - timedelta(days=3),
                    touchpoint="post_purchase",
                    comment=f"{word} broken again",
                )
            )
            s.add(
                m.Interaction(
                    customer_id=who.id,
                    user_id=owner.id,
                    channel="phone",
                    direction="outbound",
                    occurred_at=NOW - timedelta(days=2),
                    subject=f"{word} call",
                    notes=word,
                )
            )
            s.add(
                m.Task(
                    customer_id=who.id,
                    owner_id=owner.id,
                    title=f"{word} task",
                    due_date=NOW.date(),
                    created_at=NOW - timedelta(days=1),
                    source="detractor",
                )
            )
            if ticket:
                f.ticket(
                    s,
                    who,
                    NOW - timedelta(days=1),
                    responded=NOW - timedelta(hours=20),
                    resolved=NOW - timedelta(hours=10),
                    closed=NOW - timedelta(hours=9),
                    csat=5 if name == "mine" else 1,
                    feedback=NOW - timedelta(hours=9),
                )
            s.flush()
            world[name] = who.id
        s.flush()
        facts.rebuild_all(s, as_of=NOW.date())
    with session_scope(engine) as s:  # an open ticket on `mine` for the desk's steps
        world["open_ticket"] = activity.create_ticket(
            s,
            access.SYSTEM,
            TicketForm(world["mine"], "complaint", "billing", "normal", "email", "Charged twice"),
            now=NOW - timedelta(hours=1),
        )  # type: ignore[arg-type]
        world["task_of_bob"] = s.scalar(select(m.Task.id).where(m.Task.owner_id == bob.id).limit(1))
        world["task_of_amy"] = s.scalar(select(m.Task.id).where(m.Task.owner_id == amy.id).limit(1))
    return world


@pytest.fixture(scope="module")
def world_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, object]]]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('access') / 'access.db'}")
    migrate(engine)
    yield engine, build_world(engine)
    engine.dispose()


# --- one probe per action: does the real thing, returns whether it was done (False: refused) ------------

Probe = Callable[[Session, Viewer, dict[str, object]], object]


def _campaign(s: Session, viewer: Viewer) -> int:
    """A campaign over twenty new customers (in this rolled-back session), listed by code as a file would."""
    codes = tuple(f.customer(s, became=date(2024, 1, 1)).code for _ in range(campaigns.MIN_MEMBERS))
    plan = campaigns.CampaignPlan("Probe", "phone", NOW.date(), NOW.date(), 0.0, 20, codes=codes)
    return campaigns.create(s, viewer, plan, TEST_KEYRING, now=NOW)


def _version(s: Session, ticket_id: object) -> int:
    return int(s.scalar(select(m.Ticket.version).where(m.Ticket.id == ticket_id)) or 0)


def _profile_write(s: Session, v: Viewer, w: dict[str, object]) -> object:
    seen = activity.current_profile(s, v, w["mine"], TEST_KEYRING)  # type: ignore[arg-type]
    from dataclasses import replace

    return activity.update_profile(s, v, replace(seen, city="Hangzhou"), seen=seen, keyring=TEST_KEYRING, now=NOW)


def _subjects(s: Session, v: Viewer, w: dict[str, object]) -> object:
    subjects.export_customer(s, viewer=v, keyring=TEST_KEYRING, customer_id=w["mine"])  # type: ignore[arg-type]
    return subjects.erase_customer(s, viewer=v, keyring=TEST_KEYRING, customer_id=w["mine"], reason="asked by letter")  # type: ignore[arg-type]


def _loyalty(action: str) -> Probe:
    """A programme and (but for enrolling) the customer as a member with 100 points, written without audit rows,
    then the action itself."""

    def probe(s: Session, v: Viewer, w: dict[str, object]) -> object:
        mine = int(w["mine"])  # type: ignore[call-overload]
        values = loyalty.programme_values(loyalty.DEFAULT)
        s.execute(m.table(m.LoyaltyProgramme).insert().values(**values, version=1, valid_from=NOW - timedelta(days=9)))
        if action == "enrol":
            return loyalty.enrol(s, v, mine, now=NOW)
        s.add(m.LoyaltyMember(customer_id=mine, joined_at=NOW - timedelta(days=9), joined_on=NOW.date()))
        s.execute(
            m.table(m.LoyaltyEntry)
            .insert()
            .values(customer_id=mine, at=NOW - timedelta(days=1), kind="earn", points=100, source="order")
        )
        if action == "redeem":
            return loyalty.redeem(s, v, mine, 10, reason="voucher", now=NOW)
        return loyalty.adjust(s, v, mine, 10, reason="goodwill", now=NOW)

    return probe


IMPORT_FILE = (
    b"name,kind,industry,region,acquisition channel,customer since\nProbe Ltd,B2B,retail,east,website,2025-01-02\n"
)
IMPORT_TABLE = batch.read(IMPORT_FILE, kind="customers", file_name="probe.csv")

PROBES: dict[str, Probe] = {
    "page:cockpit": lambda s, v, w: kpi.cockpit(s, period_containing(NOW.date(), "M"), Filters(), viewer=v, now=NOW),
    "page:goals": lambda s, v, w: targets.overview(s, viewer=v, period=period_containing(NOW.date(), "M"), now=NOW),
    "page:loyalty": lambda s, v, w: loyalty.overview(s, v, now=NOW),
    "page:automation": lambda s, v, w: rules.overview(s, v),
    "page:growth": lambda s, v, w: next_offer.current_worklist(s, v),
    "offers:learn": lambda s, v, w: next_offer.learn_now(s, v),
    "channels:costs": lambda s, v, w: channels.set_cost(s, v, channels.CostEntry("website", NOW.date(), 1200.0)),
    "campaigns:run": lambda s, v, w: _campaign(s, v),
    "leads:work": lambda s, v, w: leads.create_lead(  # the world's customer's phone: screened as a duplicate
        s,
        v,
        leads.LeadForm("Probe Lead Ltd", "website", "B2B", "retail", "east", phone="13812345674"),
        keyring=TEST_KEYRING,
    ),
    "leads:rules": lambda s, v, w: leads.set_screen_rule(s, v, "test_data", enabled=True, terms="test\nprobe"),
    "rules:manage": lambda s, v, w: rules.create_rule(
        s, v, rules.RuleChange("Probe", "ticket_created", actions=({"type": "tag", "tag": "probe"},)), now=NOW
    ),
    "loyalty:programme": lambda s, v, w: loyalty.set_programme(s, v, loyalty.DEFAULT, now=NOW),
    "loyalty:enrol": _loyalty("enrol"),
    "loyalty:redeem": _loyalty("redeem"),
    "loyalty:adjust": _loyalty("adjust"),
    "targets:edit": lambda s, v, w: targets.create_target(
        s, v, targets.TargetChange("csat", "absolute", 0.9, NOW.date()), now=NOW
    ),
    "page:customers": lambda s, v, w: customer_list.customer_page(s, v, CustomerQuery(), TEST_KEYRING, now=NOW),
    "page:customer": lambda s, v, w: customers.customer_profile(
        s, viewer=v, keyring=TEST_KEYRING, customer_id=w["mine"]
    ),  # type: ignore[arg-type]
    "page:service": lambda s, v, w: sa.queue(s, v, sa.QueueFilter(), now=NOW),
    "page:voice": lambda s, v, w: voice.comments(s, v, Filters(), start=START, end=END),
    "page:admin": lambda s, v, w: security.list_users(s, viewer=v),
    "contacts:clear": lambda s, v, w: (
        not customers.customer_profile(s, viewer=v, keyring=TEST_KEYRING, customer_id=w["mine"]).contact_masked
    ),  # type: ignore[arg-type]
    "contacts:reveal": lambda s, v, w: customers.reveal_contact(
        s,
        viewer=v,
        keyring=TEST_KEYRING,
        customer_id=w["mine"],  # type: ignore[arg-type]
        reason="calling back about the refund",
    ),
    "subjects:handle": _subjects,
    "export:kpis": lambda s, v, w: exports.record_export(s, viewer=v, what="kpis", rows=1),
    "export:customers": lambda s, v, w: customer_list.export_customers(
        s, v, CustomerQuery(), TEST_KEYRING, io.BytesIO(), fmt="csv", now=NOW
    ),
    "export:service_sla": lambda s, v, w: exports.record_export(s, viewer=v, what="service_sla", rows=1),
    "export:voice": lambda s, v, w: exports.record_export(s, viewer=v, what="voice", rows=1),
    "export:audit_log": lambda s, v, w: exports.record_export(s, viewer=v, what="audit_log", rows=1),
    "write:interaction": lambda s, v, w: activity.log_interaction(
        s,
        v,
        InteractionForm(w["mine"], "phone", "outbound", NOW - timedelta(hours=1), "Review", None, "follow_up", 5, None),
        now=NOW,
    ),  # type: ignore[arg-type]
    "write:ticket": lambda s, v, w: activity.create_ticket(
        s,
        v,
        TicketForm(
            w["mine"],
            "inquiry",
            "billing",
            "low",
            "email",  # type: ignore[arg-type]
            "Invoice question",
        ),
        now=NOW,
    ),
    "write:nps": lambda s, v, w: activity.record_nps(
        s,
        v,
        NpsForm(w["mine"], 9, NOW - timedelta(hours=1), "post_purchase"),  # type: ignore[arg-type]
        now=NOW,
    ),
    "write:profile": _profile_write,
    "write:task": lambda s, v, w: activity.complete_task(s, v, w["task_of_amy"], now=NOW),  # type: ignore[arg-type]
    "tasks:everyone": lambda s, v, w: w["task_of_bob"] in set(cv.my_open_tasks(s, v, today=NOW.date())["task"]),
    "tickets:work": lambda s, v, w: service.act(
        s,
        v,
        Step(w["open_ticket"], "accept", _version(s, w["open_ticket"])),  # type: ignore[arg-type]
        now=NOW,
    ),
    "tickets:assign": lambda s, v, w: service.assign(s, v, [w["open_ticket"]], w["agent_id"], now=NOW),  # type: ignore[list-item,arg-type]
    "service:policies": lambda s, v, w: service.create_policy(
        s,
        v,
        PolicyChange(
            targets={"first_response": 15, "resolution": 240},
            name="Fast lane",
            position=1,
            calendar="always",
            conditions={
                "category": "billing",
                "kind": None,
                "priority": None,
                "channel": None,
                "tier": None,
                "team": None,
            },
        ),
        now=NOW,
    ),
    "page:import": lambda s, v, w: batch.mappings(s, v, kind="customers"),
    "page:quality": lambda s, v, w: quality.issues(s, v, today=NOW.date()),
    "import:run": lambda s, v, w: batch.run(
        s,
        v,
        kind="customers",
        table=IMPORT_TABLE,
        mapping=propose("customers", IMPORT_TABLE.header),
        source="probe",
        keyring=TEST_KEYRING,
        file_name="probe.csv",
        data=IMPORT_FILE,
    ),
    "customers:create": lambda s, v, w: customer_changes.create_customer(
        s,
        v,
        customer_changes.CustomerForm("Probe Trading Ltd", "B2B", "retail", "east", "referral"),
        keyring=TEST_KEYRING,
        confirmed=True,
        now=NOW,
    ),
    "customers:hand_over": lambda s, v, w: customer_changes.hand_over(
        s, v, [w["mine"]], to_owner_id=w["bob"].user_id, reason="probe of a hand-over", now=NOW
    ),  # type: ignore[attr-defined]
    "customers:dimensions": lambda s, v, w: customer_changes.change_dimensions(
        s, v, w["mine"], region="north", industry="finance", kind="B2C", reason="probe of a correction", now=NOW
    ),  # type: ignore[arg-type]
    "customers:merge": lambda s, v, w: merging.keep_apart(s, v, w["mine"], w["theirs"], now=NOW),  # type: ignore[arg-type]
    "users:manage": lambda s, v, w: security.create_user(
        s, username="newcomer", display_name="New", role="analyst", password="a-long-pass-2026", actor=v
    ),
    "audit:read": lambda s, v, w: audit.entries(s, viewer=v),
    "page:churn": lambda s, v, w: churn_warnings.risk_list(s, Filters(), viewer=v),
    "export:churn": lambda s, v, w: churn_warnings.export_rows(
        s, Filters(), viewer=v, bands=(), sort="risk", lang="en", fmt="csv"
    ),
    "write:retention": lambda s, v, w: retention.create_action(
        s, v, w["mine"], retention.ActionForm("call", "orders", NOW.date() + timedelta(days=7)), now=NOW
    ),  # type: ignore[arg-type]
    "page:surveys": lambda s, v, w: surveys.runs(s, v),
    "export:survey": lambda s, v, w: exports.record_export(s, viewer=v, what="survey", rows=1),
    "surveys:run": lambda s, v, w: surveys.create_run(
        s, v, surveys.SurveyPlan("Probe", "nps", CustomerQuery(), NOW.date() + timedelta(days=7)), TEST_KEYRING, now=NOW
    ),
}


def test_every_action_in_the_registry_has_a_probe_and_every_page_a_view() -> None:
    assert set(PROBES) == set(access.ACTIONS)
    app = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    definitions = next(
        node.value
        for node in ast.walk(app)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "DEFINITIONS" for t in node.targets)
    )
    pages = [elt.elts[0].value for elt in definitions.elts]  # type: ignore[attr-defined]
    assert pages == list(access.PAGES)  # the navigation is built from the registry's pages, in its order
    assert all((ROOT / elt.elts[1].value).exists() for elt in definitions.elts)  # type: ignore[attr-defined]


def test_the_registry_grants_what_the_product_promises() -> None:
    """A second, hand-written statement of the sensitive rights, so a registry edit that widens one fails here."""
    admin_only = {action for action, roles in access.ACTIONS.items() if roles == ("admin",)}
    assert admin_only == {
        "page:admin",
        "contacts:reveal",
        "subjects:handle",
        "export:audit_log",
        "tasks:everyone",
        "service:policies",
        "users:manage",
        "audit:read",
        "customers:dimensions",
        "targets:edit",
        "loyalty:adjust",
        "loyalty:programme",
        "page:automation",
        "rules:manage",
        "leads:rules",
    }
    assert set(access.ACTIONS["leads:work"]) == {"admin", "account_manager"}  # who sells: the leads are theirs
    assert set(access.ACTIONS["export:customers"]) == {"admin", "executive", "analyst"}  # not the account managers
    assert set(access.ACTIONS["contacts:clear"]) == {"account_manager", "support_agent", "team_lead"}
    assert set(access.ACTIONS["tickets:work"]) == {"admin", "team_lead", "support_agent"}
    assert set(access.ACTIONS["tickets:assign"]) == {"admin", "team_lead"}
    assert not any(
        access.allowed(Viewer(1, "x", "X", role), f"write:{form}")
        for role in ("executive", "analyst")
        for form in ("interaction", "ticket", "nps", "profile", "task")
    )  # read-only roles


# what an allowed action leaves in the audit log (reads of pages are not audited, except contact details in
# clear, which the pages record once per customer and session)
AUDITED = {
    "contacts:reveal": {"pii_revealed"},
    "subjects:handle": {"customer_exported", "customer_erased"},
    "export:kpis": {"export"},
    "export:customers": {"export"},
    "export:service_sla": {"export"},
    "export:voice": {"export"},
    "export:audit_log": {"export"},
    "write:interaction": {"interaction_logged"},
    "write:ticket": {"ticket_created"},
    "write:nps": {"nps_recorded"},
    "write:profile": {"customer_updated"},
    "write:task": {"task_done"},
    "tickets:work": {"ticket_step"},
    "tickets:assign": {"tickets_assigned"},
    "service:policies": {"sla_policy_changed"},
    "users:manage": {"user_created"},
    "import:run": {"import"},
    "customers:create": {"customer_created"},
    "customers:hand_over": {"customers_handed_over"},
    "customers:merge": {"duplicates_kept_apart"},
    "customers:dimensions": {"customer_updated"},
    "export:churn": {"export"},
    "write:retention": {"retention_action"},
    "targets:edit": {"target_created"},
    "loyalty:programme": {"loyalty_programme_changed"},
    "rules:manage": {"rule_created"},
    "channels:costs": {"channel_cost_set"},
    "campaigns:run": {"campaign_created"},
    "leads:work": {"lead_created"},
    "leads:rules": {"lead_rule_changed"},
    "loyalty:enrol": {"loyalty_enrolled"},
    "loyalty:redeem": {"loyalty_redeemed"},
    "loyalty:adjust": {"loyalty_adjusted"},
}
CLEAR_VALUES = ("13812345674", "13812345676", "13812345675", "Customer ")  # the world's phone numbers and names


@pytest.mark.parametrize("role", access.ROLES)
@pytest.mark.parametrize("action", sorted(access.ACTIONS))
def test_role_by_action_matrix(world_db, action: str, role: str) -> None:  # type: ignore[no-untyped-def]
    """Done when the registry allows it, refused (PermissionDenied) when it does not; a done action that changes
    or discloses something leaves its audit row, with no personal value in clear."""
    engine, world = world_db
    viewer = world["viewers"][role]
    with Session(engine) as s:  # rolled back: every probe sees the same world
        last = s.scalar(select(func.max(m.AuditLog.id))) or 0
        try:
            done = PROBES[action](s, viewer, world)
        except PermissionDenied:
            done = False
        written = s.execute(
            select(m.AuditLog.action, m.AuditLog.username, m.AuditLog.details).where(m.AuditLog.id > last)
        ).all()
        s.rollback()
    assert (done is not False) == access.allowed(viewer, action), (role, action)
    if done is not False and action in AUDITED:
        assert AUDITED[action] <= {row.action for row in written}, (role, action)
        assert all(row.username == viewer.username for row in written)
    assert not any(value in (row.details or "") for row in written for value in CLEAR_VALUES)


# --- reads: nothing outside the scope ------------------------------------------------------------------


def _words(frame_texts: object) -> str:
    return " ".join(map(str, frame_texts))  # type: ignore[call-overload]


def test_an_account_manager_reads_nothing_of_another_managers_customers(engine: Engine) -> None:
    world = build_world(engine)
    amy = world["viewers"]["account_manager"]  # type: ignore[index]
    with Session(engine) as s:
        result = kpi.cockpit(s, period_containing(ORDER_DAY, "M"), Filters(), viewer=amy, now=NOW)
        assert result.kpi("active_customers").value == 1 and result.kpi("revenue").value == pytest.approx(100)
        assert result.tiers["customers"].sum() == 1 and result.lifecycle["customers"].sum() == 1
        assert set(result.churn_warnings["customer_id"]) <= {world["mine"]}
        page = customer_list.customer_page(s, amy, CustomerQuery(), TEST_KEYRING, now=NOW)
        assert page.total == 1 and len(page.rows) == 1
        for other in (world["theirs"], world["quiet"]):
            with pytest.raises(NotFound):
                customers.customer_profile(s, viewer=amy, keyring=TEST_KEYRING, customer_id=other)  # type: ignore[arg-type]
            for read in (
                cv.timeline,
                cv.nps_history,
                cv.customer_tasks,
                cv.monthly_revenue,
                cv.interactions_by_channel,
                cv.order_comparison,
                cv.open_tickets,
            ):
                kwargs = (
                    {"today": NOW.date()}
                    if read in (cv.customer_tasks, cv.monthly_revenue, cv.interactions_by_channel, cv.order_comparison)
                    else {"now": NOW}
                    if read is cv.open_tickets
                    else {}
                )
                with pytest.raises(NotFound):
                    read(s, amy, other, **kwargs)  # type: ignore[operator]
        texts = _words(voice.comments(s, amy, Filters(), start=START, end=END)["comment"])
        keywords = _words(voice.detractor_keywords(s, amy, Filters(), start=START, end=END)["keyword"])
        assert "alphaword" in texts and "zuluword" not in texts and "quietword" not in texts
        assert "alphaword" in keywords and "zuluword" not in keywords
        assert voice.nps_by_month(s, amy, Filters(), start=START, end=END)["responses"].sum() == 1
        assert voice.csat_by(s, amy, by="category", start=START, end=END)["ratings"].sum() == 1
        assert voice.closed_loop(s, amy, start=START, end=END)["follow_ups"] == 1
        tasks = cv.my_open_tasks(s, amy, today=NOW.date())
        assert set(tasks["customer_id"]) == {world["mine"]} and cv.open_task_counts(s, amy, today=NOW.date()).open == 1
        with pytest.raises(PermissionDenied):  # the service desk's figures are not theirs
            sa.rates(s, amy, start=START, end=END)


def test_the_service_desk_reads_only_customers_behind_tickets(engine: Engine) -> None:
    world = build_world(engine)
    agent = world["viewers"]["support_agent"]  # type: ignore[index]
    with Session(engine) as s:
        customers.customer_profile(s, viewer=agent, keyring=TEST_KEYRING, customer_id=world["theirs"])  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            customers.customer_profile(s, viewer=agent, keyring=TEST_KEYRING, customer_id=world["quiet"])  # type: ignore[arg-type]
        texts = _words(voice.comments(s, agent, Filters(), start=START, end=END)["comment"])
        assert "alphaword" in texts and "zuluword" in texts and "quietword" not in texts
        assert voice.nps_by_month(s, agent, Filters(), start=START, end=END)["responses"].sum() == 2
        rates = sa.rates(s, agent, start=START, end=END)
        assert rates.complaints >= 1 and rates.active_customers is None and rates.complaint_rate is None
        everyone = sa.rates(s, world["viewers"]["executive"], start=START, end=END)  # type: ignore[index]
        assert everyone.active_customers == 3 and everyone.complaint_rate is not None
