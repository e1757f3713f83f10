"""The cockpit page through AppTest: renders, shows the core's figures, follows filters and language,
survives an empty store and reports an unusable one."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from core import clock, formatting, kpi, quality
from core.access import SYSTEM
from core.db import make_engine, session_scope
from core.periods import Filters
from tests.conftest import DEMO_PASSWORD
from tests.pages.helpers import APP, complaint_likely_to_escalate, signed_in


def _app(monkeypatch: pytest.MonkeyPatch, url: str, **query: str) -> AppTest:
    """The app signed in as the demo admin (the sign-in itself is tested in test_auth.py)."""
    return signed_in(monkeypatch, url, "admin", **query)


def _expected(url: str, filters: Filters = Filters()) -> kpi.Cockpit:
    engine = make_engine(url)
    with session_scope(engine) as s:
        return kpi.cockpit(s, kpi.latest_complete_month(clock.today()), filters, viewer=SYSTEM, now=clock.now())


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_cockpit_shows_the_core_figures(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    angry = complaint_likely_to_escalate(seeded_url)
    at = _app(monkeypatch, seeded_url)
    assert not at.exception and not at.error
    expected = _expected(seeded_url)
    shown = _metrics(at)
    assert len(shown) == 16
    with Session(make_engine(seeded_url)) as s:
        core = quality.completeness(s, SYSTEM).core
    assert core is not None and shown["Data completeness"] == f"{core:.1%}"
    for key, label in [
        ("active_customers", "Active customers"),
        ("revenue", "Revenue"),
        ("nps", "NPS"),
        ("repurchase_rate", "Repurchase rate"),
        ("first_response_sla", "First-response SLA"),
    ]:
        k = expected.kpi(key)
        assert shown[label] == formatting.value(k.value, k.unit, "en"), key
    assert expected.kpi("active_customers").value > 0
    assert shown["Open complaints"] == f"{expected.open_complaints.open:,}"
    captions = [c.value for c in at.caption]
    assert sum(c.startswith("Source: ") for c in captions) == 16  # every card says where its figure comes from
    made = f"{expected.refreshed_at:%Y-%m-%d %H:%M}"
    assert captions.count(f"Source: `period_facts` · refreshed {made}") == 11  # the SLA cards are counted live
    assert "Source: `ticket_sla`, `tickets` · computed live" in captions
    assert any(c.startswith("Target ≥ 95.0% · ") for c in captions)  # seed 003's CSAT target (the demo's)
    assert any(c.startswith("Target ≥ 98.0% · ") for c in captions)  # and its data completeness
    assert len(at.get("plotly_chart")) == 6
    flagged = at.dataframe(key="escalations").value  # open complaints likely to escalate, with why
    assert angry in set(flagged["ticket"])
    assert "angry or threatening words" in flagged.set_index("ticket").loc[angry, "signals"]


def test_region_filter_narrows_the_figures(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = _app(monkeypatch, seeded_url)
    at.multiselect(key="region").select("north").run()
    assert not at.exception
    expected = _expected(seeded_url, Filters(regions=("north",)))
    assert _metrics(at)["Active customers"] == formatting.value(expected.kpi("active_customers").value, "count", "en")
    assert _metrics(at)["Active customers"] != formatting.value(
        _expected(seeded_url).kpi("active_customers").value, "count", "en"
    )


def test_chinese_and_custom_range(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = _app(monkeypatch, seeded_url, lang="zh")
    assert at.title[0].value == "客户健康驾驶舱"
    assert "活跃客户数" in _metrics(at)
    at = _app(monkeypatch, seeded_url, lang="zh", grain="custom")
    assert not at.exception
    assert any("实时计算" in c.value for c in at.caption)


def test_a_bookmarked_url_restores_the_view(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = _app(monkeypatch, seeded_url, grain="Q", region=["north", "east"], kind="B2B")
    assert at.segmented_control(key="grain").value == "Q"
    assert at.multiselect(key="region").value == ["north", "east"]
    assert at.multiselect(key="kind").value == ["B2B"]
    assert at.caption[0].value.startswith(at.selectbox(key="period_Q").value)


def test_empty_store_renders_without_errors(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    from core.cli import main

    assert (
        main(
            [
                "--database-url",
                sqlite_url,
                "create-user",
                "admin",
                "--role",
                "admin",
                "--name",
                "Admin",
                "--password",
                DEMO_PASSWORD,
            ]
        )
        == 0
    )
    at = _app(monkeypatch, sqlite_url)
    assert not at.exception and not at.error
    shown = _metrics(at)
    assert shown["Active customers"] == "0" and shown["NPS"] == "—"
    assert any("No customer is in the churn-risk tier" in i.value for i in at.info)


def test_unusable_store_is_reported_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_DATABASE_URL", "nonsense://")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert "The database cannot be used" in at.error[0].value


def test_customer_page_shows_a_profile(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = _app(monkeypatch, seeded_url)
    at.query_params["id"] = "5"
    at.switch_page("views/customer.py").run()
    assert not at.exception
    assert at.header[0].value.endswith("C0000005")
    at.text_input[0].input("NOPE").run()
    assert "No customer" in at.warning[0].value
