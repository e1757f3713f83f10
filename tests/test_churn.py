"""Churn risk: features see nothing after their snapshot, the label is the next 90 days, the model
is judged out of time and beats the recency baseline on the demo, thin data is refused with the reason, and
the generic CSV path cross-validates any labelled table."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core import churn, clock, models as m
from core.access import SYSTEM
from core.churn import model as churn_model
from core.db import session_scope, write
from core.errors import ValidationError
from core.periods import Filters
from tests import factories as f

SNAPSHOT = date(2026, 6, 1)
TRAINED = pytest.mark.xdist_group("trained_demo")  # one worker builds the trained demo once


def _contact(s: Session, who: m.Customer, at: datetime, channel: str) -> None:
    s.add(m.Interaction(customer_id=who.id, channel=channel, direction="outbound", occurred_at=at, subject=channel))


def _past(s: Session, who: m.Customer) -> None:
    """What happened before the snapshot."""
    f.order(s, who, date(2026, 1, 10), 100)
    f.order(s, who, date(2026, 4, 20), 300)
    f.nps(s, who, datetime(2026, 3, 1, 10), 4)
    f.ticket(
        s, who, datetime(2026, 5, 10, 9), resolved=datetime(2026, 5, 20, 9), csat=2, feedback=datetime(2026, 5, 21)
    )
    _contact(s, who, datetime(2026, 5, 2), "phone")


def _future(s: Session, who: m.Customer) -> None:
    """Rows on and after the snapshot that would move every feature if they leaked into it."""
    f.order(s, who, SNAPSHOT, 5000)  # on the snapshot day itself: not before it
    f.order(s, who, date(2026, 7, 1), 9000)
    f.nps(s, who, datetime(2026, 6, 15), 10)
    f.ticket(s, who, datetime(2026, 6, 2, 9), resolved=datetime(2026, 6, 2, 10), csat=5, feedback=datetime(2026, 6, 3))
    _contact(s, who, datetime(2026, 6, 9), "visit")


def test_features_see_nothing_dated_on_or_after_the_snapshot(engine: Engine) -> None:
    with session_scope(engine) as s:
        who = f.customer(s, became=date(2025, 6, 1))
        f.customer(s, became=date(2025, 1, 1), churned=date(2026, 5, 1))  # gone before the snapshot: not scored
        f.customer(s, became=date(2026, 7, 1))  # a customer only later: not scored
        _past(s, who)
    with Session(engine) as s:
        before = churn.features(s, SNAPSHOT)
    with session_scope(engine) as s:
        _future(s, s.get(m.Customer, who.id))
    with Session(engine) as s:
        after = churn.features(s, SNAPSHOT)
    assert list(after["customer_id"]) == [who.id]
    pd.testing.assert_frame_equal(before, after)
    row = after.iloc[0]
    assert row["recency_days"] == (SNAPSHOT - date(2026, 4, 20)).days and row["orders_total"] == 2
    assert row["revenue_90d"] == 300 and row["nps_latest"] == 4 and row["csat_avg"] == 2 and row["tickets_90d"] == 1
    assert row["contacts_phone_365d"] == 1 and row["contacts_visit_365d"] == 0


def test_the_label_is_churn_within_the_horizon(engine: Engine) -> None:
    with session_scope(engine) as s:
        soon = f.customer(s, became=date(2025, 1, 1), churned=SNAPSHOT + timedelta(days=89))
        f.customer(s, became=date(2025, 1, 1), churned=SNAPSHOT + timedelta(days=90))  # one day too late
        f.customer(s, became=date(2025, 1, 1))
    with Session(engine) as s:
        assert list(churn.labels(s, SNAPSHOT).index) == [soon.id]


def test_thin_history_is_refused_with_its_counts() -> None:
    y = pd.Series([1] * 50 + [0] * 500)
    with pytest.raises(ValidationError) as err:
        churn.refuse_if_thin(y, 550)
    assert err.value.key == "churn.error.thin" and err.value.values["churned"] == 50


@TRAINED
def test_on_the_demo_the_model_is_judged_out_of_time_and_beats_recency(
    _trained_demo: tuple[Path, int | None], trained_demo: str
) -> None:
    from core.db import make_engine

    assert _trained_demo[1] == 1  # the seed trained and stored the demo's model
    engine = make_engine(trained_demo)
    with Session(engine) as s:
        frame = churn.training_set(s, clock.today(), count=8)
    trained = churn.train(frame)
    assert all(day < trained.test_snapshot for day in trained.train_snapshots) and len(trained.train_snapshots) == 7
    assert trained.metrics[trained.chosen].roc_auc > trained.metrics["baseline_recency"].roc_auc + 0.05
    assert trained.grade == "A"
    # calibration keeps every customer's rank: the calibrated model orders the test exactly as the chosen one
    assert trained.metrics["chosen_calibrated"].roc_auc == pytest.approx(trained.metrics[trained.chosen].roc_auc)
    thin = frame[frame["snapshot"] == trained.test_snapshot].head(300)
    with pytest.raises(ValidationError):
        churn.train(thin)

    versions = [write(engine, lambda s: churn.save(s, trained, horizon=90, username="test")) for _ in range(2)]
    assert versions == [2, 3]
    scored = write(engine, lambda s: churn.score(s, as_of=clock.today()))
    with Session(engine) as s:
        active = churn.features(s, clock.today())
        rows = pd.read_sql(select(m.ChurnScore), s.connection())
    assert scored == len(active) == len(rows) > 400
    assert set(rows["model_version"]) == {3} and rows["risk"].between(0, 1).all()
    assert rows["percentile"].between(0, 100, inclusive="right").all()
    # bands as the policy writes them, and the percentile follows the risk
    assert (rows["band"] == churn_model.BAND_POLICY.band(rows["risk"].to_numpy())).all()
    ranked = rows.sort_values("risk")
    assert ranked["percentile"].is_monotonic_increasing
    assert set(rows["band"]) == {"low", "medium", "high"}


@TRAINED
def test_drivers_say_the_customers_own_figures_in_both_languages(trained_demo: str) -> None:
    """The stored drivers of the riskiest customers read as sentences in English and Chinese, with the
    customer's own figures as of the scoring, and the strongest ones first."""
    import json

    from core.churn import explain
    from core.db import make_engine

    engine = make_engine(trained_demo)
    with Session(engine) as s:
        top = s.execute(
            select(m.ChurnScore.customer_id, m.ChurnScore.drivers, m.ChurnScore.as_of)
            .order_by(m.ChurnScore.risk.desc())
            .limit(20)
        ).all()
        own = churn.features(s, top[0].as_of, customer_ids=[r.customer_id for r in top]).set_index("customer_id")
    seen_groups = set()
    for row in top:
        drivers = json.loads(row.drivers)
        raising = [d for d in drivers if d["c"] > 0]
        assert raising, "a customer at the top of the list has something raising the risk"
        assert [abs(d["c"]) for d in raising] == sorted((abs(d["c"]) for d in raising), reverse=True)
        for d in drivers:
            seen_groups.add(d["g"])
            for name, value in d["v"].items():  # the figures the sentence uses are the customer's own
                expected = own.at[row.customer_id, name]
                assert value == (round(float(expected), 2) if not isinstance(expected, str) else expected) or (
                    value is None and pd.isna(expected)
                )
        for lang in ("en", "zh"):
            up, down = explain.texts(row.drivers, lang)
            assert len(up) == len(raising) and len(down) == len(drivers) - len(raising)
            assert all(line and "churn." not in line and "{" not in line for line in up + down)
    assert len(seen_groups) >= 4  # not one canned reason for everybody
    orders = {"g": "orders", "c": 1.0, "v": {"orders_90d": 2, "orders_prev_90d": 5}}
    assert explain.driver_text(orders, "en") == "Orders −60 % on the quarter before (2 vs 5)"
    assert explain.driver_text(orders, "zh") == "订单较上一季度 −60 %（2 笔对 5 笔）"
    breaches = {"g": "breaches", "c": 1.0, "v": {"breaches_90d": 2, "reopens_90d": 0}}
    assert explain.driver_text(breaches, "en") == "2 SLA breaches in 90 days (re-opened tickets: 0)"
    assert explain.driver_text({"g": "sentiment", "c": 1.0, "v": {"nps_latest": 3, "csat_avg": None}}, "en") == "NPS 3"


@TRAINED
def test_the_cockpit_and_the_list_read_the_same_scores(trained_demo: str) -> None:
    """Revenue at risk is Σ risk × 12-month revenue over the viewer's scored customers; the cockpit's
    warnings are the list's first medium- and high-risk rows; an account manager's hold their own only."""
    from core import kpi
    from core.access import Viewer
    from core.churn import warnings
    from core.db import make_engine

    engine = make_engine(trained_demo)
    with Session(engine) as s:
        scores = pd.read_sql(
            select(m.ChurnScore.customer_id, m.ChurnScore.risk, m.ChurnScore.band, m.Customer.owner_id).join(
                m.Customer, m.Customer.id == m.ChurnScore.customer_id
            ),
            s.connection(),
        )
        revenue = pd.read_sql(select(m.CustomerStat.customer_id, m.CustomerStat.revenue_12m), s.connection())
        merged = scores.merge(revenue, on="customer_id", how="left").fillna({"revenue_12m": 0})
        result = kpi.cockpit(s, kpi.latest_complete_month(clock.today()), Filters(), viewer=SYSTEM, now=clock.now())
        rows, total = warnings.risk_list(s, Filters(), viewer=SYSTEM, bands=("high", "medium"), limit=10)
        manager = s.execute(select(m.User).where(m.User.username == "manager1")).scalar_one()
        viewer = Viewer(manager.id, manager.username, manager.display_name, manager.role)
        mine = warnings.summary(s, Filters(), viewer=viewer)
        mine_rows, mine_total = warnings.risk_list(s, Filters(), viewer=viewer, limit=None)
    expected = float((merged["risk"] * merged["revenue_12m"]).sum())
    assert result.revenue_at_risk == pytest.approx(expected)
    assert result.at_risk_customers == int((merged["band"] == "high").sum())
    assert list(result.churn_warnings["customer_id"]) == list(rows["customer_id"])
    assert total == int(merged["band"].isin(["high", "medium"]).sum())
    losses = list(rows["value_at_risk"])  # risk × predicted value of the next 12 months
    assert losses == sorted(losses, reverse=True)
    own = merged[merged["owner_id"] == manager.id]
    assert mine is not None and mine.scored == len(own) == mine_total == len(mine_rows) > 0
    assert mine.expected_loss == pytest.approx(float((own["risk"] * own["revenue_12m"]).sum()))


@TRAINED
def test_the_model_card_warns_when_the_data_has_moved_on(trained_demo: str) -> None:
    import json

    from core.churn import warnings
    from core.db import make_engine

    engine = make_engine(trained_demo)
    with Session(engine) as s:
        card = warnings.model_card(s, today=clock.today())
        assert card is not None and card.warnings == [] and card.grade == "A"
        assert set(card.profile["bands"]) == {"low", "medium", "high"} and card.profile["importance"]
        later = warnings.model_card(s, today=clock.today() + timedelta(days=120))
    assert [key for key, _ in later.warnings] == ["churn.card.stale"]
    profile = {**card.profile, "recent": {"snapshot": "2026-12-01", "roc_auc": 0.55}}
    with session_scope(engine) as s:
        s.execute(m.ChurnModel.__table__.update().values(profile=json.dumps(profile)))
    with Session(engine) as s:
        dropped = warnings.model_card(s, today=clock.today())
    assert [key for key, _ in dropped.warnings] == ["churn.card.dropped"]


def test_the_generic_path_cross_validates_any_labelled_table() -> None:
    rng = np.random.default_rng(7)
    n = 800
    months = rng.integers(1, 72, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n)
    risk = 1.5 - months / 24 + (contract == "Month-to-month") * 1.2
    churned = rng.random(n) < 1 / (1 + np.exp(-risk))
    table = pd.DataFrame(
        {"customerID": range(n), "tenure": months, "Contract": contract, "Churn": np.where(churned, "Yes", "No")}
    )
    mean, spread = churn.cross_validate(table, label="Churn", id_column="customerID")
    assert 0.65 < mean <= 1.0 and 0 <= spread < 0.1
    with pytest.raises(ValidationError):
        churn.cross_validate(table, label="Exited")


def test_the_command_line_reads_a_labelled_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli import main

    rng = np.random.default_rng(3)
    n = 600
    tenure = rng.integers(1, 72, n)
    churned = rng.random(n) < 1 / (1 + np.exp(tenure / 12 - 2))
    path = tmp_path / "telco.csv"
    pd.DataFrame({"id": range(n), "tenure": tenure, "Churn": np.where(churned, "Yes", "No")}).to_csv(path, index=False)
    assert main(["train-churn", "--from-csv", str(path), "--label", "Churn", "--id", "id"]) == 0
    assert "5-fold cross-validated ROC-AUC 0." in capsys.readouterr().out


def test_a_stored_model_scores_every_active_customer_on_every_store(engine: Engine) -> None:
    """The fitted pipeline round-trips through the store (a LONGBLOB on MariaDB) and scores replace the last."""
    with Session(engine) as s:  # nothing to score with before a model is stored
        with pytest.raises(ValidationError) as err:
            churn.score(s, as_of=SNAPSHOT)
    assert err.value.key == "churn.error.no_model"
    with session_scope(engine) as s:
        for i in range(30):
            who = f.customer(s, became=date(2025, 1, 1), region=("east", "north")[i % 2])
            f.order(s, who, date(2026, 5, 1) - timedelta(days=7 * i), 100 + i)
    with Session(engine) as s:
        frame = churn.features(s, SNAPSHOT)
    columns = [c for c in frame.columns if c != "customer_id"]
    numeric = [c for c in columns if c not in churn.CATEGORICAL]
    y = (frame["recency_days"] > 120).astype(int)
    model = churn_model._pipeline("logistic", numeric, list(churn.CATEGORICAL)).fit(
        frame[numeric + list(churn.CATEGORICAL)], y
    )
    trained = churn.Trained(
        chosen="logistic",
        model=model,
        features=numeric + list(churn.CATEGORICAL),
        metrics={
            "logistic": churn.evaluate(
                y.to_numpy(), model.predict_proba(frame[numeric + list(churn.CATEGORICAL)])[:, 1]
            )
        },
        grade="B",
        train_snapshots=[SNAPSHOT - timedelta(days=91)],
        test_snapshot=SNAPSHOT,
    )
    assert write(engine, lambda s: churn.save(s, trained, horizon=90, username="test")) == 1
    for _ in range(2):
        assert write(engine, lambda s: churn.score(s, as_of=SNAPSHOT)) == 30
    with Session(engine) as s:
        rows = s.execute(select(m.ChurnScore.customer_id, m.ChurnScore.risk, m.ChurnScore.percentile)).all()
        values = s.execute(select(m.CustomerValue.customer_id, m.CustomerValue.health, m.CustomerValue.tier)).all()
        quarters = s.execute(select(m.TierHistory.quarter, m.TierHistory.customer_id)).all()
    assert len(rows) == 30
    # health, RFM and tiers beside the scores, replaced too; too few buyers to fit lifetime value: none predicted
    assert len(values) == 30 and all(0 <= v.health <= 100 for v in values)
    assert {q for q, _ in quarters} == {date(2026, 4, 1)} and len(quarters) == 30
    by_customer = {r.customer_id: r.risk for r in rows}
    newest, oldest = (
        frame.loc[frame["recency_days"].idxmin(), "customer_id"],
        frame.loc[frame["recency_days"].idxmax(), "customer_id"],
    )
    assert by_customer[oldest] > by_customer[newest]  # the longest silence carries the highest risk here


@TRAINED
def test_the_linear_shortcut_equals_the_occlusion_it_replaces(trained_demo: str) -> None:
    """For the logistic pipeline the drivers are computed from the coefficients in one pass; they must equal
    the occlusion (a group set to the typical customer's values, predicted again) to the last digit. The tree
    model takes the occlusion itself."""
    from core.churn import explain
    from core.db import make_engine

    with Session(make_engine(trained_demo)) as s:
        frame = churn.features(s, clock.today())
    columns = [c for c in frame.columns if c != "customer_id"]
    numeric = [c for c in columns if c not in churn.CATEGORICAL]
    ordered = numeric + list(churn.CATEGORICAL)
    y = ((frame["recency_days"] > 30) | (frame["nps_latest"].fillna(7) < 6)).astype(int)
    typical = explain.reference(frame, ordered)
    groups = [g for g, names in explain.GROUPS.items() if any(n in typical for n in names)]
    data = frame[ordered].reset_index(drop=True)
    for kind in ("logistic", "gradient_boosting"):
        fitted = churn_model._pipeline(kind, numeric, list(churn.CATEGORICAL)).fit(data, y)
        shortcut = explain._linear(fitted, data, groups, typical)
        if kind == "gradient_boosting":
            assert shortcut is None
            continue
        assert shortcut is not None and list(shortcut.columns) == groups
        occluded = explain._occluded(fitted, data, groups, typical)
        assert np.allclose(shortcut.to_numpy(), occluded.to_numpy(), atol=1e-9)
        assert shortcut.abs().to_numpy().max() > 0.1  # real movements, not zeros on both sides
