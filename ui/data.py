"""Cached loaders: the only place the UI caches figures (keyed on the store, the period and the filters)."""

from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from core import facts, kpi
from core.customers import CustomerProfile, FilterOptions, customer_profile, filter_options, reveal_contact
from core.db import session_scope
from core.periods import Filters, Period
from core.security import Viewer
from core.settings import load_settings
from ui import context

TTL = load_settings().cache_ttl_seconds


def _now_bucket() -> datetime:
    """'Now', rounded to 5 minutes, so cached figures are shared while SLA clocks stay current."""
    now = datetime.now().replace(second=0, microsecond=0)
    return now.replace(minute=now.minute - now.minute % 5)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def _cockpit(database_url: str, period: tuple[date, date, str], filters: tuple, viewer: tuple,
             now: datetime) -> kpi.Cockpit:
    # the viewer is part of the key: an account manager's figures are never served to anyone else
    with session_scope(context.engine()) as session:
        return kpi.cockpit(session, Period(*period), Filters(*filters), viewer=Viewer(*viewer), now=now)


def cockpit(period: Period, filters: Filters, viewer: Viewer) -> kpi.Cockpit:
    return _cockpit(context.settings().database_url, (period.start, period.end, period.grain),
                    (filters.regions, filters.industries, filters.kinds, filters.owner_ids),
                    (viewer.user_id, viewer.username, viewer.display_name, viewer.role, viewer.team), _now_bucket())


@st.cache_data(ttl=TTL, show_spinner=False)
def _options(database_url: str) -> FilterOptions:
    with session_scope(context.engine()) as session:
        return filter_options(session)


def options() -> FilterOptions:
    return _options(context.settings().database_url)


@st.cache_data(ttl=TTL, show_spinner=False)
def _facts_range(database_url: str) -> tuple[date, date] | None:
    with session_scope(context.engine()) as session:
        return facts.facts_range(session)


def facts_range() -> tuple[date, date] | None:
    return _facts_range(context.settings().database_url)


def profile(viewer: Viewer, customer_id: int | None = None, code: str | None = None) -> CustomerProfile:
    with session_scope(context.engine()) as session:
        return customer_profile(session, viewer=viewer, keyring=context.keyring(), customer_id=customer_id, code=code)


def reveal(viewer: Viewer, customer_id: int, reason: str) -> tuple[str | None, str | None]:
    with session_scope(context.engine()) as session:
        return reveal_contact(session, viewer=viewer, keyring=context.keyring(), customer_id=customer_id, reason=reason)
