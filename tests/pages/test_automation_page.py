"""The Automation page through AppTest: the demo's rules with their fire counts; a rule refused for a missing
name, dry-run over the last 90 days (nothing written), then saved; the notifications it makes reach the
account manager's sidebar as text."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import activity, clock, models as m, rules
from core.access import SYSTEM
from core.activity import TicketForm
from core.db import make_engine, session_scope
from tests.pages.helpers import signed_in


def test_an_administrator_writes_dry_runs_and_saves_a_rule(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    with Session(engine) as s:
        expected = rules.overview(s, SYSTEM)
        rules_before = s.scalar(select(func.count()).select_from(m.AutomationRule))
    at = signed_in(monkeypatch, seeded_url, "admin")
    at.switch_page("views/automation.py")
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe(key="rules_table").value
    assert len(table) == len(expected) >= 10  # the five shipped and the demo's own
    assert list(table["fires"]) == list(expected["fires"]) and table["fires"].sum() > 0  # replayed history
    assert "NPS detractor: the account manager calls back within two days" in set(table["name"])

    def field(kind: str, label: str):  # type: ignore[no-untyped-def]
        return next(w for w in getattr(at, kind) if w.label == label)

    field("selectbox", "When").set_value("ticket_created")
    at.run()
    field("multiselect", "Priority").set_value(["urgent"])
    field("checkbox", "Add a tag").check()
    field("text_input", "Tag").input("urgent-watch")
    next(b for b in at.button if b.label == "Save rule").click()
    at.run()
    assert any("Give the rule a name" in e.value for e in at.error), [e.value for e in at.error]
    field("text_input", "Name").input("**Urgent** <b>watch</b>")
    next(b for b in at.button if b.label == "Dry run: the last 90 days").click()
    at.run()
    assert not at.exception, at.exception
    with Session(engine) as s:
        replay = rules.dry_run(
            s,
            SYSTEM,
            rules.RuleChange(
                "x",
                "ticket_created",
                conditions={"priority": ["urgent"]},
                actions=({"type": "task", "to": ["owner"], "due_days": 2}, {"type": "tag", "tag": "urgent-watch"}),
            ),
        )
        assert s.scalar(select(func.count()).select_from(m.AutomationRule)) == rules_before  # nothing written
    shown = {x.label: x.value for x in at.metric}
    assert shown["Met the conditions"] == f"{replay.matched:,}" and replay.matched > 0
    next(b for b in at.button if b.label == "Save rule").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Rule saved" in x.value for x in at.success), [e.value for e in at.error]
    with Session(engine) as s:
        saved = s.execute(
            select(m.AutomationRule).where(m.AutomationRule.name == "**Urgent** <b>watch</b>")
        ).scalar_one()
        assert saved.trigger == "ticket_created" and not saved.enabled  # a new rule starts switched off
        assert s.scalar(select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "rule_created"))
    assert "**Urgent** <b>watch</b>" in set(at.dataframe(key="rules_table").value["name"])  # typed text as text


def test_one_rule_in_words_with_its_firings_and_outcome(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    with Session(engine) as s:
        quiet = next(r for r in rules.current(s) if r.trigger == "no_contact")
        outcome = rules.outcome(s, SYSTEM, quiet.number)
        fired = len(rules.firings(s, SYSTEM, quiet.number, limit=50))
    at = signed_in(monkeypatch, seeded_url, "admin", lang="zh")
    at.switch_page("views/automation.py")
    at.query_params["rule"] = str(quiet.number)
    at.run()
    assert not at.exception, at.exception
    assert outcome is not None and outcome.touched > 0
    shown = {x.label: x.value for x in at.metric}
    assert shown[f"规则作用过的（{outcome.touched}）"] == f"{100 * outcome.touched_rate:.1f}%"  # type: ignore[operator]
    firings = next(d.value for d in at.dataframe if "done" in d.value.columns)
    assert len(firings) == fired and firings["episode"].str.startswith("自 ").all()  # "since <day>", in words
    assert (firings["done"] == "演示数据回放（未执行动作）").any()
    assert [b.label for b in at.button if b.label in ("停用", "启用")] == ["停用"]


def test_a_rules_notification_shows_in_the_account_managers_sidebar(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    engine = make_engine(seeded_url)
    with session_scope(engine) as s:
        manager = s.execute(select(m.User.id).where(m.User.username == "manager1")).scalar_one()
        customer = s.scalar(select(m.Customer.id).where(m.Customer.owner_id == manager).order_by(m.Customer.id))
        rules.create_rule(
            s,
            SYSTEM,
            rules.RuleChange(
                "Tell",
                "ticket_created",
                actions=({"type": "notify", "to": ["owner"], "title": "**New** <i>ticket</i>"},),
            ),
        )
    with session_scope(engine) as s:
        activity.create_ticket(
            s,
            SYSTEM,
            TicketForm(customer, "inquiry", "billing", "low", "email", "Where is my invoice?"),
            now=clock.now(),
        )
    at = signed_in(monkeypatch, seeded_url, "manager1")
    assert not at.exception, at.exception
    inbox = next(e for e in at.sidebar.expander if "Notifications" in e.label)
    assert "1 new" in inbox.label
    assert any("**New** <i>ticket</i>" in t.value for t in inbox.text)  # as typed, never Markdown
    next(b for b in at.sidebar.button if b.label == "Mark all read").click()
    at.run()
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Notification).where(m.Notification.read_at.is_(None))) == 0
