"""Complaints likely to escalate (core.service_escalation) on hand-made complaints: when each signal starts,
when the flag is raised, who is told (once), who sees the list, and the back-test's rates worked out by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core import models as m, service, service_escalation as esc
from core.access import Viewer
from core.customer_view import my_customers_tickets, task_title
from core.db import session_scope
from tests import factories as f

T0 = datetime(2026, 3, 2, 9)
LEAD = Viewer(None, "lead", "Lead", "team_lead")


def _complaint(s: Session, who: m.Customer, at: datetime, text: str = "Parcel late.", **kw: object) -> m.Ticket:
    t = f.ticket(s, who, at, **kw)  # type: ignore[arg-type]
    t.description = text
    s.flush()
    return t


def _tier(s: Session, who: m.Customer, tier: str) -> None:
    s.add(m.CustomerStat(customer_id=who.id, as_of=date(2026, 3, 1), tier=tier, lifecycle_stage="active"))


def test_escalation_words_in_both_languages_whole_english_words_only() -> None:
    assert esc.negative_words("我要投诉到12315，还要退款") == ("12315", "退款")
    assert esc.negative_words("This is UNACCEPTABLE, I want a Refund") == ("refund", "unacceptable")
    assert esc.negative_words("an issue with the tissue") == ()  # 'sue' only as a word
    assert esc.negative_words(None) == ()


def test_each_signal_starts_when_it_became_true_and_the_flag_needs_two(engine: Engine) -> None:
    with session_scope(engine) as s:
        amy = f.user(s, "amy")
        valued, plain, busy = (f.customer(s, owner=amy, became=date(2024, 1, 1)) for _ in range(3))
        _tier(s, valued, "high_value")
        _tier(s, plain, "general")
        a = _complaint(s, valued, T0, "I want a refund now.")  # words + valued at opening: flagged at once
        b = _complaint(s, plain, T0, "Refund please.")  # words only: not yet; re-opened 5 h later
        s.add(m.TicketEvent(ticket_id=b.id, at=T0 + timedelta(hours=5), to_status="accepted", action="reopen"))
        # two other tickets in the 30 days before (one of them 29 days before): repeat contacts at opening;
        # the first-response clock reached its warning point 3 h in: flagged then
        f.ticket(s, busy, T0 - timedelta(days=29), kind="inquiry")
        f.ticket(s, busy, T0 - timedelta(days=2), kind="inquiry")
        f.ticket(s, busy, T0 - timedelta(days=40), kind="inquiry")  # too old to count
        c = _complaint(s, busy, T0)
        s.add(
            m.TicketSla(
                ticket_id=c.id,
                metric="first_response",
                target_minutes=240,
                elapsed_minutes=0,
                state="at_risk",
                warn_at=T0 + timedelta(hours=3),
                due_at=T0 + timedelta(hours=4),
            )
        )
        d = _complaint(s, plain, T0, "This is an issue.")  # nothing: never flagged
        ids = [a.id, b.id, c.id, d.id]
    with Session(engine) as s:
        early = esc.flags(s, ids, now=T0 + timedelta(hours=2)).set_index("ticket")
        late = esc.flags(s, ids, now=T0 + timedelta(hours=6)).set_index("ticket")
    assert list(early.index) == [a.id]
    assert early.loc[a.id, "flagged_at"] == T0 and early.loc[a.id, "signals"] == ("negative_words", "valued_customer")
    assert sorted(late.index) == sorted([a.id, b.id, c.id])
    assert late.loc[b.id, "flagged_at"] == T0 + timedelta(hours=5)
    assert late.loc[b.id, "signals"] == ("reopened", "negative_words") and late.loc[b.id, "words"] == ("refund",)
    assert late.loc[c.id, "flagged_at"] == T0 + timedelta(hours=3)
    assert late.loc[c.id, "signals"] == ("repeat_contacts", "near_breach")


def test_the_team_lead_is_told_once_and_a_manager_sees_only_their_own(engine: Engine) -> None:
    with session_scope(engine) as s:
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        lead = f.user(s, "lena", role="team_lead")
        lead.team = "billing"
        mine, theirs = (
            f.customer(s, owner=amy, became=date(2024, 1, 1)),
            f.customer(s, owner=bob, became=date(2024, 1, 1)),
        )
        for who in (mine, theirs):
            _tier(s, who, "churn_risk")
        one = _complaint(s, mine, T0, "I will call my lawyer.")
        one.team = "billing"
        _complaint(s, theirs, T0, "Cancel my account, this is the worst.")
        closed = _complaint(s, mine, T0, "Refund!", closed=T0 + timedelta(hours=1))  # no longer open: not routed
        lead_id, amy_id, one_id, closed_id = lead.id, amy.id, one.id, closed.id
    with session_scope(engine) as s:
        service.tick(s, now=T0 + timedelta(hours=1))
        service.tick(s, now=T0 + timedelta(hours=2))  # the second tick tells nobody again
    with Session(engine) as s:
        tasks = s.execute(select(m.Task.ticket_id, m.Task.owner_id).where(m.Task.source == "escalation")).all()
        title = s.scalar(select(m.Task.title).where(m.Task.ticket_id == one_id, m.Task.source == "escalation"))
        events = s.scalars(select(m.TicketEvent.note).where(m.TicketEvent.action == "escalation_warning")).all()
        manager = Viewer(amy_id, "amy", "Amy", "account_manager")
        own = esc.open_flags(s, manager, now=T0 + timedelta(hours=2))
        everyone = esc.open_flags(s, LEAD, now=T0 + timedelta(hours=2))
        listed = my_customers_tickets(s, manager, now=T0 + timedelta(hours=2)).set_index("ticket")["escalation"]
    assert len(tasks) == 2 and (one_id, lead_id) in tasks and closed_id not in {t for t, _ in tasks}
    assert sorted(events) == ["negative_words,valued_customer"] * 2  # codes only, never the customer's words
    assert list(own["ticket"]) == [one_id] and len(everyone) == 2
    assert listed[one_id] == ("negative_words", "valued_customer")  # the manager's "my customers' tickets" too
    assert (
        task_title(str(title), "escalation", "zh") == f"可能升级：工单 #{one_id}"
    )  # the lead's list, in their language


def test_backtest_rates_worked_out_by_hand(engine: Engine) -> None:
    now = T0 + timedelta(days=90)  # complaints opened up to 60 days after T0 are judged
    with session_scope(engine) as s:
        amy = f.user(s, "amy")
        valued = [f.customer(s, owner=amy, became=date(2024, 1, 1)) for _ in range(4)]
        plain = [f.customer(s, owner=amy, became=date(2024, 1, 1)) for _ in range(6)]
        for who in valued:
            _tier(s, who, "high_value")
        # four flagged (valued + angry words): one complains again within 30 days, one rates CSAT 1 after the
        # flag, one is re-opened after the flag, one calms down
        flagged = [_complaint(s, who, T0, "Refund or I go to the media.") for who in valued]
        _complaint(s, valued[0], T0 + timedelta(days=10))
        flagged[1].csat, flagged[1].feedback_at = 1, T0 + timedelta(days=2)
        s.add(m.TicketEvent(ticket_id=flagged[2].id, at=T0 + timedelta(days=1), to_status="accepted", action="reopen"))
        # eight unflagged (valued[0]'s second complaint among them): one complains again 40 days later, outside
        # the window; one rates CSAT 2: 1 of 8
        calm = [_complaint(s, who, T0) for who in plain]
        _complaint(s, plain[0], T0 + timedelta(days=40))  # a complaint itself, judged too: nothing follows it
        calm[1].csat, calm[1].feedback_at = 2, T0 + timedelta(days=3)
        _complaint(s, plain[2], T0 + timedelta(days=75))  # too recent to judge
    with Session(engine) as s:
        result = esc.backtest(s, LEAD, now=now)
    assert (result.complaints, result.flagged, result.flagged_escalated) == (12, 4, 3)
    assert result.unflagged_escalated == 1
    assert result.precision == pytest.approx(3 / 4) and result.base_rate == pytest.approx(1 / 8)
    assert result.lift == pytest.approx((3 / 4) / (1 / 8))
    assert sorted(result.tickets["how"].dropna()) == ["complained_again", "low_csat", "reopen"]
