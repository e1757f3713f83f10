"""SLA targets, compliance periods and the running / at-risk / breached states, by hand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from core import sla
from core.db import session_scope
from core.periods import Filters, custom_period
from tests import factories as f

T0 = datetime(2026, 3, 2, 9, 0)


def test_targets_tighten_for_complaints() -> None:
    assert sla.targets_hours("service_request", "low") == (8, 72)
    assert sla.targets_hours("complaint", "low") == (2, 48)
    assert sla.targets_hours("complaint", "urgent") == (1, 8)


def test_state_at_a_moment() -> None:
    due = datetime(2026, 3, 2, 11, 0)
    assert (
        sla.target_state(T0, due, datetime(2026, 3, 2, 11, 0), datetime(2026, 3, 3)) == "met"
    )  # exactly at the deadline
    assert sla.target_state(T0, due, datetime(2026, 3, 2, 11, 1), datetime(2026, 3, 3)) == "breached"
    assert sla.target_state(T0, due, None, datetime(2026, 3, 2, 10, 0)) == "running"  # 50% used
    assert sla.target_state(T0, due, None, datetime(2026, 3, 2, 10, 36)) == "at_risk"  # 80% used
    assert sla.target_state(T0, due, None, datetime(2026, 3, 2, 11, 1)) == "breached"
    assert (
        sla.target_state(T0, due, datetime(2026, 3, 2, 12), datetime(2026, 3, 2, 10, 0)) == "running"
    )  # answered later


def test_a_complaint_counts_once_in_the_period_its_outcome_became_known(engine: Engine) -> None:
    with session_scope(engine) as s:
        who = f.customer(s, became=datetime(2025, 1, 1).date())
        # due 2026-03-31 23:30, answered 2026-04-01 01:00: breached, known at the due time -> March
        f.ticket(s, who, datetime(2026, 3, 31, 21, 30), responded=datetime(2026, 4, 1, 1, 0))
        # answered on time in April
        f.ticket(s, who, datetime(2026, 4, 2, 9), responded=datetime(2026, 4, 2, 9, 30))
        # not answered, due in the future relative to `now`: not counted yet
        f.ticket(s, who, datetime(2026, 4, 30, 23, 0))
    march, april = (
        custom_period(datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date()),
        custom_period(datetime(2026, 4, 1).date(), datetime(2026, 4, 30).date()),
    )
    now = datetime(2026, 4, 30, 23, 30)
    with session_scope(engine) as s:
        assert sla.compliance(s, march, Filters(), now=now, target="first_response") == {"normal": (0, 1)}
        assert sla.compliance(s, april, Filters(), now=now, target="first_response") == {"normal": (1, 1)}
        by_month = sla.compliance_by_month(s, march.start, april.end, Filters(), now=now, target="first_response")
        assert by_month == {march.start: (0, 1), april.start: (1, 1)}
        assert sla.open_complaints(s, now, Filters()) == sla.OpenComplaints(
            open=3, breached=2, at_risk=0
        )  # two resolution targets passed
