"""Opening the store the way the app and the CLI both need it: engine, schema, demo on first start."""

from __future__ import annotations

import logging
from datetime import date

from sqlalchemy import Engine, func, select

from core import models as m
from core.db import make_engine, migrate, session_scope
from core.settings import Settings

log = logging.getLogger("crm.store")
Store = Engine  # what the UI holds and hands back to core: an engine at the latest schema


def open_store(settings: Settings, *, seed_demo_if_empty: bool = False) -> Store:
    """Engine at the latest schema; on the default SQLite file an empty store is seeded with the demo.

    Only the default database is seeded automatically: a server a team points us at stays untouched.
    """
    engine = make_engine(settings.database_url)
    migrate(engine)
    empty = is_empty(engine)
    if seed_demo_if_empty and settings.is_default_database and settings.demo_customers > 0 and empty:
        from core.demo import seed_demo

        report = seed_demo(engine, customers=settings.demo_customers, seed=settings.demo_seed,
                           demo_password=settings.demo_password)
        if settings.demo_password is None:
            log.warning("Demo users created; their passwords (shown once):\n%s",
                        "\n".join(f"  {user:12} {password}" for user, password in report.passwords.items()))
    elif not empty:
        _rebuild_stale_summaries(engine)
    return engine


def _rebuild_stale_summaries(engine: Engine) -> None:
    """A migration that changes a summary table clears `summaries_as_of`; rebuild before anyone reads them."""
    from core import facts

    with session_scope(engine) as session:
        if facts.get_meta(session, "summaries_as_of") is None:
            facts.rebuild_all(session, as_of=date.today())


def is_empty(engine: Engine) -> bool:
    with session_scope(engine) as session:
        return not session.scalar(select(func.count()).select_from(m.Customer))
