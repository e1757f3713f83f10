"""Sidebar period selector and dimension filters, kept in the URL so a view can be bookmarked and shared.

The URL holds language-neutral codes (?grain=Q&period=2026-Q3&region=east&owner=4), read once when a
session opens the page and written back on every change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import streamlit as st

from core.i18n import label
from core.periods import Filters, Period, custom_period, period_containing, periods_between
from ui import data
from ui.context import lang, tr

GRAIN_OPTIONS = ("M", "Q", "Y", "custom")


def _restore(key: str, valid: Sequence[str], default: str | list[str], *, multi: bool = False) -> None:
    """Put the URL's value (when valid) or the default into session state before the widget is drawn."""
    if key in st.session_state:
        return
    if multi:
        st.session_state[key] = [v for v in st.query_params.get_all(key) if v in valid] or default
    else:
        wanted = st.query_params.get(key)
        st.session_state[key] = wanted if wanted in valid else default


def _publish(key: str, value: str | list[str] | None, default: str | list[str] | None) -> None:
    if value in (default, None, []):
        st.query_params.pop(key, None)
    else:
        st.query_params[key] = value


def _period_choices(grain: str, today: date) -> list[Period]:
    span = data.facts_range()
    first = span[0] if span else today
    return list(reversed(periods_between(first, today, grain)))


def period_selector(today: date | None = None) -> Period:
    """Month, quarter, year (default: the last complete one) or a custom range."""
    today = today or date.today()
    st.sidebar.subheader(tr("period.header"))
    _restore("grain", GRAIN_OPTIONS, "M")
    grain = st.sidebar.segmented_control(tr("period.grain"), GRAIN_OPTIONS, key="grain",
                                         format_func=lambda g: tr(f"period.grain.{g}")) or "M"
    _publish("grain", grain, "M")
    if grain == "custom":
        st.query_params.pop("period", None)
        last_month = period_containing(today.replace(day=1) - timedelta(days=1), "M")
        picked = st.sidebar.date_input(tr("period.range"), value=(last_month.start, last_month.last_day),
                                       max_value=today, key="range")
        if isinstance(picked, tuple) and len(picked) == 2:
            return custom_period(picked[0], picked[1])
        st.sidebar.info(tr("period.incomplete_range"))
        return custom_period(last_month.start, last_month.last_day)
    choices = _period_choices(grain, today)
    labels = [p.label() for p in choices]
    complete = [p for p in choices if p.end <= today]
    default = (complete[0] if complete else choices[0]).label()
    key = f"period_{grain}"
    if key not in st.session_state and st.query_params.get("period") in labels:
        st.session_state[key] = st.query_params["period"]
    _restore(key, labels, default)
    chosen = st.sidebar.selectbox(
        tr("period.pick"), labels, key=key,
        format_func=lambda text: tr("period.to_date", label=text) if choices[labels.index(text)].end > today else text)
    _publish("period", chosen, default)
    return choices[labels.index(chosen)]


def _multi(key: str, title: str, options: list[str], show) -> list[str]:  # type: ignore[no-untyped-def]
    _restore(key, options, [], multi=True)
    picked = st.sidebar.multiselect(tr(title), options, key=key, format_func=show, placeholder=tr("common.all"))
    _publish(key, picked, [])
    return picked


def dimension_filters(*, by_owner: bool = True) -> Filters:
    """Region, industry, customer kind and (unless `by_owner` is off) account manager; empty means all."""
    options = data.options()
    owner_names = {str(i): name for i, name in options.owners}
    current = lang()
    st.sidebar.subheader(tr("filters.header"))
    regions = _multi("region", "filters.region", options.regions, lambda c: label("region", c, current))
    industries = _multi("industry", "filters.industry", options.industries, lambda c: label("industry", c, current))
    kinds = _multi("kind", "filters.kind", options.kinds, lambda c: label("kind", c, current))
    owners = _multi("owner", "filters.owner", list(owner_names), lambda i: owner_names.get(i, i)) if by_owner else []
    return Filters(tuple(regions), tuple(industries), tuple(kinds), tuple(int(o) for o in owners))
