"""Per-session glue: settings, the cached engine, the current user and language, the `tr` shortcut."""

from __future__ import annotations

import threading

import streamlit as st

from core.access import Viewer, may_open
from core.errors import CrmError
from core.i18n import DEFAULT_LANGUAGE, LANGUAGES, error_text, t
from core.pii import Keyring
from core.secrets import Secrets, load_secrets
from core.settings import Settings, load_settings
from core.store import Store


def settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner=False)
def secrets() -> Secrets:
    """Cookie and personal-data keys (environment, or .streamlit/secrets.toml created on first start)."""
    return load_secrets()


def keyring() -> Keyring:
    return Keyring.from_secrets(secrets())


@st.cache_resource(show_spinner=False)
def _engine(database_url: str, demo_customers: int, demo_seed: int, demo_password: str | None) -> Store:
    from core import voice
    from core.store import open_store

    store = open_store(
        Settings(
            database_url=database_url, demo_customers=demo_customers, demo_seed=demo_seed, demo_password=demo_password
        ),
        keyring(),
        seed_demo_if_empty=True,
    )
    # the Voice page's Chinese word splitter loads its dictionary meanwhile, not on the first visit
    threading.Thread(target=voice.warm_up, name="jieba-warm-up", daemon=True).start()
    return store


@st.cache_resource(show_spinner=False)
def _replica(url: str) -> Store:
    from core.db import make_engine

    return make_engine(url)  # never migrated from here: a replica follows the primary's schema


def reader() -> Store:
    """Where cached figures are read: the replica when `CRM_READ_DATABASE_URL` names one, else the store."""
    url = settings().read_database_url
    return _replica(url) if url else engine()


_FIRST_START = threading.Lock()
_checked: set[str] = set()


def _first_start(config: Settings) -> None:
    """The first start on the default file seeds the demo here, with a progress bar, outside the cached engine
    (a cached function would replay the bar on every later page). Once per process and store; a second
    session arriving meanwhile waits for the first."""
    from core.store import needs_demo, open_store

    with _FIRST_START:
        if config.database_url in _checked:
            return
        if needs_demo(config):
            bar = st.progress(0.0, text=tr("app.seed.generate"))
            open_store(
                config,
                keyring(),
                seed_demo_if_empty=True,
                progress=lambda phase, share: bar.progress(share, text=tr(f"app.seed.{phase}")),
            )
            bar.empty()
        _checked.add(config.database_url)


def engine() -> Store:
    """The store, migrated and (first start, default database) seeded; a CrmError stops the page with a message."""
    config = settings()
    try:
        if config.database_url not in _checked:
            _first_start(config)
        with st.spinner(tr("app.preparing")):
            return _engine(config.database_url, config.demo_customers, config.demo_seed, config.demo_password)
    except CrmError as err:
        st.error(tr("app.store_error", message=reason(err)))
        st.stop()
        raise  # unreachable: st.stop ends the run


def viewer() -> Viewer | None:
    """The signed-in user of this page load (set by ui.auth.require_viewer in app.py)."""
    return st.session_state.get("viewer")


def page_guard(page: str) -> Viewer:
    """First line of every page: the viewer, or a plain "no access" for a role that may not open it
    (or for a page somehow run without the app shell's sign-in)."""
    current = viewer()
    if current is None or not may_open(current, page):
        if current is not None:  # a signed-in user asked for a page their role may not open: on record
            from core import audit, db

            db.write(
                engine(),
                lambda session: audit.record(
                    session, action="access_refused", username=current.username, object=f"page:{page}"
                ),
            )
        st.error(tr("app.no_access"))
        st.stop()
    return current


def lang() -> str:
    """The chosen language: session state, else the ?lang= query parameter, else English."""
    chosen = st.session_state.get("lang") or st.query_params.get("lang", DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def tr(key: str, **values: object) -> str:
    return t(key, lang(), **values)


def reason(err: BaseException) -> str:
    """A refusal from core in the page's language."""
    return error_text(err, lang())


def language_switch(where: object = st.sidebar) -> None:
    """Language switch (sidebar; below the form on the sign-in page), kept in the URL (?lang=zh) so a
    shared link opens in the same language."""
    if "lang" not in st.session_state:
        wanted = st.query_params.get("lang", DEFAULT_LANGUAGE)
        st.session_state["lang"] = wanted if wanted in LANGUAGES else DEFAULT_LANGUAGE
    chosen = where.selectbox(
        t("app.language", lang()),
        list(LANGUAGES),
        format_func=LANGUAGES.get,  # type: ignore[attr-defined]
        key="lang",
    )
    if chosen == DEFAULT_LANGUAGE:
        st.query_params.pop("lang", None)
    else:
        st.query_params["lang"] = chosen
