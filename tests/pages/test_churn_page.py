"""The early-warning page and the 360° view's churn block through AppTest, on the trained 2,000-customer demo:
what each role sees, the list's order and filters from the URL, the model card, and the audited export."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from core import formatting, models as m
from core.access import Viewer
from core.churn import portfolio, warnings
from core.db import make_engine, session_scope
from core.errors import PermissionDenied
from core.periods import Filters
from tests.pages.helpers import signed_in

pytestmark = pytest.mark.xdist_group("trained_demo")  # one worker builds the trained demo once
EXECUTIVE = Viewer(None, "executive", "Executive", "executive")


def _grid(at: AppTest):  # type: ignore[no-untyped-def]
    return at.dataframe[0].value


def test_an_executive_ranks_the_warnings_filters_them_by_url_and_reads_the_card(
    monkeypatch: pytest.MonkeyPatch, trained_demo: str
) -> None:
    at = signed_in(monkeypatch, trained_demo, "executive")
    at.switch_page("views/churn.py").run()
    assert not at.exception and not at.error
    with Session(make_engine(trained_demo)) as s:
        found = warnings.summary(s, Filters(), viewer=EXECUTIVE)
        first, _ = warnings.risk_list(s, Filters(), viewer=EXECUTIVE, limit=50)
    shown = {metric.label: metric.value for metric in at.metric}
    assert found is not None and shown["Customers scored"] == f"{found.scored:,}"
    assert shown["High risk"] == f"{found.per_band['high']:,}"
    grid = _grid(at)
    assert list(grid["code"]) == list(first["code"])  # ranked by expected revenue at risk, as core ranks it
    assert grid["raising"].str.len().gt(0).any()  # the drivers in words
    assert {"Previous", "Next"} <= {b.label for b in at.button}
    # the value tab: health bands against real churn and the tier flow; the card: calibration and importance
    assert len(at.get("plotly_chart")) == 4
    with Session(make_engine(trained_demo)) as s:
        values = portfolio.overview(s, Filters(), viewer=EXECUTIVE)
    assert values is not None and shown["Predicted value, next 12 months"] == formatting.money(values.clv_12m, "en")
    assert shown["At risk"] == f"{values.health_bands['at_risk']:,}"
    segments = next(d.value for d in at.dataframe if "segment" in d.value.columns)
    assert list(segments["customers"]) == list(values.segments["customers"].astype(int))
    assert segments["segment"].iloc[0] == "Champions"

    at = signed_in(monkeypatch, trained_demo, "executive", band="high", lang="zh")  # a shared link, in Chinese
    at.switch_page("views/churn.py").run()
    assert not at.exception
    assert set(_grid(at)["band"]) == {"高风险"}
    assert at.title[0].value == "客户流失预警"


def test_an_account_manager_sees_their_own_customers_and_exports_nothing(
    monkeypatch: pytest.MonkeyPatch, trained_demo: str
) -> None:
    at = signed_in(monkeypatch, trained_demo, "manager1")
    at.switch_page("views/churn.py").run()
    assert not at.exception and not at.error
    with Session(make_engine(trained_demo)) as s:
        manager = s.execute(select(m.User).where(m.User.username == "manager1")).scalar_one()
        viewer = Viewer(manager.id, manager.username, manager.display_name, manager.role)
        mine, total = warnings.risk_list(s, Filters(), viewer=viewer, limit=None)
    assert set(_grid(at)["owner"]) == {manager.display_name} and total == len(mine) > 0
    assert "Account manager" not in [w.label for w in at.multiselect]  # no owner filter: the scope is fixed
    assert not at.get("download_button")
    with session_scope(make_engine(trained_demo)) as s, pytest.raises(PermissionDenied):
        warnings.export_rows(s, Filters(), viewer=viewer, bands=(), sort="risk", lang="en", fmt="csv")


def test_the_support_desk_has_no_warning_page(monkeypatch: pytest.MonkeyPatch, trained_demo: str) -> None:
    at = signed_in(monkeypatch, trained_demo, "agent")
    at.switch_page("views/churn.py").run()
    assert [e.value for e in at.error] == ["You have no access to this page."]


def test_the_export_is_every_matching_row_in_words_and_on_record(trained_demo: str) -> None:
    engine = make_engine(trained_demo)
    analyst = Viewer(None, "analyst", "Analyst", "analyst")
    east = Filters(regions=("east",))
    with session_scope(engine) as s:
        frame = warnings.export_rows(
            s, east, viewer=analyst, bands=("high", "medium"), sort="risk", lang="zh", fmt="xlsx"
        )
    with Session(engine) as s:
        _, total = warnings.risk_list(s, east, viewer=analyst, bands=("high", "medium"))
        entry = s.execute(select(m.AuditLog).where(m.AuditLog.action == "export")).scalars().one()
    assert len(frame) == total > 0
    assert list(frame.columns)[:3] == ["客户编号", "客户名称", "客户经理"] and "推高风险的因素" in frame.columns
    assert set(frame["区域"]) == {"华东"} and frame["流失风险"].is_monotonic_decreasing
    assert entry.object == "churn" and f'"rows": {total}' in entry.details and "east" in entry.details


def test_the_360_view_shows_risk_and_drivers_against_the_bands(
    monkeypatch: pytest.MonkeyPatch, trained_demo: str
) -> None:
    with Session(make_engine(trained_demo)) as s:
        riskiest = s.scalar(select(m.ChurnScore.customer_id).order_by(m.ChurnScore.risk.desc()).limit(1))
    at = signed_in(monkeypatch, trained_demo, "executive", id=str(riskiest))
    at.switch_page("views/customer.py").run()
    assert not at.exception and not at.error
    shown = {metric.label: metric.value for metric in at.metric}
    assert shown["Band"] == "High risk" and shown["Churn risk"].endswith("%")
    assert any(t.value.startswith("▲ ") for t in at.text)
    tables = [d.value for d in at.dataframe if "Measure" in d.value.columns]
    assert list(tables[0].columns) == ["Measure", "This customer", "Low risk", "Medium risk", "High risk"]
    assert len(tables[0]) == 9 and tables[0]["This customer"].ne("—").sum() >= 7
    with Session(make_engine(trained_demo)) as s:
        stored = s.execute(select(m.CustomerValue).where(m.CustomerValue.customer_id == riskiest)).scalar_one()
    assert shown["Health"].startswith(f"{stored.health} · ")
    assert shown["Predicted value, next 12 months"] == formatting.money(stored.clv_12m, "en")
    history = [c for c in at.get("plotly_chart") if c.proto.spec and "Health, last 18 weeks" in c.proto.spec]
    assert not history  # worked out only when opened
    at.session_state[f"health_history_{riskiest}"] = True
    at.run()
    assert any(c.proto.spec and "Health, last 18 weeks" in c.proto.spec for c in at.get("plotly_chart"))


def test_an_account_manager_plans_an_action_on_the_360_view_and_an_executive_cannot(
    monkeypatch: pytest.MonkeyPatch, trained_demo: str
) -> None:
    engine = make_engine(trained_demo)
    with Session(engine) as s:
        manager = s.execute(select(m.User).where(m.User.username == "manager1")).scalar_one()
        cohort = s.execute(
            select(m.RetentionCohort.customer_id, m.RetentionCohort.held_out)
            .join(m.Customer, m.Customer.id == m.RetentionCohort.customer_id)
            .join(m.ChurnScore, m.ChurnScore.customer_id == m.RetentionCohort.customer_id)
            .where(m.Customer.owner_id == manager.id)
            .where(~select(m.RetentionAction.id).where(m.RetentionAction.customer_id == m.Customer.id).exists())
            .order_by(m.RetentionCohort.customer_id)
        ).all()
    open_one = next(c for c, held in cohort if not held)
    held_one = next(c for c, held in cohort if held)

    at = signed_in(monkeypatch, trained_demo, "manager1", id=str(open_one))
    at.switch_page("views/customer.py").run()
    assert not at.exception
    next(b for b in at.button if b.label == "Plan the action").click()
    at.run()
    assert not at.exception and not at.error
    assert "Retention action planned; its task is in the owner's list." in [s.value for s in at.success]
    with Session(engine) as s:
        planned = s.execute(select(m.RetentionAction).where(m.RetentionAction.customer_id == open_one)).scalars().all()
        task = s.get(m.Task, planned[0].task_id)
    assert len(planned) == 1 and planned[0].created_by == manager.id and task.owner_id == manager.id

    at.query_params["id"] = str(held_one)
    at.switch_page("views/customer.py").run()
    assert any("holdout" in i.value for i in at.info)
    assert "Plan the action" not in [b.label for b in at.button]

    at = signed_in(monkeypatch, trained_demo, "executive", id=str(open_one))
    at.switch_page("views/customer.py").run()
    assert not at.exception
    assert "Plan the action" not in [b.label for b in at.button]  # reads the action, may not plan one
    assert any("Call" in str(d.value.values) for d in at.dataframe)


def test_the_cockpit_states_the_models_revenue_at_risk_and_lists_its_warnings(
    monkeypatch: pytest.MonkeyPatch, trained_demo: str
) -> None:
    at = signed_in(monkeypatch, trained_demo, "executive")
    at.run()
    assert not at.exception and not at.error
    card = next(metric for metric in at.metric if metric.label == "Revenue at risk")
    assert card.proto.help.startswith("With the churn model:")  # the definition in force, not the rule's
    with Session(make_engine(trained_demo)) as s:
        first, _ = warnings.risk_list(s, Filters(), viewer=EXECUTIVE, bands=("high", "medium"), limit=10)
    shown = next(d.value for d in at.dataframe if "risk" in d.value.columns)
    assert list(shown["code"]) == list(first["code"])
