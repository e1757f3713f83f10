"""The forecast on hand-made series: the seasonal naive error worked out by hand, a regular seasonal series
followed closely, bands that widen with the backtest's errors; the monthly history from the summaries equals
the orders' own sums, within the viewer's scope; too short a history is said, not guessed."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import facts, forecast
from core.access import SYSTEM, Viewer
from core.db import session_scope
from core.errors import ValidationError
from tests import factories as f

TODAY = date(2026, 11, 20)


def months(first: date, n: int) -> list[date]:
    out, year, month = [], first.year, first.month
    for _ in range(n):
        out.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def test_the_naive_error_by_hand_and_a_regular_series_followed_closely() -> None:
    season = np.array([80, 70, 90, 100, 110, 120, 100, 95, 105, 115, 130, 160], dtype=float)
    # three years: the first two the same, the third 10 % higher every month
    values = np.concatenate([season, season, season * 1.1])
    history = pd.DataFrame({"month": months(date(2023, 11, 1), 36), "value": values})
    found = forecast.series_forecast("total", history, horizon=12)
    assert found.naive_mape == pytest.approx(0.1 / 1.1)  # last year's month, 10 % short of each: 0.1 / 1.1
    assert found.mape is not None and found.mape < 0.1  # the trend term catches part of the step
    assert list(found.ahead["month"]) == months(date(2026, 11, 1), 12)
    assert list(found.backtest["month"]) == months(date(2025, 11, 1), 12)
    ahead = found.ahead
    assert (ahead["low95"] <= ahead["low80"]).all() and (ahead["low80"] <= ahead["value"]).all()
    assert (ahead["value"] <= ahead["high80"]).all() and (ahead["high80"] <= ahead["high95"]).all()
    # the season survives into the forecast (the series starts in November: October 160, December 70)
    by_month = dict(zip([m.month for m in ahead["month"]], ahead["value"]))
    assert by_month[10] > by_month[12] * 1.8


def test_bands_widen_with_the_backtests_errors() -> None:
    rng = np.random.default_rng(3)
    base = np.tile(np.array([100, 90, 110, 120, 100, 95, 105, 115, 125, 140, 150, 170], dtype=float), 3)
    calm = forecast.series_forecast(
        "calm", pd.DataFrame({"month": months(date(2023, 11, 1), 36), "value": base}), horizon=6
    )
    noisy_values = base * np.exp(rng.normal(0, 0.3, 36))
    noisy = forecast.series_forecast(
        "noisy", pd.DataFrame({"month": months(date(2023, 11, 1), 36), "value": noisy_values}), horizon=6
    )
    width = lambda x: float(((x.ahead["high80"] - x.ahead["low80"]) / x.ahead["value"]).mean())  # noqa: E731
    assert width(noisy) > 3 * width(calm)
    assert len(calm.ahead) == 6


def test_too_short_a_history_is_refused_with_its_reason() -> None:
    short = pd.DataFrame({"month": months(date(2025, 1, 1), 20), "value": np.ones(20)})
    with pytest.raises(ValidationError) as err:
        forecast.series_forecast("total", short, horizon=12)
    assert err.value.key == "forecast.error.short"
    # a group that began selling late is measured from its first sale: 30 months of zeros then 20 of sales
    late = pd.DataFrame({"month": months(date(2022, 7, 1), 50), "value": np.r_[np.zeros(30), np.ones(20)]})
    with pytest.raises(ValidationError):
        forecast.series_forecast("late", late, horizon=12)


def test_the_monthly_history_equals_the_orders_and_stays_in_scope(engine: Engine) -> None:
    with session_scope(engine) as s:
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        east = f.customer(s, owner=amy, became=date(2024, 1, 1), region="east")
        north = f.customer(s, owner=bob, became=date(2024, 1, 1), region="north")
        f.order(s, east, date(2026, 9, 3), 100.0)
        f.order(s, east, date(2026, 9, 28), 50.0)
        f.order(s, north, date(2026, 9, 10), 30.0)
        f.order(s, north, date(2026, 10, 1), 20.0)
        f.order(s, east, date(2026, 11, 5), 999.0)  # the month in progress: left out
        s.flush()
        facts.rebuild_all(s, as_of=TODAY)
    with Session(engine) as s:
        total = forecast.monthly(s, SYSTEM, measure="revenue", by="total", today=TODAY)
        by_region = forecast.monthly(s, SYSTEM, measure="orders", by="region", today=TODAY)
        by_tier = forecast.monthly(s, SYSTEM, measure="revenue", by="tier", today=TODAY)
        mine = forecast.monthly(
            s, Viewer(amy.id, "amy", "Amy", "account_manager"), measure="revenue", by="total", today=TODAY
        )
    got = {(r.month, r.value) for r in total.itertuples() if r.value}
    assert got == {(date(2026, 9, 1), 180.0), (date(2026, 10, 1), 20.0)}
    assert {(r.month, r.group, r.value) for r in by_region.itertuples() if r.value} == {
        (date(2026, 9, 1), "east", 2.0),
        (date(2026, 9, 1), "north", 1.0),
        (date(2026, 10, 1), "north", 1.0),
    }
    assert by_tier.groupby("month")["value"].sum().to_dict() == {date(2026, 9, 1): 180.0, date(2026, 10, 1): 20.0}
    assert {(r.month, r.value) for r in mine.itertuples() if r.value} == {(date(2026, 9, 1), 150.0)}  # her own only
    with Session(engine) as s:
        found, short = forecast.forecasts(s, SYSTEM, measure="revenue", by="region", horizon=12, today=TODAY)
    assert found == [] and set(short) == {"east", "north"}  # two months of history: nothing to forecast from
