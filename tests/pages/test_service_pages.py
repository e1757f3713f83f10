"""The Service and Voice pages through AppTest: the workflow as the roles that may and may not act."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from core import activity, clock, models as m, service, service_escalation as escalation
from core.access import SYSTEM
from core.activity import TicketForm
from core.db import make_engine, session_scope
from core.service import Step
from tests.pages.helpers import complaint_likely_to_escalate, signed_in


def _new_ticket(url: str) -> int:
    engine = make_engine(url)
    with session_scope(engine) as s:
        customer = s.scalar(select(m.Ticket.customer_id).order_by(m.Ticket.id))  # a customer agents may see
        return activity.create_ticket(
            s,
            SYSTEM,
            TicketForm(customer, "complaint", "billing", "high", "phone", "Invoice charged twice"),
            now=clock.now(),
        )


def _ticket_page(monkeypatch: pytest.MonkeyPatch, url: str, user: str, ticket: int) -> AppTest:
    at = signed_in(monkeypatch, url, user, ticket=str(ticket))
    at.switch_page("views/service.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _status(url: str, ticket: int) -> str:
    with Session(make_engine(url)) as s:
        return str(s.scalar(select(m.Ticket.status).where(m.Ticket.id == ticket)))


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_an_agent_works_a_complaint_through_the_four_steps(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    ticket = _new_ticket(seeded_url)
    at = _ticket_page(monkeypatch, seeded_url, "agent", ticket)
    assert any(f"#{ticket}" in h.value for h in at.subheader)
    _click(at, "Accept (受理)")
    assert _status(seeded_url, ticket) == "accepted" and not at.exception
    at.segmented_control(key=f"step_{ticket}").set_value("analyse").run()
    _click(at, "Analyse (分析)")  # nothing filled in: each field says why, nothing is saved
    assert any("At least 5 characters" in e.value for e in at.error) and any("Pick one" in e.value for e in at.error)
    assert _status(seeded_url, ticket) == "accepted"
    next(t for t in at.text_area if t.label == "Findings").input("The billing run charged twice")
    next(s for s in at.selectbox if s.label == "Root cause").select("process")
    _click(at, "Analyse (分析)")
    assert _status(seeded_url, ticket) == "analysing"
    at.segmented_control(key=f"step_{ticket}").set_value("resolve").run()
    next(t for t in at.text_area if t.label == "Resolution").input("Refunded the second charge")
    _click(at, "Resolve (解决)")
    assert _status(seeded_url, ticket) == "resolved"
    at.segmented_control(key=f"step_{ticket}").set_value("feedback").run()
    next(r for r in at.radio if r.label == "Satisfaction (1–5)").set_value(5)
    _click(at, "Feedback (反馈)")
    assert _status(seeded_url, ticket) == "closed" and not at.exception
    assert at.segmented_control(key=f"step_{ticket}").options == ["Re-open"]  # the one step left on a closed ticket


def test_the_second_agent_is_told_to_reload(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    ticket = _new_ticket(seeded_url)
    at = _ticket_page(monkeypatch, seeded_url, "agent", ticket)
    with session_scope(make_engine(seeded_url)) as s:  # another agent accepts while this page is open
        other = s.scalar(select(m.User.id).where(m.User.username == "agent2"))
        version = int(s.scalar(select(m.Ticket.version).where(m.Ticket.id == ticket)) or 0)
        service.act(s, service_viewer(other), Step(ticket, "accept", version))
    _click(at, "Accept (受理)")
    assert any("changed by someone else" in e.value for e in at.error)


def service_viewer(user_id: int | None):  # type: ignore[no-untyped-def]
    from core.access import Viewer

    return Viewer(user_id, "agent2", "Agent 2", "support_agent")


def test_read_only_roles_see_no_steps_and_managers_no_desk(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    ticket = _new_ticket(seeded_url)
    at = _ticket_page(monkeypatch, seeded_url, "executive", ticket)
    assert any(f"#{ticket}" in h.value for h in at.subheader)
    assert not [b for b in at.button if b.label == "Accept (受理)"]
    at = signed_in(monkeypatch, seeded_url, "manager1")
    at.switch_page("views/service.py")
    at.run()
    assert any("access" in e.value for e in at.error)


def test_the_analytics_and_voice_pages_render(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    angry = complaint_likely_to_escalate(seeded_url)
    at = signed_in(monkeypatch, seeded_url, "lead")
    at.switch_page("views/service.py")
    at.run()
    assert not at.exception, at.exception
    assert not at.metric  # the queue is open: the analytics are not computed behind it
    at.toggle(key="t_escalating").set_value(True).run()  # the queue: only complaints likely to escalate
    queue = at.dataframe(key="queue").value
    assert angry in set(queue["ticket"]) and all(queue["escalation"].str.len() > 0)
    assert "re-opened" in queue.set_index("ticket").loc[angry, "escalation"]
    at.session_state["service_tab_en"] = "Analytics"
    at.run()
    assert {"Complaint resolution rate", "Re-open rate"} <= {x.label for x in at.metric}
    assert not any("Resolved" in d.value.columns for d in at.dataframe)  # other sections wait until opened
    at.session_state["sa_section_en"] = "Escalation warnings"
    at.run()
    shown = {x.label: x.value for x in at.metric}  # the escalation back-test, as core computes it
    with Session(make_engine(seeded_url)) as s:
        judged = escalation.backtest(s, SYSTEM, now=clock.now())
    assert shown["Complaints judged"] == f"{judged.complaints:,}" and shown["Flagged"] == f"{judged.flagged:,}"
    at.session_state["sa_section_en"] = "Agents and teams"
    at.run()
    agents = next(d.value for d in at.dataframe if "Resolved" in d.value.columns)  # agent and team performance
    assert {"Agent", "First response met (%)", "CSAT", "Re-opened (%)"} <= set(agents.columns)
    assert agents["Resolved"].sum() > 0 and agents["Resolved"].is_monotonic_decreasing
    at.segmented_control(key="perf_by").set_value("team").run()
    teams = next(d.value for d in at.dataframe if "Resolved" in d.value.columns)
    assert "Team" in teams.columns and teams["Resolved"].sum() == agents["Resolved"].sum()
    at.session_state["sa_section_en"] = "Bottlenecks"
    at.run()
    steps = next(d.value for d in at.dataframe if "waiting_to_accept" in d.value.columns)  # bottlenecks
    assert steps["tickets"].sum() > 0 and steps["waiting_to_accept"].notna().any()
    assert any("Median now (h)" in d.value.columns for d in at.dataframe)  # which step grew
    at.segmented_control(key="sa_period").set_value("custom").run()  # a chosen period
    assert not at.exception and at.date_input(key="sa_range") is not None
    at.session_state["service_tab_en"] = "Queue"
    at.run()
    at.multiselect(key="t_team").set_value(["Service"]).run()  # the queue's team filter, kept in the URL
    assert not at.exception and at.query_params["t_team"] in ("Service", ["Service"])
    at.switch_page("views/voice.py")
    at.run()
    assert not at.exception, at.exception
    assert at.dataframe and not at.metric  # NPS by segment, CSAT by category; the other sections wait
    at.session_state["voice_section_en"] = "Comments and keywords"
    at.run()
    keyword_tables = [d.value for d in at.dataframe if "keyword" in d.value.columns]
    assert len(keyword_tables) == 2 and len(keyword_tables[1]) > 0  # detractors' words, complaints' words
    at.selectbox(key="complaint_category").set_value("delivery").run()
    assert not at.exception
    at.session_state["voice_section_en"] = "Closed loop"
    at.run()
    assert {"Follow-ups created"} <= {x.label for x in at.metric}


def test_an_admin_changes_and_adds_policies_from_the_page(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = signed_in(monkeypatch, seeded_url, "admin")
    at.switch_page("views/service.py")
    at.run()
    assert not at.exception, at.exception
    at.session_state["service_tab_en"] = "SLA policies"
    at.run()
    assert any(b.label == "Save calendar" for b in at.button)
    next(b for b in at.button if b.label == "Load mainland China 2025–2026").click().run()  # the shipped 调休
    assert any(x.value.startswith("Imported 13 holiday ranges and 11 make-up") for x in at.success), at.error
    assert not at.exception
    made_up = next(a for a in at.text_area if a.label == "Make-up working days (调休)")
    assert "2026-09-20 国庆节" in made_up.value and "2026-10-10 国庆节" in made_up.value
    picker = at.selectbox(key="policy_pick")
    chosen = picker.options[1]
    picker.select_index(1).run()
    resolution = next(n for n in at.number_input if n.label == "Resolution")
    resolution.set_value(-5)
    next(b for b in at.button if b.label == "Save a new version").click().run()
    assert any("Must be more than zero" in e.value for e in at.error)  # refused, under its field
    next(n for n in at.number_input if n.label == "Resolution").set_value(600)
    next(b for b in at.button if b.label == "Save a new version").click().run()
    assert any("Saved as version" in x.value for x in at.success), [e.value for e in at.error]
    policy_id = int(str(chosen).split(" · ")[0])
    with Session(make_engine(seeded_url)) as s:
        assert s.scalar(select(m.SlaPolicy.valid_to).where(m.SlaPolicy.id == policy_id)) is not None  # old version ends
        assert s.scalar(select(m.SlaPolicy.resolution_minutes).where(m.SlaPolicy.replaces_id == policy_id)) == 600
    at.selectbox(key="policy_pick").select_index(0).run()  # a new policy
    next(b for b in at.button if b.label == "Save a new version").click().run()
    assert any("Required" in e.value for e in at.error)  # no name, no target
    next(t for t in at.text_input if t.label == "Name").input("VIP billing")
    next(n for n in at.number_input if n.label == "First response").set_value(30)
    next(b for b in at.button if b.label == "Save a new version").click().run()
    with Session(make_engine(seeded_url)) as s:
        assert s.scalar(select(m.SlaPolicy.first_response_minutes).where(m.SlaPolicy.name == "VIP billing")) == 30


def test_the_other_steps_through_the_page(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    """Customer message, reply, waiting and the customer's reply, resolve, close without feedback, re-open."""
    ticket = _new_ticket(seeded_url)
    at = _ticket_page(monkeypatch, seeded_url, "lead", ticket)
    steps = [
        ("customer_message", "Log customer message", "new"),
        ("agent_reply", "Log reply", "new"),
        ("accept", "Accept (受理)", "accepted"),
        ("wait", "Wait on customer", "waiting"),
        ("customer_reply", "Customer replied", "accepted"),
    ]
    for action, button, status in steps:
        at.segmented_control(key=f"step_{ticket}").set_value(action).run()
        _click(at, button)
        assert not at.exception and _status(seeded_url, ticket) == status, (action, [e.value for e in at.error])
    at.segmented_control(key=f"step_{ticket}").set_value("resolve").run()
    next(t for t in at.text_area if t.label == "Resolution").input("Explained the invoice")
    _click(at, "Resolve (解决)")
    at.segmented_control(key=f"step_{ticket}").set_value("close").run()
    _click(at, "Close without feedback")
    assert _status(seeded_url, ticket) == "closed"
    at.segmented_control(key=f"step_{ticket}").set_value("reopen").run()
    _click(at, "Re-open")  # not confirmed: refused with a message, nothing saved
    assert _status(seeded_url, ticket) == "closed" and any("Tick the confirmation" in e.value for e in at.error)
    at.checkbox(key=f"reopen_{ticket}").check()
    _click(at, "Re-open")
    assert _status(seeded_url, ticket) == "accepted"
    with Session(make_engine(seeded_url)) as s:
        row = s.get(m.Ticket, ticket)
        assert row is not None and row.reopened == 1 and row.first_response_at is not None
    offered = at.segmented_control(key=f"step_{ticket}").options  # only what the status allows
    assert "Re-open" not in offered and "Resolve (解决)" in offered


def test_an_account_manager_sees_their_customers_tickets_and_leaves_a_note(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:

    from core.customer_view import my_customers_tickets
    from core.security import load_viewer

    engine = make_engine(seeded_url)
    with session_scope(engine) as s:  # one of their customers writes in
        manager = load_viewer(s, "manager1")
        theirs = s.scalar(select(m.Customer.id).where(m.Customer.owner_id == manager.user_id).limit(1))
        form = TicketForm(int(theirs), "complaint", "billing", "high", "email", "Invoice charged twice")  # type: ignore[arg-type]
        activity.create_ticket(s, manager, form, now=clock.now())
    with Session(engine) as s:
        open_tickets = my_customers_tickets(s, manager, now=clock.now())
    assert int(theirs) in set(open_tickets["customer_id"])
    at = signed_in(monkeypatch, seeded_url, "manager1")
    at.switch_page("views/customers.py").run()
    assert not at.exception
    listed = next(d.value for d in at.dataframe if "resolution_left_h" in d.value.columns)
    assert list(listed["ticket"]) == list(open_tickets["ticket"])  # their customers' open tickets, nearest first
    customer, ticket = int(open_tickets.loc[0, "customer_id"]), int(open_tickets.loc[0, "ticket"])
    at = signed_in(monkeypatch, seeded_url, "manager1", id=str(customer))
    at.switch_page("views/customer.py").run()
    next(t for t in at.text_input if t.label == "Note for the agent").input("Please call before noon")
    next(b for b in at.button if b.label == "Add the note").click().run()
    assert not at.exception and any("Note added to ticket" in x.value for x in at.success), at.error
    with Session(make_engine(seeded_url)) as s:
        notes = s.scalars(
            select(m.TicketEvent.note).where(
                m.TicketEvent.action == "note", m.TicketEvent.ticket_id.in_(open_tickets["ticket"].tolist())
            )
        ).all()
    assert notes == ["Please call before noon"] and ticket in set(open_tickets["ticket"])
