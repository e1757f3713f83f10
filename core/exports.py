"""Exports: who may export what, the tables they get, and one audit entry per export."""

from __future__ import annotations

import io
from dataclasses import asdict
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy.orm import Session

from core import audit, formatting
from core.access import Viewer, allowed, require
from core.i18n import t
from core.periods import Filters

if TYPE_CHECKING:  # core.kpi reads the churn scores, whose export is audited here
    from core.kpi import Cockpit


def may_export(viewer: Viewer, what: str) -> bool:
    """Whether the viewer may export `what` (kpis, customers, service_sla, voice, audit_log): `core.access`."""
    return allowed(viewer, f"export:{what}")


KPI_COLUMNS = ("kpi", "period", "value", "previous_period", "previous", "shown", "unit")


def kpi_table(result: Cockpit, lang: str) -> pd.DataFrame:
    """The cockpit's KPIs as a table, headed in `lang`: the value rounded for reading (rates as percent with
    one decimal, money in cents) beside the text the card shows; open complaints and revenue at risk too."""

    def rounded(number: float | None, unit: str) -> float | None:
        if number is None:
            return None
        return round(100 * number, 1) if unit == "percent" else round(number, 2 if unit == "money" else 1)

    rows = [
        {
            "kpi": t(f"kpi.{k.key}", lang),
            "period": result.period.label(),
            "value": rounded(k.value, k.unit),
            "previous_period": result.previous.label(),
            "previous": rounded(k.previous, k.unit),
            "shown": formatting.value(k.value, k.unit, lang),
            "unit": t(f"export.unit.{k.unit}", lang),
        }
        for k in result.kpis
    ]
    complaints = result.open_complaints
    as_of = f"{result.period.last_day:%Y-%m-%d}"
    for key, number, unit, shown in (
        (
            "open_complaints",
            complaints.open,
            "count",
            t(
                "export.open_complaints",
                lang,
                open=f"{complaints.open:,}",
                breached=f"{complaints.breached:,}",
                at_risk=f"{complaints.at_risk:,}",
            ),
        ),
        ("revenue_at_risk", result.revenue_at_risk, "money", formatting.money(result.revenue_at_risk, lang)),
    ):
        rows.append(
            {
                "kpi": t(f"kpi.{key}", lang),
                "period": as_of,
                "value": rounded(float(number), unit),
                "previous_period": "",
                "previous": None,
                "shown": shown,
                "unit": t(f"export.unit.{unit}", lang),
            }
        )
    frame = pd.DataFrame(rows, columns=list(KPI_COLUMNS))
    return frame.rename(columns={c: t(f"export.col.{c}", lang) for c in KPI_COLUMNS})


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula (=, +, -, @ ...) gets a leading apostrophe."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """What every export writes: text cells neutralised, fractions to 4 decimals (no binary-float tails)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype.kind == "f":
            out[column] = out[column].round(4)
        elif out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = [neutralise(v) for v in out[column]]
    return out


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    for_spreadsheet(frame).to_csv(buffer, index=False)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """One worksheet of `frame` (for the small analytic tables; the customer list streams its own)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for_spreadsheet(frame).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()


def record_export(
    session: Session,
    *,
    viewer: Viewer,
    what: str,
    rows: int,
    filters: Filters | None = None,
    details: dict[str, object] | None = None,
) -> None:
    """Audit one export (who, when, what, which filters, how many rows); refuses a role without the right."""
    require(viewer, f"export:{what}")
    audit.record(
        session,
        action="export",
        username=viewer.username,
        object=what,
        details={"rows": rows, "filters": asdict(filters) if filters else None, **(details or {})},
    )
