"""Opening the store the way the app and the CLI both need it: engine, schema, demo on first start."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from core import models as m
from core.db import make_engine, migrate, session_scope
from core.settings import Settings


def open_store(settings: Settings, *, seed_demo_if_empty: bool = False) -> Engine:
    """Engine at the latest schema; on the default SQLite file an empty store is seeded with the demo.

    Only the default database is seeded automatically: a server a team points us at stays untouched.
    """
    engine = make_engine(settings.database_url)
    migrate(engine)
    if seed_demo_if_empty and settings.is_default_database and settings.demo_customers > 0 and is_empty(engine):
        from core.demo import seed_demo

        seed_demo(engine, customers=settings.demo_customers, seed=settings.demo_seed)
    return engine


def is_empty(engine: Engine) -> bool:
    with session_scope(engine) as session:
        return not session.scalar(select(func.count()).select_from(m.Customer))
