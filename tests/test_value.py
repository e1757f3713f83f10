"""Health, RFM, lifetime value and the value tiers (core.churn.value, clv, portfolio): the lifetime-value models
against their published fit, the health groups and bands against real churn, the tiers' one owner."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock, facts, models as m
from core.access import SYSTEM, Viewer
from core.churn import clv, portfolio, value, warnings
from core.db import make_engine, session_scope
from core.periods import Filters, period_containing

TRAINED = pytest.mark.xdist_group("trained_demo")
CDNOW = Path(__file__).parent / "data" / "cdnow_summary.csv"  # Lifetimes' CDNOW sample (MIT licence)


def test_bg_nbd_and_gamma_gamma_reproduce_the_published_cdnow_fits() -> None:
    """Fader, Hardie & Lee (2005) and Fader & Hardie (2013) on the 2,357 CDNOW customers."""
    data = pd.read_csv(CDNOW)
    x, t_x, big_t = (data[c].to_numpy(float) for c in ("x", "t_x", "T"))
    fitted = clv.fit_bgnbd(x, t_x, big_t)
    assert (fitted.r, fitted.alpha, fitted.a, fitted.b) == pytest.approx((0.243, 4.414, 0.793, 2.426), abs=0.002)
    # the paper's worked example: customer 1 (x 2, t_x 30.43, T 38.86) is expected to buy 1.226 times in 39 weeks
    assert fitted.expected(39, x[:1], t_x[:1], big_t[:1])[0] == pytest.approx(1.226, abs=0.001)
    alive = fitted.p_alive(np.array([0.0, 5, 5]), np.array([0.0, 38, 2]), np.array([38.86] * 3))
    assert alive[0] == 1 and alive[1] > 0.8 and alive[2] < 0.1  # a buyer silent for 36 weeks has likely left
    spend = clv.fit_gamma_gamma(data["x"], data["zbar"])
    assert (spend.p, spend.q, spend.gamma) == pytest.approx((6.25, 3.74, 15.44), abs=0.01)
    shrunk = spend.expected_value(np.array([1.0, 50]), np.array([100.0, 100]))
    assert spend.population_mean < shrunk[0] < shrunk[1] < 100  # few purchases: pulled towards the population


def _frame(**columns: list[float]) -> pd.DataFrame:
    base = {
        "orders_total": [10.0],
        "overdue": [0.5],
        "recency_days": [10.0],
        "orders_trend": [0.0],
        "days_since_contact": [20.0],
        "complaints_90d": [0.0],
        "breaches_90d": [0.0],
        "reopens_90d": [0.0],
        "nps_latest": [9.0],
        "csat_avg": [5.0],
    }
    rows = max(len(v) for v in columns.values()) if columns else 1
    return pd.DataFrame({k: columns.get(k, v * rows) for k, v in base.items()})


def test_health_weighs_its_groups_as_documented_and_leaves_out_a_group_with_no_data() -> None:
    parts = value.health_parts(
        _frame(
            overdue=[0.5, 3.0, 2.0],
            orders_trend=[0.0, -1.0, 1.0],
            complaints_90d=[0, 2, 4],
            nps_latest=[9, 3, np.nan],
            csat_avg=[5, 1, np.nan],
            days_since_contact=[20, 200, 105],
        )
    )
    assert parts.loc[0].tolist() == pytest.approx([80, 100, 100, 95])  # orders 0.6×100 + 0.4×50
    assert parts.loc[1].tolist() == pytest.approx([0, 0, 40, 15])
    assert parts.loc[2, "orders"] == pytest.approx(0.6 * 50 + 0.4 * 100) and np.isnan(parts.loc[2, "sentiment"])
    score = value.health(parts)
    assert score[0] == round((80 * 35 + 100 * 20 + 100 * 20 + 95 * 25) / 100)
    assert score[2] == round((70 * 35 + 50 * 20 + 0 * 20) / 75)  # no survey: sentiment's 25 left out
    assert value.health_band(score).tolist() == ["healthy", "at_risk", "at_risk"]


def test_rfm_scores_are_quintiles_and_segments_follow_the_written_rules() -> None:
    n = 100
    frame = pd.DataFrame(
        {
            "recency_days": np.arange(n, dtype=float),  # customer 0 bought most recently
            "orders_365d": np.arange(n, 0, -1, dtype=float),
            "revenue_365d": np.arange(n, 0, -1, dtype=float) * 10,
        }
    )
    scores = value.rfm(frame)
    assert scores[["r_score", "f_score", "m_score"]].iloc[0].tolist() == [5, 5, 5]
    assert scores[["r_score", "f_score", "m_score"]].iloc[-1].tolist() == [1, 1, 1]
    assert (scores["r_score"].value_counts() == 20).all()
    assert scores["rfm_segment"].iloc[0] == "champions" and scores["rfm_segment"].iloc[-1] == "lost"
    odd = pd.DataFrame({"recency_days": frame["recency_days"], "orders_365d": frame["orders_365d"][::-1].to_numpy()})
    odd["revenue_365d"] = odd["orders_365d"] * 10
    flipped = value.rfm(odd)  # the most recent buyers buy least, the oldest most
    assert flipped["rfm_segment"].iloc[0] == "new" and flipped["rfm_segment"].iloc[-1] == "cant_lose"


@TRAINED
def test_lifetime_value_predicts_a_held_out_year_better_than_last_year_repeated(trained_demo: str) -> None:
    """Fitted on the history up to a year ago, the next 52 weeks' purchase days predicted for each customer of
    then: the total within 15 % of what they bought, and closer customer by customer than "as many as last
    year" (the naive forecast)."""
    from core.churn.model import features, order_history

    cut = clock.today() - timedelta(days=364)

    def purchase_days(s: Session, start: date) -> pd.Series:
        stmt = (
            select(m.Order.customer_id, func.count(func.distinct(m.Order.order_date)).label("days"))
            .where(m.Order.order_date >= start, m.Order.order_date < start + timedelta(weeks=52))
            .group_by(m.Order.customer_id)
        )
        return pd.read_sql(stmt, s.connection()).set_index("customer_id")["days"]

    with Session(make_engine(trained_demo)) as s:
        history = order_history(s, cut)
        customers = features(s, cut)["customer_id"]
        later, before = purchase_days(s, cut), purchase_days(s, cut - timedelta(weeks=52))
    fitted = value.lifetime_value(history, cut, customers)
    predicted = fitted.frame.set_index("customer_id")["expected_orders"]
    actual, naive = (v.reindex(predicted.index, fill_value=0) for v in (later, before))
    assert fitted.purchases is not None and fitted.spend is not None
    assert predicted.sum() == pytest.approx(actual.sum(), rel=0.15)
    assert np.corrcoef(predicted, actual)[0, 1] > np.corrcoef(naive, actual)[0, 1]
    assert (predicted - actual).abs().mean() < (naive - actual).abs().mean()


@TRAINED
def test_scoring_writes_values_tiers_and_history_that_a_rebuild_agrees_with(trained_demo: str) -> None:
    engine = make_engine(trained_demo)
    with Session(engine) as s:
        stored = pd.read_sql(select(m.CustomerValue), s.connection())
        scored = set(s.scalars(select(m.ChurnScore.customer_id)))
        listed = pd.read_sql(
            select(m.CustomerStat.customer_id, m.CustomerStat.tier).where(m.CustomerStat.status == "active"),
            s.connection(),
        )
        quarters = s.execute(select(m.TierHistory.quarter, func.count()).group_by(m.TierHistory.quarter)).all()
        model = s.execute(select(m.ChurnScore.customer_id, m.ChurnScore.band)).all()
    assert set(stored["customer_id"]) == scored and stored["health"].between(0, 100).all()
    assert set(stored["tier"]) == {"high_value", "potential", "general", "churn_risk"}
    bands = dict(model)
    assert all((tier == "churn_risk") == (bands[c] == "high") for c, tier in zip(stored["customer_id"], stored["tier"]))
    top = stored[stored["tier"] != "churn_risk"]["clv_12m"].quantile(0.8)
    assert stored.loc[stored["tier"] == "high_value", "clv_12m"].min() >= top * 0.99
    merged = listed.merge(stored[["customer_id", "tier"]], on="customer_id", suffixes=("_list", "_model"))
    assert len(merged) == len(stored) and (merged["tier_list"] == merged["tier_model"]).all()
    assert len(quarters) == 2 and dict(quarters)[period_containing(clock.today(), "Q").start] == len(stored)
    with Session(engine) as s:
        before = pd.read_sql(select(m.CustomerStat).order_by(m.CustomerStat.customer_id), s.connection())
        segments = pd.read_sql(select(m.SegmentFact), s.connection())
    with session_scope(engine) as s:
        facts.rebuild_customer_stats(s, as_of=before["as_of"].iloc[0])
    with Session(engine) as s:
        after = pd.read_sql(select(m.CustomerStat).order_by(m.CustomerStat.customer_id), s.connection())
        rebuilt = pd.read_sql(select(m.SegmentFact), s.connection())
    pd.testing.assert_frame_equal(
        before[["customer_id", "tier", "churn_reason"]], after[["customer_id", "tier", "churn_reason"]]
    )
    key = ["region", "industry", "kind", "owner_id", "tier", "lifecycle_stage"]
    pd.testing.assert_frame_equal(
        segments.sort_values(key, na_position="first").drop(columns="id", errors="ignore").reset_index(drop=True),
        rebuilt.sort_values(key, na_position="first").drop(columns="id", errors="ignore").reset_index(drop=True),
    )


@TRAINED
def test_the_health_bands_hold_up_against_real_churn_on_the_demo(trained_demo: str) -> None:
    with Session(make_engine(trained_demo)) as s:
        table = portfolio.health_calibration(s, viewer=SYSTEM)
    rates = table.groupby("band")[["churned", "customers"]].sum()
    rate = rates["churned"] / rates["customers"]
    assert len(table["snapshot"].unique()) >= 6
    assert rate["at_risk"] > rate["watch"] > rate["healthy"]
    assert rate["at_risk"] >= 2 * rate["healthy"]


@TRAINED
def test_the_page_reads_values_flows_and_history_in_the_viewers_scope(trained_demo: str) -> None:
    engine = make_engine(trained_demo)
    with Session(engine) as s:
        manager = s.execute(select(m.User).where(m.User.username == "manager1")).scalar_one()
        mine = Viewer(manager.id, manager.username, manager.display_name, manager.role)
        everyone = portfolio.overview(s, Filters(), viewer=SYSTEM)
        own = portfolio.overview(s, Filters(), viewer=mine)
        flow = portfolio.tier_flow(s, Filters(), viewer=SYSTEM)
        own_flow = portfolio.tier_flow(s, Filters(), viewer=mine)
        counts = dict(s.execute(select(m.TierHistory.quarter, func.count()).group_by(m.TierHistory.quarter)).all())
        owned = set(s.scalars(select(m.Customer.id).where(m.Customer.owner_id == manager.id)))
        other = s.scalar(select(m.CustomerValue.customer_id).where(m.CustomerValue.customer_id.not_in(owned)).limit(1))
        one = s.scalar(select(m.CustomerValue.customer_id).where(m.CustomerValue.customer_id.in_(owned)).limit(1))
        stored = s.execute(select(m.CustomerValue).where(m.CustomerValue.customer_id == one)).scalar_one()
        history = portfolio.customer_health_history(s, mine, one, as_of=stored.as_of)
        hidden = portfolio.customer_health_history(s, mine, other, as_of=stored.as_of)
        rows, _ = warnings.risk_list(s, Filters(), viewer=SYSTEM, limit=20)
    assert everyone is not None and own is not None and 0 < own.customers < everyone.customers
    assert sum(everyone.health_bands.values()) == everyone.customers == everyone.segments["customers"].sum()
    assert set(everyone.fit) == {"r", "alpha", "a", "b", "p", "q", "gamma"}
    assert flow.previous is not None and flow.current == period_containing(clock.today(), "Q").start
    moves = flow.moves
    assert moves.loc[moves["source"] != "new", "customers"].sum() == counts[flow.previous]
    assert moves.loc[moves["target"] != "left", "customers"].sum() == counts[flow.current]
    assert 0 < own_flow.moves["customers"].sum() < moves["customers"].sum()
    assert len(history) == 18 and history["health"].iloc[-1] == stored.health and hidden.empty
    assert rows["value_at_risk"].is_monotonic_decreasing
    assert list(rows["value_at_risk"]) == pytest.approx(list(rows["risk"] * rows["clv_12m"]))
