"""Sidebar period selector and dimension filters, kept in the URL so a view can be bookmarked and shared."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from core.i18n import label
from core.periods import Filters, Period, custom_period, period_containing, periods_between
from ui import data
from ui.context import lang, tr

GRAIN_OPTIONS = ("M", "Q", "Y", "custom")


def _period_choices(grain: str, today: date) -> list[Period]:
    span = data.facts_range()
    first = span[0] if span else today
    return list(reversed(periods_between(first, today, grain)))


def period_selector(today: date | None = None) -> Period:
    """Month, quarter, year (default: the last complete one) or a custom range."""
    today = today or date.today()
    st.sidebar.subheader(tr("period.header"))
    grain = st.sidebar.segmented_control(tr("period.grain"), GRAIN_OPTIONS, default="M", key="grain",
                                         format_func=lambda g: tr(f"period.grain.{g}"), bind="query-params") or "M"
    if grain == "custom":
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
    chosen = st.sidebar.selectbox(
        tr("period.pick"), labels, index=labels.index(default), key=f"period_{grain}", bind="query-params",
        format_func=lambda text: tr("period.to_date", label=text) if choices[labels.index(text)].end > today else text)
    return choices[labels.index(chosen)]


def dimension_filters() -> Filters:
    """Region, industry, customer kind and account manager; empty means all."""
    options = data.options()
    owner_names = dict(options.owners)
    st.sidebar.subheader(tr("filters.header"))
    current = lang()
    regions = st.sidebar.multiselect(tr("filters.region"), options.regions, key="region", bind="query-params",
                                     format_func=lambda c: label("region", c, current), placeholder=tr("common.all"))
    industries = st.sidebar.multiselect(tr("filters.industry"), options.industries, key="industry",
                                        bind="query-params", format_func=lambda c: label("industry", c, current),
                                        placeholder=tr("common.all"))
    kinds = st.sidebar.multiselect(tr("filters.kind"), options.kinds, key="kind", bind="query-params",
                                   format_func=lambda c: label("kind", c, current), placeholder=tr("common.all"))
    owners = st.sidebar.multiselect(tr("filters.owner"), list(owner_names), key="owner", bind="query-params",
                                    format_func=lambda i: owner_names.get(i, str(i)), placeholder=tr("common.all"))
    return Filters(tuple(regions), tuple(industries), tuple(kinds), tuple(int(o) for o in owners))
