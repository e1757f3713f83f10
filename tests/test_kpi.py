"""KPIs against values worked out by hand on a tiny fixture, through the summary and the live path."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Engine

from core import facts, kpi
from core.access import SYSTEM
from core.db import session_scope
from core.periods import Filters, custom_period, period_containing
from tests import factories as f

NOW = datetime(2026, 11, 25, 12, 0)
OCTOBER = period_containing(date(2026, 10, 1), "M")


def _fixture(engine: Engine) -> dict[str, int]:
    """Six customers; the comments give each one's part in October (P) and September (P-1)."""
    with session_scope(engine) as s:
        a, b = f.user(s, "mgr_a"), f.user(s, "mgr_b")
        c1 = f.customer(s, owner=a, became=date(2025, 1, 10))  # active throughout
        c2 = f.customer(s, owner=b, became=date(2026, 10, 15), region="north", kind="B2C")  # new in P
        c3 = f.customer(s, owner=a, became=date(2024, 6, 1), churned=date(2026, 10, 25))  # churns in P
        c4 = f.customer(s, owner=b, became=date(2026, 9, 2), region="north")  # new in P-1
        f.customer(s, owner=a)  # prospect
        c6 = f.customer(s, owner=b, became=date(2023, 1, 1), churned=date(2026, 9, 15), region="north")  # churns in P-1
        for who, day, amount in [
            (c1, date(2026, 9, 5), 100),
            (c1, date(2026, 10, 3), 200),
            (c1, date(2026, 10, 20), 300),
            (c2, date(2026, 10, 15), 50),
            (c3, date(2024, 7, 1), 1000),
            (c3, date(2026, 9, 10), 400),
            (c4, date(2026, 9, 2), 80),
            (c4, date(2026, 9, 20), 20),
            (c6, date(2023, 2, 1), 500),
        ]:
            f.order(s, who, day, amount)
        for status in ("converted", "converted", "disqualified", "new"):
            f.lead(s, datetime(2026, 10, 8, 10), status, owner=a)
        for who, score in [(c1, 10), (c1, 9), (c2, 5), (c4, 7)]:
            f.nps(s, who, datetime(2026, 10, 12, 15), score)
        # complaints, normal priority: 2 h first response, 48 h resolution
        f.ticket(
            s,
            c1,
            datetime(2026, 10, 2, 9),
            responded=datetime(2026, 10, 2, 10),
            resolved=datetime(2026, 10, 3, 9),
            closed=datetime(2026, 10, 5, 9),
            csat=5,
            feedback=datetime(2026, 10, 5, 9),
        )  # both met
        f.ticket(
            s,
            c4,
            datetime(2026, 10, 4, 9),
            responded=datetime(2026, 10, 4, 12),
            resolved=datetime(2026, 10, 7, 9),
            closed=datetime(2026, 10, 7, 10),
            csat=2,
            feedback=datetime(2026, 10, 7, 10),
        )  # both breached
        f.ticket(
            s,
            c2,
            datetime(2026, 10, 20, 9),
            responded=datetime(2026, 10, 20, 9, 30),
            resolved=datetime(2026, 10, 21, 9),
            closed=datetime(2026, 10, 28, 9),
            csat=4,
            feedback=datetime(2026, 10, 28, 9),
        )  # both met
        f.ticket(s, c1, datetime(2026, 10, 31, 22))  # open at the end of P; first response falls due in November
        f.ticket(s, c1, datetime(2026, 10, 10, 9), kind="service_request", responded=datetime(2026, 10, 10, 9, 5))
        s.flush()
        with_ids = {"a": a.id, "b": b.id}
        facts.rebuild_all(s, as_of=NOW.date())
    return with_ids


@pytest.mark.parametrize("custom", [False, True], ids=["summary", "live"])
def test_october_kpis_match_hand_values(engine: Engine, custom: bool) -> None:
    _fixture(engine)
    period = custom_period(date(2026, 10, 1), date(2026, 10, 31)) if custom else OCTOBER
    with session_scope(engine) as s:
        result = kpi.cockpit(s, period, Filters(), viewer=SYSTEM, now=NOW)
    assert result.source == ("live" if custom else "summary")
    values = {k.key: k.value for k in result.kpis}
    previous = {k.key: k.previous for k in result.kpis}
    assert values["active_customers"] == 3  # c1, c2, c4
    assert values["new_customers"] == 1  # c2
    assert values["revenue"] == pytest.approx(550)  # 200 + 300 + 50
    assert values["average_order_value"] == pytest.approx(550 / 3)
    assert values["repurchase_rate"] == pytest.approx(0.5)  # c1 of {c1, c2}
    assert values["lifetime_value"] == pytest.approx(750 / 3)  # (600 + 50 + 100) over c1, c2, c4
    assert values["churn_rate"] == pytest.approx(1 / 3)  # c3 of {c1, c3, c4}
    assert values["lead_conversion_rate"] == pytest.approx(0.5)
    assert result.kpi("lead_conversion_rate").detail["invalid_lead_rate"] == pytest.approx(0.25)
    assert values["nps"] == pytest.approx(25)  # 2 promoters, 1 detractor of 4
    assert result.kpi("nps").detail["responses"] == 4
    assert values["csat"] == pytest.approx(2 / 3)  # ratings 5, 2, 4
    assert values["first_response_sla"] == pytest.approx(2 / 3)
    assert values["resolution_sla"] == pytest.approx(2 / 3)
    assert values["complaint_rate"] == pytest.approx(4 / 3 * 1000)
    assert (result.open_complaints.open, result.open_complaints.breached, result.open_complaints.at_risk) == (1, 0, 1)
    assert previous["revenue"] == pytest.approx(600)  # September: 100 + 400 + 80 + 20
    assert previous["repurchase_rate"] == pytest.approx(1 / 3)
    assert previous["lifetime_value"] == pytest.approx(1600 / 3)
    assert previous["churn_rate"] == pytest.approx(1 / 3)  # c6 of {c1, c3, c6}


def test_filters_narrow_every_figure(engine: Engine) -> None:
    ids = _fixture(engine)
    with session_scope(engine) as s:
        north = kpi.cockpit(s, OCTOBER, Filters(regions=("north",)), viewer=SYSTEM, now=NOW)
        owner_a = kpi.cockpit(s, OCTOBER, Filters(owner_ids=(ids["a"],)), viewer=SYSTEM, now=NOW)
    assert north.kpi("active_customers").value == 2 and north.kpi("revenue").value == pytest.approx(50)
    assert north.kpi("nps").value == pytest.approx(-50)  # scores 5 and 7
    assert north.kpi("first_response_sla").value == pytest.approx(0.5)  # c4's breached, c2's met
    assert owner_a.kpi("revenue").value == pytest.approx(500)
    assert owner_a.kpi("churn_rate").value == pytest.approx(0.5)  # c3 of {c1, c3}
    assert owner_a.kpi("lead_conversion_rate").value == pytest.approx(0.5)


def test_empty_database_gives_no_values_and_no_errors(engine: Engine) -> None:
    with session_scope(engine) as s:
        facts.rebuild_all(s, as_of=NOW.date())
        result = kpi.cockpit(s, OCTOBER, Filters(), viewer=SYSTEM, now=NOW)
    assert result.kpi("active_customers").value == 0
    assert result.kpi("nps").value is None and result.kpi("repurchase_rate").value is None
    assert result.churn_warnings.empty and list(result.tiers["customers"]) == [0, 0, 0, 0]
    assert len(result.monthly) == 12
