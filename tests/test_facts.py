"""Every summarised figure equals the same figure computed from raw rows; refresh after a write equals a rebuild."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select

from core import facts, models as m
from core.db import session_scope
from core.demo import seed_demo
from core.periods import Filters, custom_period, period_containing
from tests import factories as f
from tests.conftest import DEMO_PASSWORD, TEST_KEYRING, TODAY

DAYS = [date(2024, 2, 10), date(2025, 6, 3), date(2026, 11, 2)]


def _assert_same(a: dict[str, float], b: dict[str, float]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-6), key


@pytest.fixture
def demo(engine: Engine) -> Engine:
    seed_demo(engine, customers=150, seed=3, today=TODAY, keyring=TEST_KEYRING, demo_password=DEMO_PASSWORD)
    return engine


def test_summary_equals_live_for_every_grain_and_filter(demo: Engine) -> None:
    with session_scope(demo) as s:
        owner = s.scalar(select(func.min(m.Customer.owner_id)))
        for filters in (Filters(), Filters(regions=("east", "north")), Filters(kinds=("B2B",), owner_ids=(owner,))):
            for grain in ("M", "Q", "Y"):
                for day in DAYS:
                    period = period_containing(day, grain)
                    _assert_same(facts.summary_measures(s, period, filters), facts.live_measures(s, period, filters))


def test_ltv_at_any_day_and_custom_ranges_equal_the_raw_figures(demo: Engine) -> None:
    """ltv_revenue_at any day, and range_measures (the cockpit's custom ranges: whole months from period_facts,
    the rest live) for ranges with and without whole months, starting and ending mid-month or on a month's
    first day: every measure equals the one computed from raw rows."""
    ranges = [
        (date(2025, 1, 15), date(2025, 3, 10)),  # mid-month to mid-month, February whole
        (date(2025, 2, 1), date(2025, 4, 30)),  # whole months only
        (date(2024, 11, 20), date(2025, 6, 1)),  # across a year, ending on a first day
        (date(2026, 10, 3), date(2026, 10, 28)),  # inside one month: all live
        (date(2026, 9, 30), date(2026, 11, 1)),  # one whole month between two single days
    ]
    with session_scope(demo) as s:
        owner = s.scalar(select(func.min(m.Customer.owner_id)))
        for filters in (Filters(), Filters(regions=("east",))):
            for day in (date(2025, 3, 1), date(2025, 3, 17), date(2026, 11, 24), date(2024, 1, 2)):
                raw = facts.live_measures(s, custom_period(day - timedelta(days=3), day - timedelta(days=1)), filters)
                assert facts.ltv_revenue_at(s, day, filters) == pytest.approx(raw["ltv_revenue"]), (day, filters)
        for filters in (Filters(), Filters(regions=("east", "north")), Filters(kinds=("B2B",), owner_ids=(owner,))):
            for first, last in ranges:
                period = custom_period(first, last)
                _assert_same(facts.range_measures(s, period, filters), facts.live_measures(s, period, filters))


def test_refresh_after_a_write_equals_a_full_rebuild(demo: Engine) -> None:
    day = date(2026, 10, 14)
    with session_scope(demo) as s:
        who = s.scalars(select(m.Customer).where(m.Customer.status == "active").order_by(m.Customer.id)).first()
        f.order(s, who, day, 1234.5)
        f.nps(s, who, __import__("datetime").datetime(2026, 10, 14, 9), 3)
        s.flush()
        key = facts.DimKey(who.region, who.industry, who.kind, who.owner_id)
        facts.refresh_period_facts(s, key=key, since=day, as_of=TODAY)
        refreshed = {g: facts.summary_measures(s, period_containing(day, g), Filters()) for g in ("M", "Q", "Y")}
        facts.rebuild_period_facts(s, as_of=TODAY)
        for grain, measures in refreshed.items():
            _assert_same(measures, facts.summary_measures(s, period_containing(day, grain), Filters()))
            _assert_same(measures, facts.live_measures(s, period_containing(day, grain), Filters()))


def test_customer_changed_after_a_hand_over_equals_a_full_rebuild(demo: Engine) -> None:
    """A customer moved to another owner (as an import or a hand-over will): the one hook refreshes both the
    old and the new owner's summaries from the first day they hold rows, and the list row."""
    with session_scope(demo) as s:
        who = s.scalars(
            select(m.Customer)
            .where(m.Customer.status == "active", m.Customer.owner_id.is_not(None))
            .order_by(m.Customer.id)
        ).first()
        assert who is not None
        new_owner = s.scalar(select(m.User.id).where(m.User.role == "account_manager", m.User.id != who.owner_id))
        old_key = facts.DimKey(who.region, who.industry, who.kind, who.owner_id)
        first_day = min(who.first_contact_date, who.became_customer_date or who.first_contact_date)
        who.owner_id = new_owner
        s.flush()
        facts.customer_changed(s, [who.id], since=first_day, as_of=TODAY, previous_keys=[old_key])
        assert s.scalar(select(m.CustomerStat.owner_id).where(m.CustomerStat.customer_id == who.id)) == new_owner
        months = [period_containing(first_day + timedelta(days=31 * i), "M") for i in range(0, 30, 7)]
        by_owner = {
            owner: [facts.summary_measures(s, p, Filters(owner_ids=(owner,))) for p in months]
            for owner in (old_key.owner_id, new_owner)
        }
        facts.rebuild_period_facts(s, as_of=TODAY)
        for owner, refreshed in by_owner.items():
            for period, measures in zip(months, refreshed):
                _assert_same(measures, facts.summary_measures(s, period, Filters(owner_ids=(owner,))))


def test_customer_stats_match_raw_orders(demo: Engine) -> None:
    with session_scope(demo) as s:
        stats = {r.customer_id: r for r in s.scalars(select(m.CustomerStat))}
        totals = dict(
            s.execute(select(m.Order.customer_id, func.sum(m.Order.amount)).group_by(m.Order.customer_id)).all()
        )
        assert len(stats) == s.scalar(select(func.count()).select_from(m.Customer))
        for customer_id, revenue in totals.items():
            assert stats[customer_id].revenue_total == pytest.approx(float(revenue))
        seg_total = s.scalar(select(func.sum(m.SegmentFact.customers)))
        assert seg_total == len(stats)
