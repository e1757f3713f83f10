"""A new customer typed in by hand (checked like an import, duplicates flagged first) and hand-overs between
account managers (open tasks move, both owners' summaries restated and equal to a rebuild)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import customer_changes as cc, facts, models as m, pii
from core.access import Viewer
from core.db import session_scope, write
from core.errors import FieldErrors
from core.periods import Filters, period_containing
from tests import factories as f
from tests.conftest import TEST_KEYRING

NOW = datetime(2026, 11, 30, 10, 0)


@pytest.fixture
def shop(engine: Engine) -> dict[str, object]:
    with session_scope(engine) as s:
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        mine = f.customer(s, owner=amy, became=date(2025, 3, 1), region="east")
        mine.name = "杭州云帆科技有限公司"
        mine.phone_enc = pii.encrypt("13812345601", TEST_KEYRING)
        mine.phone_hash = pii.search_hash("phone", "13812345601", TEST_KEYRING)
        theirs = f.customer(s, owner=bob, became=date(2024, 6, 1), region="east")
        theirs.email_hash = pii.search_hash("email", "buyer@hengsheng.example", TEST_KEYRING)
        f.order(s, mine, date(2026, 10, 3), 500)
        f.order(s, theirs, date(2026, 10, 9), 700)
        s.flush()
        s.add_all(
            [
                m.Task(customer_id=mine.id, owner_id=amy.id, title="call back", due_date=NOW.date(), created_at=NOW),
                m.Task(
                    customer_id=mine.id,
                    owner_id=amy.id,
                    title="done one",
                    due_date=NOW.date(),
                    created_at=NOW,
                    done_at=NOW,
                ),
            ]
        )
        facts.rebuild_all(s, as_of=NOW.date())
        return {
            "amy": Viewer(amy.id, "amy", "Amy", "account_manager"),
            "bob_id": bob.id,
            "amy_id": amy.id,
            "mine": mine.id,
            "theirs": theirs.id,
            "admin": Viewer(None, "root", "Root", "admin"),
        }


def form(**changes: object) -> cc.CustomerForm:
    values: dict[str, object] = dict(
        name="宁波海天贸易有限公司",
        kind="B2B",
        industry="retail",
        region="east",
        acquisition_channel="referral",
        became_customer_date=date(2026, 11, 2),
        phone="139 8888 7777",
        email="Info@HaiTian.example",
    )
    values.update(changes)
    return cc.CustomerForm(**values)  # type: ignore[arg-type]


def _count(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(m.Customer)) or 0)


def test_an_account_manager_adds_their_own_customer(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    new_id = write(engine, lambda s: cc.create_customer(s, shop["amy"], form(), keyring=TEST_KEYRING, now=NOW))
    with Session(engine) as s:
        row = s.get(m.Customer, new_id)
        assert row is not None and row.owner_id == shop["amy_id"] and row.status == "active" and row.code == "C0000001"
        assert pii.decrypt(row.email_enc, TEST_KEYRING) == "info@haitian.example" and row.phone_hash == pii.search_hash(
            "phone", "13988887777", TEST_KEYRING
        )
        assert (
            s.scalar(select(m.CustomerStat.name).where(m.CustomerStat.customer_id == new_id)) == "宁波海天贸易有限公司"
        )
        november = period_containing(date(2026, 11, 1), "M")
        refreshed = facts.summary_measures(s, november, Filters())
        assert refreshed["new_customers"] == 1
        facts.rebuild_period_facts(s, as_of=NOW.date())
        assert facts.summary_measures(s, november, Filters()) == pytest.approx(refreshed)
        assert s.scalar(select(m.AuditLog.action).order_by(m.AuditLog.id.desc())) == "customer_created"


def test_each_bad_field_is_named_and_nothing_is_written(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    before = _count(engine)
    bad = form(
        name=" ",
        region=None,
        industry="mining",
        phone="12345",
        email="nobody",
        became_customer_date=NOW.date() + timedelta(days=3),
    )
    with pytest.raises(FieldErrors) as err:
        write(engine, lambda s: cc.create_customer(s, shop["amy"], bad, keyring=TEST_KEYRING, now=NOW))
    assert set(err.value.errors) == {"name", "region", "industry", "phone", "email", "became_customer_date"}
    assert _count(engine) == before


def test_a_possible_duplicate_is_flagged_first_and_saved_when_confirmed(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    same_phone = form(name="另一家公司", phone="+86 138-1234-5601")
    with pytest.raises(cc.PossibleDuplicate) as err:
        write(engine, lambda s: cc.create_customer(s, shop["amy"], same_phone, keyring=TEST_KEYRING, now=NOW))
    assert [(x.why, x.name) for x in err.value.matches] == [("phone", "杭州云帆科技有限公司")]
    similar = form(name="杭州云帆科技集团", phone=None, email=None)  # the same company, another legal form
    with Session(engine) as s:
        assert [x.why for x in cc.possible_duplicates(s, shop["amy"], similar, TEST_KEYRING)] == ["name"]
        elsewhere = cc.possible_duplicates(s, shop["amy"], form(email="buyer@hengsheng.example"), TEST_KEYRING)
    assert [(x.why, x.code, x.name) for x in elsewhere] == [("email", None, None)]  # bob's: not shown to amy
    before = _count(engine)
    write(
        engine, lambda s: cc.create_customer(s, shop["amy"], same_phone, keyring=TEST_KEYRING, confirmed=True, now=NOW)
    )
    assert _count(engine) == before + 1


def test_a_hand_over_moves_open_tasks_and_restates_both_owners(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    october = period_containing(date(2026, 10, 1), "M")
    moved = write(
        engine,
        lambda s: cc.hand_over(
            s, shop["admin"], [shop["mine"]], to_owner_id=shop["bob_id"], reason="Amy moves to the north team", now=NOW
        ),
    )
    assert moved == 1
    with session_scope(engine) as s:
        tasks = dict(s.execute(select(m.Task.title, m.Task.owner_id)).all())
        assert tasks == {"call back": shop["bob_id"], "done one": shop["amy_id"]}
        amy = facts.summary_measures(s, october, Filters(owner_ids=(shop["amy_id"],)))
        bob = facts.summary_measures(s, october, Filters(owner_ids=(shop["bob_id"],)))
        assert amy["revenue"] == 0 and bob["revenue"] == pytest.approx(1200)  # restated: history moves along
        facts.rebuild_period_facts(s, as_of=NOW.date())
        assert facts.summary_measures(s, october, Filters(owner_ids=(shop["bob_id"],))) == pytest.approx(bob)
        details = s.scalar(select(m.AuditLog.details).where(m.AuditLog.action == "customers_handed_over"))
        assert details is not None and "north team" in details
    with pytest.raises(FieldErrors) as err:
        write(engine, lambda s: cc.hand_over(s, shop["admin"], [shop["mine"]], to_owner_id=-5, reason="no"))
    assert set(err.value.errors) == {"reason", "to_owner_id"}


def test_an_administrator_corrects_a_region_and_both_regions_are_restated(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    october = period_containing(date(2026, 10, 1), "M")
    changed = write(
        engine,
        lambda s: cc.change_dimensions(
            s,
            shop["admin"],
            shop["mine"],
            region="north",
            industry="retail",
            kind="B2B",
            reason="moved office",
            now=NOW,
        ),
    )
    assert changed == ["region"]
    with session_scope(engine) as s:
        east = facts.summary_measures(s, october, Filters(regions=("east",)))
        north = facts.summary_measures(s, october, Filters(regions=("north",)))
        assert east["revenue"] == pytest.approx(700) and north["revenue"] == pytest.approx(500)
        facts.rebuild_period_facts(s, as_of=NOW.date())
        assert facts.summary_measures(s, october, Filters(regions=("north",))) == pytest.approx(north)
        assert facts.summary_measures(s, october, Filters(regions=("east",))) == pytest.approx(east)
    with pytest.raises(FieldErrors) as err:
        write(
            engine,
            lambda s: cc.change_dimensions(
                s, shop["admin"], shop["mine"], region="mars", industry="retail", kind="B2B", reason="x"
            ),
        )
    assert set(err.value.errors) == {"region", "reason"}
