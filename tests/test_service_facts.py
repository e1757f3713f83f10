"""service_day_facts (core.service_facts): after every kind of write to tickets the table equals a rebuild from
the raw rows, and every figure read from it over periods that start and end mid-day equals the same figure from
the raw rows alone, on every dialect; the days are the display zone's."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core import activity, models as m, service, service_analytics as sa, service_facts, service_performance, voice
from core.access import SYSTEM, Viewer
from core.activity import TicketForm
from core.db import session_scope
from core.service import PolicyChange, Step
from tests import factories as f

T0 = datetime(2026, 3, 2, 8, 0)  # a Monday
ADMIN = Viewer(None, "root", "Root", "admin")
LEAD = Viewer(None, "lead", "Lead", "team_lead")
F = m.table(m.ServiceDayFact)


def _stored(s: Session) -> set[tuple[object, ...]]:
    return {(r.measure, r.metric, r.dim, r.day, r.value, r.a, r.b, round(r.s, 6)) for r in s.execute(select(F))}


def assert_equals_rebuild(engine: Engine) -> None:
    with Session(engine) as s:
        kept = _stored(s)
        service_facts.rebuild(s)
        rebuilt = _stored(s)
        s.rollback()
    assert kept == rebuilt


def assert_reads_equal_raw(engine: Engine, periods: list[tuple[datetime, datetime]]) -> None:
    with Session(engine) as s:
        for start, end in periods:
            for measure, (_, dims) in service_facts.MEASURES.items():
                for dim in dims:
                    for by_month in (False, True):
                        got, raw = (
                            service_facts.counts(
                                s, measure=measure, dim=dim, start=start, end=end, by_month=by_month, summary=summary
                            )
                            .query("a != 0 or b != 0")
                            .sort_values(["metric", "value", "month"])
                            .reset_index(drop=True)
                            for summary in (True, False)
                        )
                        pd.testing.assert_frame_equal(got, raw, check_dtype=False, obj=f"{measure} by {dim} {start}")


def step(engine: Engine, viewer: Viewer, ticket: int, action: str, at: datetime, **fields: object) -> None:
    with Session(engine) as s:
        version = s.scalar(select(m.Ticket.version).where(m.Ticket.id == ticket))
    with session_scope(engine) as s:
        service.act(s, viewer, Step(ticket, action, int(version or 0), **fields), now=at)  # type: ignore[arg-type]


def test_every_write_keeps_the_days_equal_to_a_rebuild(engine: Engine) -> None:
    with session_scope(engine) as s:
        service_facts.rebuild(s)  # what opening the store does: an empty table, built in this zone
        owner = f.user(s, "amy")
        ann, bob = f.user(s, "ann", role="support_agent"), f.user(s, "bob", role="support_agent")
        bob.team = "vip"
        customer = f.customer(s, owner=owner, became=date(2024, 1, 1))
        s.flush()
        amy = Viewer(owner.id, "amy", "Amy", "account_manager")
        agent, other, customer_id = Viewer(ann.id, "ann", "Ann", "support_agent"), bob.id, customer.id
    tickets = []
    for day, (kind, category, priority) in enumerate(
        [("complaint", "billing", "normal"), ("complaint", "delivery", "high"), ("inquiry", "technical", "low")]
    ):
        with session_scope(engine) as s:
            form = TicketForm(customer_id, kind, category, priority, "email", "Something went wrong")  # type: ignore[arg-type]
            tickets.append(activity.create_ticket(s, amy, form, now=T0 + timedelta(days=day, hours=3 * day)))
    assert_equals_rebuild(engine)
    first, second, third = tickets
    step(engine, agent, first, "accept", T0 + timedelta(minutes=30))
    step(engine, agent, first, "resolve", T0 + timedelta(days=2, hours=2), resolution="Refunded the charge")
    step(engine, agent, first, "feedback", T0 + timedelta(days=3), csat=5)
    step(engine, agent, second, "accept", T0 + timedelta(days=1, hours=4))
    step(engine, agent, second, "resolve", T0 + timedelta(days=1, hours=5), resolution="Refunded the charge")
    assert_equals_rebuild(engine)
    with Session(engine) as s:
        day_two = service_facts.counts(
            s, measure="handled", dim="agent", start=T0 + timedelta(days=1), end=T0 + timedelta(days=2)
        )
    assert day_two[["value", "a", "b"]].values.tolist() == [[str(agent.user_id), 1, 0]]  # the second, by Ann
    # a re-open takes its resolved day away (on no other day of that ticket's), and counts the re-open
    step(engine, agent, first, "reopen", T0 + timedelta(days=4))
    step(engine, agent, first, "resolve", T0 + timedelta(days=5), resolution="Refunded the charge")
    with session_scope(engine) as s:  # Bob takes over: the outcomes count for him and his team from now on
        service.assign(s, ADMIN, [first, third], other)
    assert_equals_rebuild(engine)
    with Session(engine) as s:
        handled = service_facts.counts(s, measure="handled", dim="team", start=T0, end=T0 + timedelta(days=10))
    assert handled.set_index("value")["b"].to_dict() == {"": 0, "vip": 1}  # the re-opened one is the vip team's
    with session_scope(engine) as s:  # a tick long after: the third's clocks breach on days in the past
        service.tick(s, now=T0 + timedelta(days=9))
    with Session(engine) as s:
        policy = s.scalar(select(m.Ticket.policy_id).where(m.Ticket.id == third))
    with session_scope(engine) as s:
        service.change_policy(
            s, ADMIN, int(policy or 0), PolicyChange({"resolution": 60}), move_open=True, now=T0 + timedelta(days=9)
        )
    # answered at last: the breached clocks complete days after they were known to be breached
    step(engine, agent, third, "accept", T0 + timedelta(days=10, hours=3))
    assert_equals_rebuild(engine)
    periods = [
        (T0 + timedelta(hours=5), T0 + timedelta(days=6, hours=7)),  # mid-day to mid-day
        (T0 - timedelta(days=3), T0 + timedelta(days=30)),
        (T0 + timedelta(hours=1), T0 + timedelta(hours=20)),  # inside one day: all raw
    ]
    assert_reads_equal_raw(engine, periods)


def test_the_days_a_ticket_leaves_are_summarised_again(engine: Engine) -> None:
    with session_scope(engine) as s:
        service_facts.rebuild(s)
        who = f.customer(s, owner=f.user(s, "amy"), became=date(2024, 1, 1))
        ticket = f.ticket(s, who, T0, resolved=T0 + timedelta(days=2), closed=T0 + timedelta(days=2))
        s.flush()
        service_facts.rebuild(s)
        ticket_id = ticket.id
    with session_scope(engine) as s, service_facts.tickets_changing(s, [ticket_id]):  # an edit moves the day
        s.execute(m.table(m.Ticket).update().values(resolved_at=T0 + timedelta(days=5)))
    with Session(engine) as s:
        days = s.scalars(select(F.c.day).where(F.c.measure == "handled", F.c.dim == "all")).all()
    assert days == ["2026-03-07"]
    assert_equals_rebuild(engine)


def test_response_times_are_the_nearest_rank_of_whole_minutes(engine: Engine) -> None:
    with session_scope(engine) as s:
        service_facts.rebuild(s)
        owner, ann = f.user(s, "amy"), f.user(s, "ann", role="support_agent")
        customer = f.customer(s, owner=owner, became=date(2024, 1, 1))
        s.flush()
        amy, agent, customer_id = (
            Viewer(owner.id, "amy", "Amy", "account_manager"),
            Viewer(ann.id, "ann", "Ann", "support_agent"),
            customer.id,
        )
    for day, minutes in enumerate([50, 10.5, 40, 20, 30.9]):  # one a working day, each answered after so long
        opened = T0 + timedelta(days=day + (2 if day >= 4 else 0), hours=2)  # 10:00, Monday to Thursday, Monday
        with session_scope(engine) as s:
            form = TicketForm(customer_id, "complaint", "billing", "normal", "email", "Charged twice")  # type: ignore[arg-type]
            ticket = activity.create_ticket(s, amy, form, now=opened)
        step(engine, agent, ticket, "accept", opened + timedelta(minutes=minutes))
    with Session(engine) as s:
        got = sa.times(s, LEAD, start=T0 - timedelta(hours=3), end=T0 + timedelta(days=30))
        inside = sa.times(s, LEAD, start=T0 + timedelta(days=1, hours=2), end=T0 + timedelta(days=2, hours=3))
    # sorted 10, 20, 30, 40, 50 (whole minutes): rank ⌈0.5·5⌉ = 3 -> 30; rank ⌈0.9·5⌉ = 5 -> 50
    assert got["first_response"] == {"median": 30.0, "p90": 50.0, "n": 5.0}
    assert got["resolution"] == {"median": None, "p90": None, "n": 0.0}
    assert inside["first_response"] == {"median": 10.0, "p90": 40.0, "n": 2.0}  # Tuesday's and Wednesday's, raw


def test_a_failed_write_leaves_nothing_pending(engine: Engine) -> None:
    with Session(engine) as s:
        with pytest.raises(RuntimeError), service_facts.tickets_changing(s, []):
            raise RuntimeError("rolled back")
        assert service_facts.PENDING not in s.info and not s.info[service_facts.DEPTH]


def test_the_demo_figures_from_the_days_equal_the_raw_ones(seeded_url: str) -> None:
    from core.db import make_engine

    engine = make_engine(seeded_url)
    with Session(engine) as s:
        now = s.scalar(select(m.TicketSla.known_at).order_by(m.TicketSla.known_at.desc()).limit(1))
    assert now is not None
    assert_equals_rebuild(engine)
    periods = [(now - timedelta(days=days, minutes=17), now) for days in (30, 365)]
    assert_reads_equal_raw(engine, periods)
    start, end = periods[1]
    with Session(engine) as s:  # the page's functions, as the page calls them, against a raw recount
        by_priority = sa.compliance(s, LEAD, metric="resolution", by="priority", start=start, end=end)
        rates = sa.rates(s, LEAD, start=start, end=end)
        people = service_performance.performance(s, LEAD, by="agent", start=start, end=end)
        T, R = m.table(m.Ticket), m.table(m.TicketSla)
        outcomes = s.execute(
            select(T.c.priority, R.c.state)
            .select_from(R.join(T, T.c.id == R.c.ticket_id))
            .where(R.c.metric == "resolution", R.c.known_at >= start, R.c.known_at < end)
        ).all()
        resolved = s.scalars(select(T.c.reopened).where(T.c.resolved_at >= start, T.c.resolved_at < end)).all()
    assert len(outcomes) > 50  # the demo has a year of history to compare
    for priority, row in by_priority.set_index("value").iterrows():
        states = [state for p, state in outcomes if p == priority]
        assert (row["met"], row["breached"]) == (states.count("met"), states.count("breached"))
    assert (rates.resolved, rates.reopened) == (len(resolved), sum(1 for r in resolved if r))
    assert people["handled"].sum() == len(resolved)
    with Session(engine) as s:  # the Voice page's CSAT by category, from the same days
        by_category = voice.csat_by(s, SYSTEM, by="category", start=start, end=end).set_index("value")
        rated = s.execute(
            select(T.c.category, T.c.csat).where(T.c.feedback_at >= start, T.c.feedback_at < end, T.c.csat.is_not(None))
        ).all()
    assert by_category["ratings"].sum() == len(rated) > 20
    for category, row in by_category.iterrows():
        scores = [score for c, score in rated if c == category]
        assert (row["ratings"], row["satisfied"]) == (len(scores), sum(1 for x in scores if x >= 4))
        assert row["average"] == pytest.approx(sum(scores) / len(scores))


def test_days_are_the_display_zones_and_another_zone_reads_raw(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_TIMEZONE", "Asia/Shanghai")
    with session_scope(engine) as s:
        service_facts.rebuild(s)
        owner = f.user(s, "amy")
        customer = f.customer(s, owner=owner, became=date(2024, 1, 1))
        s.flush()
        amy = Viewer(owner.id, "amy", "Amy", "account_manager")
        form = TicketForm(customer.id, "complaint", "billing", "normal", "email", "Late at night")  # type: ignore[arg-type]
        activity.create_ticket(s, amy, form, now=datetime(2026, 3, 3, 0, 30))  # 16:30 UTC on the 2nd
    with Session(engine) as s:
        assert s.scalars(select(F.c.day).where(F.c.measure == "complaints", F.c.dim == "all")).all() == ["2026-03-03"]
    monkeypatch.setenv("CRM_TIMEZONE", "UTC")  # the same store seen from UTC: read raw, on UTC's days
    with Session(engine) as s:
        assert service_facts.needs_rebuild(s)
        created = service_facts.counts(
            s, measure="complaints", dim="all", start=datetime(2026, 3, 1), end=datetime(2026, 3, 5), by_month=True
        )
        assert created["a"].sum() == 1
        daily = service_facts.counts(
            s, measure="complaints", dim="all", start=datetime(2026, 3, 2), end=datetime(2026, 3, 3)
        )
        assert daily["a"].sum() == 1  # the 2nd in UTC


def test_days_built_by_older_definitions_are_rebuilt(engine: Engine) -> None:
    from core import clock, facts

    with session_scope(engine) as s:
        service_facts.rebuild(s)
        assert not service_facts.needs_rebuild(s)
        facts.set_meta(s, service_facts.BUILT_KEY, f"{service_facts.DEFINITIONS - 1} {clock.zone().name}")
        assert service_facts.needs_rebuild(s)  # read raw, and the next start rebuilds (core.store)
        service_facts.rebuild(s)
        assert not service_facts.needs_rebuild(s)
