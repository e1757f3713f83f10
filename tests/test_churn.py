"""Churn risk, first part: features see nothing after their snapshot, the label is the next 90 days, the model
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

from core import churn, models as m
from core.churn import model as churn_model
from core.db import session_scope, write
from core.errors import ValidationError
from tests import factories as f

SNAPSHOT = date(2026, 6, 1)


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


def test_on_the_demo_the_model_is_judged_out_of_time_and_beats_recency(tmp_path: Path) -> None:
    """2,000 demo customers (the shared 400-customer template is below the training threshold)."""
    from core.db import make_engine, migrate
    from core.demo import seed_demo
    from tests.conftest import DEMO_PASSWORD, TEST_KEYRING

    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate(engine)
    seed_demo(engine, customers=2000, seed=7, demo_password=DEMO_PASSWORD, keyring=TEST_KEYRING)
    with Session(engine) as s:
        frame = churn.training_set(s, date.today(), count=8)
    trained = churn.train(frame)
    assert all(day < trained.test_snapshot for day in trained.train_snapshots) and len(trained.train_snapshots) == 7
    assert trained.metrics[trained.chosen].roc_auc > trained.metrics["baseline_recency"].roc_auc + 0.05
    assert trained.grade == "A"
    thin = frame[frame["snapshot"] == trained.test_snapshot].head(300)
    with pytest.raises(ValidationError):
        churn.train(thin)

    with Session(engine) as s:  # nothing to score with before a model is stored
        with pytest.raises(ValidationError):
            churn.score(s, as_of=date.today())
    versions = [write(engine, lambda s: churn.save(s, trained, horizon=90, username="test")) for _ in range(2)]
    assert versions == [1, 2]
    scored = write(engine, lambda s: churn.score(s, as_of=date.today()))
    with Session(engine) as s:
        active = len(churn.features(s, date.today()))
        rows = s.execute(select(m.ChurnScore.model_version, m.ChurnScore.risk, m.ChurnScore.percentile)).all()
    assert scored == active == len(rows) > 400
    assert {r.model_version for r in rows} == {2} and all(0 <= r.risk <= 1 and 0 < r.percentile <= 100 for r in rows)


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
    assert len(rows) == 30
    by_customer = {r.customer_id: r.risk for r in rows}
    newest, oldest = (
        frame.loc[frame["recency_days"].idxmin(), "customer_id"],
        frame.loc[frame["recency_days"].idxmax(), "customer_id"],
    )
    assert by_customer[oldest] > by_customer[newest]  # the longest silence carries the highest risk here
