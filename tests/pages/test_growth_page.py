"""The Growth page through AppTest: the demo's revenue forecast with its backtest beside the seasonal naive
one, as core works it out; the next best offer's hit rate against the most popular categories and an account
manager's worklist of their own customers only; the 360° view's offer line."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import campaigns, channels, clock, forecast, funnel, models as m, next_offer
from core.access import SYSTEM, Viewer
from core.db import make_engine
from tests.pages.helpers import signed_in


def test_the_forecast_and_the_offers_as_core_works_them_out(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    with Session(engine) as s:
        found, _ = forecast.forecasts(s, SYSTEM, measure="revenue", by="total", horizon=12, today=clock.today())
        manager = s.execute(select(m.User).where(m.User.username == "manager1")).scalar_one()
        model, work = next_offer.current_worklist(s, SYSTEM)
        own = set(s.scalars(select(m.Customer.code).where(m.Customer.owner_id == manager.id)))
    assert model is not None and model.evaluation.model[1] > model.evaluation.baseline[1]  # the demo's pattern
    at = signed_in(monkeypatch, seeded_url, "analyst")
    at.switch_page("views/growth.py")
    at.run()
    assert not at.exception, at.exception
    table = next(d.value for d in at.dataframe if "mape" in d.value.columns)
    assert list(table["mape"]) == [f"{100 * found[0].mape:.1f}%"] and list(table["naive"]) == [
        f"{100 * found[0].naive_mape:.1f}%"
    ]
    assert len(at.get("plotly_chart")) == 1
    at.session_state["growth_section_en"] = "Next best offer"
    at.run()
    assert not at.exception, at.exception
    shown = {x.label: x.value for x in at.metric}
    assert shown["Hit rate, top offer"] == f"{100 * model.evaluation.model[1]:.1f}%"
    shown_work = next(d.value for d in at.dataframe if "offer" in d.value.columns)
    assert list(shown_work["code"]) == list(work["code"]) and len(work) > 50
    assert any(b.label == "Learn again from every order" for b in at.button)

    at = signed_in(monkeypatch, seeded_url, "manager1", lang="zh")
    at.switch_page("views/growth.py")
    at.session_state["growth_section_zh"] = "下一步推荐"
    at.run()
    assert not at.exception, at.exception
    codes = set(next(d.value for d in at.dataframe if "offer" in d.value.columns)["code"])
    assert codes and codes <= own  # her own customers only
    assert not any(b.label == "用全部订单重新学习" for b in at.button)  # account managers do not relearn
    with Session(engine) as s:
        customer = s.scalar(select(m.Customer.id).where(m.Customer.code == sorted(codes)[0]))
        last, offered = next_offer.customer_offers(
            s, Viewer(manager.id, "manager1", "M", "account_manager"), int(customer or 0)
        )
    at.switch_page("views/customer.py")
    at.query_params["id"] = str(customer)
    at.run()
    assert not at.exception, at.exception
    assert any(c.value.startswith("最近购买") and f"{100 * offered[0][1]:.0f}%" in c.value for c in at.caption)


def test_the_channels_and_an_analysts_cost(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    at = signed_in(monkeypatch, seeded_url, "analyst")
    at.switch_page("views/growth.py")
    at.session_state["growth_section_en"] = "Channels"
    at.run()
    assert not at.exception, at.exception
    with Session(engine) as s:
        end = clock.today().replace(day=1)
        index = end.year * 12 + end.month - 1 - 12
        start = end.replace(year=index // 12, month=index % 12 + 1)
        expected = channels.acquisition(s, SYSTEM, start=start, end=end)
    table = next(d.value for d in at.dataframe if "cpa" in d.value.columns)
    assert list(table["acquired"]) == [f"{n:,}" for n in expected["acquired"]] and expected["acquired"].sum() > 0
    assert set(table["cpa"]) == {"—"}  # no costs entered yet
    assert len(at.get("plotly_chart")) == 2  # acquisitions by month, the cohort heatmap
    next(w for w in at.number_input if w.label == "Cost (CNY)").set_value(-1.0)
    next(b for b in at.button if b.label == "Save cost").click()
    at.run()
    assert at.error, "a negative cost is refused"
    next(w for w in at.number_input if w.label == "Cost (CNY)").set_value(50000.0)
    next(b for b in at.button if b.label == "Save cost").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Cost saved" in x.value for x in at.success), [e.value for e in at.error]
    with Session(engine) as s:
        assert s.scalar(select(m.ChannelCost.amount)) == 50000.0


def test_the_lead_funnel_and_a_stages_leads(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    at = signed_in(monkeypatch, seeded_url, "executive")
    at.switch_page("views/growth.py")
    at.session_state["growth_section_en"] = "Leads"
    at.run()
    assert not at.exception, at.exception
    end = clock.today().replace(day=1)
    index = end.year * 12 + end.month - 1 - 12
    start = end.replace(year=index // 12, month=index % 12 + 1)
    with Session(engine) as s:
        expected = funnel.funnel(s, SYSTEM, start=start, end=end).iloc[0]
        reasons = funnel.invalid_reasons(s, SYSTEM, start=start, end=end)
        converted = funnel.stage_leads(s, SYSTEM, start=start, end=end, stage="converted")
    table = next(d.value for d in at.dataframe if "invalid_share" in d.value.columns)
    assert list(table["created"]) == [f"{expected['created']:,}"] and expected["created"] > 0
    assert list(table["converted_rate"]) == [f"{100 * expected['converted_rate']:.1f}%"]
    assert list(table["filtered_share"]) == [f"{100 * expected['filtered_share']:.1f}%"]
    assert expected["screened"] > 0  # the demo's rules caught some (their share over the demo: tests/test_demo.py)
    shown_reasons = next(d.value for d in at.dataframe if "share_of_created" in d.value.columns)
    assert len(shown_reasons) == len(reasons) and "Duplicate" in set(shown_reasons["reason"])
    assert not any(b.label == "Save the lead" for b in at.button)  # an executive reads the funnel, adds no leads
    created = next(d.value for d in at.dataframe if "customer_code" in d.value.columns)
    assert "—" in set(created["customer_code"]) and all(isinstance(v, str) for v in created["customer_code"])
    at.session_state["funnel_stage"] = "converted"
    at.run()
    listed = next(d.value for d in at.dataframe if "customer_code" in d.value.columns)
    assert list(listed["company"]) == list(converted["company"]) and set(listed["status"]) == {"Converted"}
    assert list(listed["customer_code"]) == list(converted["customer_code"])


def test_an_account_manager_adds_and_works_a_lead_and_an_administrator_changes_a_rule(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    engine = make_engine(seeded_url)
    at = signed_in(monkeypatch, seeded_url, "manager1")
    at.switch_page("views/growth.py")
    at.session_state["growth_section_en"] = "Leads"
    at.run()
    assert not at.exception, at.exception
    next(b for b in at.button if b.label == "Save the lead").click()
    at.run()
    assert at.error, "an empty lead is refused field by field"
    next(w for w in at.text_input if w.label == "Company").input("**Ningbo** Port Trading")
    next(w for w in at.text_input if w.label == "Phone").input("135 7000 1234")
    for name, value in (("Source", "trade_show"), ("Type", "B2B"), ("Industry", "retail"), ("Region", "east")):
        next(w for w in at.selectbox if w.label == name).set_value(value)
    next(b for b in at.button if b.label == "Save the lead").click()
    at.run()
    assert not at.exception, at.exception
    assert any(x.value == "Lead saved." for x in at.success), [e.value for e in at.error]
    with Session(engine) as s:
        new = s.execute(select(m.Lead).order_by(m.Lead.id.desc())).scalars().first()
        manager = s.scalar(select(m.User.id).where(m.User.username == "manager1"))
    assert new is not None and (new.company_name, new.status, new.owner_id) == (
        "**Ningbo** Port Trading",
        "new",
        manager,
    )
    next(w for w in at.number_input if w.label == "Open lead no.").set_value(new.id)
    at.run()
    assert any(h.value.startswith(r"\*\*Ningbo\*\*") for h in at.subheader)  # typed text shown as typed
    next(w for w in at.selectbox if w.label == "Next step").set_value("contacted")
    next(b for b in at.button if b.label == "Save the step").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Lead moved: Contacted" in x.value for x in at.success), [e.value for e in at.error]
    with Session(engine) as s:
        assert s.scalar(select(m.Lead.status).where(m.Lead.id == new.id)) == "contacted"

    at = signed_in(monkeypatch, seeded_url, "admin")
    at.switch_page("views/growth.py")
    at.session_state["growth_section_en"] = "Leads"
    at.run()
    assert not at.exception, at.exception
    assert sum(c.value == "As shipped: nobody has changed it yet." for c in at.caption) == 4
    domains = next(w for w in at.text_area if w.label == "Domains, one per line")
    domains.input("mailinator.com\nnot a domain")
    next(b for b in at.button if b.label == "Save the rule" and "blocked_domain" in str(b.form_id)).click()
    at.run()
    assert at.error, "a line that is no domain is refused"
    with Session(engine) as s:
        assert "not a domain" not in (
            s.scalar(select(m.LeadScreenRule.terms).where(m.LeadScreenRule.rule == "blocked_domain")) or ""
        )
    next(w for w in at.text_area if w.label == "Domains, one per line").input("mailinator.com\nspam.example")
    next(b for b in at.button if b.label == "Save the rule" and "blocked_domain" in str(b.form_id)).click()
    at.run()
    assert not at.exception, at.exception
    assert any(x.value == "Rule saved." for x in at.success), [e.value for e in at.error]
    assert any(c.value.startswith("Changed by admin at") for c in at.caption)
    with Session(engine) as s:
        assert s.scalar(select(m.LeadScreenRule.terms).where(m.LeadScreenRule.rule == "blocked_domain")) == (
            "mailinator.com\nspam.example"
        )


def test_the_demo_campaign_against_its_control_group(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    with Session(engine) as s:
        listed = campaigns.campaigns(s, SYSTEM)
        result = campaigns.results(s, SYSTEM, int(listed["id"].iloc[0]), today=clock.today())
    # the win-back call campaign (the newest, shown first) and the spring fair
    assert len(listed) == 2 and result.control > 0 and result.contacted > result.control
    at = signed_in(monkeypatch, seeded_url, "analyst")
    at.switch_page("views/growth.py")
    at.session_state["growth_section_en"] = "Campaigns"
    at.run()
    assert not at.exception, at.exception
    shown = {x.label: x.value for x in at.metric}
    assert shown["Ordered twice or more"] == f"{100 * result.repurchase.contacted:.1f}%"
    assert any(c.value.startswith(f"{100 * result.repurchase.difference:+.1f} pp") for c in at.caption)
    next(w for w in at.text_input if w.label == "Name").input("**Autumn** win-back")
    next(w for w in at.number_input if w.label == "Cost (CNY)").set_value(10000.0)
    next(b for b in at.button if b.label == "Create campaign").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Campaign created" in x.value for x in at.success), [e.value for e in at.error]
    with Session(engine) as s:
        assert len(campaigns.campaigns(s, SYSTEM)) == 3
    at.session_state["growth_section_en"] = "Campaigns"
    at.run()
    assert any(h.value.startswith(r"\*\*Autumn\*\* win\-back") for h in at.subheader)  # typed text shown as typed
