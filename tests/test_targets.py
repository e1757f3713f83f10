"""KPI targets (core.targets): the status rule, which target speaks for a view, baselines worked out from a
hand-made history, the form's checks, permissions and audit, seed 003's defaults, and the cockpit cards' data
freshness."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from core import facts, kpi, models as m, service_facts, targets
from core.access import SYSTEM, Viewer
from core.db import session_scope
from core.errors import Conflict, FieldErrors, PermissionDenied
from core.periods import Filters, Period, custom_period, period_containing
from tests import factories as f

ADMIN = Viewer(None, "root", "Root", "admin")
EXECUTIVE = Viewer(None, "boss", "Boss", "executive")
MARCH = period_containing(date(2026, 3, 1), "M")


def _target(**values: object) -> targets.Target:
    row: dict[str, object] = {
        "id": 1,
        "kpi": "csat",
        "kind": "absolute",
        "value": 0.9,
        "grain": None,
        "effective_from": date(2026, 1, 1),
        "effective_to": None,
        "baseline_start": None,
        "baseline_end": None,
        "baseline_value": None,
        "baseline_periods": None,
        "baseline_at": None,
        "region": None,
        "team": None,
        "owner_id": None,
        "owner": None,
        "note": None,
        "version": 1,
        "updated_at": datetime(2026, 1, 1),
    }
    row.update(values)
    return targets.Target(**row)  # type: ignore[arg-type]


# --- the status rule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "goal", "today", "expected"),
    [
        ("csat", 0.92, 0.9, date(2026, 4, 2), "met"),  # March is over
        ("csat", 0.88, 0.9, date(2026, 4, 2), "missed"),
        ("csat", 0.92, 0.9, date(2026, 3, 20), "on_track"),  # still running
        ("csat", 0.88, 0.9, date(2026, 3, 20), "at_risk"),
        ("churn_rate", 0.01, 0.02, date(2026, 4, 1), "met"),  # lower is better
        ("churn_rate", 0.03, 0.02, date(2026, 4, 1), "missed"),
        # revenue grows with the month: 40 after 10 of 31 days is on pace for 124 >= 100
        ("revenue", 40.0, 100.0, date(2026, 3, 10), "on_track"),
        ("revenue", 30.0, 100.0, date(2026, 3, 10), "at_risk"),  # on pace for 93
        # churn 1 % after 10 days is on pace for 3.1 % > 2 %: at risk although 1 % is below the goal so far
        ("churn_rate", 0.01, 0.02, date(2026, 3, 10), "at_risk"),
        ("data_completeness", 0.99, 0.98, date(2027, 1, 1), "on_track"),  # a state now: never met or missed
        ("data_completeness", 0.97, 0.98, date(2027, 1, 1), "at_risk"),
        ("csat", None, 0.9, date(2026, 4, 2), "no_data"),
        ("csat", 0.9, None, date(2026, 4, 2), "no_data"),
        ("csat", 0.9, 0.9, date(2026, 4, 2), "met"),  # reaching the goal exactly meets it
    ],
)
def test_status_rule(key: str, value: float | None, goal: float | None, today: date, expected: str) -> None:
    measure = targets.MEASURES[key]
    assert targets.status(value=value, goal=goal, measure=measure, period=MARCH, today=today) == expected


def test_a_change_target_compares_with_the_baselines_average_period_of_the_same_grain() -> None:
    target = _target(
        kpi="revenue",
        kind="change",
        value=0.3,
        baseline_start=date(2026, 1, 1),
        baseline_end=date(2026, 6, 30),
        baseline_value=600.0,  # the half-year
        baseline_periods=json.dumps({"M": 100.0, "Q": 300.0}),
    )
    assert target.goal(MARCH) == pytest.approx(130.0)
    assert target.goal(period_containing(date(2026, 4, 1), "Q")) == pytest.approx(390.0)
    # no whole year in the baseline: the half-year scaled to 365 of its 181 days, for a figure that grows
    assert target.goal(period_containing(date(2026, 1, 1), "Y")) == pytest.approx(600 * 365 / 181 * 1.3)
    assert target.goal(custom_period(date(2026, 3, 1), date(2026, 3, 10))) == pytest.approx(600 * 10 / 181 * 1.3)
    rate = _target(kpi="csat", kind="change", value=0.1, baseline_start=date(2026, 1, 1),
                   baseline_end=date(2026, 6, 30), baseline_value=0.8)  # fmt: skip
    assert rate.goal(custom_period(date(2026, 3, 1), date(2026, 3, 10))) == pytest.approx(0.88)  # not scaled
    nps = _target(kpi="nps", kind="change", value=10.0, baseline_start=date(2026, 1, 1),
                  baseline_end=date(2026, 6, 30), baseline_value=-5.0)  # fmt: skip
    assert nps.goal(MARCH) == pytest.approx(5.0)  # NPS changes in points
    assert (
        _target(kind="change", value=0.1, baseline_start=date(2026, 1, 1), baseline_end=date(2026, 6, 30)).goal(MARCH)
        is None
    )  # baseline not worked out yet


def test_which_target_speaks_for_a_view() -> None:
    company = _target(id=1, kpi="revenue", value=100.0, grain="M")
    east = _target(id=2, kpi="revenue", value=30.0, grain="M", region="east")
    quarterly = _target(id=3, kpi="revenue", value=300.0, grain="Q")
    csat = _target(id=4, kpi="csat", value=0.9)
    csat_later = _target(id=5, kpi="csat", value=0.95, effective_from=date(2026, 3, 15))
    team = _target(id=6, kpi="first_response_sla", value=0.8, team="Service")
    ended = _target(id=7, kpi="nps", value=30.0, effective_to=date(2026, 2, 28))
    found = [company, east, quarterly, csat, csat_later, team, ended]
    today = date(2026, 12, 7)

    def speaking(key: str, period: Period = MARCH, filters: Filters = Filters(), team: str | None = None) -> int | None:
        target = targets.applicable(found, key, period=period, filters=filters, team=team, today=today)
        return target.id if target else None

    assert speaking("revenue") == 1
    assert speaking("revenue", period_containing(date(2026, 3, 1), "Q")) == 3  # an amount is for its grain
    assert speaking("revenue", custom_period(date(2026, 3, 1), date(2026, 3, 31))) is None
    assert speaking("revenue", filters=Filters(regions=("east",))) == 2  # the region's own
    assert speaking("revenue", filters=Filters(regions=("north",))) is None  # a company sum is not a region's
    assert speaking("revenue", filters=Filters(regions=("east",), kinds=("B2B",))) is None
    february = period_containing(date(2026, 2, 1), "M")
    assert speaking("csat", february, filters=Filters(regions=("north",))) == 4  # a rate's company target: anywhere
    assert speaking("csat", period_containing(date(2026, 4, 1), "M")) == 5  # the one that took effect last
    assert speaking("csat", MARCH) == 5  # in force on March's last day
    assert speaking("csat", february) == 4
    assert speaking("first_response_sla") is None  # a team's target is the team's only
    assert speaking("first_response_sla", team="Service") == 6
    assert speaking("nps", period_containing(date(2026, 2, 1), "M")) == 7
    assert speaking("nps", MARCH) is None  # ended in February
    assert speaking("nps", period_containing(date(2025, 12, 1), "M")) is None  # not yet in force


# --- writing, checks, permissions ------------------------------------------------------------------------


def _change(**values: object) -> targets.TargetChange:
    base: dict[str, object] = {"kpi": "csat", "kind": "absolute", "value": 0.95, "effective_from": date(2026, 1, 1)}
    base.update(values)
    return targets.TargetChange(**base)  # type: ignore[arg-type]


FORM_MISTAKES = [
    ({"kpi": "nonsense"}, "kpi", "targets.error.kpi"),
    ({"value": None}, "value", "targets.error.value"),
    ({"value": 95.0}, "value", "targets.error.percent"),  # 95 means 9,500 %: the form divides by 100
    ({"kpi": "nps", "value": 120.0}, "value", "targets.error.score"),
    ({"kpi": "revenue", "value": 1000.0}, "grain", "targets.error.grain"),
    ({"kpi": "revenue", "value": -5.0, "grain": "M"}, "value", "targets.error.negative"),
    ({"kind": "change", "value": 0.1}, "baseline", "targets.error.baseline"),
    (
        {"kind": "change", "value": 0.1, "baseline_start": date(2026, 1, 1), "baseline_end": date(2099, 1, 1)},
        "baseline",
        "targets.error.baseline_span",
    ),
    ({"kind": "change", "value": -1.0}, "value", "targets.error.change"),
    ({"kpi": "data_completeness", "kind": "change", "value": 0.1}, "kind", "targets.error.no_change"),
    ({"effective_to": date(2025, 12, 31)}, "effective_to", "targets.error.effective_to"),
    ({"region": "atlantis"}, "region", "targets.error.region"),
    ({"kpi": "complaint_resolution", "region": "east"}, "region", "targets.error.region"),
    ({"kpi": "revenue", "grain": "M", "value": 1.0, "team": "Service"}, "team", "targets.error.team"),
    ({"region": "east", "team": "Service"}, "team", "targets.error.region_or_team"),
    ({"owner_id": 999}, "owner", "targets.error.owner"),
    ({"note": "x" * 201}, "note", "targets.error.note"),
]


def test_the_form_is_checked_field_by_field(engine: Engine) -> None:
    with session_scope(engine) as s:
        for values, field, key in FORM_MISTAKES:
            with pytest.raises(FieldErrors) as refused:
                targets.create_target(s, ADMIN, _change(**values))
            assert refused.value.errors[field][0] == key, values
        assert s.scalar(select(func.count()).select_from(m.KpiTarget)) == 0


def test_only_administrators_set_targets_and_every_change_is_audited(engine: Engine) -> None:
    with session_scope(engine) as s:
        owner = f.user(s, "exec", "executive")
        with pytest.raises(PermissionDenied):
            targets.create_target(s, EXECUTIVE, _change())
        target_id = targets.create_target(s, ADMIN, _change(owner_id=owner.id, note="board goal"))
        with pytest.raises(PermissionDenied):
            targets.update_target(s, EXECUTIVE, target_id, _change(value=0.9), version=1)
        edited = _change(value=0.9, owner_id=owner.id, note="board goal")  # the form sends every field again
        assert targets.update_target(s, ADMIN, target_id, edited, version=1) == 2
        with pytest.raises(Conflict):  # someone saved version 2 meanwhile
            targets.update_target(s, ADMIN, target_id, _change(value=0.8), version=1)
        (saved,) = targets.targets(s)
        assert (saved.value, saved.version, saved.owner, saved.note) == (0.9, 2, "Exec", "board goal")
        with pytest.raises(PermissionDenied):
            targets.delete_target(s, EXECUTIVE, target_id)
        targets.delete_target(s, ADMIN, target_id)
        assert targets.targets(s) == []
        A = m.table(m.AuditLog)
        logged = s.execute(select(A.c.action, A.c.details).where(A.c.object == f"kpi_target:{target_id}")).all()
        assert [a for a, _ in logged] == ["target_created", "target_changed", "target_deleted"]
        changed = json.loads(logged[1].details)
        assert (changed["before"]["value"], changed["after"]["value"]) == (0.95, 0.9)
        assert "board goal" not in "".join(d for _, d in logged)  # free text stays out of the audit details


def test_seed_003s_targets_are_added_once(engine: Engine) -> None:
    with session_scope(engine) as s:
        assert targets.ensure_defaults(s, now=datetime(2026, 12, 7, 9)) == 6
        found = {t.kpi: t for t in targets.targets(s)}
        assert set(found) == {
            "complaint_resolution",
            "data_completeness",
            "first_response_time",
            "repurchase_rate",
            "csat",
            "lifetime_value",
        }
        assert (found["complaint_resolution"].value, found["data_completeness"].value, found["csat"].value) == (
            0.95,
            0.98,
            0.95,
        )
        response = found["first_response_time"]
        assert (response.kind, response.value, response.baseline_start, response.baseline_end) == (
            "change",
            -0.5,
            date(2026, 1, 1),
            date(2026, 6, 30),
        )
        assert response.effective_from == date(2026, 7, 1)
        targets.delete_target(s, ADMIN, found["csat"].id)
        assert targets.ensure_defaults(s, now=datetime(2026, 12, 8, 9)) == 0  # a deletion sticks
        assert len(targets.targets(s)) == 5


# --- baselines and values from a hand-made history ------------------------------------------------------


def _repurchase_history(s) -> None:  # type: ignore[no-untyped-def]
    """January: A twice, B once (1 of 2 buyers bought again); February: A once, B and C twice (2 of 3); March: A
    twice, B once (1 of 2). Over January and February together every buyer bought twice or more."""
    a, b, c = (f.customer(s, became=date(2025, 6, 1)) for _ in range(3))
    for who, day in [
        (a, date(2026, 1, 5)),
        (a, date(2026, 1, 20)),
        (b, date(2026, 1, 9)),
        (a, date(2026, 2, 3)),
        (b, date(2026, 2, 4)),
        (b, date(2026, 2, 18)),
        (c, date(2026, 2, 7)),
        (c, date(2026, 2, 21)),
        (a, date(2026, 3, 2)),
        (a, date(2026, 3, 30)),
        (b, date(2026, 3, 11)),
    ]:
        f.order(s, who, day, 100.0)
    s.flush()
    facts.rebuild_all(s, as_of=date(2026, 3, 31))


def test_a_baseline_is_worked_out_from_the_history_when_the_target_is_saved(engine: Engine) -> None:
    with session_scope(engine) as s:
        _repurchase_history(s)
        target_id = targets.create_target(
            s,
            ADMIN,
            _change(
                kpi="repurchase_rate",
                kind="change",
                value=0.2,
                baseline_start=date(2026, 1, 1),
                baseline_end=date(2026, 2, 28),
                effective_from=date(2026, 3, 1),
            ),
        )
        (target,) = targets.targets(s)
        assert target.id == target_id
        assert target.baseline_value == pytest.approx(1.0)  # the two months as one span
        assert json.loads(target.baseline_periods or "{}") == {"M": pytest.approx((1 / 2 + 2 / 3) / 2)}
        (march,) = targets.overview(s, viewer=SYSTEM, period=MARCH)
        assert march.value == pytest.approx(0.5)
        assert march.goal == pytest.approx((1 / 2 + 2 / 3) / 2 * 1.2)  # 0.7
        assert march.baseline == pytest.approx((1 / 2 + 2 / 3) / 2)
        assert march.status == "missed"
        # history imported later moves the baseline once the summaries are rebuilt (as an import does)
        c = s.scalar(select(m.Customer).order_by(m.Customer.id.desc()))
        f.order(s, c, date(2026, 1, 8), 50.0)
        f.order(s, c, date(2026, 1, 28), 50.0)
        s.flush()
        facts.rebuild_all(s, as_of=date(2026, 3, 31))
        (target,) = targets.targets(s)
        assert json.loads(target.baseline_periods or "{}")["M"] == pytest.approx((2 / 3 + 2 / 3) / 2)


def test_a_teams_target_is_measured_on_the_teams_tickets(engine: Engine) -> None:
    from core import activity, service
    from core.activity import TicketForm
    from core.service import Step

    t0 = datetime(2026, 3, 2, 8)  # a Monday
    with session_scope(engine) as s:
        service_facts.rebuild(s)
        owner = f.user(s, "amy")
        ann, bob = f.user(s, "ann", role="support_agent"), f.user(s, "bob", role="support_agent")
        ann.team, bob.team = "Service", "Other"
        who = f.customer(s, owner=owner, became=date(2025, 6, 1))
        s.flush()
        amy = Viewer(owner.id, "amy", "Amy", "account_manager")
        people = {
            "ann": Viewer(ann.id, "ann", "Ann", "support_agent"),
            "bob": Viewer(bob.id, "bob", "Bob", "support_agent"),
        }
        form = TicketForm(who.id, "complaint", "billing", "normal", "email", "Something went wrong")  # type: ignore[arg-type]
        tickets = [activity.create_ticket(s, amy, form, now=t0) for _ in range(5)]
        service.assign(s, ADMIN, tickets[:3], ann.id)
        service.assign(s, ADMIN, tickets[3:], bob.id)
    for ticket, agent in ((tickets[0], "ann"), (tickets[2], "ann"), (tickets[3], "bob")):  # answered in time
        with session_scope(engine) as s:
            version = s.scalar(select(m.Ticket.version).where(m.Ticket.id == ticket))
            service.act(s, people[agent], Step(ticket, "accept", int(version or 0)), now=t0 + timedelta(minutes=30))
    with session_scope(engine) as s:
        service.tick(s, now=t0 + timedelta(days=9))  # the other two breach their first response
    with session_scope(engine) as s:
        value = targets.measure_value(s, viewer=SYSTEM, key="first_response_sla", period=MARCH, team="Service")
        assert value == pytest.approx(2 / 3)  # two of Service's three answered in time, the third breached
        assert targets.measure_value(s, viewer=SYSTEM, key="first_response_sla", period=MARCH, team="Other") == 0.5
        assert targets.measure_value(s, viewer=SYSTEM, key="csat", period=MARCH, team="Service") is None  # no ratings


def test_cockpit_cards_say_when_their_summary_rows_were_made(engine: Engine) -> None:
    with session_scope(engine) as s:
        _repurchase_history(s)
        made = s.scalar(select(func.max(m.PeriodFact.refreshed_at)))
        assert made is not None
        result = kpi.cockpit(s, MARCH, Filters(), viewer=SYSTEM, now=datetime(2026, 4, 2))
        assert result.refreshed_at == made
        live = kpi.cockpit(s, custom_period(date(2026, 3, 1), date(2026, 3, 15)), Filters(), viewer=SYSTEM,
                           now=datetime(2026, 4, 2))  # fmt: skip
        assert live.refreshed_at is None
        assert kpi.sources("revenue", "summary") == ("period_facts",)
        assert kpi.sources("revenue", "live") == ("orders",)
        assert kpi.sources("first_response_sla", "summary") == ("ticket_sla", "tickets")  # always live
