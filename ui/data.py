"""Cached loaders: the only place the UI caches figures (keyed on the store, the period and the filters)."""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TypeVar, cast

import pandas as pd
import streamlit as st

from core import audit, clock, db, exports, facts, kpi, loyalty, merging, quality, service_escalation, targets
from core.access import Viewer
from core.churn import portfolio, warnings as churn_warnings
from core.customer_list import CustomerPage, CustomerQuery, customer_page, export_customers
from core.customers import (
    CustomerProfile,
    FilterOptions,
    customer_profile,
    filter_options,
    lists_contacts_in_clear,
    record_list_view,
    record_view,
    reveal_contact,
)
from core.db import session_scope
from core.errors import CrmError
from core.periods import Filters, Period
from core.settings import load_settings
from ui import context

TTL = load_settings().cache_ttl_seconds
T_ = TypeVar("T_")


def _now_bucket() -> datetime:
    """'Now', rounded to 5 minutes, so cached figures are shared while SLA clocks stay current."""
    now = clock.now().replace(second=0, microsecond=0)
    return now.replace(minute=now.minute - now.minute % 5)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def _cockpit(
    database_url: str, period: tuple[date, date, str], filters: tuple, viewer: tuple, now: datetime
) -> kpi.Cockpit:
    # the viewer is part of the key: an account manager's figures are never served to anyone else
    with session_scope(context.reader()) as session:
        return kpi.cockpit(session, Period(*period), Filters(*filters), viewer=Viewer(*viewer), now=now)


def cockpit(period: Period, filters: Filters, viewer: Viewer) -> kpi.Cockpit:
    return _cockpit(
        context.settings().database_url,
        (period.start, period.end, period.grain),
        (filters.regions, filters.industries, filters.kinds, filters.owner_ids),
        _viewer_key(viewer),
        _now_bucket(),
    )


@st.cache_data(ttl=TTL, show_spinner=False)
def _completeness(database_url: str, viewer_key: tuple, bucket: datetime) -> quality.Completeness:  # type: ignore[type-arg]
    with session_scope(context.reader()) as session:
        return quality.completeness(session, Viewer(*viewer_key))


def completeness(viewer: Viewer) -> quality.Completeness:
    """The share of customers holding each field, in the viewer's scope (the cockpit's data-completeness card)."""
    return _completeness(context.settings().database_url, _viewer_key(viewer), _now_bucket())


@st.cache_data(ttl=TTL, show_spinner=False)
def _duplicate_pairs(database_url: str, viewer_key: tuple) -> list[merging.Pair]:  # type: ignore[type-arg]
    with session_scope(context.reader()) as session:
        return merging.candidates(session, Viewer(*viewer_key))


def duplicate_pairs(viewer: Viewer) -> list[merging.Pair]:
    """The review queue: it compares names across the store, so it is kept until a write clears the cache."""
    return _duplicate_pairs(context.settings().database_url, _viewer_key(viewer))


@st.cache_data(ttl=TTL, show_spinner=False)
def _options(database_url: str) -> FilterOptions:
    with session_scope(context.reader()) as session:
        return filter_options(session)


def options() -> FilterOptions:
    return _options(context.settings().database_url)


@st.cache_data(ttl=TTL, show_spinner=False)
def _facts_range(database_url: str) -> tuple[date, date] | None:
    with session_scope(context.reader()) as session:
        return facts.facts_range(session)


def facts_range() -> tuple[date, date] | None:
    return _facts_range(context.settings().database_url)


def profile(viewer: Viewer, customer_id: int | None = None, code: str | None = None) -> CustomerProfile:
    with session_scope(context.engine()) as session:
        return customer_profile(session, viewer=viewer, keyring=context.keyring(), customer_id=customer_id, code=code)


def note_view(viewer: Viewer, profile: CustomerProfile) -> None:
    """Audit a clear view of contact details once per customer and session (not on every rerun)."""
    seen = st.session_state.setdefault("viewed_customers", set())
    if profile.id in seen:
        return
    db.write(context.engine(), lambda session: record_view(session, viewer=viewer, profile=profile))
    seen.add(profile.id)


def note_list_view(viewer: Viewer, page: CustomerPage) -> None:
    """Audit a page of the list shown with contact details in clear, once per page of rows and session."""
    codes = [str(c) for c in page.rows["code"] if c]
    seen = st.session_state.setdefault("listed_pages", set())
    key = tuple(codes)
    if not lists_contacts_in_clear(viewer) or not codes or key in seen:
        return
    db.write(context.engine(), lambda session: record_list_view(session, viewer=viewer, codes=codes))
    seen.add(key)


def reveal(viewer: Viewer, customer_id: int, reason: str) -> tuple[str | None, str | None]:
    """Reveal contact details (audited); a refusal is audited too, in its own transaction."""
    try:
        return db.write(
            context.engine(),
            lambda session: reveal_contact(
                session, viewer=viewer, keyring=context.keyring(), customer_id=customer_id, reason=reason
            ),
        )
    except CrmError as refused:
        why = refused.key or type(refused).__name__
        db.write(
            context.engine(),
            lambda session: audit.record(
                session,
                action="reveal_refused",
                username=viewer.username,
                object=f"customer:{customer_id}",
                details={"refusal": why},
            ),
        )
        raise


# --- the customer list and the 360° view -------------------------------------------------------------


def _viewer_key(viewer: Viewer) -> tuple:
    return (viewer.user_id, viewer.username, viewer.display_name, viewer.role, viewer.team)


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def _customer_page(
    database_url: str,
    viewer: tuple,  # type: ignore[type-arg]
    query: CustomerQuery,
    page: int,
    page_size: int,
    after: tuple | None,  # type: ignore[type-arg]
    now: datetime,
) -> CustomerPage:
    # keyed on the viewer: an account manager's list (and clear contact details) is never served to anyone else
    with session_scope(context.reader()) as session:
        return customer_page(
            session, Viewer(*viewer), query, context.keyring(), page=page, page_size=page_size, after=after, now=now
        )


def customers(viewer: Viewer, query: CustomerQuery, page: int, page_size: int) -> CustomerPage:
    """A page of the list; the page after (or before) one already shown starts from that page's last row (keyset
    paging: page 1,000 costs what page 1 does). The pages' last rows are kept in the session per query."""
    known = st.session_state.get("list_page_ends")
    if not known or known[0] != (query, page_size):
        known = ((query, page_size), {})
    after = known[1].get(page - 1)
    result = _customer_page(
        context.settings().database_url, _viewer_key(viewer), query, page, page_size, after, _now_bucket()
    )
    if result.last_key is not None and len(known[1]) < 10_000:
        known[1][result.page] = result.last_key
    st.session_state["list_page_ends"] = known
    return result


def export_file(viewer: Viewer, query: CustomerQuery, fmt: str) -> Callable[[], bytes]:
    """A no-argument callable for st.download_button, run when the user clicks.

    The list is streamed from the database into a temporary file (memory stays flat while rows are read
    and formatted), then handed to Streamlit as the bytes it serves (its media store takes str or bytes
    only). The audit entry commits only once the file is complete, so a failed export is not audited.
    """
    language = context.lang()

    def produce() -> bytes:
        with tempfile.TemporaryFile() as out, session_scope(context.engine()) as session:
            export_customers(session, viewer, query, context.keyring(), out, fmt=fmt, lang=language)
            out.seek(0)
            return out.read()

    return produce


def read(function: Callable[..., T_], viewer: Viewer, *args: object, **kwargs: object) -> T_:
    """Run one core read for the 360° view in its own session (uncached: one customer's rows are cheap)."""
    with session_scope(context.engine()) as session:
        return function(session, viewer, *args, **kwargs)


def write(function: Callable[..., T_], viewer: Viewer, *args: object, **kwargs: object) -> T_:
    """Run one core write through the write path (one transaction, writers take turns, a busy store retried),
    then drop every cached figure so the change shows at once."""
    result = db.write(context.engine(), lambda session: function(session, viewer, *args, **kwargs))
    st.cache_data.clear()
    return result


_versions: dict[str, str | None] = {}  # per store: the data version this process's cached figures are from


def follow_other_writers() -> None:
    """Drop the cached figures when the store changed since this process last looked (a write by another app
    process or host, cron's tick or an import): one primary-key read per page run, so what another process
    wrote shows on the next click instead of after the cache's time to live."""
    url = context.settings().database_url
    with session_scope(context.engine()) as session:
        version = db.data_version(session)
    if url in _versions and _versions[url] != version:
        st.cache_data.clear()
    _versions[url] = version


TICK_EVERY = timedelta(seconds=60)


def tick_if_due() -> None:
    """Run the SLA tick from the Service page when the last one is older than a minute (the CLI's
    `sla-tick` does the same from cron); figures are dropped from the cache only when something changed."""
    from core import service

    with session_scope(context.engine()) as session:  # a read first: most page loads need no tick
        last = service.last_tick(session)
    if last is not None and clock.now() - last < TICK_EVERY:
        return
    evaluated = db.write(context.engine(), lambda session: service.tick(session))
    if evaluated:
        st.cache_data.clear()


def rules_if_due() -> None:
    """Run the rules' time triggers from the app every CRM_RULES_EVERY_MINUTES (one read when not due; cron's
    `run-rules` does the same), then send the queued e-mails. A busy store leaves it for the next page load."""
    from core import rules

    every = context.settings().rules_every_minutes
    if every <= 0:
        return
    with session_scope(context.engine()) as session:
        last = rules.last_run(session)
    if last is not None and clock.now() - last < timedelta(minutes=every):
        return
    try:
        done = db.write(context.engine(), lambda session: rules.run_due(session, every=timedelta(minutes=every)))
        rules.deliver(context.engine(), context.settings().smtp())
    except CrmError:
        return
    if done and done["fired"]:
        st.cache_data.clear()


# --- churn early warning ----------------------------------------------------------------------------------


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def _risk(
    database_url: str,
    filters: tuple,
    viewer: tuple,
    bands: tuple,
    sort: str,
    page: int,
    size: int,  # type: ignore[type-arg]
) -> tuple[churn_warnings.RiskSummary | None, pd.DataFrame, int]:
    # keyed on the viewer: an account manager's list is never served to anyone else
    with session_scope(context.reader()) as session:
        scope = Filters(*filters)
        found = churn_warnings.summary(session, scope, viewer=Viewer(*viewer))
        rows, total = churn_warnings.risk_list(
            session, scope, viewer=Viewer(*viewer), bands=bands, sort=sort, limit=size, offset=(page - 1) * size
        )
        return found, rows, total


def risk(
    viewer: Viewer, filters: Filters, *, bands: tuple[str, ...], sort: str, page: int, size: int
) -> tuple[churn_warnings.RiskSummary | None, pd.DataFrame, int]:
    """The early-warning page's figures and one page of its list."""
    key = (filters.regions, filters.industries, filters.kinds, filters.owner_ids)
    return _risk(context.settings().database_url, key, _viewer_key(viewer), bands, sort, page, size)


@st.cache_data(ttl=TTL, show_spinner=False)
def _model_card(database_url: str, today: date) -> churn_warnings.ModelCard | None:
    with session_scope(context.reader()) as session:
        return churn_warnings.model_card(session, today=today)


def model_card() -> churn_warnings.ModelCard | None:
    return _model_card(context.settings().database_url, clock.today())


def risk_export(
    viewer: Viewer, filters: Filters, *, bands: tuple[str, ...], sort: str, fmt: str
) -> Callable[[], bytes]:
    """A no-argument callable for st.download_button: every matching row, built and audited when clicked."""
    language = context.lang()

    def produce() -> bytes:
        frame = db.write(  # the audit entry commits with the rows it describes
            context.engine(),
            lambda session: churn_warnings.export_rows(
                session, filters, viewer=viewer, bands=bands, sort=sort, lang=language, fmt=fmt
            ),
        )
        return exports.to_csv(frame) if fmt == "csv" else exports.to_xlsx(frame, "churn")

    return produce


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def _values(
    database_url: str,
    filters: tuple,
    viewer: tuple,  # type: ignore[type-arg]
) -> tuple[portfolio.ValueOverview | None, pd.DataFrame, portfolio.TierFlow]:
    with session_scope(context.reader()) as session:
        scope, who = Filters(*filters), Viewer(*viewer)
        return (
            portfolio.overview(session, scope, viewer=who),
            portfolio.health_calibration(session, viewer=who),
            portfolio.tier_flow(session, scope, viewer=who),
        )


def values(viewer: Viewer, filters: Filters) -> tuple[portfolio.ValueOverview | None, pd.DataFrame, portfolio.TierFlow]:
    """The value tab: health, RFM and predicted value of the viewer's customers, the health bands' record and
    the tier flow."""
    key = (filters.regions, filters.industries, filters.kinds, filters.owner_ids)
    return _values(context.settings().database_url, key, _viewer_key(viewer))


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def _health_history(database_url: str, viewer: tuple, customer_id: int, as_of: date) -> pd.DataFrame:  # type: ignore[type-arg]
    with session_scope(context.reader()) as session:
        return portfolio.customer_health_history(session, Viewer(*viewer), customer_id, as_of=as_of)


def health_history(viewer: Viewer, customer_id: int, *, as_of: date) -> pd.DataFrame:
    """18 weeks of one customer's health, recomputed from the raw rows (cached: 18 snapshots cost ~0.5 s)."""
    return _health_history(context.settings().database_url, _viewer_key(viewer), customer_id, as_of)


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@st.cache_data(ttl=TTL, max_entries=128, show_spinner=False)
def _figures(database_url: str, where: str, viewer: tuple, arguments: tuple) -> object:  # type: ignore[type-arg]
    module, name = where.rsplit(":", 1)
    function = getattr(importlib.import_module(module), name)
    with session_scope(context.reader()) as session:
        return function(session, Viewer(*viewer), **dict(arguments))


def figures(function: Callable[..., T_], viewer: Viewer, **arguments: object) -> T_:
    """A core read over a period of history (the Service page's analytics, the Voice page), cached per store,
    viewer and arguments, its times to the minute: every widget on a page reruns the script, and only the
    figures whose arguments changed are worked out again (a year of tickets or answers is seconds at 1,000,000
    customers). A write, here or in another process, and the SLA tick clear it with every cached figure."""
    at = tuple(sorted((k, _minute(v) if isinstance(v, datetime) else v) for k, v in arguments.items()))
    where = f"{function.__module__}:{function.__qualname__}"
    return cast(T_, _figures(context.settings().database_url, where, _viewer_key(viewer), at))


def escalation_backtest(viewer: Viewer, *, now: datetime) -> service_escalation.Backtest:
    """How often flagged complaints escalated over the year that ended 30 days ago, to the hour (a year of
    complaints and their events is replayed, 2.5–3.5 s at 100,000 customers, for a figure that moves daily)."""
    return figures(service_escalation.backtest, viewer, now=now.replace(minute=0))


def open_escalations(viewer: Viewer) -> pd.DataFrame:
    """The open complaints likely to escalate in the viewer's scope, to five minutes (0.1 s at 100,000
    customers on every cockpit load otherwise; a write clears it at once)."""
    return figures(service_escalation.open_flags, viewer, now=_now_bucket())


# --- KPI targets ----------------------------------------------------------------------------------------


def standings(
    period: Period, filters: Filters, values: dict[str, float | None], *, team: str | None = None
) -> dict[str, targets.Standing]:
    """The targets speaking for these figures in this view (a few rows read on each run: a target saved in
    another process shows at once)."""
    with session_scope(context.engine()) as session:
        return targets.standings(session, period=period, filters=filters, values=values, team=team)


@st.cache_data(ttl=TTL, max_entries=32, show_spinner=False)
def _goals(database_url: str, viewer: tuple, period: tuple[date, date, str], now: datetime) -> list[targets.Standing]:  # type: ignore[type-arg]
    with session_scope(context.reader()) as session:
        return targets.overview(session, viewer=Viewer(*viewer), period=Period(*period), now=now)


def goals(viewer: Viewer, period: Period) -> list[targets.Standing]:
    """Every target against `period` (cached like the cockpit: a write anywhere clears it)."""
    return _goals(
        context.settings().database_url, _viewer_key(viewer), (period.start, period.end, period.grain), _now_bucket()
    )


@st.cache_data(ttl=TTL, max_entries=64, show_spinner=False)
def _goal_trend(
    database_url: str, viewer: tuple, target_id: int, version: int, last: tuple[date, date, str]
) -> pd.DataFrame:  # type: ignore[type-arg]
    with session_scope(context.reader()) as session:
        target = next((t for t in targets.targets(session) if t.id == target_id), None)
        if target is None:  # removed meanwhile (another administrator)
            return pd.DataFrame(columns=["month", "value", "goal"])
        return targets.trend(session, viewer=Viewer(*viewer), target=target, last_month=Period(*last))


def goal_trend(viewer: Viewer, target: targets.Target, last_month: Period) -> pd.DataFrame:
    """The target's KPI over the 12 months up to `last_month`, with its goal each month."""
    return _goal_trend(
        context.settings().database_url,
        _viewer_key(viewer),
        target.id,
        target.version,
        (last_month.start, last_month.end, last_month.grain),
    )


def loyalty_programme() -> loyalty.Programme | None:
    """The loyalty programme in force (None: no programme, so the 360° view shows no loyalty block)."""
    with session_scope(context.engine()) as session:
        return loyalty.current(session)
