"""Exports: who may export what, the tables they get, and one audit entry per export."""

from __future__ import annotations

import io
from dataclasses import asdict

import pandas as pd
from sqlalchemy.orm import Session

from core import audit, formatting
from core.errors import PermissionDenied
from core.i18n import t
from core.kpi import Cockpit
from core.periods import Filters
from core.security import Viewer

# an account manager works the customer list; bulk copies of it stay with executives and analysts
EXPORT_ROLES = {"kpis": ("admin", "executive", "analyst"), "audit_log": ("admin",), "customers": ("admin", "executive", "analyst"),
                "service_sla": ("admin", "executive", "analyst", "team_lead"), "voice": ("admin", "executive", "analyst", "team_lead")}


def may_export(viewer: Viewer, what: str) -> bool:
    return viewer.role in EXPORT_ROLES.get(what, ())


def kpi_table(result: Cockpit, lang: str) -> pd.DataFrame:
    """The cockpit's KPIs as a table: raw values (for analysis) beside the formatted ones."""
    rows = [{"kpi": t(f"kpi.{k.key}", lang), "period": result.period.label(), "value": k.value,
             "previous_period": result.previous.label(), "previous": k.previous,
             "shown": formatting.value(k.value, k.unit, lang), "unit": k.unit} for k in result.kpis]
    return pd.DataFrame(rows, columns=["kpi", "period", "value", "previous_period", "previous", "shown", "unit"])


def to_csv(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark, so Excel opens Chinese text correctly."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(frame: pd.DataFrame, sheet: str = "data") -> bytes:
    """One worksheet of `frame` (for the small analytic tables; the customer list streams its own)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()


def record_export(session: Session, *, viewer: Viewer, what: str, rows: int, filters: Filters | None = None,
                  details: dict[str, object] | None = None) -> None:
    """Audit one export (who, when, what, which filters, how many rows); refuses a role without the right."""
    if not may_export(viewer, what):
        raise PermissionDenied(f"{viewer.role} may not export {what}")
    audit.record(session, action="export", username=viewer.username, object=what,
                 details={"rows": rows, "filters": asdict(filters) if filters else None, **(details or {})})
