"""The write paths: each form saves in one transaction, refuses bad fields one by one, respects scope and
double submission, and the figures it feeds (summaries, list columns, 360° view) change at once."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import activity, clock, customer_view as cv, facts, models as m, pii
from core.access import Viewer
from core.activity import InteractionForm, NpsForm, ProfileForm, TicketForm
from core.db import make_engine, migrate, session_scope
from core.errors import AlreadySubmitted, Conflict, FieldErrors, PermissionDenied
from core.periods import Filters, period_containing
from tests import factories as f
from tests.conftest import TEST_KEYRING

NOW = clock.now().replace(microsecond=0)
TABLES = (m.Interaction, m.Task, m.Ticket, m.TicketEvent, m.NpsResponse, m.FormSubmission, m.AuditLog)


@pytest.fixture
def world(engine: Engine) -> dict[str, object]:
    with session_scope(engine) as s:
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        mine = f.customer(s, owner=amy, became=date(2024, 3, 1))
        theirs = f.customer(s, owner=bob, became=date(2024, 3, 1), region="north")
        mine.phone_enc = pii.encrypt("13812345678", TEST_KEYRING)
        f.order(s, mine, NOW.date() - timedelta(days=30), 100)
        s.flush()
        facts.rebuild_all(s, as_of=NOW.date())
        return {
            "amy": Viewer(amy.id, "amy", "Amy", "account_manager"),
            "mine": mine.id,
            "theirs": theirs.id,
            "admin": Viewer(None, "root", "Root", "admin"),
        }


def counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as s:
        return {t.__tablename__: s.scalar(select(func.count()).select_from(t)) for t in TABLES}


def good_interaction(customer_id: int, **changes: object) -> InteractionForm:
    values = dict(
        customer_id=customer_id,
        channel="phone",
        direction="outbound",
        occurred_at=NOW - timedelta(hours=1),
        subject="Quarterly review",
        notes="Wants a discount",
        outcome="follow_up",
        duration_minutes=25,
        follow_up=NOW.date() + timedelta(days=7),
    )
    values.update(changes)
    return InteractionForm(**values)  # type: ignore[arg-type]


def test_an_interaction_with_a_follow_up_creates_a_task_and_shows_at_once(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    amy = world["amy"]
    with session_scope(engine) as s:
        new_id = activity.log_interaction(s, amy, good_interaction(world["mine"]), token="tok-1", now=NOW)
    with Session(engine) as s:
        timeline = cv.timeline(s, amy, world["mine"])
        assert timeline.iloc[0]["kind"] == "interaction" and timeline.iloc[0]["ref"] == new_id
        tasks = cv.my_open_tasks(s, amy, today=NOW.date())
        assert list(tasks["title"]) == ["Quarterly review"] and tasks.iloc[0]["due_date"] == NOW.date() + timedelta(
            days=7
        )
        last = s.scalar(select(m.CustomerStat.last_contact_at).where(m.CustomerStat.customer_id == world["mine"]))
        assert last == NOW - timedelta(hours=1)  # the list's "last contact" column, without a rebuild
        assert s.scalar(select(m.AuditLog.action).order_by(m.AuditLog.id.desc())) == "interaction_logged"
    with session_scope(engine) as s:
        activity.complete_task(s, amy, int(tasks.iloc[0]["task"]), now=NOW)
    with Session(engine) as s:
        assert cv.my_open_tasks(s, amy, today=NOW.date()).empty


@pytest.mark.parametrize(
    "change, field, key",
    [
        ({"channel": "pigeon"}, "channel", "form.error.choice"),
        ({"direction": "sideways"}, "direction", "form.error.choice"),
        ({"occurred_at": NOW + timedelta(hours=2)}, "occurred_at", "form.error.future"),
        ({"occurred_at": datetime(2020, 1, 1)}, "occurred_at", "form.error.before_first_contact"),
        ({"subject": "   "}, "subject", "form.error.required"),
        ({"subject": "x" * 201}, "subject", "form.error.too_long"),
        ({"duration_minutes": -5}, "duration_minutes", "form.error.range"),
        ({"follow_up": NOW.date() - timedelta(days=1)}, "follow_up", "form.error.follow_up"),
        ({"outcome": "great"}, "outcome", "form.error.choice"),
    ],
)
def test_each_invalid_interaction_field_is_named_and_nothing_is_written(sqlite_url: str, change, field, key) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(sqlite_url)
    migrate(engine)
    with session_scope(engine) as s:
        owner = f.user(s, "amy")
        customer = f.customer(s, owner=owner, became=date(2024, 3, 1))
        viewer = Viewer(owner.id, "amy", "Amy", "account_manager")
    before = counts(engine)
    with pytest.raises(FieldErrors) as err, session_scope(engine) as s:
        activity.log_interaction(s, viewer, good_interaction(customer.id, **change), token="t", now=NOW)
    assert err.value.errors == {field: (key, err.value.errors[field][1])}
    assert counts(engine) == before


def test_scope_roles_and_double_submission(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    amy = world["amy"]
    before = counts(engine)
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        activity.log_interaction(s, amy, good_interaction(world["theirs"]), now=NOW)  # not her customer
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        activity.record_nps(
            s, Viewer(None, "ex", "Ex", "executive"), NpsForm(world["mine"], 9, NOW, "post_purchase"), now=NOW
        )
    assert counts(engine) == before
    with session_scope(engine) as s:
        activity.log_interaction(s, amy, good_interaction(world["mine"], follow_up=None), token="same", now=NOW)
    with pytest.raises(AlreadySubmitted), session_scope(engine) as s:
        activity.log_interaction(s, amy, good_interaction(world["mine"], follow_up=None), token="same", now=NOW)
    after = counts(engine)
    assert after["interactions"] == before["interactions"] + 1 and after["form_submissions"] == 1


def test_a_ticket_starts_its_clocks_and_counts_in_the_cockpit_at_once(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    amy, month = world["amy"], period_containing(NOW.date(), "M")
    with Session(engine) as s:
        before = facts.summary_measures(s, month, Filters())["complaints_created"]
    with session_scope(engine) as s:
        ticket_id = activity.create_ticket(
            s,
            amy,
            TicketForm(world["mine"], "complaint", "billing", "urgent", "phone", "Charged twice this month"),
            token="t1",
            now=NOW,
        )
    with Session(engine) as s:
        ticket = s.get(m.Ticket, ticket_id)
        assert ticket is not None and ticket.status == "new"
        assert ticket.first_response_due == NOW + timedelta(hours=1) and ticket.resolution_due == NOW + timedelta(
            hours=8
        )
        assert facts.summary_measures(s, month, Filters())["complaints_created"] == before + 1
        assert facts.summary_measures(s, month, Filters()) == facts.live_measures(s, month, Filters())
        open_ = cv.open_tickets(s, amy, world["mine"], now=NOW + timedelta(minutes=50))
        assert list(open_["first_response"]) == ["at_risk"] and list(open_["resolution"]) == ["running"]
    with session_scope(engine) as s:  # the clocks breach: the engine writes its own events on the ticket
        from core import service

        service.tick(s, now=NOW + timedelta(hours=9))
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.TicketEvent).where(m.TicketEvent.action.like("sla%"))) >= 2
        events = cv.timeline(s, amy, world["mine"], kinds=("ticket",))  # one row per step taken, not per SLA event
        assert list(events["labels"]) == [
            (
                ("ticket_kind", "complaint"),
                ("category", "billing"),
                ("service.event", "created"),
                ("ticket_status", "new"),
            )
        ]
        assert list(events["detail"]) == ["Charged twice this month"]  # the description on the opening row...
        assert len(cv.timeline(s, amy, world["mine"], text="twice this")) == 1  # ...and found by the search
    with pytest.raises(FieldErrors) as err, session_scope(engine) as s:
        activity.create_ticket(
            s, amy, TicketForm(world["mine"], "complaint", "weather", "asap", "phone", "no"), now=NOW
        )
    assert set(err.value.errors) == {"category", "priority", "description"}


def test_an_offline_nps_answer_updates_its_month_and_the_latest_score(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    amy = world["amy"]
    answered = NOW - timedelta(days=40)
    month = period_containing(answered.date(), "M")
    with session_scope(engine) as s:
        activity.record_nps(s, amy, NpsForm(world["mine"], 3, answered, "post_service", "Too slow"), now=NOW)
    with Session(engine) as s:
        measures = facts.summary_measures(s, month, Filters())
        assert measures["nps_responses"] == 1 and measures["nps_detractors"] == 1
        assert measures == facts.live_measures(s, month, Filters())
        assert s.scalar(select(m.CustomerStat.latest_nps_score).where(m.CustomerStat.customer_id == world["mine"])) == 3
    with pytest.raises(FieldErrors) as err, session_scope(engine) as s:
        activity.record_nps(s, amy, NpsForm(world["mine"], 11, NOW - timedelta(days=400), "street"), now=NOW)
    assert set(err.value.errors) == {"score", "responded_at", "touchpoint"}


def test_profile_edit_validates_refuses_a_stale_form_and_masks_for_an_admin(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    amy, admin = world["amy"], world["admin"]
    with Session(engine) as s:
        seen = activity.current_profile(s, amy, world["mine"], TEST_KEYRING)
        assert seen.phone == "13812345678"
        assert activity.current_profile(s, admin, world["mine"], TEST_KEYRING).phone == "138****5678"
    bad = ProfileForm(world["mine"], "", None, "huge", "a" * 40, "12", "not-mail")
    with pytest.raises(FieldErrors) as err, session_scope(engine) as s:
        activity.update_profile(s, amy, bad, seen=seen, keyring=TEST_KEYRING)
    assert set(err.value.errors) == {"name", "company_size", "tags", "phone", "email"}
    good = ProfileForm(world["mine"], "Acme Renamed", "Suzhou", "large", "VIP, wechat，vip", "13812345678", "a@b.cn")
    with session_scope(engine) as s:
        changed = activity.update_profile(s, amy, good, seen=seen, keyring=TEST_KEYRING)
    assert changed == ["name", "city", "company_size", "tags", "email"]
    with Session(engine) as s:
        row = s.get(m.Customer, world["mine"])
        assert (
            row is not None
            and row.tags == "vip,wechat"
            and row.email_hash == pii.search_hash("email", "a@b.cn", TEST_KEYRING)
        )
        assert (
            s.scalar(select(m.CustomerStat.name).where(m.CustomerStat.customer_id == world["mine"])) == "Acme Renamed"
        )
        details = s.scalar(select(m.AuditLog.details).where(m.AuditLog.action == "customer_updated"))
        assert details is not None and "a@b.cn" not in details  # field names only, never personal values
    with pytest.raises(Conflict), session_scope(engine) as s:  # the first form's view is now stale
        activity.update_profile(s, amy, good, seen=seen, keyring=TEST_KEYRING)


def test_task_counts_are_counted_in_the_database_not_capped_by_the_list(engine: Engine, world) -> None:  # type: ignore[no-untyped-def]
    today = NOW.date()
    with session_scope(engine) as s:
        amy_id = s.scalar(select(m.User.id).where(m.User.username == "amy"))
        for i in range(207):  # 205 overdue, 2 due later; one more done, not counted
            s.add(
                m.Task(
                    customer_id=world["mine"],
                    owner_id=amy_id,
                    title=f"call {i}",
                    created_at=NOW,
                    due_date=today - timedelta(days=1 + i) if i < 205 else today + timedelta(days=3),
                )
            )
        s.add(
            m.Task(
                customer_id=world["mine"], owner_id=amy_id, title="done", created_at=NOW, due_date=today, done_at=NOW
            )
        )
    amy = Viewer(amy_id, "amy", "Amy", "account_manager")
    with Session(engine) as s:
        assert cv.open_task_counts(s, amy, today=today) == cv.TaskCounts(open=207, overdue=205)
        assert len(cv.my_open_tasks(s, amy, today=today)) == 200  # the list shows the first ones by due date
        other = Viewer(None, "zed", "Zed", "account_manager")
        assert cv.open_task_counts(s, other, today=today) == cv.TaskCounts(open=0, overdue=0)


HOSTILE = [  # (form, field, value): each must be refused under its field, in both languages, writing nothing
    ("interaction", "subject", "call\x00me"),
    ("interaction", "subject", "line\nbreak"),
    ("interaction", "subject", "x" * 100_000),
    ("interaction", "notes", "bell\x07"),
    ("interaction", "duration_minutes", float("nan")),
    ("interaction", "duration_minutes", 12.5),
    ("interaction", "duration_minutes", True),
    ("interaction", "duration_minutes", 99_999),
    ("ticket", "description", "nul\x00byte here"),
    ("ticket", "description", "y" * 4001),
    ("nps", "score", 7.5),
    ("nps", "score", float("inf")),
    ("nps", "score", "9"),
    ("nps", "comment", "\x1b[31m red"),
    ("profile", "name", "evil\x00name"),
    ("profile", "name", "z" * 201),
    ("profile", "phone", "call-me-maybe1"),
    ("profile", "phone", "+86 138 0000 0000 ext. 7"),
    ("profile", "email", "a@b.c\x00"),
    ("profile", "city", "tab\there"),
]


@pytest.mark.parametrize("form, field, value", HOSTILE, ids=[f"{f}-{n}-{i}" for i, (f, n, _) in enumerate(HOSTILE)])
def test_hostile_form_input_is_refused_under_its_field(
    engine: Engine,
    world,
    form: str,
    field: str,  # type: ignore[no-untyped-def]
    value: object,
) -> None:
    from core.i18n import catalog

    amy, customer = world["amy"], world["mine"]
    before = counts(engine)
    with pytest.raises(FieldErrors) as refused, session_scope(engine) as s:
        if form == "interaction":
            activity.log_interaction(s, amy, good_interaction(customer, **{field: value}), now=NOW)
        elif form == "ticket":
            activity.create_ticket(
                s, amy, TicketForm(customer, "complaint", "billing", "normal", "phone", value), now=NOW
            )  # type: ignore[arg-type]
        elif form == "nps":
            fields = {"score": 8, "comment": "fine", field: value}
            activity.record_nps(
                s,
                amy,
                NpsForm(
                    customer,
                    fields["score"],
                    NOW - timedelta(days=1),
                    "post_service",  # type: ignore[arg-type]
                    fields["comment"],
                ),
                now=NOW,
            )
        else:
            seen = activity.current_profile(s, amy, customer, TEST_KEYRING)
            wanted = ProfileForm(**{**seen.__dict__, field: value})
            activity.update_profile(s, amy, wanted, seen=seen, keyring=TEST_KEYRING)
    key, _ = refused.value.errors[field]
    assert key in catalog("en") and key in catalog("zh")
    assert counts(engine) == before
