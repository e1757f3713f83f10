"""Leads kept by hand: each screening rule on hand-made leads (and switched off or changed by an administrator),
duplicates against customers and other leads (exact, by keyed hash) and names alike (a warning only), who may
add and work leads, every move through the stages, the period summaries after lead writes equal to a rebuild,
a leads file with contact details and campaigns screened like the form, and erasure and key rotation covering
the leads' contact details."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import facts, leads, models as m, pii
from core.access import SYSTEM, Viewer
from core.customer_changes import PossibleDuplicate
from core.db import session_scope, write
from core.errors import FieldErrors, NotFound, PermissionDenied, ValidationError
from core.ingest import batch
from core.ingest.fields import propose
from core.periods import Filters, period_containing
from core.store import protect_plaintext
from core.subjects import erase_customer
from tests import factories as f
from tests.conftest import TEST_KEYRING, TODAY

NOW = datetime(2026, 11, 20, 10, 0)
ADMIN = Viewer(None, "root", "Root", "admin")


@pytest.fixture
def shop(engine: Engine) -> dict[str, object]:
    """amy's customer 杭州云帆科技有限公司 (phone 13812345601), bob's customer (buyer@hengsheng.example), amy's
    open lead with phone 13900001111, the campaign "Fair"."""
    with session_scope(engine) as s:
        amy, bob, exe = f.user(s, "amy"), f.user(s, "bob"), f.user(s, "eve", "executive")
        mine = f.customer(s, owner=amy, became=date(2025, 3, 1), region="east")
        mine.name = "杭州云帆科技有限公司"
        mine.phone_enc = pii.encrypt("13812345601", TEST_KEYRING)
        mine.phone_hash = pii.search_hash("phone", "13812345601", TEST_KEYRING)
        theirs = f.customer(s, owner=bob, became=date(2024, 6, 1), region="east")
        theirs.email_hash = pii.search_hash("email", "buyer@hengsheng.example", TEST_KEYRING)
        known = f.lead(s, datetime(2026, 11, 2, 9), "new", owner=amy)
        known.company_name, known.phone_hash = "宁波老线索", pii.search_hash("phone", "13900001111", TEST_KEYRING)
        fair = m.Campaign(
            name="Fair",
            channel="event",
            starts_on=date(2026, 11, 1),
            ends_on=date(2026, 11, 30),
            cost=5000,
            holdout_percent=0,
            segment="{}",
            created_by="root",
            created_at=datetime(2026, 10, 1),
        )
        s.add(fair)
        s.flush()
        facts.rebuild_all(s, as_of=TODAY)
        return {
            "amy": Viewer(amy.id, "amy", "Amy", "account_manager"),
            "bob": Viewer(bob.id, "bob", "Bob", "account_manager"),
            "eve": Viewer(exe.id, "eve", "Eve", "executive"),
            "amy_id": amy.id,
            "bob_id": bob.id,
            "eve_id": exe.id,
            "mine": mine.id,
            "mine_code": mine.code,
            "theirs": theirs.id,
            "theirs_code": theirs.code,
            "known": known.id,
            "fair": fair.id,
        }


def form(**changes: object) -> leads.LeadForm:
    values: dict[str, object] = dict(
        company_name="宁波海天贸易有限公司",
        source_channel="trade_show",
        kind="B2B",
        industry="retail",
        region="east",
        contact_name="王海",
        phone="139 8888 7777",
        email="Info@HaiTian.example",
    )
    values.update(changes)
    return leads.LeadForm(**values)  # type: ignore[arg-type]


def add(engine: Engine, viewer: Viewer, lead_form: leads.LeadForm, *, now: datetime = NOW) -> leads.NewLead:
    return write(engine, lambda s: leads.create_lead(s, viewer, lead_form, keyring=TEST_KEYRING, now=now))


def row(engine: Engine, lead_id: int) -> m.Lead:
    with Session(engine) as s:
        found = s.get(m.Lead, lead_id)
        assert found is not None
        s.expunge(found)
        return found


def move(engine: Engine, viewer: Viewer, lead_id: int, to: str, seen: str, **options: object) -> int | None:
    return write(
        engine,
        lambda s: leads.move_lead(s, viewer, lead_id, to=to, seen_status=seen, keyring=TEST_KEYRING, **options),  # type: ignore[arg-type]
    )


def test_a_clean_lead_is_saved_new_with_its_contacts_encrypted(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    new = add(engine, shop["amy"], form(campaign_id=shop["fair"]))
    saved = row(engine, new.id)
    assert (new.reason, new.duplicate, saved.status, saved.screened) == (None, None, "new", False)
    assert saved.owner_id == shop["amy_id"] and saved.campaign_id == shop["fair"] and saved.created_at == NOW
    assert pii.decrypt(saved.phone_enc, TEST_KEYRING) == "13988887777" and "8888" not in (saved.phone_enc or "")
    assert pii.decrypt(saved.email_enc, TEST_KEYRING) == "info@haitian.example"
    assert saved.email_domain == "haitian.example"
    assert saved.phone_hash == pii.search_hash("phone", "13988887777", TEST_KEYRING)
    with Session(engine) as s:
        logged = s.execute(select(m.AuditLog).order_by(m.AuditLog.id.desc())).scalars().first()
        assert logged is not None and (logged.action, logged.object) == ("lead_created", f"lead:{new.id}")
        assert "7777" not in logged.details and "haitian" not in logged.details.casefold()  # no personal data
        shown = leads.lead(s, shop["eve"], new.id, keyring=TEST_KEYRING)  # an executive sees it masked
    assert shown["phone"] != "13988887777" and shown["campaign"] == "Fair" and shown["moves"] == leads.MOVES["new"]


def test_each_rule_catches_its_leads(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    cases = {
        "missing_contact": form(phone=None, email=None),
        "test_data": form(company_name="测试公司", phone="13700000001", email=None),
        "test_contact": form(contact_name="Test User", phone="13700000002", email=None),
        "blocked_domain": form(phone=None, email="boss@mailinator.com"),
        "blocked_subdomain": form(phone=None, email="boss@eu.mailinator.com"),
        "customer_phone": form(phone="+86 138-1234-5601", email=None),
        "hidden_customer": form(phone=None, email="BUYER@hengsheng.example"),
        "lead_phone": form(phone="139-0000-1111", email=None),
        "a_word_inside_a_word": form(company_name="Contest Trading Ltd", phone="13700000003", email=None),
    }
    found = {name: add(engine, shop["amy"], lead_form) for name, lead_form in cases.items()}
    assert {k: v.reason for k, v in found.items()} == {
        "missing_contact": "missing_contact",
        "test_data": "test_data",
        "test_contact": "test_data",
        "blocked_domain": "blocked_domain",
        "blocked_subdomain": "blocked_domain",
        "customer_phone": "duplicate",
        "hidden_customer": "duplicate",
        "lead_phone": "duplicate",
        "a_word_inside_a_word": None,  # "test" inside "Contest" is no test word
    }
    caught = row(engine, found["customer_phone"].id)
    assert (caught.status, caught.screened, caught.invalid_reason, caught.disqualified_at) == (
        "disqualified",
        True,
        "duplicate",
        NOW,
    )
    assert caught.duplicate_of_customer_id == shop["mine"] and caught.duplicate_of_lead_id is None
    assert found["customer_phone"].duplicate is not None
    assert (found["customer_phone"].duplicate.code, found["customer_phone"].duplicate.name) == (
        shop["mine_code"],
        "杭州云帆科技有限公司",
    )
    hidden = found["hidden_customer"].duplicate  # bob's customer: amy learns it exists, not who it is
    assert hidden is not None and (hidden.code, hidden.name) == (None, None)
    assert row(engine, found["lead_phone"].id).duplicate_of_lead_id == shop["known"]
    assert found["lead_phone"].duplicate is not None and found["lead_phone"].duplicate.code == f"#{shop['known']}"


def test_an_administrator_switches_and_changes_the_rules(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    write(engine, lambda s: leads.set_screen_rule(s, ADMIN, "test_data", enabled=False, now=NOW))
    write(
        engine,
        lambda s: leads.set_screen_rule(
            s, ADMIN, "blocked_domain", enabled=True, terms="@Spam.example\nspam.example\n\njunk.cn", now=NOW
        ),
    )
    with Session(engine) as s:
        rules = leads.screen_rules(s)
        assert rules["test_data"].enabled is False and rules["blocked_domain"].terms == ("spam.example", "junk.cn")
        assert rules["blocked_domain"].changed_by == "root" and rules["duplicate"].enabled
        assert s.scalar(select(func.count()).where(m.AuditLog.action == "lead_rule_changed")) == 2
    assert add(engine, shop["amy"], form(company_name="测试公司")).reason is None  # the rule is off now
    assert add(engine, shop["amy"], form(phone=None, email="a@mailinator.com")).reason is None  # no longer listed
    assert add(engine, shop["amy"], form(phone=None, email="a@x.junk.cn")).reason == "blocked_domain"
    with pytest.raises(FieldErrors) as err:
        write(engine, lambda s: leads.set_screen_rule(s, ADMIN, "blocked_domain", enabled=True, terms="not a domain"))
    assert err.value.errors["terms"][0] == "leads.error.domain"
    with pytest.raises(PermissionDenied):
        write(engine, lambda s: leads.set_screen_rule(s, shop["amy"], "duplicate", enabled=False))
    with pytest.raises(ValidationError):
        write(engine, lambda s: leads.set_screen_rule(s, ADMIN, "weather", enabled=True))
    with Session(engine) as s:
        assert leads.screen_rules(s)["duplicate"].enabled  # nothing of the refused changes was written


def test_a_name_alike_is_a_warning_never_a_filter(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    new = add(engine, shop["amy"], form(company_name="杭州云帆科技集团", phone="13600000009", email=None))
    assert new.reason is None and row(engine, new.id).status == "new"
    assert [(a.why, a.name) for a in new.alike] == [("name", "杭州云帆科技有限公司")]
    elsewhere = add(engine, shop["amy"], form(company_name="杭州云帆科技集团", region="north", phone="13600000010"))
    assert elsewhere.alike == []  # another region: another company


def test_who_may_add_leads_and_each_bad_field_is_named(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        add(engine, shop["eve"], form())
    assert row(engine, add(engine, shop["amy"], form(owner_id=shop["bob_id"])).id).owner_id == shop["amy_id"]
    assert (
        row(engine, add(engine, ADMIN, form(owner_id=shop["bob_id"], phone="13600000011")).id).owner_id
        == (shop["bob_id"])
    )
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(m.Lead))
    bad = form(
        company_name=" ",
        region=None,
        industry="mining",
        phone="12345",
        email="nobody",
        campaign_id=999,
        owner_id=shop["eve_id"],  # an executive owns no leads
    )
    with pytest.raises(FieldErrors) as err:
        add(engine, ADMIN, bad)
    assert set(err.value.errors) == {"company_name", "region", "industry", "phone", "email", "campaign_id", "owner_id"}
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Lead)) == before


def test_a_lead_moves_through_its_stages(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    amy = shop["amy"]
    first = add(engine, amy, form()).id
    move(engine, amy, first, "contacted", "new", now=NOW + timedelta(days=1))
    with pytest.raises(ValidationError) as stale:  # a screen that still says "new": someone moved it meanwhile
        move(engine, amy, first, "qualified", "new")
    assert stale.value.key == "leads.error.stale"
    move(engine, amy, first, "qualified", "contacted", now=NOW + timedelta(days=3))
    with pytest.raises(ValidationError) as back:
        move(engine, amy, first, "contacted", "qualified")
    assert back.value.key == "leads.error.move"
    with pytest.raises(FieldErrors) as hidden:  # bob's customer: not amy's to link
        move(engine, amy, first, "converted", "qualified", customer_code=shop["theirs_code"])
    assert set(hidden.value.errors) == {"customer_code"}
    linked = move(engine, amy, first, "converted", "qualified", customer_code=shop["mine_code"], now=NOW + timedelta(5))
    done = row(engine, first)
    assert linked == shop["mine"] and (done.status, done.converted_customer_id) == ("converted", shop["mine"])
    assert (done.contacted_at, done.qualified_at, done.converted_at) == (
        NOW + timedelta(days=1),
        NOW + timedelta(days=3),
        NOW + timedelta(days=5),
    )
    # straight from new to converted: a new customer made from the lead, its stages stamped on the way
    second = add(engine, amy, form(company_name="温州瓯江电器", phone="13500000001", email=None)).id
    made = move(engine, amy, second, "converted", "new", now=NOW + timedelta(days=2))
    with Session(engine) as s:
        customer = s.get(m.Customer, made)
        assert customer is not None and (customer.name, customer.owner_id, customer.acquisition_channel) == (
            "温州瓯江电器",
            shop["amy_id"],
            "trade_show",
        )
        assert customer.phone_hash == pii.search_hash("phone", "13500000001", TEST_KEYRING)
    assert row(engine, second).contacted_at == NOW + timedelta(days=2)
    # a lead whose company looks like a customer already in the store: the customer form's check, then confirmed
    third = add(engine, amy, form(company_name="杭州云帆科技集团", phone="13500000002", email=None)).id
    with pytest.raises(PossibleDuplicate):
        move(engine, amy, third, "converted", "new")
    assert row(engine, third).status == "new"  # nothing half-written
    assert move(engine, amy, third, "converted", "new", confirmed=True) is not None


def test_invalid_by_hand_and_reopened(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    amy = shop["amy"]
    lead_id = add(engine, amy, form()).id
    move(engine, amy, lead_id, "contacted", "new")
    with pytest.raises(FieldErrors) as err:
        move(engine, amy, lead_id, "disqualified", "contacted")
    assert set(err.value.errors) == {"reason"}
    move(engine, amy, lead_id, "disqualified", "contacted", reason="no_budget", now=NOW + timedelta(days=4))
    judged = row(engine, lead_id)
    assert (judged.status, judged.invalid_reason, judged.screened, judged.disqualified_at) == (
        "disqualified",
        "no_budget",
        False,
        NOW + timedelta(days=4),
    )
    move(engine, amy, lead_id, "reopen", "disqualified")
    back = row(engine, lead_id)
    assert (back.status, back.invalid_reason, back.disqualified_at) == ("contacted", None, None)  # where it had got
    caught = add(engine, amy, form(phone="13812345601", email=None)).id  # the rules' verdict, overruled by a person
    move(engine, amy, caught, "reopen", "disqualified")
    reopened = row(engine, caught)
    assert (reopened.status, reopened.screened, reopened.duplicate_of_customer_id) == ("new", False, None)
    with pytest.raises(NotFound):  # bob does not see amy's leads
        move(engine, shop["bob"], caught, "contacted", "new")
    with pytest.raises(PermissionDenied):
        move(engine, shop["eve"], caught, "contacted", "new")
    with Session(engine) as s:
        moves = s.scalars(select(m.AuditLog.details).where(m.AuditLog.action == "lead_moved")).all()
    assert [json.loads(d)["to"] for d in moves] == ["contacted", "disqualified", "contacted", "new"]


def test_the_period_summaries_after_lead_writes_equal_a_rebuild(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    amy = shop["amy"]
    kept = add(engine, amy, form()).id
    add(engine, amy, form(phone=None, email=None))  # screened out
    add(
        engine,
        ADMIN,
        form(region="north", industry="education", owner_id=shop["bob_id"], phone="13600000012", email=None),
    )
    move(engine, amy, kept, "converted", "new", customer_code=shop["mine_code"])
    with session_scope(engine) as s:
        november = {g: facts.summary_measures(s, period_containing(NOW.date(), g), Filters()) for g in ("M", "Q", "Y")}
        assert (november["M"]["leads_created"], november["M"]["leads_converted"]) == (4, 1)
        assert november["M"]["leads_disqualified"] == 1
        facts.rebuild_period_facts(s, as_of=TODAY)
        for grain, measures in november.items():
            period = period_containing(NOW.date(), grain)
            assert facts.summary_measures(s, period, Filters()) == pytest.approx(measures)
            assert facts.live_measures(s, period, Filters()) == pytest.approx(measures)


LEADS_FILE = (
    "线索编号,公司名称,联系人,手机,邮箱,线索来源,活动,创建日期,线索状态,类型,行业,区域,负责人,首次联系日期,无效原因\n"
    "L1,温州瓯江电器,陈一,135 0000 0001,,展会,Fair,2026-11-03,已联系,企业,零售,浙江,amy,2026-11-04,\n"
    "L2,杭州新客,李二,138 1234 5601,,官网,,2026-11-04,新线索,企业,零售,浙江,amy,,\n"  # amy's customer's phone
    "L3,无联系方式公司,,,,官网,,2026-11-05,新线索,企业,零售,浙江,amy,,\n"
    "L4,温州瓯江电器二部,陈一,13500000001,,展会,Fair,2026-11-06,新线索,企业,零售,浙江,amy,,\n"  # L1's phone again
    "L5,无名展会客户,,13500000005,,展会,Nowhere,2026-11-06,新线索,企业,零售,浙江,amy,,\n"  # no such campaign
    "L6,已确认公司,,,,转介绍,,2026-11-07,已确认,企业,零售,浙江,bob,2026-11-08,\n"  # a person judged it: kept
    "L7,没预算公司,,13500000007,,官网,,2026-11-07,无效,企业,零售,浙江,bob,,无预算\n"
)


def _import(engine: Engine, text: str) -> batch.Plan:
    data = text.encode()
    table = batch.read(data, kind="leads", file_name="leads.csv")
    mapping = propose("leads", table.header)
    return write(
        engine,
        lambda s: batch.run(
            s,
            SYSTEM,
            kind="leads",
            table=table,
            mapping=mapping,
            source="crm",
            keyring=TEST_KEYRING,
            file_name="leads.csv",
            data=data,
            today=TODAY,
            now=NOW,
        ),
    )


def test_a_leads_file_with_contacts_and_campaigns_is_screened_like_the_form(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    plan = _import(engine, LEADS_FILE)
    assert plan.counts == {"new": 6, "update": 0, "unchanged": 0, "duplicate": 0, "rejected": 1}
    assert [(r.line, r.key) for r in plan.rejected] == [(6, "import.reason.campaign")]
    with Session(engine) as s:
        got = {
            r.company_name: r
            for r in s.execute(select(m.Lead).where(m.Lead.created_at >= datetime(2026, 11, 3))).scalars()
        }
        assert got["温州瓯江电器"].campaign_id == shop["fair"] and got["温州瓯江电器"].status == "contacted"
        assert got["温州瓯江电器"].contacted_at == datetime(2026, 11, 4)
        assert pii.decrypt(got["温州瓯江电器"].phone_enc, TEST_KEYRING) == "13500000001"
        assert got["已确认公司"].qualified_at == datetime(2026, 11, 8)  # no date given: its contact's, not before
        verdicts = {name: (r.status, r.invalid_reason, r.screened) for name, r in got.items()}
    assert verdicts == {
        "温州瓯江电器": ("contacted", None, False),
        "杭州新客": ("disqualified", "duplicate", True),
        "无联系方式公司": ("disqualified", "missing_contact", True),
        "温州瓯江电器二部": ("disqualified", "duplicate", True),  # an earlier line of the same file
        "已确认公司": ("qualified", None, False),
        "没预算公司": ("disqualified", "no_budget", False),
    }
    again = _import(engine, LEADS_FILE)  # the rules' verdicts stand: nothing changed
    assert again.counts["unchanged"] == 6 and again.counts["update"] == 0


def test_a_leads_file_without_contact_columns_is_not_screened_for_them(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    plan = _import(
        engine,
        "线索编号,公司名称,线索来源,创建日期,线索状态,类型,行业,区域\nM1,宁波港贸,官网,2026-11-03,新线索,企业,零售,浙江\n",
    )
    assert plan.counts["new"] == 1
    with Session(engine) as s:
        assert s.scalar(select(m.Lead.status).where(m.Lead.company_name == "宁波港贸")) == "new"


def test_erasure_and_key_rotation_cover_the_leads_contacts(engine: Engine, shop) -> None:  # type: ignore[no-untyped-def]
    amy = shop["amy"]
    won = add(engine, amy, form(company_name="温州瓯江电器", phone="13500000001", email="chen@oujiang.example")).id
    customer = move(engine, amy, won, "converted", "new")
    again = add(engine, amy, form(company_name="瓯江电器(重复)", phone="13500000001", email=None)).id
    other = add(engine, amy, form(company_name="别家", phone="13500000099", email=None)).id
    rotated = pii.Keyring({"k1": b"k" * 32, "k2": b"n" * 32}, "k2", TEST_KEYRING.index_key)
    assert protect_plaintext(engine, rotated, rotate=True) >= 3
    assert pii.decrypt(row(engine, other).phone_enc, rotated) == "13500000099"
    assert row(engine, other).phone_enc.startswith("k2:")  # type: ignore[union-attr]
    write(
        engine,
        lambda s: erase_customer(s, viewer=ADMIN, keyring=rotated, customer_id=customer, reason="asked by letter"),
    )
    for lead_id in (won, again):
        gone = row(engine, lead_id)
        assert (gone.phone_enc, gone.email_enc, gone.phone_hash, gone.contact_name) == (None, None, None, None)
        assert "瓯江" not in gone.company_name
    assert row(engine, other).phone_hash is not None  # another person's lead is kept
    with Session(engine) as s:
        assert s.scalar(select(func.count()).where(m.AuditLog.action == "customer_erased")) == 1
