"""A KPI's target and status in words, as the cockpit cards, the Service and Voice pages and the Goals view show
it (the rule itself lives in core.targets)."""

from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from core import formatting
from core.targets import Standing, Target
from ui.context import lang, tr

STATUS_COLOURS = {"met": "green", "on_track": "green", "at_risk": "orange", "missed": "red", "no_data": "gray"}


def goal_value(target: Target, goal: float | None) -> str:
    """The goal alone, "≥ 95.0%" (a change target's before its baseline is known: "—")."""
    sign = "≥" if target.measure.higher_is_better else "≤"
    return f"{sign} {formatting.value(goal, target.measure.unit, lang())}" if goal is not None else "—"


def change_text(target: Target, baseline: float | None) -> str:
    """What a change target's goal comes from, "+30% against 2026-01-01 – 2026-06-30: 20.0%" ("" if absolute)."""
    if target.kind == "absolute":
        return ""
    change = f"{target.value:+.0f}" if target.measure.unit == "score" else f"{100 * target.value:+.0f}%"
    return tr(
        "targets.against",
        change=change,
        start=f"{target.baseline_start:%Y-%m-%d}",
        end=f"{target.baseline_end:%Y-%m-%d}",
        value=formatting.value(baseline, target.measure.unit, lang())
        if baseline is not None
        else tr("targets.no_baseline"),
    )


def goal_text(target: Target, goal: float | None, baseline: float | None = None) -> str:
    """The goal as "≥ 95.0%", or for a change target "≥ 26.0% (+30% against 2026-01-01 – 2026-06-30: 20.0%)",
    the baseline being the one this period is compared with (its average month, for a month)."""
    if target.kind == "absolute":
        return goal_value(target, target.value)
    if goal is None:
        return change_text(target, baseline)
    return f"{goal_value(target, goal)} ({change_text(target, baseline)})"


def status_text(status: str) -> str:
    """The status as coloured Markdown (our own words only: no user text goes through here)."""
    return f":{STATUS_COLOURS[status]}[**{tr(f'targets.status.{status}')}**]"


def caption(standing: Standing | None, *, with_value: bool = False) -> None:
    """One line under a figure: its target and status (after the KPI's value over the view, `with_value`, where the
    page shows no single figure), or nothing when it has no target in this view."""
    if standing is None:
        return
    goal = goal_text(standing.target, standing.goal, standing.baseline)
    measure = standing.target.measure
    shown = (
        f"{tr(f'kpi.{measure.key}')} {formatting.value(standing.value, measure.unit, lang())} · " if with_value else ""
    )
    st.caption(f"{shown}{tr('targets.target')} {goal} · {status_text(standing.status)}")


def source_caption(tables: tuple[str, ...], refreshed_at: datetime | None, *, as_of: date | None = None) -> None:
    """Where a card's figure comes from and when that data was made (a summary row's time, the day a summary was
    built or scored, or now)."""
    if refreshed_at is not None:
        when = tr("targets.refreshed", at=f"{refreshed_at:%Y-%m-%d %H:%M}")
    elif as_of is not None:
        when = tr("targets.as_of", day=f"{as_of:%Y-%m-%d}")
    else:
        when = tr("targets.live")
    st.caption(f"{tr('targets.source')} {', '.join(f'`{name}`' for name in tables)} · {when}")
