"""Revenue and order volume by month for the next 6-12 months (issue 16, seed 003 需求预测), in total, by region
or by value tier, with prediction intervals, backtested on the last 12 whole months beside the seasonal-naive
forecast's error.

Method (scikit-learn): log(1 + monthly value) = level + trend × month number + an effect per calendar month,
fitted by ridge regression over the whole months available (the month in progress is left out). Prediction
interval: the same model fitted without the last 12 months forecasts them; the root mean square of its errors
on the log scale (1 to 12 months ahead, bias included) gives the 80 % and 95 % bands of every forecast month,
so a series the model follows badly gets wide bands. MAPE = mean |actual - forecast| / actual over those 12
months; the seasonal naive forecast (each month as it was a year earlier) is scored on the same months, so the
page can say whether the model beats the obvious rule.

Why not statsforecast: it needs numba, whose compile on first use cost each app process many seconds, and on
a few dozen monthly points its ETS/ARIMA fits are no better than a seasonal regression; scikit-learn is
already here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import db, models as m
from core.access import Viewer, require, scope, scoped, visible
from core.errors import ValidationError
from core.periods import Filters, periods_between

MEASURES = ("revenue", "orders")
GROUPINGS = ("total", "region", "tier")
BACKTEST_MONTHS = 12
MIN_MONTHS = 24  # a year to learn the seasons from and a year to test on
HISTORY_MONTHS = 60  # the fit reads at most the last five years
Z80, Z95 = 1.2816, 1.96
F, O, S, C = m.table(m.PeriodFact), m.table(m.Order), m.table(m.CustomerStat), m.table(m.Customer)


@dataclass(frozen=True)
class Forecast:
    """One series: its history, the months ahead with bands, and how the method did on the last 12 months."""

    group: str
    history: pd.DataFrame  # month, value
    ahead: pd.DataFrame  # month, value, low80, high80, low95, high95
    backtest: pd.DataFrame  # month, actual, forecast, naive
    mape: float | None
    naive_mape: float | None


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _months(first: date, last: date) -> list[date]:
    return [p.start for p in periods_between(first, last, "M")]


def monthly(
    session: Session, viewer: Viewer, *, measure: str, by: str, today: date, filters: Filters | None = None
) -> pd.DataFrame:
    """Whole months before today's: [month, group, value] within the viewer's scope. Total and region from
    period_facts; by tier from the orders and each customer's tier today (tiers keep no monthly history)."""
    if measure not in MEASURES or by not in GROUPINGS:
        raise ValidationError(f"Unknown forecast {measure!r} by {by!r}.", key="error.role_may_not")
    end = _month_start(today)
    first = _months(date(end.year - HISTORY_MONTHS // 12, end.month, 1), end)[0]
    if by == "tier":
        month = db.period_bucket(O.c.order_date, "M")
        value = func.sum(O.c.amount) if measure == "revenue" else func.count()
        stmt = (
            select(month.label("month"), S.c.tier, value)
            .select_from(O.join(C, C.c.id == O.c.customer_id).join(S, S.c.customer_id == O.c.customer_id))
            .where(O.c.order_date >= first, O.c.order_date < end)
            .group_by(month, S.c.tier)
        )
        rows = db.tuples(session.execute(visible(stmt, C, viewer, filters)))
        frame = pd.DataFrame(rows, columns=["month", "group", "value"])
    else:
        group = F.c.region if by == "region" else None
        cols = [F.c.period_start, *([group] if group is not None else []), func.sum(F.c[measure])]
        stmt = select(*cols).where(F.c.grain == "M", F.c.period_start >= first, F.c.period_start < end)
        stmt = stmt.group_by(F.c.period_start, *([group] if group is not None else []))
        rows = db.tuples(session.execute(scope(stmt, F, scoped(viewer, filters or Filters()))))
        frame = pd.DataFrame(rows, columns=["month", "group", "value"] if group is not None else ["month", "value"])
        if group is None:
            frame["group"] = "total"
    frame["month"] = [v if isinstance(v, date) else date(int(str(v)[:4]), int(str(v)[5:7]), 1) for v in frame["month"]]
    frame["group"] = frame["group"].fillna("none").astype(str)
    frame["value"] = frame["value"].astype(float)
    return frame[["month", "group", "value"]]


def _add_months(day: date, n: int) -> date:
    index = day.year * 12 + day.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _design(months: list[date], origin: date) -> np.ndarray:
    """Month number (in years from the first month) and one column per calendar month but January."""
    t = np.array([(mo.year - origin.year) * 12 + mo.month - origin.month for mo in months], dtype=float) / 12
    seasons = np.zeros((len(months), 11))
    for i, mo in enumerate(months):
        if mo.month > 1:
            seasons[i, mo.month - 2] = 1.0
    return np.column_stack([t, seasons])


def _fit_predict(months: list[date], values: np.ndarray, ahead: list[date]) -> np.ndarray:
    """Ridge on log(1 + value); forecasts back on the value's scale (never below zero)."""
    model = Ridge(alpha=1.0)
    model.fit(_design(months, months[0]), np.log1p(np.maximum(values, 0)))
    return np.maximum(np.expm1(model.predict(_design(ahead, months[0]))), 0.0)


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float | None:
    keep = actual > 0
    return float(np.mean(np.abs(actual[keep] - predicted[keep]) / actual[keep])) if keep.any() else None


def series_forecast(group: str, history: pd.DataFrame, *, horizon: int) -> Forecast:
    """Backtest, then forecast `horizon` months after the last one of `history` (month, value; gaps are 0)."""
    if history.empty:
        raise ValidationError("Not enough history to forecast.", key="forecast.error.short", n=MIN_MONTHS)
    months = _months(min(history["month"]), max(history["month"]))
    values = history.set_index("month")["value"].reindex(months, fill_value=0.0).to_numpy(dtype=float)
    first_sale = int(np.argmax(values > 0)) if (values > 0).any() else len(values)
    months, values = months[first_sale:], values[first_sale:]  # a group that began later starts there
    if len(months) < MIN_MONTHS:
        raise ValidationError("Not enough history to forecast.", key="forecast.error.short", n=MIN_MONTHS)
    cut = len(months) - BACKTEST_MONTHS
    tested = _fit_predict(months[:cut], values[:cut], months[cut:])
    naive = values[cut - 12 : cut - 12 + BACKTEST_MONTHS]
    actual = values[cut:]
    errors = np.log1p(actual) - np.log1p(tested)
    spread = float(np.sqrt(np.mean(errors**2)))  # bias and scatter alike widen the bands
    last = months[-1]
    ahead_months = _months(last, _add_months(last, horizon))[1:]
    centre = np.log1p(_fit_predict(months, values, ahead_months))
    band = {
        f"{side}{level}": np.maximum(np.expm1(centre + sign * z * spread), 0.0)
        for level, z in (("80", Z80), ("95", Z95))
        for side, sign in (("low", -1), ("high", 1))
    }
    return Forecast(
        group=group,
        history=pd.DataFrame({"month": months, "value": values}),
        ahead=pd.DataFrame({"month": ahead_months, "value": np.expm1(centre), **band}),
        backtest=pd.DataFrame({"month": months[cut:], "actual": actual, "forecast": tested, "naive": naive}),
        mape=_mape(actual, tested),
        naive_mape=_mape(actual, naive),
    )


def forecasts(
    session: Session,
    viewer: Viewer,
    *,
    measure: str,
    by: str,
    horizon: int,
    today: date,
    filters: Filters | None = None,
    groups: int = 8,
) -> tuple[list[Forecast], list[str]]:
    """Every group's forecast (the `groups` largest by the last year's value), and the groups left out for too
    short a history."""
    require(viewer, "page:growth")
    if not 1 <= horizon <= 24:
        raise ValidationError("Forecast 1 to 24 months ahead.", key="forecast.error.horizon")
    frame = monthly(session, viewer, measure=measure, by=by, today=today, filters=filters)
    if frame.empty:
        return [], []
    recent = frame[frame["month"] >= _months(date(today.year - 1, today.month, 1), today)[0]]
    order = recent.groupby("group")["value"].sum().sort_values(ascending=False).index.tolist()
    order += [g for g in frame["group"].unique() if g not in order]
    made, short = [], []
    for group in order[:groups]:
        try:
            made.append(series_forecast(group, frame[frame["group"] == group][["month", "value"]], horizon=horizon))
        except ValidationError:
            short.append(group)
    return made, short


def total_of(found: list[Forecast]) -> float:
    """The forecast months' central values summed over groups (what the page's headline says)."""
    return float(sum(f.ahead["value"].sum() for f in found)) if found else math.nan
