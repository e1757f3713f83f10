"""Automation rules on hand-made fixtures: event triggers act inside the write that caused them, time triggers
by the scheduler, each once per object and episode with the rule's version; round-robin and least-open
assignment; the dry run's counts worked out by hand; the shipped SLA and call-back rules switched off; the
outcome comparison; e-mail through a local SMTP sink; orders and imports."""

from __future__ import annotations

import json
import socket
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from core import activity, facts, models as m, rules, service
from core.access import SYSTEM, Viewer
from core.activity import NpsForm, TicketForm
from core.db import session_scope, write
from core.errors import Conflict, FieldErrors, PermissionDenied
from core.rules import RuleChange
from tests import factories as f

NOW = datetime(2026, 11, 20, 9, 0)
ADMIN = Viewer(None, "root", "Root", "admin")


@pytest.fixture
def world(engine: Engine) -> dict[str, object]:
    """Three agents in team A (ann, ben, cat), one in team B (dan), a lead, an account manager and four customers:
    two high-value (tiers set in the summaries), one general, one without an owner."""
    with session_scope(engine) as s:
        amy = f.user(s, "amy")
        agents = {}
        for name, team in (("ann", "A"), ("ben", "A"), ("cat", "A"), ("dan", "B")):
            agents[name] = f.user(s, name, role="support_agent")
            agents[name].team = team
        lead = f.user(s, "lee", role="team_lead")
        lead.team = "A"
        customers = [
            f.customer(s, owner=amy, became=date(2024, 1, 1), region="east"),
            f.customer(s, owner=amy, became=date(2024, 1, 1), region="north"),
            f.customer(s, owner=amy, became=date(2024, 1, 1), region="east"),
            f.customer(s, became=date(2024, 1, 1), region="east"),
        ]
        s.flush()
        facts.rebuild_all(s, as_of=NOW.date())
        for customer, tier in zip(customers, ("high_value", "high_value", "general", "general")):
            s.execute(update(m.CustomerStat).where(m.CustomerStat.customer_id == customer.id).values(tier=tier))
        return {
            "amy": Viewer(amy.id, "amy", "Amy", "account_manager"),
            "amy_id": amy.id,
            "agents": {k: v.id for k, v in agents.items()},
            "lead_id": lead.id,
            "customers": [c.id for c in customers],
        }


def new_rule(engine: Engine, change: RuleChange, *, now: datetime = NOW) -> int:
    return write(engine, lambda s: rules.create_rule(s, ADMIN, change, now=now))


def ticket(engine: Engine, world: dict, customer: int, *, priority: str = "normal", at: datetime = NOW) -> int:  # type: ignore[type-arg]
    form = TicketForm(customer, "complaint", "billing", priority, "email", "Charged twice")  # type: ignore[arg-type]
    return write(engine, lambda s: activity.create_ticket(s, SYSTEM, form, now=at))


def firings(engine: Engine, number: int) -> list[tuple[int, int, str]]:
    with Session(engine) as s:
        return [
            (r.object_id, r.version, r.episode)
            for r in s.execute(select(m.RuleFiring).where(m.RuleFiring.number == number).order_by(m.RuleFiring.id))
            .scalars()
            .all()
        ]


def test_an_event_rule_acts_inside_the_write_for_matching_tickets_only(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    number = new_rule(
        engine,
        RuleChange(
            "VIP urgent complaints",
            "ticket_created",
            conditions={"tier": ["high_value"], "priority": ["urgent", "high"]},
            actions=(
                {"type": "assign", "mode": "round_robin", "team": "A"},
                {"type": "tag", "tag": "VIP-Watch"},
                {"type": "notify", "to": ["assignee", "owner"], "title": "**VIP** <b>complaint</b>"},
                {"type": "task", "to": ["team_lead"], "due_days": 1, "title": "Call the customer today"},
            ),
        ),
    )
    vip, other, general = world["customers"][0], world["customers"][1], world["customers"][2]
    hit = ticket(engine, world, vip, priority="urgent")
    miss_priority = ticket(engine, world, other, priority="low")
    miss_tier = ticket(engine, world, general, priority="urgent")
    with Session(engine) as s:
        hit_row = s.get(m.Ticket, hit)
        assert hit_row is not None and hit_row.assignee_id == world["agents"]["ann"] and hit_row.team == "A"
        assert s.scalar(select(m.Customer.tags).where(m.Customer.id == vip)) == "vip-watch"
        notes = s.execute(select(m.Notification.user_id, m.Notification.title, m.Notification.object)).all()
        assert sorted(n.user_id for n in notes) == sorted([world["agents"]["ann"], world["amy_id"]])
        assert {n.title for n in notes} == {"**VIP** <b>complaint</b>"} and notes[0].object == f"ticket:{hit}"
        task = s.execute(select(m.Task).where(m.Task.source == "rule")).scalar_one()
        assert (task.owner_id, task.due_date, task.ticket_id) == (world["lead_id"], NOW.date() + timedelta(days=1), hit)
        for untouched in (miss_priority, miss_tier):
            assert s.scalar(select(m.Ticket.assignee_id).where(m.Ticket.id == untouched)) is None
        events = s.scalars(
            select(m.TicketEvent.note).where(m.TicketEvent.ticket_id == hit, m.TicketEvent.action == "rule")
        )
        assert list(events) == [f"rule {number} v1"]  # the firing is an event on the ticket, with the version
    assert firings(engine, number) == [(hit, 1, "created")]


def test_a_failed_write_leaves_no_firing_and_an_edit_fires_as_its_new_version(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    number = new_rule(engine, RuleChange("Tag all", "ticket_created", actions=({"type": "tag", "tag": "seen"},)))
    form = TicketForm(world["customers"][0], "complaint", "billing", "normal", "email", "x")  # description too short
    with pytest.raises(FieldErrors):
        write(engine, lambda s: activity.create_ticket(s, SYSTEM, form, now=NOW))
    assert firings(engine, number) == []
    with pytest.raises(Conflict):  # saved from a stale page
        write(
            engine,
            lambda s: rules.update_rule(
                s, ADMIN, number, RuleChange("x", "ticket_created", actions=({"type": "tag", "tag": "a"},)), version=0
            ),
        )
    two = write(
        engine,
        lambda s: rules.update_rule(
            s,
            ADMIN,
            number,
            RuleChange("Tag all", "ticket_created", actions=({"type": "tag", "tag": "fresh"},)),
            version=1,
        ),
    )
    assert two == 2
    made = ticket(engine, world, world["customers"][0])
    assert firings(engine, number) == [(made, 2, "created")]
    with Session(engine) as s:
        assert [r.version for r in rules.versions(s, ADMIN, number)] == [2, 1]
        assert s.scalar(select(m.Customer.tags).where(m.Customer.id == world["customers"][0])) == "fresh"
        assert (
            s.scalar(
                select(func.count())
                .select_from(m.AuditLog)
                .where(m.AuditLog.action.in_(["rule_created", "rule_changed"]))
            )
            == 2
        )


def test_what_an_administrator_types_is_checked_and_only_administrators_may(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    bad = {
        "name": RuleChange("", "ticket_created", actions=({"type": "tag", "tag": "x"},)),
        "threshold": RuleChange("Low", "csat_low", threshold=9, actions=({"type": "tag", "tag": "x"},)),
        "conditions": RuleChange(
            "Bad",
            "nps_detractor",
            threshold=6,
            conditions={"priority": ["urgent"]},
            actions=({"type": "tag", "tag": "x"},),
        ),
        "actions": RuleChange("Bad", "no_contact", threshold=30, actions=({"type": "assign", "mode": "round_robin"},)),
    }
    for field, change in bad.items():
        with pytest.raises(FieldErrors) as err, session_scope(engine) as s:
            rules.create_rule(s, ADMIN, change, now=NOW)
        assert field in err.value.errors, (field, err.value.errors)
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        rules.create_rule(s, world["amy"], RuleChange("Mine", "ticket_created", actions=({"type": "tag", "tag": "x"},)))


def test_round_robin_goes_in_turn_and_least_open_fills_the_emptiest(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    rr = new_rule(
        engine,
        RuleChange(
            "In turn",
            "ticket_created",
            conditions={"region": ["east"]},
            actions=({"type": "assign", "mode": "round_robin", "team": "A"},),
        ),
    )
    made = [ticket(engine, world, world["customers"][0]) for _ in range(4)]
    with Session(engine) as s:
        got = [s.scalar(select(m.Ticket.assignee_id).where(m.Ticket.id == t)) for t in made]
    a = world["agents"]
    assert got == [a["ann"], a["ben"], a["cat"], a["ann"]]  # by id, wrapping round
    write(engine, lambda s: rules.set_enabled(s, ADMIN, rr, False))
    least = new_rule(
        engine, RuleChange("Least", "ticket_created", actions=({"type": "assign", "mode": "least_open", "team": "A"},))
    )
    # open now: ann 2, ben 1, cat 1; the next goes to ben (tie with cat: the lower id), then cat, then all have 2: ann
    more = [ticket(engine, world, world["customers"][1]) for _ in range(3)]
    with Session(engine) as s:
        got = [s.scalar(select(m.Ticket.assignee_id).where(m.Ticket.id == t)) for t in more]
        assert got == [a["ben"], a["cat"], a["ann"]]
        assert rules.open_load(s, [a["ann"], a["ben"], a["cat"]]) == {a["ann"]: 3, a["ben"]: 2, a["cat"]: 2}
    assert len(firings(engine, least)) == 3 and len(firings(engine, rr)) == 4


def test_time_triggers_fire_once_per_episode_and_a_new_episode_fires_again(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    vip, other = world["customers"][0], world["customers"][1]
    with session_scope(engine) as s:
        for customer, last in ((vip, NOW - timedelta(days=100)), (other, NOW - timedelta(days=10))):
            s.add(
                m.Interaction(
                    customer_id=customer, channel="phone", direction="outbound", occurred_at=last, subject="Call"
                )
            )
        s.flush()
        facts.rebuild_customer_stats(s, as_of=NOW.date())
        for customer, tier in zip(world["customers"], ("high_value", "high_value", "general", "general")):
            s.execute(update(m.CustomerStat).where(m.CustomerStat.customer_id == customer).values(tier=tier))
    quiet = new_rule(
        engine,
        RuleChange(
            "Quiet VIPs",
            "no_contact",
            threshold=60,
            conditions={"tier": ["high_value"]},
            actions=({"type": "task", "to": ["owner"], "due_days": 3},),
        ),
    )
    assert write(engine, lambda s: rules.run(s, now=NOW))["fired"] == 1  # vip: 100 days; other: 10 days
    assert write(engine, lambda s: rules.run(s, now=NOW + timedelta(hours=1)))["fired"] == 0  # same episode
    with session_scope(engine) as s:  # a call ends the episode; 61 days later a new one begins
        s.add(
            m.Interaction(
                customer_id=vip,
                channel="phone",
                direction="outbound",
                occurred_at=NOW + timedelta(days=1),
                subject="Call",
            )
        )
        s.flush()
        facts.rebuild_customer_stats(s, as_of=NOW.date())
        s.execute(update(m.CustomerStat).where(m.CustomerStat.customer_id == vip).values(tier="high_value"))
    assert write(engine, lambda s: rules.run(s, now=NOW + timedelta(days=2)))["fired"] == 0
    assert write(engine, lambda s: rules.run(s, now=NOW + timedelta(days=62)))["fired"] == 1
    assert [e for _, _, e in firings(engine, quiet)] == [
        f"since {NOW - timedelta(days=100):%Y-%m-%d}",
        f"since {NOW + timedelta(days=1):%Y-%m-%d}",
    ]
    with Session(engine) as s:
        tasks = s.execute(select(m.Task.owner_id, m.Task.due_date).where(m.Task.source == "rule")).all()
    assert tasks == [
        (world["amy_id"], NOW.date() + timedelta(days=3)),
        (world["amy_id"], (NOW + timedelta(days=62)).date() + timedelta(days=3)),
    ]


def test_a_churn_risk_episode_ends_when_the_risk_falls_and_the_app_schedule_waits(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    vip = world["customers"][0]
    with session_scope(engine) as s:
        s.add(m.ChurnScore(customer_id=vip, model_version=1, as_of=NOW.date(), risk=0.8, percentile=0.99))
    number = new_rule(
        engine, RuleChange("Risky", "churn_risk", threshold=0.7, actions=({"type": "notify", "to": ["owner"]},))
    )
    every = timedelta(minutes=15)
    assert write(engine, lambda s: rules.run_due(s, now=NOW, every=every)) == {"fired": 1, "ended": 0}
    assert write(engine, lambda s: rules.run_due(s, now=NOW + timedelta(minutes=5), every=every)) is None  # not due
    with session_scope(engine) as s:
        s.execute(update(m.ChurnScore).where(m.ChurnScore.customer_id == vip).values(risk=0.3))
    assert write(engine, lambda s: rules.run_due(s, now=NOW + timedelta(days=1), every=every)) == {
        "fired": 0,
        "ended": 1,
    }
    with session_scope(engine) as s:
        s.execute(update(m.ChurnScore).where(m.ChurnScore.customer_id == vip).values(risk=0.9))
    assert write(engine, lambda s: rules.run(s, now=NOW + timedelta(days=2)))["fired"] == 1  # crossed again
    assert len(firings(engine, number)) == 2


def test_the_dry_run_counts_what_the_rule_would_have_done_and_writes_nothing(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    vip, other, general, orphan = world["customers"]
    with session_scope(engine) as s:
        # in the last 90 days: 3 urgent tickets of high-value customers (2 of them vip's), 1 low, 1 general urgent;
        # one urgent high-value ticket 100 days ago, outside the window
        made = [
            (vip, "urgent", 5),
            (vip, "urgent", 30),
            (other, "urgent", 60),
            (other, "low", 10),
            (general, "urgent", 20),
            (vip, "urgent", 100),
        ]
        for customer, priority, days in made:
            f.ticket(s, s.get(m.Customer, customer), NOW - timedelta(days=days), priority=priority)  # type: ignore[arg-type]
    change = RuleChange(
        "Urgent VIPs",
        "ticket_created",
        conditions={"tier": ["high_value"], "priority": ["urgent"]},
        actions=(
            {"type": "assign", "mode": "round_robin", "team": "A"},
            {"type": "tag", "tag": "vip"},
            {"type": "task", "to": ["owner"], "due_days": 1},
        ),
    )
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(m.Task))
        result = rules.dry_run(s, ADMIN, change, now=NOW)
        assert (result.triggered, result.matched, result.customers) == (5, 3, 2)
        effects = dict(result.effects)
        assert (
            effects["rules.effect.assign"]["agents"] == 3
            and effects["rules.effect.assign"]["spread"] == "Ann 1, Ben 1, Cat 1"
        )
        assert effects["rules.effect.tag"]["n"] == 2 and effects["rules.effect.task"]["n"] == 3
        assert list(result.rows["code"]) == [s.get(m.Customer, c).code for c in (other, vip, vip)]  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(m.Task)) == before
        assert s.scalar(select(func.count()).select_from(m.RuleFiring)) == 0
        assert (
            s.scalar(select(func.count()).select_from(m.AutomationRule).where(m.AutomationRule.shipped.is_(None))) == 0
        )
        replay = rules.dry_run(
            s,
            ADMIN,
            RuleChange("Detractors", "nps_detractor", threshold=6, actions=({"type": "tag", "tag": "x"},)),
            now=NOW,
        )
        assert replay.triggered == 0 and replay.effects == [("rules.effect.tag", {"n": 0, "tag": "x"})]


def test_the_shipped_call_back_is_a_rule_that_can_be_switched_off(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    vip = world["customers"][0]

    def record(at: datetime) -> None:
        write(
            engine, lambda s: activity.record_nps(s, world["amy"], NpsForm(vip, 3, at, "post_purchase", "Slow"), now=at)
        )  # type: ignore[call-arg]

    record(NOW)
    with Session(engine) as s:
        shipped = {r.shipped: r.number for r in rules.current(s)}
        task = s.execute(select(m.Task).where(m.Task.source == "detractor")).scalar_one()
        assert (task.title, task.owner_id, task.due_date) == (
            "NPS 3: call back",
            world["amy_id"],
            NOW.date() + timedelta(days=2),
        )
    assert set(shipped) == {"sla_warning", "sla_violation", "sla_success", "detractor", "low_csat"}
    write(engine, lambda s: rules.set_enabled(s, ADMIN, shipped["detractor"], False))
    record(NOW + timedelta(hours=1))
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Task).where(m.Task.source == "detractor")) == 1
        assert s.scalar(select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "rule_disabled")) == 1


def test_the_outcome_compares_touched_tickets_with_comparable_ones_before(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    created = NOW - timedelta(days=30)
    vip = world["customers"][0]
    with session_scope(engine) as s:  # before the rule: 4 urgent tickets, 1 resolved within its SLA
        for i, state in enumerate(("met", "breached", "breached", "breached")):
            row = f.ticket(s, s.get(m.Customer, vip), created - timedelta(days=10 + i), priority="urgent")  # type: ignore[arg-type]
            s.flush()
            s.add(
                m.TicketSla(ticket_id=row.id, metric="resolution", target_minutes=60, elapsed_minutes=30, state=state)
            )
    number = new_rule(
        engine,
        RuleChange(
            "Urgent", "ticket_created", conditions={"priority": ["urgent"]}, actions=({"type": "tag", "tag": "u"},)
        ),
        now=created,
    )
    touched = [ticket(engine, world, vip, priority="urgent", at=created + timedelta(days=d)) for d in (1, 2, 3)]
    with session_scope(engine) as s:  # after: 2 of the 3 met, the third still open
        for ticket_id, state in zip(touched, ("met", "met", "running")):
            s.execute(
                update(m.TicketSla)
                .where(m.TicketSla.ticket_id == ticket_id, m.TicketSla.metric == "resolution")
                .values(state=state)
            )
    with Session(engine) as s:
        result = rules.outcome(s, ADMIN, number, now=NOW)
    assert result is not None and result.measure == "resolution_met"
    assert (result.touched, result.touched_rate, result.before, result.before_rate, result.pending) == (
        2,
        1.0,
        4,
        0.25,
        1,
    )
    assert result.difference == pytest.approx(0.75)
    se = (0.25 * 0.75 / 4) ** 0.5  # the touched share is 2 of 2: no spread of its own
    assert (result.low, result.high) == (pytest.approx(0.75 - 1.96 * se), pytest.approx(0.75 + 1.96 * se))


def test_an_email_reaches_a_local_smtp_sink_after_the_write(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    class Keep(Sink):
        def __init__(self) -> None:
            self.messages: list[tuple[list[str], bytes]] = []

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    new_rule(
        engine,
        RuleChange(
            "Mail",
            "ticket_created",
            actions=({"type": "notify", "to": ["owner"], "title": "New complaint", "email": True},),
        ),
    )
    made = ticket(engine, world, world["customers"][0])
    assert rules.deliver(engine, None) == {"sent": 0, "failed": 0}  # no server: queued, still in the app
    handler = Keep()
    with socket.socket() as probe:  # a free loopback port for the sink
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sent = rules.deliver(engine, rules.Smtp("127.0.0.1", port))
    finally:
        controller.stop()
    assert sent == {"sent": 1, "failed": 0}
    ((to, content),) = handler.messages
    assert to == ["amy@cockpit.example"] and b"New complaint" in content and f"ticket:{made}".encode() in content
    with Session(engine) as s:
        assert s.scalar(select(m.Notification.email_state)) == "sent"
        unread, latest = rules.inbox(s, world["amy"])
        assert unread == 1 and list(latest["title"]) == ["New complaint"]
    write(engine, lambda s: rules.mark_read(s, world["amy"], now=NOW))
    with Session(engine) as s:
        assert rules.inbox(s, world["amy"])[0] == 0


def test_big_imported_orders_and_the_import_itself_fire_rules(engine: Engine) -> None:
    from tests.test_ingest import CUSTOMERS, ORDERS, _import

    with session_scope(engine) as s:
        f.user(s, "amy")
        f.user(s, "bob")
    big = new_rule(
        engine, RuleChange("Big order", "order_above", threshold=10_000, actions=({"type": "notify", "to": ["owner"]},))
    )
    done = new_rule(
        engine, RuleChange("Import done", "import_finished", actions=({"type": "notify", "to": ["admins"]},))
    )
    with session_scope(engine) as s:
        f.user(s, "root", role="admin")
    _import(engine, "customers", CUSTOMERS)
    _import(engine, "orders", ORDERS)  # SO-1 12,800 and SO-2 12,000 are above 10,000; SO-3 3,500 is not
    with Session(engine) as s:
        amounts = sorted(s.scalar(select(m.Order.amount).where(m.Order.id == o)) for o, _, _ in firings(engine, big))
        assert amounts == [12000, 12800]
        assert len(firings(engine, done)) == 2  # two imports
        assert json.loads(s.scalar(select(m.RuleFiring.done).where(m.RuleFiring.number == done).limit(1)) or "[]")[0][
            "notify"
        ]


def test_the_sla_tick_tells_through_the_shipped_rules(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    made = ticket(engine, world, world["customers"][0], at=NOW)
    with session_scope(engine) as s:
        service.tick(s, now=NOW + timedelta(hours=30))  # far past the first response target: a breach
    with Session(engine) as s:
        shipped = {r.shipped: r.number for r in rules.current(s)}
        owners = set(
            s.scalars(select(m.Task.owner_id).where(m.Task.source == "sla", m.Task.title.like("SLA violation%")))
        )
    assert world["amy_id"] in owners  # the account manager of a breach
    assert {o for o, _, _ in firings(engine, shipped["sla_violation"])} == {made}


def test_escalation_leaves_a_note_on_the_ticket_and_a_task_for_the_lead(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    new_rule(
        engine,
        RuleChange(
            "Escalate urgent", "ticket_created", conditions={"priority": ["urgent"]}, actions=({"type": "escalate"},)
        ),
    )
    made = ticket(engine, world, world["customers"][0], priority="urgent")
    with Session(engine) as s:
        actions = list(s.scalars(select(m.TicketEvent.action).where(m.TicketEvent.ticket_id == made)))
        task = s.execute(select(m.Task).where(m.Task.ticket_id == made, m.Task.source == "rule")).scalar_one()
    assert "escalate" in actions and "rule" in actions
    assert task.owner_id == world["lead_id"] and task.title == f"Escalated: #{made} (Escalate urgent)"


def test_run_rules_from_the_command_line(engine: Engine, world, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from core.cli import main

    new_rule(
        engine,
        RuleChange("Quiet", "no_contact", threshold=30, actions=({"type": "task", "to": ["owner"], "due_days": 1},)),
    )
    assert main(["--database-url", engine.url.render_as_string(hide_password=False), "run-rules"]) == 0
    said = capsys.readouterr().out
    assert (
        "3 rules fired, 0 episodes ended, 0 e-mails sent" in said
    )  # the three customers with an owner, none ever contacted
