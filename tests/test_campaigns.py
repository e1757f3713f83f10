"""Campaigns on a hand-made base: members from a file of codes or a segment, the control group drawn once and
reproducibly; results against the control group worked out by hand (conversion, revenue per member,
repurchase, churn, their intervals, the ROI); what is refused and who may."""

from __future__ import annotations

import math
import random
import statistics
from datetime import date

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from core import campaigns, facts, models as m
from core.access import SYSTEM, Viewer
from core.customer_list import CustomerQuery
from core.db import session_scope, write
from core.errors import FieldErrors, PermissionDenied, ValidationError
from tests import factories as f
from tests.conftest import TEST_KEYRING

START, END = date(2026, 8, 1), date(2026, 9, 30)
TODAY = date(2026, 11, 20)


@pytest.fixture
def base(engine: Engine) -> dict[str, object]:
    with session_scope(engine) as s:
        amy = f.user(s, "amy")
        people = [
            f.customer(s, owner=amy, became=date(2024, 1, 1), region="east" if i < 24 else "north") for i in range(30)
        ]
        s.flush()
        facts.rebuild_all(s, as_of=TODAY)
        return {
            "ids": [p.id for p in people],
            "codes": [p.code for p in people],
            "amy": Viewer(amy.id, "amy", "Amy", "account_manager"),
        }


def plan(**changes: object) -> campaigns.CampaignPlan:
    values: dict[str, object] = dict(
        name="Win back", channel="phone", starts_on=START, ends_on=END, cost=200.0, holdout_percent=20
    )
    values.update(changes)
    return campaigns.CampaignPlan(**values)  # type: ignore[arg-type]


def test_members_and_a_reproducible_control_group(engine: Engine, base) -> None:  # type: ignore[no-untyped-def]
    by_file = write(
        engine,
        lambda s: campaigns.create(s, SYSTEM, plan(codes=tuple(c.lower() for c in base["codes"][:25])), TEST_KEYRING),
    )
    by_segment = write(
        engine, lambda s: campaigns.create(s, SYSTEM, plan(query=CustomerQuery(regions=("east",))), TEST_KEYRING)
    )
    with Session(engine) as s:
        rows = {
            n: dict(
                s.execute(
                    select(m.CampaignMember.customer_id, m.CampaignMember.control).where(
                        m.CampaignMember.campaign_id == n
                    )
                ).all()
            )
            for n in (by_file, by_segment)
        }
        listed = campaigns.campaigns(s, SYSTEM).set_index("id")
    assert set(rows[by_file]) == set(base["ids"][:25])  # codes in any case
    assert set(rows[by_segment]) == set(base["ids"][:24])  # the east region
    for n, members in rows.items():  # each draw: the campaign and the customer's own seeded number
        assert all(control == (random.Random(f"campaign:{n}:{c}").random() < 0.2) for c, control in members.items())
    assert listed.loc[by_file, "members"] == 25 and listed.loc[by_file, "control"] == sum(rows[by_file].values())


def test_what_is_refused(engine: Engine, base) -> None:  # type: ignore[no-untyped-def]
    for bad, field in (
        (plan(ends_on=date(2026, 7, 1)), "ends_on"),
        (plan(cost=-1.0), "cost"),
        (plan(holdout_percent=70), "holdout_percent"),
        (plan(channel="pigeon"), "channel"),
    ):
        with pytest.raises(FieldErrors) as err, session_scope(engine) as s:
            campaigns.create(s, SYSTEM, bad, TEST_KEYRING)
        assert field in err.value.errors
    with pytest.raises(ValidationError) as few, session_scope(engine) as s:
        campaigns.create(s, SYSTEM, plan(codes=tuple(base["codes"][:5])), TEST_KEYRING)
    assert few.value.key == "campaign.error.few"
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        campaigns.create(s, base["amy"], plan(codes=tuple(base["codes"])), TEST_KEYRING)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Campaign)) == 0


def test_results_against_the_control_group_by_hand(engine: Engine, base) -> None:  # type: ignore[no-untyped-def]
    ids = base["ids"][:20]
    number = write(engine, lambda s: campaigns.create(s, SYSTEM, plan(codes=tuple(base["codes"][:20])), TEST_KEYRING))
    contacted, control = ids[:10], ids[10:]
    with session_scope(engine) as s:  # the split fixed by hand: the first ten contacted, the last ten held out
        s.execute(update(m.CampaignMember).values(control=m.CampaignMember.customer_id.in_(control)))
        for who in contacted[:3]:  # three order twice, three once: 6 of 10 ordered, 3 of 10 twice
            f.order(s, s.get(m.Customer, who), date(2026, 8, 10), 100.0)  # type: ignore[arg-type]
            f.order(s, s.get(m.Customer, who), date(2026, 9, 10), 100.0)  # type: ignore[arg-type]
        for who in contacted[3:6]:
            f.order(s, s.get(m.Customer, who), date(2026, 8, 20), 100.0)  # type: ignore[arg-type]
        f.order(s, s.get(m.Customer, control[0]), date(2026, 8, 5), 100.0)  # type: ignore[arg-type]
        f.order(s, s.get(m.Customer, control[0]), date(2026, 9, 5), 100.0)  # type: ignore[arg-type]
        for who in control[1:3]:
            f.order(s, s.get(m.Customer, who), date(2026, 8, 15), 100.0)  # type: ignore[arg-type]
        f.order(s, s.get(m.Customer, control[5]), date(2026, 10, 15), 500.0)  # type: ignore[arg-type]  # after the end
        s.execute(
            update(m.Customer)
            .where(m.Customer.id == contacted[9])
            .values(status="churned", churned_date=date(2026, 9, 1))
        )
    with Session(engine) as s:
        result = campaigns.results(s, SYSTEM, number, today=TODAY)
    assert (result.contacted, result.control, result.start, result.end) == (10, 10, START, END)
    conversion = result.conversion
    assert (conversion.contacted, conversion.control, conversion.difference) == (0.6, 0.3, pytest.approx(0.3))
    half = 1.96 * math.sqrt(0.6 * 0.4 / 10 + 0.3 * 0.7 / 10)
    assert (conversion.low, conversion.high) == (pytest.approx(0.3 - half), pytest.approx(0.3 + half))
    assert (result.repurchase.contacted, result.repurchase.control) == (0.3, 0.1)
    assert (result.churn.contacted, result.churn.control) == (0.1, 0.0)
    spent = [200.0] * 3 + [100.0] * 3 + [0.0] * 4, [200.0] + [100.0] * 2 + [0.0] * 7
    revenue = result.revenue_per_member
    assert (revenue.contacted, revenue.control, revenue.difference) == (90.0, 40.0, 50.0)
    se = math.sqrt(statistics.variance(spent[0]) / 10 + statistics.variance(spent[1]) / 10)
    assert (revenue.low, revenue.high) == (pytest.approx(50 - 1.96 * se), pytest.approx(50 + 1.96 * se))
    assert result.incremental_revenue == 500.0 and result.roi.contacted == pytest.approx((500 - 200) / 200)
    assert result.roi.low == pytest.approx((500 - 1.96 * se * 10 - 200) / 200)
