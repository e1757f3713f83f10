"""Sidebar period selector and dimension filters, kept in the URL so a view can be bookmarked and shared.

The URL holds language-neutral codes (?grain=Q&period=2026-Q3&region=east&owner=4), read once when a
session opens the page and written back on every change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import streamlit as st

from core import clock
from core.customer_list import CONTACT_AGES, NPS_CATEGORIES, SEARCH_MAX, SORTS, CustomerQuery, search_kind
from core.i18n import label
from core.periods import Filters, Period, custom_period, period_containing, periods_between
from core.segmentation import LIFECYCLE_STAGES, TIERS
from ui import data
from ui.context import lang, tr

GRAIN_OPTIONS = ("M", "Q", "Y", "custom")


def _restore(key: str, valid: Sequence[str], default: str | list[str], *, multi: bool = False) -> None:
    """Put the URL's value (when valid) or the default into session state before the widget is drawn; a value
    chosen on another page is kept (set again here: Streamlit drops a widget's state on a page it was not drawn
    on, and the widget would fall back to its first option)."""
    if key in st.session_state:
        st.session_state[key] = st.session_state[key]
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
    today = today or clock.today()
    st.sidebar.subheader(tr("period.header"))
    _restore("grain", GRAIN_OPTIONS, "M")
    grain = (
        st.sidebar.segmented_control(
            tr("period.grain"), GRAIN_OPTIONS, key="grain", format_func=lambda g: tr(f"period.grain.{g}")
        )
        or "M"
    )
    _publish("grain", grain, "M")
    if grain == "custom":
        st.query_params.pop("period", None)
        last_month = period_containing(today.replace(day=1) - timedelta(days=1), "M")
        picked = st.sidebar.date_input(
            tr("period.range"), value=(last_month.start, last_month.last_day), max_value=today, key="range"
        )
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
        tr("period.pick"),
        labels,
        key=key,
        format_func=lambda text: tr("period.to_date", label=text) if choices[labels.index(text)].end > today else text,
    )
    _publish("period", chosen, default)
    return choices[labels.index(chosen)]


def _multi(key: str, title: str, options: list[str], show) -> list[str]:  # type: ignore[no-untyped-def]
    _restore(key, options, [], multi=True)
    picked = st.sidebar.multiselect(tr(title), options, key=key, format_func=show, placeholder=tr("common.all"))
    _publish(key, picked, [])
    return picked


def dimension_filters(*, by_owner: bool = True, header: bool = True) -> Filters:
    """Region, industry, customer kind and (unless `by_owner` is off) account manager; empty means all."""
    options = data.options()
    owner_names = {str(i): name for i, name in options.owners}
    current = lang()
    if header:
        st.sidebar.subheader(tr("filters.header"))
    regions = _multi("region", "filters.region", options.regions, lambda c: label("region", c, current))
    industries = _multi("industry", "filters.industry", options.industries, lambda c: label("industry", c, current))
    kinds = _multi("kind", "filters.kind", options.kinds, lambda c: label("kind", c, current))
    owners = _multi("owner", "filters.owner", list(owner_names), lambda i: owner_names.get(i, i)) if by_owner else []
    return Filters(tuple(regions), tuple(industries), tuple(kinds), tuple(int(o) for o in owners))


# --- the customer list's filters -------------------------------------------------------------------------

ID_MAX = 2**31 - 1  # the largest id any table holds (INTEGER on every dialect)


def url_int(raw: object, *, low: int = 1, high: int = ID_MAX) -> int | None:
    """A whole number from the URL: ASCII digits only (not "²" or "١٢"), within [low, high]; else None."""
    text = str(raw or "")
    if not (0 < len(text) <= 12 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def _restore_value(key: str, parse, default):  # type: ignore[no-untyped-def]
    """A free-form value (text, number, date) from the URL into session state, once; bad values are ignored."""
    if key in st.session_state:
        return
    raw = st.query_params.get(key)
    try:
        st.session_state[key] = parse(raw) if raw not in (None, "") else default
    except ValueError:
        st.session_state[key] = default


def _date_range(key: str, title: str) -> tuple[date | None, date | None]:
    low_key, high_key = f"{key}_from", f"{key}_to"
    if key not in st.session_state:
        days = []
        for part in (low_key, high_key):
            try:
                days.append(date.fromisoformat(st.query_params.get(part, "")))
            except ValueError:
                pass
        st.session_state[key] = tuple(days) if len(days) == 2 else ()
    picked = st.sidebar.date_input(tr(title), key=key, format="YYYY-MM-DD")
    low, high = picked if isinstance(picked, tuple) and len(picked) == 2 else (None, None)
    _publish(low_key, low.isoformat() if low else None, None)
    _publish(high_key, high.isoformat() if high else None, None)
    return low, high


def customer_query(*, by_owner: bool) -> CustomerQuery:
    """Every list filter in the sidebar, each kept in the URL (a filtered list can be bookmarked and shared).

    Raises ValidationError for a contradictory choice (a revenue range that ends before it starts).
    """
    current = lang()
    st.sidebar.subheader(tr("filters.header"))
    _restore_value("q", lambda v: v[:SEARCH_MAX], "")
    text = st.sidebar.text_input(tr("list.search"), key="q", placeholder=tr("list.search_hint"), max_chars=SEARCH_MAX)
    # a name or code goes into the URL (a view can be shared); a phone number or email never does
    _publish("q", text.strip() if text.strip() and search_kind(text) == "name" else None, None)
    base = dimension_filters(by_owner=by_owner, header=False)
    tiers = _multi("tier", "list.tier", list(TIERS), lambda c: label("tier", c, current))
    stages = _multi("stage", "list.stage", list(LIFECYCLE_STAGES), lambda c: label("stage", c, current))
    nps = _multi("nps", "list.nps", list(NPS_CATEGORIES), lambda c: tr(f"list.nps.{c}"))
    _restore("contact", ["", *CONTACT_AGES], "")
    contact = st.sidebar.selectbox(
        tr("list.contact"), ["", *CONTACT_AGES], key="contact", format_func=lambda c: tr(f"list.contact.{c or 'any'}")
    )
    _publish("contact", contact or None, None)
    low_col, high_col = st.sidebar.columns(2)
    amounts = []
    for column, key, title in ((low_col, "rev_min", "list.revenue_min"), (high_col, "rev_max", "list.revenue_max")):
        _restore_value(key, float, None)
        value = column.number_input(tr(title), min_value=0.0, step=1000.0, key=key, value=None, format="%.0f")
        _publish(key, f"{value:.0f}" if value is not None else None, None)
        amounts.append(value)
    since = _date_range("since", "list.since")
    last_order = _date_range("ordered", "list.last_order")
    return CustomerQuery(
        text=text.strip(),
        regions=base.regions,
        industries=base.industries,
        kinds=base.kinds,
        owner_ids=base.owner_ids,
        tiers=tuple(tiers),
        stages=tuple(stages),
        nps=tuple(nps),
        contact=contact or None,
        revenue_min=amounts[0],
        revenue_max=amounts[1],
        since_from=since[0],
        since_to=since[1],
        last_order_from=last_order[0],
        last_order_to=last_order[1],
        **sort_choice(),
    )


def sort_choice() -> dict[str, object]:
    """Sort column and direction (main area, above the table), in the URL as ?sort=name&asc=1."""
    _restore("sort", list(SORTS), "revenue_12m")
    if "asc" not in st.session_state:
        st.session_state["asc"] = st.query_params.get("asc") == "1"
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    sort = left.selectbox(tr("list.sort"), list(SORTS), key="sort", format_func=lambda c: tr(f"list.col.{c}"))
    ascending = right.toggle(tr("list.ascending"), key="asc")
    _publish("sort", sort, "revenue_12m")
    _publish("asc", "1" if ascending else None, None)
    return {"sort": sort, "descending": not ascending}


def multi_filter(key: str, title: str, options, show) -> tuple:  # type: ignore[no-untyped-def]
    """A sidebar multiselect kept in the URL under `key` (empty: all)."""
    return tuple(_multi(key, title, list(options), show))


def url_choice(key: str, title: str, options: list[str], default: str, show) -> str:  # type: ignore[no-untyped-def]
    """A selectbox, drawn where the caller is, kept in the URL under `key` (the default leaves the URL clean)."""
    _restore(key, options, default)
    picked = st.selectbox(title, options, key=key, format_func=show)
    _publish(key, picked, default)
    return picked
