"""Next best offer (issue 16, seed 003 交叉销售): for each customer, the product categories they are most likely to
buy next, from the order history's co-purchase pattern, measured on a held-out last period against the most
popular categories.

Model: how often each category followed each other one in customers' consecutive orders (a first-order
transition table over every customer's history, counted in SQL by a window function), smoothed by the
categories' overall shares (one pseudo-order per row, so a rare category's row is not all zeros). A
customer's offers are their last order's row, best first.

Measured: the table learned from the orders before the held-out window (the last 90 days by default); for
every customer who ordered both before and in the window, a hit when one of their top k categories is among
those they bought in the window. The baseline offers everyone the k categories most bought before the window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from core import clock, db, models as m
from core.access import Viewer, scope, scoped, visible
from core.periods import Filters

O, C, S, MODELS = m.table(m.Order), m.table(m.Customer), m.table(m.CustomerStat), m.table(m.OfferModel)
CATEGORIES = m.PRODUCT_CATEGORIES
HOLDOUT_DAYS = 90


def _previous_and_next(before: date | None) -> Select:
    """(previous category, category) of each pair of a customer's consecutive orders (before a day)."""
    previous = func.lag(O.c.product_category).over(partition_by=O.c.customer_id, order_by=(O.c.order_date, O.c.id))
    inner = select(previous.label("previous"), O.c.product_category.label("category"))
    if before is not None:
        inner = inner.where(O.c.order_date < before)
    pairs = inner.subquery()
    return (
        select(pairs.c.previous, pairs.c.category, func.count())
        .where(pairs.c.previous.is_not(None))
        .group_by(pairs.c.previous, pairs.c.category)
    )


def transitions(session: Session, *, before: date | None = None) -> pd.DataFrame:
    """P(next category | last category): one row per last category, columns the next ones (rows sum to 1)."""
    counts = pd.DataFrame(db.tuples(session.execute(_previous_and_next(before))), columns=["previous", "category", "n"])
    table = counts.pivot_table(index="previous", columns="category", values="n", aggfunc="sum", fill_value=0)
    table = table.reindex(index=list(CATEGORIES), columns=list(CATEGORIES), fill_value=0).astype(float)
    shares = table.sum(axis=0)
    shares = shares / shares.sum() if shares.sum() else pd.Series(1 / len(CATEGORIES), index=table.columns)
    smoothed = table.add(shares, axis=1)  # one pseudo-order spread by the overall shares
    return smoothed.div(smoothed.sum(axis=1), axis=0)


def popular(session: Session, *, before: date | None = None) -> list[str]:
    """Categories by how many orders bought them (before a day), most first: the baseline's offers."""
    stmt = select(O.c.product_category, func.count()).group_by(O.c.product_category)
    if before is not None:
        stmt = stmt.where(O.c.order_date < before)
    counts = dict(db.tuples(session.execute(stmt)))
    return sorted(CATEGORIES, key=lambda c: (-counts.get(c, 0), c))


def offers(table: pd.DataFrame, last_category: str | None, *, k: int = 3) -> list[tuple[str, float]]:
    """The k categories most likely next after `last_category`, with their probability."""
    if last_category not in table.index:
        return []
    row = table.loc[last_category].sort_values(ascending=False, kind="stable")
    return [(str(c), float(p)) for c, p in row.head(k).items()]


def _last_categories(session: Session, where: object, *, before: date | None = None) -> pd.DataFrame:
    """Each customer's last order (before a day): customer_id, order_date, category."""
    rank = func.row_number().over(partition_by=O.c.customer_id, order_by=(O.c.order_date.desc(), O.c.id.desc()))
    inner = select(O.c.customer_id, O.c.order_date, O.c.product_category, rank.label("n")).where(where)  # type: ignore[arg-type]
    if before is not None:
        inner = inner.where(O.c.order_date < before)
    ranked = inner.subquery()
    rows = session.execute(
        select(ranked.c.customer_id, ranked.c.order_date, ranked.c.product_category).where(ranked.c.n == 1)
    )
    return pd.DataFrame(db.tuples(rows), columns=["customer_id", "order_date", "category"])


def for_customer(
    session: Session, viewer: Viewer, customer_id: int, table: pd.DataFrame, *, k: int = 3
) -> tuple[str | None, list[tuple[str, float]]]:
    """A customer's last category and next offers (empty outside the viewer's scope or without orders)."""
    if session.scalar(visible(select(C.c.id).where(C.c.id == customer_id), C, viewer)) is None:
        return None, []
    last = session.execute(
        select(O.c.product_category)
        .where(O.c.customer_id == customer_id)
        .order_by(O.c.order_date.desc(), O.c.id.desc())
        .limit(1)
    ).scalar()
    return last, offers(table, last, k=k)


def worklist(
    session: Session,
    viewer: Viewer,
    table: pd.DataFrame,
    *,
    filters: Filters | None = None,
    category: str | None = None,
    limit: int = 200,
) -> pd.DataFrame:
    """Active customers in scope with their best offer, most likely first (for one offered category when given):
    code, name, tier, last order day and category, the offer and its probability. Each customer's last category
    is read at their last order day (customer_stats), one index seek each, not from their whole history."""
    columns = ["customer_id", "code", "name", "tier", "last_order", "last_category", "offer", "probability"]
    stmt = (
        select(S.c.customer_id, S.c.code, S.c.name, S.c.tier, S.c.last_order_date, func.max(O.c.product_category))
        .select_from(S.join(O, and_(O.c.customer_id == S.c.customer_id, O.c.order_date == S.c.last_order_date)))
        .where(S.c.status == "active")
        .group_by(S.c.customer_id, S.c.code, S.c.name, S.c.tier, S.c.last_order_date)
    )
    rows = db.tuples(session.execute(scope(stmt, S, scoped(viewer, filters or Filters()))))
    last = pd.DataFrame(rows, columns=["customer_id", "code", "name", "tier", "last_order", "last_category"])
    if last.empty:
        return pd.DataFrame(columns=columns)
    if category is not None:
        last["offer"] = category
        last["probability"] = [float(table.at[c, category]) if c in table.index else 0.0 for c in last["last_category"]]
    else:
        best = {c: offers(table, c, k=1) for c in table.index}
        last["offer"] = [best[c][0][0] if best.get(c) else None for c in last["last_category"]]
        last["probability"] = [best[c][0][1] if best.get(c) else 0.0 for c in last["last_category"]]
    last = last[last["offer"].notna()]
    last = last.sort_values(["probability", "last_order", "customer_id"], ascending=[False, False, True], kind="stable")
    return last.head(limit)[columns].reset_index(drop=True)


@dataclass(frozen=True)
class HitRate:
    """The model against the most popular categories on a held-out window: customers scored, and the share of
    them with a hit in the top 1 and top 2 offers."""

    start: date
    end: date
    customers: int
    model: dict[int, float]
    baseline: dict[int, float]
    baseline_offers: list[str]


def hit_rate(session: Session, *, today: date, days: int = HOLDOUT_DAYS, ks: tuple[int, ...] = (1, 2)) -> HitRate:
    """Learn from the orders before the window, score on the window (the whole base: a model's quality, not a
    customer's data)."""
    start = today - timedelta(days=days)
    table = transitions(session, before=start)
    ranking = popular(session, before=start)
    last = _last_categories(session, O.c.order_date < start, before=start)
    bought = pd.DataFrame(
        db.tuples(
            session.execute(
                select(O.c.customer_id, O.c.product_category)
                .where(and_(O.c.order_date >= start, O.c.order_date < today))
                .distinct()
            )
        ),
        columns=["customer_id", "category"],
    )
    later = bought.groupby("customer_id")["category"].agg(set)
    scored = last[last["customer_id"].isin(later.index)]
    model = {k: 0 for k in ks}
    baseline = {k: 0 for k in ks}
    top = {c: [o for o, _ in offers(table, c, k=max(ks))] for c in CATEGORIES}
    for row in scored.itertuples():
        actual = later[row.customer_id]
        for k in ks:
            model[k] += bool(set(top.get(row.category, [])[:k]) & actual)
            baseline[k] += bool(set(ranking[:k]) & actual)
    n = len(scored)
    return HitRate(
        start=start,
        end=today,
        customers=n,
        model={k: model[k] / n if n else 0.0 for k in ks},
        baseline={k: baseline[k] / n if n else 0.0 for k in ks},
        baseline_offers=ranking[: max(ks)],
    )


@dataclass(frozen=True)
class Model:
    """The model in use: when it was learned, from how many orders, its table and its held-out hit rate."""

    learned_at: datetime
    orders: int
    table: pd.DataFrame
    evaluation: HitRate


def learn(session: Session, *, today: date | None = None, now: datetime | None = None) -> Model:
    """Learn the table from every order and measure it on the held-out window; stored as the model in use (by
    `python -m core refresh` nightly, the demo seed, or an analyst's click)."""
    today = today or clock.today()
    table = transitions(session)
    evaluation = hit_rate(session, today=today)
    orders = int(session.scalar(select(func.count()).select_from(O)) or 0)
    at = (now or clock.now()).replace(microsecond=0)
    session.execute(
        MODELS.insert().values(
            learned_at=at,
            orders=orders,
            transitions=table.to_json(orient="split"),
            evaluation=json.dumps(
                {
                    "start": evaluation.start.isoformat(),
                    "end": evaluation.end.isoformat(),
                    "customers": evaluation.customers,
                    "model": evaluation.model,
                    "baseline": evaluation.baseline,
                    "baseline_offers": evaluation.baseline_offers,
                }
            ),
        )
    )
    return Model(at, orders, table, evaluation)


def latest(session: Session) -> Model | None:
    """The newest learned model, or None before the first learning."""
    row = session.execute(select(MODELS).order_by(MODELS.c.id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    split = json.loads(row["transitions"])
    table = pd.DataFrame(split["data"], index=split["index"], columns=split["columns"])
    found = json.loads(row["evaluation"])
    evaluation = HitRate(
        start=date.fromisoformat(found["start"]),
        end=date.fromisoformat(found["end"]),
        customers=int(found["customers"]),
        model={int(k): float(v) for k, v in found["model"].items()},
        baseline={int(k): float(v) for k, v in found["baseline"].items()},
        baseline_offers=list(found["baseline_offers"]),
    )
    return Model(row["learned_at"], int(row["orders"]), table, evaluation)


def current_worklist(
    session: Session, viewer: Viewer, *, category: str | None = None, limit: int = 200
) -> tuple[Model | None, pd.DataFrame]:
    """The model in use and the viewer's worklist from it (no model yet: None and an empty list)."""
    from core.access import require

    require(viewer, "page:growth")
    model = latest(session)
    if model is None:
        return None, pd.DataFrame(
            columns=["customer_id", "code", "name", "tier", "last_order", "last_category", "offer", "probability"]
        )
    return model, worklist(session, viewer, model.table, category=category, limit=limit)


def customer_offers(session: Session, viewer: Viewer, customer_id: int) -> tuple[str | None, list[tuple[str, float]]]:
    """A customer's last category and offers from the model in use (nothing before the first learning)."""
    model = latest(session)
    return for_customer(session, viewer, customer_id, model.table) if model else (None, [])


def learn_now(session: Session, viewer: Viewer) -> Model:
    """An analyst's or administrator's "learn again" (the nightly refresh does the same)."""
    from core.access import require

    require(viewer, "offers:learn")
    return learn(session)
