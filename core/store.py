"""Opening the store the way the app and the CLI both need it: engine, schema, demo on first start."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Engine, func, select

from core import clock, models as m, pii
from core.db import make_engine, migrate, session_scope
from core.pii import Keyring
from core.settings import Settings

log = logging.getLogger("crm.store")
Store = Engine  # what the UI holds and hands back to core: an engine at the latest schema


def open_store(
    settings: Settings,
    keyring: Keyring,
    *,
    seed_demo_if_empty: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> Store:
    """Engine at the latest schema; on the default SQLite file an empty store is seeded with the demo
    (`progress` follows the seed's phases).

    Only the default database is seeded automatically: a server a team points us at stays untouched.
    """
    engine = make_engine(settings.database_url)
    migrate(engine)
    from core import db, facts, targets

    with session_scope(engine) as session:  # read first: a store that has them takes no write lock at start
        defaults_due = facts.get_meta(session, targets.DEFAULTS_KEY) is None
    if defaults_due:
        db.write(engine, lambda session: targets.ensure_defaults(session))  # once per store: seed 003's targets
    empty = is_empty(engine)
    if seed_demo_if_empty and settings.is_default_database and settings.demo_customers > 0 and empty:
        from core.demo import seed_demo

        def told(phase: str, share: float) -> None:
            log.warning("Demo data: %s (%.0f%%)", phase, 100 * share)  # the terminal follows the first start too
            if progress is not None:
                progress(phase, share)

        report = seed_demo(
            engine,
            customers=settings.demo_customers,
            seed=settings.demo_seed,
            keyring=keyring,
            demo_password=settings.demo_password,
            progress=told,
        )
        if settings.demo_password is None:
            log.warning(
                "Demo users created; their passwords (shown once):\n%s",
                "\n".join(f"  {user:12} {password}" for user, password in report.passwords.items()),
            )
    elif not empty:
        _rebuild_stale_summaries(engine)
        protect_plaintext(engine, keyring)
    return engine


def protect_plaintext(engine: Engine, keyring: Keyring, *, batch: int = 5000, rotate: bool = False) -> int:
    """Encrypt contact details still in plaintext (rows from before encryption or from a raw import);
    with `rotate`, re-encrypt every value under the active key. Returns the rows rewritten.

    SQLite overwrites freed pages while doing it, so no plaintext lingers in the file.
    """
    rewritten = 0
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA secure_delete = ON")  # allowed inside a transaction
        for table in (m.table(m.Customer), m.table(m.Lead)):  # customers' and leads' contact details
            last_id = 0
            while True:
                rows = conn.execute(
                    select(table.c.id, table.c.phone_enc, table.c.email_enc)
                    .where(table.c.id > last_id)
                    .order_by(table.c.id)
                    .limit(batch)
                ).all()
                if not rows:
                    break
                last_id = rows[-1].id
                for row in rows:
                    values: dict[str, str | None] = {}
                    for kind, stored in (("phone", row.phone_enc), ("email", row.email_enc)):
                        if stored is None:
                            continue
                        if not pii.is_encrypted(stored):
                            values |= {
                                f"{kind}_enc": pii.encrypt(stored, keyring),
                                f"{kind}_hash": pii.search_hash(kind, stored, keyring),
                            }
                        elif rotate and not stored.startswith(f"{keyring.active}:"):
                            values[f"{kind}_enc"] = pii.encrypt(pii.decrypt(stored, keyring), keyring)
                    if values:
                        conn.execute(table.update().where(table.c.id == row.id).values(**values))
                        rewritten += 1
        if rewritten and conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA secure_delete = OFF")
    return rewritten


def _rebuild_stale_summaries(engine: Engine) -> None:
    """A migration that changes a summary table clears `summaries_as_of`; rebuild before anyone reads them."""
    from core import facts, service, service_facts, targets

    with session_scope(engine) as session:
        if facts.get_meta(session, "summaries_as_of") is None:
            facts.rebuild_all(session, as_of=clock.today())
        if facts.get_meta(session, "ticket_sla_as_of") is None:  # a store from before the service desk
            service.rebuild_ticket_sla(session, now=clock.now())
        elif session.scalar(select(m.Ticket.id).limit(1)) and not session.scalar(
            select(m.TicketSteps.ticket_id).limit(1)
        ):
            service.rebuild_steps(session)  # a store from before ticket_steps (migration 0018)
        if service_facts.needs_rebuild(session):  # a store from before migration 0022, or another display zone
            service_facts.rebuild(session)
        targets.refresh_baselines(session, only_missing=True)  # targets a store just gained (migration 0024)


def needs_demo(settings: Settings) -> bool:
    """Whether opening this store would seed the demo (the default file, demo on, no customers yet)."""
    if not (settings.is_default_database and settings.demo_customers > 0):
        return False
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        return is_empty(engine)
    finally:
        engine.dispose()


def is_empty(engine: Engine) -> bool:
    with session_scope(engine) as session:
        return not session.scalar(select(func.count()).select_from(m.Customer))
