"""The loyalty programme (core.loyalty): versions and their checks, points earned from members' orders once,
redemption within the balance and the viewer's scope, expiry first in first out, a ledger that replays to
every balance, survey answers' points, and the matched comparison on a hand-made fixture with its interval."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select, update

from core import activity, facts, loyalty, models as m
from core.access import Viewer
from core.activity import NpsForm
from core.db import session_scope
from core.errors import FieldErrors, PermissionDenied, ValidationError
from tests import factories as f

ADMIN = Viewer(None, "root", "Root", "admin")
EXECUTIVE = Viewer(None, "boss", "Boss", "executive")
L = m.table(m.LoyaltyEntry)


def _programme(**values: object) -> loyalty.ProgrammeChange:
    base: dict[str, object] = {
        "points_per_yuan": 0.5,
        "action_points": {"referral": 500, "review": 100, "survey": 50},
        "levels": [("member", 0, "points"), ("gold", 1000, "5 % off")],
        "expiry_months": 1,
        "yuan_per_point": 0.02,
    }
    base.update(values)
    return loyalty.ProgrammeChange(**base)  # type: ignore[arg-type]


def test_the_programme_is_versioned_and_checked(engine: Engine) -> None:
    with session_scope(engine) as s:
        with pytest.raises(PermissionDenied):
            loyalty.set_programme(s, EXECUTIVE, _programme())
        for wrong, field in [
            ({"points_per_yuan": -1.0}, "points_per_yuan"),
            ({"levels": [("member", 10, "")]}, "levels"),  # the first level starts at 0
            ({"levels": [("member", 0, ""), ("gold", 0, "")]}, "levels"),  # thresholds rise
            ({"levels": [("a", 0, ""), ("a", 5, "")]}, "levels"),  # names differ
            ({"expiry_months": 500}, "expiry_months"),
            ({"yuan_per_point": 0.0}, "yuan_per_point"),
            ({"action_points": {"referral": -5, "review": 1, "survey": 1}}, "points_referral"),
        ]:
            with pytest.raises(FieldErrors) as refused:
                loyalty.set_programme(s, ADMIN, _programme(**wrong))
            assert field in refused.value.errors, wrong
        assert loyalty.current(s) is None
        assert loyalty.set_programme(s, ADMIN, _programme(), now=datetime(2026, 1, 1)) == 1
        assert loyalty.set_programme(s, ADMIN, _programme(points_per_yuan=1.0), now=datetime(2026, 2, 1)) == 2
        now, before = loyalty.versions(s)
        assert (now.version, now.points_per_yuan, before.points_per_yuan) == (2, 1.0, 0.5)
        assert loyalty.current(s) == now
        assert now.level_of(999) == "member" and now.level_of(1000) == "gold"
        logged = s.scalar(
            select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "loyalty_programme_changed")
        )
        assert logged == 2


def _member(s, *, joined: datetime, owner: m.User | None = None) -> m.Customer:  # type: ignore[no-untyped-def]
    who = f.customer(s, owner=owner, became=date(2024, 1, 1))
    s.add(m.LoyaltyMember(customer_id=who.id, joined_at=joined, joined_on=joined.date()))
    s.flush()
    return who


def test_members_orders_earn_once_from_the_day_they_joined(engine: Engine) -> None:
    with session_scope(engine) as s:
        loyalty.set_programme(s, ADMIN, _programme(expiry_months=None), now=datetime(2025, 1, 1))
        member = _member(s, joined=datetime(2026, 3, 10, 15))
        other = f.customer(s, became=date(2024, 1, 1))
        for who, day, amount in [
            (member, date(2026, 3, 9), 1000.0),  # before joining: nothing
            (member, date(2026, 3, 10), 301.0),  # the day they joined: 150 (floor of 150.5)
            (member, date(2026, 4, 2), 80.0),  # 40
            (other, date(2026, 4, 2), 5000.0),  # not a member
        ]:
            f.order(s, who, day, amount)
        s.flush()
        assert loyalty.earn_from_orders(s, now=datetime(2026, 4, 3)) == 2
        assert loyalty.earn_from_orders(s, now=datetime(2026, 4, 3)) == 0  # never twice
        assert loyalty.balance(s, member.id) == 190
        f.order(s, member, date(2026, 3, 20), 20.0)  # imported late: earns on the next run
        s.flush()
        assert loyalty.run(s, now=datetime(2026, 4, 4)) == {"earned_rows": 1, "expired_points": 0}
        assert loyalty.balance(s, member.id) == 200
        assert loyalty.balance(s, other.id) == 0


def test_redeeming_stays_within_the_balance_and_the_viewers_customers(engine: Engine) -> None:
    with session_scope(engine) as s:
        loyalty.set_programme(s, ADMIN, _programme(expiry_months=None), now=datetime(2025, 1, 1))
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        member = _member(s, joined=datetime(2026, 1, 1), owner=amy)
        s.execute(
            L.insert().values(customer_id=member.id, at=datetime(2026, 1, 5), kind="earn", points=300, source="order")
        )
        manager = Viewer(amy.id, "amy", "Amy", "account_manager")
        with pytest.raises(PermissionDenied):
            loyalty.redeem(s, EXECUTIVE, member.id, 10, reason="voucher")  # reads only
        with pytest.raises(PermissionDenied):
            loyalty.redeem(s, Viewer(bob.id, "bob", "Bob", "account_manager"), member.id, 10, reason="voucher")
        for points, why, field in [(400, "voucher", "points"), (0, "voucher", "points"), (10, " ", "reason")]:
            with pytest.raises(FieldErrors) as refused:
                loyalty.redeem(s, manager, member.id, points, reason=why)
            assert field in refused.value.errors
        assert loyalty.redeem(s, manager, member.id, 120, reason="voucher", now=datetime(2026, 2, 1)) == 180
        with pytest.raises(PermissionDenied):
            loyalty.adjust(s, manager, member.id, 50, reason="goodwill")  # administrators only
        with pytest.raises(FieldErrors):
            loyalty.adjust(s, ADMIN, member.id, -500, reason="typo")  # never below zero
        assert loyalty.adjust(s, ADMIN, member.id, -30, reason="double-counted order") == 150
        stranger = f.customer(s, owner=amy, became=date(2024, 1, 1))
        with pytest.raises(ValidationError):
            loyalty.redeem(s, manager, stranger.id, 10, reason="voucher")  # not a member
        loyalty.enrol(s, manager, stranger.id, now=datetime(2026, 2, 1))
        with pytest.raises(ValidationError):
            loyalty.enrol(s, manager, stranger.id)  # once
        actions = set(s.scalars(select(m.AuditLog.action).where(m.AuditLog.action.like("loyalty_%"))))
        assert {"loyalty_redeemed", "loyalty_adjusted", "loyalty_enrolled"} <= actions


def test_expiry_is_first_in_first_out_and_the_ledger_replays(engine: Engine) -> None:
    with session_scope(engine) as s:
        loyalty.set_programme(s, ADMIN, _programme(expiry_months=1), now=datetime(2025, 1, 1))
        member = _member(s, joined=datetime(2026, 1, 1))
        f.order(s, member, date(2026, 1, 1), 200.0)  # 100 points, ending 2026-01-31
        f.order(s, member, date(2026, 2, 10), 100.0)  # 50 points, ending 2026-03-12
        s.flush()
        loyalty.earn_from_orders(s, now=datetime(2026, 2, 10))
        loyalty.redeem(s, ADMIN, member.id, 30, reason="voucher", now=datetime(2026, 1, 20))
        # by 5 February the first 100 have ended; 30 of them were spent: 70 expire, the newer 50 stay
        assert loyalty.expire(s, now=datetime(2026, 2, 5)) == 70
        assert loyalty.expire(s, now=datetime(2026, 2, 6)) == 0
        assert loyalty.balance(s, member.id) == 50
        assert loyalty.expire(s, now=datetime(2026, 3, 15)) == 50
        assert loyalty.balance(s, member.id) == 0
        rows = s.execute(select(L.c.at, L.c.kind, L.c.points).where(L.c.customer_id == member.id).order_by(L.c.id))
        running = 0
        for _, kind, points in rows:  # replayed in the order written: never below zero, signs as the kinds say
            assert (points > 0) == (kind == "earn") or kind == "adjust"
            running += points
            assert running >= 0
        assert running == loyalty.balance(s, member.id)


def test_a_members_survey_answer_earns_the_programmes_points(engine: Engine) -> None:
    with session_scope(engine) as s:
        loyalty.set_programme(s, ADMIN, _programme(), now=datetime(2025, 1, 1))
        member = _member(s, joined=datetime(2026, 1, 1))
        other = f.customer(s, became=date(2024, 1, 1))
        s.flush()
        now = datetime.now().replace(microsecond=0)
        for who in (member, other):
            activity.record_nps(s, ADMIN, NpsForm(who.id, 9, now - timedelta(hours=1), "post_purchase"), now=now)
        assert loyalty.balance(s, member.id) == 50
        assert loyalty.balance(s, other.id) == 0


def test_members_repurchase_is_compared_within_tier_and_tenure(engine: Engine) -> None:
    """Stratum general/1-2 years: members 1 of 2 bought again, non-members 1 of 4; stratum high value/2-4
    years: members 2 of 2, non-members 1 of 2. Weighted by members (1/2 each): 0.75 against 0.375."""
    now = datetime(2026, 6, 30, 12)
    with session_scope(engine) as s:
        loyalty.set_programme(s, ADMIN, _programme(), now=datetime(2024, 1, 1))
        people = []
        for tier, became, member, again in [
            ("general", date(2025, 1, 1), True, True),
            ("general", date(2025, 1, 1), True, False),
            *[("general", date(2025, 1, 1), False, a) for a in (True, False, False, False)],
            ("high_value", date(2023, 6, 1), True, True),
            ("high_value", date(2023, 6, 1), True, True),
            ("high_value", date(2023, 6, 1), False, True),
            ("high_value", date(2023, 6, 1), False, False),
            ("potential", date(2025, 1, 1), True, True),  # no non-member like it: left out
            ("general", date(2025, 1, 1), "late", True),  # joined inside the window: left out
        ]:
            who = f.customer(s, became=became)
            if member:
                joined = datetime(2026, 5, 1) if member == "late" else datetime(2025, 6, 1)
                s.add(m.LoyaltyMember(customer_id=who.id, joined_at=joined, joined_on=joined.date()))
            f.order(s, who, date(2026, 5, 10), 100.0)
            if again:
                f.order(s, who, date(2026, 6, 10), 100.0)
            people.append((who.id, tier))
        s.flush()
        facts.rebuild_all(s, as_of=now.date())
        for customer_id, tier in people:
            s.execute(update(m.CustomerStat).where(m.CustomerStat.customer_id == customer_id).values(tier=tier))
        result = loyalty.compare_repurchase(s, ADMIN, days=90, now=now)
    assert (result.members, result.non_members) == (4, 6)
    assert result.member_rate == pytest.approx(0.75)
    assert result.non_member_rate == pytest.approx(0.375)
    variance = 0.25 * (0.5 * 0.5 / 2 + 0.25 * 0.75 / 4) + 0.25 * (0.0 + 0.5 * 0.5 / 2)
    assert result.difference == pytest.approx(0.375)
    assert result.low == pytest.approx(0.375 - 1.96 * math.sqrt(variance))
    assert result.high == pytest.approx(0.375 + 1.96 * math.sqrt(variance))
    assert set(zip(result.strata["tier"], result.strata["tenure"])) == {("general", "1-2"), ("high_value", "2-4")}


def test_the_overview_counts_members_liability_and_redemption(engine: Engine) -> None:
    now = datetime(2026, 6, 30, 12)
    with session_scope(engine) as s:
        loyalty.set_programme(s, ADMIN, _programme(expiry_months=None), now=datetime(2024, 1, 1))
        a, b = _member(s, joined=datetime(2025, 1, 1)), _member(s, joined=datetime(2025, 1, 1))
        for who, at, kind, points in [
            (a, datetime(2026, 1, 1), "earn", 1200),  # gold
            (a, datetime(2026, 3, 1), "redeem", -300),
            (b, datetime(2026, 2, 1), "earn", 400),
            (b, datetime(2024, 2, 1), "earn", 5000),  # over a year ago: counts in the balance, not the level
        ]:
            s.execute(L.insert().values(customer_id=who.id, at=at, kind=kind, points=points, source="order"))
        found = loyalty.overview(s, ADMIN, now=now)
    assert found is not None
    assert found.members == 2 and found.liability_points == 6300
    assert found.liability_yuan == pytest.approx(6300 * 0.02)
    assert (found.earned_12m, found.redeemed_12m) == (1600, 300)
    assert found.redemption_rate == pytest.approx(300 / 1600)
    assert dict(zip(found.levels["level"], found.levels["members"])) == {"member": 1, "gold": 1}
