"""Engine factory, session scope and schema migration: the only place that knows about dialects.

The engine is built by a factory (never at import time) so every test and every process gets its
own; failures to reach or create the store become one ConfigError with a message a user can act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ConfigError

SUPPORTED = "sqlite:///path/to/file.db, postgresql+psycopg://user@host/db or mysql+pymysql://user@host/db"
_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg",
            "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def parse_database_url(raw: str) -> URL:
    """Parse and normalise a database URL (plain postgresql:// and mysql:// get the bundled drivers)."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(f"CRM_DATABASE_URL {raw!r} is not a database URL. Use {SUPPORTED}.") from None
    if url.drivername in _DRIVERS:
        url = url.set(drivername=_DRIVERS[url.drivername])
    if url.get_backend_name() not in ("sqlite", "postgresql", "mysql", "mariadb"):
        raise ConfigError(f"Unsupported database {url.get_backend_name()!r} in CRM_DATABASE_URL. Use {SUPPORTED}.")
    return url


def safe_url(url: URL | str) -> str:
    """The URL with its password hidden, for messages and logs."""
    return (make_url(url) if isinstance(url, str) else url).render_as_string(hide_password=True)


def _prepare_sqlite_file(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:":
        return
    folder = Path(database).expanduser().resolve().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".crm-write-probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"Cannot write the database folder {folder} ({exc.strerror or exc}). "
            "Make it writable or set CRM_DATABASE_URL to a writable location."
        ) from None


def make_engine(raw_url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `raw_url` and check that the store answers."""
    url = parse_database_url(raw_url)
    kwargs: dict[str, object] = {"echo": echo}
    if url.get_backend_name() == "sqlite":
        _prepare_sqlite_file(url)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise ConfigError(f"No driver for {url.drivername!r}. Use {SUPPORTED}.") from None
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, SQLAlchemyError) as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ConfigError(f"Cannot open the database {safe_url(url)}: {reason}") from None
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back everything on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(connection):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def schema_revision(engine: Engine) -> tuple[str | None, str]:
    """(current revision of the database, latest revision shipped with the code)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        head = ScriptDirectory.from_config(_alembic_config(conn)).get_current_head()
    return current, head or ""


def migrate(engine: Engine) -> str:
    """Bring the database to the latest schema revision (a no-op when it is already there)."""
    from alembic import command

    current, head = schema_revision(engine)
    if current == head:
        return head
    try:
        with engine.begin() as conn:
            command.upgrade(_alembic_config(conn), "head")
    except OperationalError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ConfigError(f"Cannot update the schema of {safe_url(engine.url)}: {reason}") from None
    return head


def table_names(engine: Engine) -> list[str]:
    return inspect(engine).get_table_names()


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"
