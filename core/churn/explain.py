"""Why a customer's churn risk is what it is: the drivers raising and lowering it, in plain words.

Method (the same for the linear and the tree model, so the card never has to say "it depends"): features are
grouped into measures a person recognises (recency, orders, revenue, contact, complaints, SLA breaches,
sentiment, follow-ups, tenure, profile). A group's contribution for a customer is how much the model's
log-odds move when that group alone is set to the typical scored customer's values (median of each number,
most common category) — an occlusion, or "what if this customer looked average here". Positive raises the
risk, negative lowers it. Global importance is the mean absolute contribution over the scored customers.
Contributions are read on the model before calibration: isotonic calibration is a step function and would
show many real effects as zero; it keeps the order, so the direction and ranking stay true. For the linear
model the occlusion is computed from the coefficients (exactly the same numbers, in one pass).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from core import formatting, i18n
from core.churn.model import CATEGORICAL, CHANNELS, NEVER, WINDOWS

GROUPS: dict[str, tuple[str, ...]] = {
    "recency": ("recency_days", "mean_gap_days", "overdue"),
    "orders": ("orders_total", *(f"orders_{w}d" for w in WINDOWS), "orders_prev_90d", "orders_trend"),
    "revenue": tuple(f"revenue_{w}d" for w in WINDOWS),
    "contact": ("days_since_contact", "contacts_90d", *(f"contacts_{ch}_365d" for ch in CHANNELS)),
    "complaints": ("tickets_90d", "complaints_90d"),
    "breaches": ("breaches_90d", "reopens_90d"),
    "sentiment": ("nps_latest", "nps_avg", "csat_avg"),
    "follow_ups": ("open_tasks",),
    "tenure": ("tenure_days",),
    "profile": CATEGORICAL,
}
# the one number per group shown beside the low / medium / high bands' averages
HEADLINE = {
    "recency": "recency_days",
    "orders": "orders_90d",
    "revenue": "revenue_365d",
    "contact": "days_since_contact",
    "complaints": "complaints_90d",
    "breaches": "breaches_90d",
    "sentiment": "nps_latest",
    "follow_ups": "open_tasks",
    "tenure": "tenure_days",
}
# what each stored driver keeps of the customer's own values, for its sentence
SHOWN = {
    "recency": ("recency_days", "mean_gap_days"),
    "orders": ("orders_90d", "orders_prev_90d"),
    "revenue": ("revenue_365d",),
    "contact": ("days_since_contact", "contacts_90d"),
    "complaints": ("complaints_90d", "tickets_90d"),
    "breaches": ("breaches_90d", "reopens_90d"),
    "sentiment": ("nps_latest", "csat_avg"),
    "follow_ups": ("open_tasks",),
    "tenure": ("tenure_days",),
    "profile": CATEGORICAL,
}
BANDS = ("low", "medium", "high")
RAISING, LOWERING = 3, 2  # drivers kept per customer
NOTICEABLE = 0.05  # log-odds: smaller moves are not worth a sentence


def raw_model(model: Any) -> Any:
    """The fitted pipeline inside the calibration wrappers (CalibratedClassifierCV -> FrozenEstimator)."""
    while not hasattr(model, "steps") and hasattr(model, "estimator"):
        model = model.estimator
    return model


def reference(frame: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """The typical scored customer: each number's median, each category's most common value."""
    return {
        name: frame[name].mode().iat[0] if name in CATEGORICAL else float(frame[name].median())
        for name in columns
        if not frame[name].dropna().empty
    }


CHUNK = 8_000  # customers per prediction call: 13 variants of 49,000 customers at once peaked at 1.1 GB


def _origin(name: str) -> str:
    """The raw column a transformed feature comes from ("num__missingindicator_nps_latest" -> "nps_latest",
    "cat__region_east" -> "region")."""
    kind, _, rest = name.partition("__")
    if kind == "cat":
        return next((c for c in CATEGORICAL if rest.startswith(f"{c}_")), rest)
    return rest.removeprefix("missingindicator_")


def _linear(pipeline: Any, data: pd.DataFrame, groups: list[str], typical: dict[str, Any]) -> pd.DataFrame | None:
    """The same occlusion, exact and in one pass, when the model is linear on column-by-column transforms (the
    logistic pipeline): setting a group to the typical values changes only that group's transformed columns,
    so the log-odds move by the coefficients times those columns' differences. None for any other model."""
    classifier = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else None
    if classifier is None or not hasattr(classifier, "coef_") or classifier.coef_.shape[0] != 1:
        return None
    prepare = pipeline[:-1]
    origin = [_origin(str(n)) for n in prepare.get_feature_names_out()]
    typical_row = data.iloc[:1].copy()
    for name, value in typical.items():
        typical_row[name] = value
    transformed, reference_row = (prepare.transform(x) for x in (data, typical_row))
    transformed, reference_row = (
        np.asarray(x.toarray() if hasattr(x, "toarray") else x, dtype=float) for x in (transformed, reference_row)
    )
    weights = classifier.coef_.ravel()
    out = {}
    for group in groups:
        at = [j for j, raw in enumerate(origin) if raw in GROUPS[group] and raw in typical]
        out[group] = (transformed[:, at] - reference_row[0, at]) @ weights[at]
    return pd.DataFrame(out)


def contributions(model: Any, frame: pd.DataFrame, columns: list[str], typical: dict[str, Any]) -> pd.DataFrame:
    """Log-odds moved by each group per customer (rows as in `frame`): risk as scored minus risk with the group
    set to the typical customer's values. Exact shortcut for the linear model; otherwise every group of a chunk
    of customers in one prediction call."""
    pipeline = raw_model(model)
    data = frame[columns].reset_index(drop=True)
    groups = [g for g, names in GROUPS.items() if any(n in typical for n in names)]
    linear = _linear(pipeline, data, groups, typical)
    if linear is not None:
        return linear
    return _occluded(pipeline, data, groups, typical)


def _occluded(pipeline: Any, data: pd.DataFrame, groups: list[str], typical: dict[str, Any]) -> pd.DataFrame:
    parts = []
    for start in range(0, len(data), CHUNK):
        chunk = data.iloc[start : start + CHUNK]
        variants = [chunk]
        for group in groups:
            changed = chunk.copy()
            for name in GROUPS[group]:
                if name in typical:
                    changed[name] = typical[name]
            variants.append(changed)
        odds = np.asarray(pipeline.decision_function(pd.concat(variants, ignore_index=True)), dtype=float)
        odds = odds.reshape(len(variants), len(chunk))
        parts.append(odds[0] - odds[1:])
    moved = np.concatenate(parts, axis=1) if parts else np.zeros((len(groups), 0))
    return pd.DataFrame({g: moved[k] for k, g in enumerate(groups)})


def _shown_json(frame: pd.DataFrame, names: set[str]) -> dict[str, np.ndarray]:
    """The columns the sentences use, each value already written as JSON (numbers to 2 decimals, missing as
    null): each distinct value written once, then spread by index (most columns are small counts)."""
    out: dict[str, np.ndarray] = {}
    for name in names:
        column = frame[name]
        if column.dtype.kind in "fiub":
            values = np.round(column.to_numpy(dtype=float), 2)
            distinct, inverse = np.unique(values, return_inverse=True)
            written = ["null" if v != v else repr(float(v)) for v in distinct]
        else:
            inverse, distinct = pd.factorize(column, use_na_sentinel=False)
            written = ["null" if v is None or v != v else json.dumps(v, ensure_ascii=False) for v in distinct]
        out[name] = np.asarray(written, dtype=object)[inverse.reshape(-1)]
    return out


def drivers(frame: pd.DataFrame, moved: pd.DataFrame) -> list[str]:
    """Per customer, a JSON list of the strongest drivers raising then lowering the risk, each with the
    customer's own values its sentence needs. One pass over a NumPy matrix with every value written as JSON
    beforehand (49,000 customers: about 1 s; a pandas row at a time took 20 s)."""
    groups = list(moved.columns)
    matrix = moved.to_numpy(dtype=float)
    values = _shown_json(frame.reset_index(drop=True), {n for g in groups for n in SHOWN[g]})
    heads = [f'{{"g":{json.dumps(g)},"c":' for g in groups]
    keys = [[(n, f'"{n}":') for n in SHOWN[g]] for g in groups]
    # the strongest raising and lowering groups per customer, by size, as whole-matrix sorts
    rising = np.where(matrix >= NOTICEABLE, matrix, -np.inf)
    falling = np.where(matrix <= -NOTICEABLE, -matrix, -np.inf)
    up = np.argsort(-rising, axis=1, kind="stable")[:, :RAISING]
    down = np.argsort(-falling, axis=1, kind="stable")[:, :LOWERING]
    up_kept = np.take_along_axis(rising, up, axis=1) > -np.inf
    down_kept = np.take_along_axis(falling, down, axis=1) > -np.inf
    out = []
    for i in range(len(matrix)):
        chosen = [*up[i][up_kept[i]], *down[i][down_kept[i]]]
        items = [
            heads[k] + f"{matrix[i, k]:.3f}" + ',"v":{' + ",".join(key + values[n][i] for n, key in keys[k]) + "}}"
            for k in chosen
        ]
        out.append("[" + ",".join(items) + "]")
    return out


def band_profile(frame: pd.DataFrame, band: pd.Series, moved: pd.DataFrame) -> dict[str, Any]:
    """What the model card and the 360° view compare against: each band's size and the average of each
    headline measure (days since something that never happened left out), and the global importance."""
    averages: dict[str, dict[str, float | None]] = {}
    for name in BANDS:
        members = frame[band.to_numpy() == name]
        averages[name] = {"customers": float(len(members))}
        for group, column in HEADLINE.items():
            values = members[column].replace(NEVER, np.nan).dropna()
            averages[name][group] = round(float(values.mean()), 2) if len(values) else None
    importance = moved.abs().mean().sort_values(ascending=False)
    return {"bands": averages, "importance": {g: round(float(v), 4) for g, v in importance.items()}}


# --- sentences ------------------------------------------------------------------------------------------------


def _days(value: Any) -> int | None:
    return None if value is None or value >= NEVER else int(value)


def driver_text(driver: dict[str, Any], lang: str) -> str:
    """One driver in plain words in `lang` ("Orders −60 % on the quarter before (2 vs 5)")."""
    group, v = driver["g"], driver.get("v", {})
    t = i18n.t
    if group == "recency":
        days, gap = _days(v.get("recency_days")), _days(v.get("mean_gap_days"))
        if days is None:
            return t("churn.driver.recency.never", lang)
        if gap is None:
            return t("churn.driver.recency.single", lang, days=days)
        return t("churn.driver.recency", lang, days=days, gap=gap)
    if group == "orders":
        now, before = int(v.get("orders_90d") or 0), int(v.get("orders_prev_90d") or 0)
        if before == 0:
            return t("churn.driver.orders.none", lang) if now == 0 else t("churn.driver.orders.new", lang, n=now)
        change = f"{(now - before) / before * 100:+.0f} %".replace("-", "−")
        return t("churn.driver.orders", lang, change=change, now=now, before=before)
    if group == "revenue":
        return t("churn.driver.revenue", lang, amount=formatting.money(float(v.get("revenue_365d") or 0), lang))
    if group == "contact":
        days = _days(v.get("days_since_contact"))
        if days is None:
            return t("churn.driver.contact.never", lang)
        return t("churn.driver.contact", lang, days=days, n=int(v.get("contacts_90d") or 0))
    if group in ("complaints", "breaches"):
        first, second = SHOWN[group]
        return t(f"churn.driver.{group}", lang, n=int(v.get(first) or 0), other=int(v.get(second) or 0))
    if group == "sentiment":
        nps, csat = v.get("nps_latest"), v.get("csat_avg")
        parts = []
        if nps is not None:
            parts.append(t("churn.driver.nps", lang, score=int(nps)))
        if csat is not None:
            parts.append(t("churn.driver.csat", lang, score=f"{csat:.1f}"))
        return t("common.list_separator", lang).join(parts) if parts else t("churn.driver.sentiment.none", lang)
    if group == "follow_ups":
        return t("churn.driver.follow_ups", lang, n=int(v.get("open_tasks") or 0))
    if group == "tenure":
        return t("churn.driver.tenure", lang, months=int((v.get("tenure_days") or 0) // 30))
    codes = {"kind": "kind", "company_size": "size", "industry": "industry", "region": "region"}
    shown = [i18n.label(codes[n], v.get(n), lang) for n in CATEGORICAL if v.get(n) not in (None, "unknown")]
    return t("churn.driver.profile", lang, text=t("common.list_separator", lang).join(shown))


def texts(stored: str | None, lang: str) -> tuple[list[str], list[str]]:
    """The stored drivers of one customer as sentences: (raising, lowering)."""
    found = json.loads(stored) if stored else []
    raising = [driver_text(d, lang) for d in found if d["c"] > 0]
    lowering = [driver_text(d, lang) for d in found if d["c"] < 0]
    return raising, lowering
