"""KPI cards: value, delta against the previous period, 12-month sparkline and the definition as help."""

from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from core import formatting
from core.kpi import Kpi
from core.targets import Standing
from ui import targets
from ui.context import lang, tr


def kpi_card(
    kpi: Kpi,
    *,
    note: str | None = None,
    standing: Standing | None = None,
    sources: tuple[str, ...] = (),
    refreshed_at: datetime | None = None,
    as_of: date | None = None,
) -> None:
    """The card, then its target and status (when it has one in this view) and where its data comes from (the
    summary rows' time, else the day the summaries were built, else "computed live")."""
    current = lang()
    previous = formatting.value(kpi.previous, kpi.unit, current) if kpi.previous is not None else None
    help_text = tr(f"kpi.{kpi.key}.help")
    if note:
        help_text += "\n\n" + note
    trend = [v for v in kpi.trend if v is not None]
    st.metric(
        tr(f"kpi.{kpi.key}"),
        formatting.value(kpi.value, kpi.unit, current),
        delta=formatting.delta(kpi.value, kpi.previous, kpi.unit, current),
        delta_color="normal" if kpi.higher_is_better else "inverse",
        delta_description=tr("cockpit.previous", value=previous) if previous else tr("cockpit.no_previous"),
        help=help_text,
        border=True,
        chart_data=trend if len(trend) > 1 else None,
        chart_type="area",
    )
    targets.caption(standing)
    if sources:
        targets.source_caption(sources, refreshed_at, as_of=as_of)


def plain_card(
    title_key: str,
    value: str,
    detail: str,
    *,
    help_key: str | None = None,
    standing: Standing | None = None,
    sources: tuple[str, ...] = (),
    as_of: date | None = None,
) -> None:
    """A card without a previous-period delta (point-in-time figures, computed live); `help_key` when the
    definition in force is not the card's usual one."""
    st.metric(
        tr(title_key),
        value,
        help=tr(help_key or f"{title_key}.help"),
        border=True,
        delta=detail,
        delta_color="off",
        delta_arrow="off",
    )
    targets.caption(standing)
    if sources:
        targets.source_caption(sources, None, as_of=as_of)
