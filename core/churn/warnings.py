"""What the pages read of the stored churn scores: the early-warning list ranked by expected revenue at risk,
the cockpit's figures, and the model card with its warnings.

Expected revenue at risk of a customer = calibrated probability of churning within the horizon × the last
12 months' revenue (KPI glossary, "with the model"), which the cockpit shows; the list ranks by predicted value
at risk = that probability × the next 12 months' predicted value (`core.churn.value`; the last 12 months'
revenue for a customer with no prediction).
Every query passes through `core.access.visible` on the customers table, so an account manager's list and
figures hold their own customers only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import models as m
from core.access import Viewer, require, scoped, visible
from core.churn.explain import BANDS, HEADLINE, texts
from core.churn.model import DROP_WARNING, NEVER, STALE_AFTER_DAYS, features
from core.exports import record_export
from core.i18n import label, t
from core.periods import Filters

C, S, U = m.table(m.Customer), m.table(m.CustomerStat), m.table(m.User)
CS, CM, CV = m.table(m.ChurnScore), m.table(m.ChurnModel), m.table(m.CustomerValue)
SORTS = ("value_at_risk", "expected_loss", "risk", "revenue_12m", "clv_12m")
LIST_COLUMNS = [
    "customer_id",
    "code",
    "name",
    "owner",
    "region",
    "industry",
    "band",
    "risk",
    "percentile",
    "revenue_12m",
    "expected_loss",
    "clv_12m",
    "value_at_risk",
    "health",
    "orders_last_90",
    "orders_prev_90",
    "last_order_date",
    "drivers",
]


def _expected_loss() -> Any:
    return CS.c.risk * func.coalesce(S.c.revenue_12m, 0)


def _predicted_value() -> Any:
    return func.coalesce(CV.c.clv_12m, S.c.revenue_12m, 0)


def _scored() -> Any:
    return CS.join(C, C.c.id == CS.c.customer_id).outerjoin(S, S.c.customer_id == CS.c.customer_id)


def _listed() -> Any:
    return _scored().outerjoin(CV, CV.c.customer_id == CS.c.customer_id)


@dataclass(frozen=True)
class RiskSummary:
    """The viewer's scored customers: how many per band and their expected revenue at risk."""

    scored: int
    per_band: dict[str, int]
    expected_loss: float
    as_of: date | None
    model_version: int | None


def summary(session: Session, filters: Filters, *, viewer: Viewer) -> RiskSummary | None:
    """None until a model has scored the customers (the cockpit then falls back on the written rule)."""
    require(viewer, "page:churn")  # the cockpit's roles are the page's
    stmt = (
        select(
            CS.c.band,
            func.count().label("customers"),
            func.sum(_expected_loss()).label("loss"),
            func.max(CS.c.as_of).label("as_of"),
            func.max(CS.c.model_version).label("version"),
        )
        # the customers table only when a filter or the viewer's scope reads it (a million look-ups otherwise)
        .select_from(
            _scored()
            if not scoped(viewer, filters).is_empty()
            else CS.outerjoin(S, S.c.customer_id == CS.c.customer_id)
        )
        .group_by(CS.c.band)
    )
    rows = session.execute(visible(stmt, C, viewer, filters)).all()
    if not rows and session.scalar(select(func.count()).select_from(CS)) == 0:
        return None
    as_of = max((r.as_of for r in rows), default=None)
    return RiskSummary(
        scored=sum(int(r.customers) for r in rows),
        per_band={band: sum(int(r.customers) for r in rows if r.band == band) for band in BANDS},
        expected_loss=float(sum(float(r.loss or 0) for r in rows)),
        as_of=date.fromisoformat(str(as_of)[:10]) if as_of else None,
        model_version=max((int(r.version) for r in rows), default=None),
    )


def _sort_key(sort: str) -> Any:
    """What the risk list is ordered by, highest first (an unknown sort: the predicted value at risk)."""
    return {
        "value_at_risk": CS.c.risk * _predicted_value(),
        "expected_loss": _expected_loss(),
        "risk": CS.c.risk,
        "revenue_12m": func.coalesce(S.c.revenue_12m, 0),
        "clv_12m": _predicted_value(),
    }[sort if sort in SORTS else "value_at_risk"]


def _filtered(stmt: Select, filters: Filters, viewer: Viewer, bands: tuple[str, ...]) -> Select:
    if bands:
        stmt = stmt.where(CS.c.band.in_(bands))
    return visible(stmt, C, viewer, filters)


def risk_list(
    session: Session,
    filters: Filters,
    *,
    viewer: Viewer,
    bands: tuple[str, ...] = (),
    sort: str = "value_at_risk",
    limit: int | None = 50,
    offset: int = 0,
) -> tuple[pd.DataFrame, int]:
    """One page of scored customers, highest first by `sort`, and how many match in all (paged in SQL;
    `limit=None` for the export of every matching row)."""
    require(viewer, "page:churn")
    order = _sort_key(sort)
    total = session.scalar(_filtered(select(func.count()).select_from(_scored()), filters, viewer, bands))
    return _risk_rows(session, filters, viewer, bands, order, limit, offset), int(total or 0)


def _risk_rows(
    session: Session,
    filters: Filters,
    viewer: Viewer,
    bands: tuple[str, ...],
    order: Any,
    limit: int | None,
    offset: int,
) -> pd.DataFrame:
    stmt = _filtered(
        select(
            C.c.id.label("customer_id"),
            C.c.code,
            C.c.name,
            U.c.display_name.label("owner"),
            C.c.region,
            C.c.industry,
            CS.c.band,
            CS.c.risk,
            CS.c.percentile,
            func.coalesce(S.c.revenue_12m, 0).label("revenue_12m"),
            _expected_loss().label("expected_loss"),
            _predicted_value().label("clv_12m"),
            (CS.c.risk * _predicted_value()).label("value_at_risk"),
            CV.c.health,
            S.c.orders_last_90,
            S.c.orders_prev_90,
            S.c.last_order_date,
            CS.c.drivers,
        ).select_from(_listed().outerjoin(U, U.c.id == C.c.owner_id)),
        filters,
        viewer,
        bands,
    )
    stmt = stmt.order_by(order.desc(), C.c.id).limit(limit).offset(offset)
    return pd.DataFrame(session.execute(stmt).mappings().all(), columns=LIST_COLUMNS)


def cockpit_warnings(session: Session, filters: Filters, *, viewer: Viewer, limit: int = 10) -> pd.DataFrame:
    """The cockpit's churn warnings from the model: medium and high risk, largest predicted value at risk first
    (no count of them all: the cockpit shows the first few)."""
    require(viewer, "page:churn")
    order = _sort_key("value_at_risk")
    return _risk_rows(session, filters, viewer, ("high", "medium"), order, limit, 0).assign(churn_reason=None)


def customer_risk(session: Session, viewer: Viewer, customer_id: int) -> dict[str, Any] | None:
    """One customer's stored score, or None (not scored, or outside the viewer's scope)."""
    stmt = select(CS.c.risk, CS.c.percentile, CS.c.band, CS.c.drivers, CS.c.as_of, CS.c.model_version).select_from(
        CS.join(C, C.c.id == CS.c.customer_id)
    )
    row = session.execute(visible(stmt.where(CS.c.customer_id == customer_id), C, viewer)).first()
    return dict(row._mapping) if row else None


def customer_measures(session: Session, viewer: Viewer, customer_id: int, *, as_of: date) -> dict[str, float]:
    """This customer's headline measure per driver group as of the scoring (for the comparison with the
    bands' averages); empty when the customer is outside the viewer's scope or not a customer then."""

    if session.execute(visible(select(C.c.id).where(C.c.id == customer_id), C, viewer)).first() is None:
        return {}
    frame = features(session, as_of, customer_ids=[customer_id])
    if frame.empty:
        return {}
    row = frame.iloc[0]
    return {g: float(row[c]) for g, c in HEADLINE.items() if pd.notna(row[c]) and row[c] != NEVER}


def export_rows(
    session: Session, filters: Filters, *, viewer: Viewer, bands: tuple[str, ...], sort: str, lang: str, fmt: str
) -> pd.DataFrame:
    """Every row the list shows for these filters, as the export writes them: headers and bands in `lang`,
    drivers in words, no contact details at all; audited in the same transaction. Refuses a role that may
    not export it."""

    require(viewer, "export:churn")  # refused before any row is read
    rows, _ = risk_list(session, filters, viewer=viewer, bands=bands, sort=sort, limit=None)
    drivers = [texts(d, lang) for d in rows["drivers"]]
    frame = pd.DataFrame(
        {
            "code": rows["code"],
            "name": rows["name"],
            "owner": rows["owner"],
            "region": [label("region", r, lang) for r in rows["region"]],
            "industry": [label("industry", i, lang) for i in rows["industry"]],
            "band": [label("churn.band", b, lang) for b in rows["band"]],
            "risk": rows["risk"].astype(float).round(4),
            "percentile": rows["percentile"].astype(float).round(1),
            "revenue_12m": rows["revenue_12m"].astype(float).round(2),
            "expected_loss": rows["expected_loss"].astype(float).round(2),
            "clv_12m": rows["clv_12m"].astype(float).round(2),
            "value_at_risk": rows["value_at_risk"].astype(float).round(2),
            "health": rows["health"],
            "raising": ["; ".join(up) for up, _ in drivers],
            "lowering": ["; ".join(down) for _, down in drivers],
        }
    )
    record_export(session, viewer=viewer, what="churn", rows=len(frame), filters=filters, details={"format": fmt})
    return frame.rename(columns={c: t(f"churn.col.{c}", lang) for c in frame.columns})


@dataclass
class ModelCard:
    """The newest stored model as the card shows it, with what should make a reader doubt it."""

    version: int
    trained_at: datetime
    trained_by: str
    chosen: str
    grade: str
    horizon_days: int
    first_snapshot: date
    test_snapshot: date
    features: list[str]
    metrics: dict[str, dict[str, Any]]
    profile: dict[str, Any] | None
    warnings: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (catalog key, values)


def model_card(session: Session, *, today: date) -> ModelCard | None:
    row = session.execute(select(CM).order_by(CM.c.version.desc()).limit(1)).first()
    if row is None:
        return None
    card = ModelCard(
        version=int(row.version),
        trained_at=row.trained_at,
        trained_by=row.trained_by,
        chosen=row.chosen,
        grade=row.grade,
        horizon_days=int(row.horizon_days),
        first_snapshot=row.first_snapshot,
        test_snapshot=row.test_snapshot,
        features=json.loads(row.features),
        metrics=json.loads(row.metrics),
        profile=json.loads(row.profile) if row.profile else None,
    )
    newest_known = today - timedelta(days=card.horizon_days)  # the latest period whose outcome is known today
    if (newest_known - card.test_snapshot).days >= STALE_AFTER_DAYS:
        card.warnings.append(("churn.card.stale", {"date": card.test_snapshot.isoformat()}))
    recent = (card.profile or {}).get("recent") or {}
    tested = card.metrics.get(card.chosen, {}).get("roc_auc")
    if recent.get("roc_auc") is not None and tested is not None and recent["roc_auc"] < tested - DROP_WARNING:
        card.warnings.append(
            ("churn.card.dropped", {"date": recent["snapshot"], "now": recent["roc_auc"], "then": round(tested, 3)})
        )
    if card.profile is None:
        card.warnings.append(("churn.card.unscored", {}))
    return card
