"""Engine factory, session scope and schema migration: the only place that knows about dialects.

The engine is built by a factory (never at import time) so every test and every process gets its
own; failures to reach or create the store become one ConfigError with a message a user can act on.
"""

from __future__ import annotations

import random
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import (
    Engine,
    Float,
    Integer,
    String,
    bindparam,
    case,
    create_engine,
    event,
    func,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.engine import URL, CursorResult, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.functions import FunctionElement

from core import clock
from core.errors import ConfigError, StoreError

if TYPE_CHECKING:
    import pandas as pd

SUPPORTED = "sqlite:///path/to/file.db, postgresql+psycopg://user@host/db or mysql+pymysql://user@host/db"
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def parse_database_url(raw: str) -> URL:
    """Parse and normalise a database URL (plain postgresql:// and mysql:// get the bundled drivers)."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            f"CRM_DATABASE_URL {raw!r} is not a database URL. Use {SUPPORTED}.", key="error.db_url", supported=SUPPORTED
        ) from None
    if url.drivername in _DRIVERS:
        url = url.set(drivername=_DRIVERS[url.drivername])
    if url.get_backend_name() not in ("sqlite", "postgresql", "mysql", "mariadb"):
        raise ConfigError(
            f"Unsupported database {url.get_backend_name()!r} in CRM_DATABASE_URL. Use {SUPPORTED}.",
            key="error.db_url",
            supported=SUPPORTED,
        )
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
            "Make it writable or set CRM_DATABASE_URL to a writable location.",
            key="error.db_folder",
            folder=str(folder),
            reason=str(exc.strerror or exc),
        ) from None


def make_engine(raw_url: str, *, echo: bool = False) -> Engine:
    """Create an engine for `raw_url` and check that the store answers."""
    url = parse_database_url(raw_url)

    clock.refresh()  # the display zone stored times are converted to and from, as the environment now says
    # error messages never carry the statement's parameters (names, phone hashes, notes) into logs or pages
    kwargs: dict[str, object] = {"echo": echo, "hide_parameters": True}
    if url.get_backend_name() == "sqlite":
        _prepare_sqlite_file(url)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
        kwargs["connect_args"] = {"connect_timeout": 5}
        # PostgreSQL's default; MariaDB's is REPEATABLE READ, whose snapshot could predate a writer that
        # committed while this one waited for the write lock (see `write`)
        kwargs["isolation_level"] = "READ COMMITTED"
    try:
        engine = create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise ConfigError(
            f"No driver for {url.drivername!r}. Use {SUPPORTED}.", key="error.db_url", supported=SUPPORTED
        ) from None
    event.listen(engine, "before_cursor_execute", _note_change)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        # SQLAlchemy, not the driver, decides where transactions start, so DDL (migrations) is
        # transactional too and a failed migration leaves nothing behind (SQLAlchemy's pysqlite recipe)
        # a write transaction takes the write lock at its start (BEGIN IMMEDIATE), so a busy store makes it
        # wait up to the busy timeout instead of failing at its first write after reading (see `write`)
        event.listen(
            engine,
            "begin",
            lambda conn: conn.exec_driver_sql(
                "BEGIN IMMEDIATE" if conn.get_execution_options().get("crm_write") else "BEGIN"
            ),
        )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, SQLAlchemyError) as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ConfigError(
            f"Cannot open the database {safe_url(url)}: {reason}", key="error.db_open", url=safe_url(url), reason=reason
        ) from None
    return engine


_CHANGE = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[`\"]?(\w+)", re.IGNORECASE)
QUIET_TABLES = frozenset({"audit_log", "app_meta"})  # a record of who looked, the write path's own rows


def _note_change(conn, _cursor, statement, _parameters, _context, _many) -> None:  # type: ignore[no-untyped-def]
    """Inside `write`: note when a statement changes a table the figures read (not the audit log), so the
    data version moves only then. Viewing a customer or signing in (an audit row) leaves every cache valid."""
    if conn.get_execution_options().get("crm_write") and not conn.info.get(CHANGED):
        found = _CHANGE.match(statement)
        if found and found.group(1).lower() not in QUIET_TABLES:
            conn.info[CHANGED] = True


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_connection.isolation_level = None  # the driver never begins on its own; see make_engine
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


T_ = TypeVar("T_")
WRITE_ATTEMPTS = 5
WRITE_LOCK_KEY = "write_lock"
DATA_VERSION_KEY = "data_version"  # app_meta: a new token on every committed write that changed data
CHANGED = "crm_changed"  # connection info: the write in progress changed a table the figures read


def write(engine: Engine, work: Callable[[Session], T_], *, attempts: int = WRITE_ATTEMPTS) -> T_:
    """The one write path: run `work(session)` in one transaction and commit, or roll everything back.

    Writers take turns, so summaries refreshed inside the transaction can neither be duplicated nor miss
    another writer's rows: SQLite takes its write lock at BEGIN IMMEDIATE (a busy store waits, up to the
    busy timeout); PostgreSQL and MariaDB lock one row of app_meta first (READ COMMITTED, so everything
    read after the lock includes what others committed). A transient conflict (busy, deadlock, lock
    timeout) is retried with a short backoff, `attempts` times in all; what is left becomes a StoreError
    with a plain message ("busy, not saved, try again", "disk full", "read-only").
    """
    for attempt in range(1, attempts + 1):
        session = Session(engine.execution_options(crm_write=True), expire_on_commit=False)
        try:
            _take_write_lock(session)
            session.connection().info.pop(CHANGED, None)
            result = work(session)
            if session.connection().info.pop(CHANGED, False):
                _new_data_version(session)
            session.commit()
            return result
        except DBAPIError as exc:
            session.rollback()
            problem = _store_problem(exc)
            if problem is None:
                raise
            if problem == "busy" and attempt < attempts:
                time.sleep(min(2.0, 0.05 * 2**attempt) * (0.5 + random.random()))
                continue
            raise StoreError(_STORE_MESSAGES[problem], key=f"error.store.{problem}") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
    raise AssertionError("unreachable")  # the loop returns or raises


_STORE_MESSAGES = {
    "busy": "The store is busy; your entry was not saved. Try again.",
    "disk_full": "The store's disk is full; your entry was not saved.",
    "read_only": "The store is read-only; your entry was not saved.",
}


def _take_write_lock(session: Session) -> None:
    """Servers: wait for the one write-lock row (SQLite's BEGIN IMMEDIATE already did the same)."""
    if session.get_bind().dialect.name == "sqlite":
        return
    M = _app_meta()
    locked = session.execute(select(M.c.key).where(M.c.key == WRITE_LOCK_KEY).with_for_update()).first()
    if locked is None:  # a new store (or one a seed emptied): make the row, once, in its own transaction
        with cast(Engine, session.get_bind()).connect() as conn:
            try:
                conn.execute(M.insert().values(key=WRITE_LOCK_KEY, value="row locked by every write"))
                conn.commit()
            except IntegrityError:
                conn.rollback()
        session.execute(select(M.c.key).where(M.c.key == WRITE_LOCK_KEY).with_for_update()).first()


def _new_data_version(session: Session) -> None:
    """Mark the store as changed, inside the write's own transaction (writers take turns: no race to insert)."""
    M = _app_meta()
    token = uuid.uuid4().hex
    if not affected(session, M.update().where(M.c.key == DATA_VERSION_KEY).values(value=token)):
        session.execute(M.insert().values(key=DATA_VERSION_KEY, value=token))


def data_version(session: Session) -> str | None:
    """A token that changes with every write committed through `write` that changed data (an audit row alone
    does not), by any process on any host (another app server, cron's tick or import): one primary-key read
    tells a cache whether what it holds is stale."""
    M = _app_meta()
    return session.scalar(select(M.c.value).where(M.c.key == DATA_VERSION_KEY))


def _app_meta():  # type: ignore[no-untyped-def]
    from core.models import AppMeta

    return AppMeta.__table__


def _store_problem(exc: DBAPIError) -> str | None:
    """busy / disk_full / read_only for the errors a store raises under load or out of space, else None."""
    orig = getattr(exc, "orig", None)
    text_ = str(orig or exc).lower()
    code = getattr(orig, "sqlstate", None) or (
        orig.args[0] if orig is not None and getattr(orig, "args", None) else None
    )
    if (
        "database is locked" in text_
        or "database table is locked" in text_
        or code in ("40001", "40P01", "55P03", 1213, 1205)
    ):  # serialization, deadlock, lock not available / timeout
        return "busy"
    if "disk is full" in text_ or "disk full" in text_ or code in ("53100", 1021, 28):
        return "disk_full"
    if "readonly database" in text_ or "read-only" in text_ or code in ("25006", 1290, 1036):
        return "read_only"
    return None


def new_id(session: Session, insert: Executable) -> int:
    """Run an INSERT of one row and return its new primary key."""
    result = cast(CursorResult, session.execute(insert))
    key = result.inserted_primary_key
    if key is None:
        raise StoreError("The store returned no id for a new row.", key="error.store.busy")
    return int(key[0])


def affected(session: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE and return how many rows it changed (a version check reads 0 as "changed")."""
    return int(cast(CursorResult, session.execute(statement)).rowcount)


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
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as conn:
            raw = cast(Any, conn.connection.driver_connection)
            if sqlite:  # batch migrations rebuild tables: keys are checked after, not mid-rebuild
                raw.execute("PRAGMA foreign_keys=OFF")  # outside any transaction, where SQLite honours it
            try:
                with conn.begin():
                    command.upgrade(_alembic_config(conn), "head")
                    if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                        raise ConfigError(
                            "The schema upgrade would break references between tables; nothing was changed.",
                            key="error.db_references",
                        )
            finally:
                if sqlite:
                    raw.execute("PRAGMA foreign_keys=ON")
    except (OperationalError, IntegrityError) as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise ConfigError(
            f"Cannot update the schema of {safe_url(engine.url)}: {reason}",
            key="error.db_schema",
            url=safe_url(engine.url),
            reason=reason,
        ) from None
    return head


def table_names(engine: Engine) -> list[str]:
    return inspect(engine).get_table_names()


def bulk_insert(conn, table, columns: dict[str, Any], *, chunk: int = 20_000) -> int:  # type: ignore[no-untyped-def]
    """Insert column arrays (numpy or lists) fast: raw executemany on SQLite, COPY on PostgreSQL, chunked core
    inserts elsewhere.

    numpy datetime64[D] columns become dates and datetime64[s] become datetimes; NaT becomes NULL.
    """
    import numpy as np

    names = [c.name for c in table.columns if c.name in columns]  # the compiled INSERT's positional order
    unknown = set(columns) - set(names)
    if unknown:
        raise ValueError(f"{table.name} has no columns {sorted(unknown)}")
    prepared: list[list[object]] = []
    sqlite = conn.dialect.name == "sqlite"
    for name in names:
        values = columns[name]
        # wall times in, UTC instants stored (core.clock): done here where the driver is handed values directly;
        # the typed inserts of the other dialects convert on their own
        utc = getattr(table.c[name].type, "stores_utc", False) and conn.dialect.name in ("sqlite", "postgresql")
        if isinstance(values, np.ndarray) and values.dtype.kind == "M":
            if utc:
                values = _utc_array(values)
            unit = np.datetime_data(values.dtype)[0]
            if sqlite:
                text_values = np.datetime_as_string(values, unit="D" if unit == "D" else "s").astype(object)
                if unit != "D":
                    text_values = np.char.add(np.char.replace(text_values.astype(str), "T", " "), ".000000").astype(
                        object
                    )
                text_values[np.isnat(values)] = None
                prepared.append(text_values.tolist())
            else:
                prepared.append(values.tolist())
        elif isinstance(values, np.ndarray) and values.dtype != object:
            prepared.append(values.tolist())
        else:
            kinds = set(map(type, values))  # one pass in C; most columns need no conversion at all
            plain = values
            if any(issubclass(k, np.generic) for k in kinds):
                plain = [v.item() if isinstance(v, np.generic) else v for v in values]
                kinds = set(map(type, plain))
            if utc:
                plain = _utc_list(plain)
            if sqlite and any(issubclass(k, date) for k in kinds):  # datetime is a date too
                text = {v: _sqlite_value(v) for v in set(plain)}  # days repeat: each converted once
                plain = list(map(text.__getitem__, plain))
            prepared.append(plain if isinstance(plain, list) else list(plain))
    rows = list(zip(*prepared))
    if not rows:
        return 0
    if sqlite:
        statement = table.insert().values({name: bindparam(name) for name in names}).compile(dialect=conn.dialect)
        conn.exec_driver_sql(str(statement), rows)
    elif conn.dialect.name == "postgresql":  # COPY on the same connection, so in the same transaction
        from sqlalchemy import Integer

        whole = [isinstance(table.c[name].type, Integer) for name in names]  # COPY takes no "3.0" for an integer
        if any(whole):
            rows = [tuple(int(v) if w and v is not None else v for v, w in zip(row, whole)) for row in rows]
        target = f'"{table.name}" ({", ".join(f"{chr(34)}{name}{chr(34)}" for name in names)})'
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        for i in range(0, len(rows), chunk):
            conn.execute(table.insert(), [dict(zip(names, row)) for row in rows[i : i + chunk]])
    return len(rows)


@contextmanager
def bulk_work(session: Session, *, cache_mb: int = 256) -> Iterator[None]:
    """Around a long batch of writes (an import of millions of rows): Python's cycle collector paused (it would
    walk every live row dict again and again: a third of the time) and, on SQLite, a page cache large enough
    for the indexes being filled; both restored after."""
    import gc

    collecting = gc.isenabled()
    gc.disable()
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        before = session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
        session.connection().exec_driver_sql(f"PRAGMA cache_size=-{int(cache_mb) * 1024}")
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        if sqlite:
            with suppress(SQLAlchemyError):  # a failed transaction cannot run it; the error that failed it counts
                session.connection().exec_driver_sql(f"PRAGMA cache_size={int(before or -65536)}")


def analyze(session: Session, tables: list[Any]) -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load: without them a table loaded a minute ago
    looks empty, and a look-up by IN list scans it whole (1.5 s a query at 100,000 rows instead of 1 ms).
    SQLite and MariaDB plan these look-ups by their indexes without statistics."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f'ANALYZE "{table.name}"'))


def raw_frame(session: Session, stmt: Executable) -> pd.DataFrame:
    """A query's rows as a DataFrame built from the driver's own tuples: for a million rows SQLAlchemy's row
    objects cost three times the query. Values are as the driver returns them (dates are text on SQLite), so
    use it for keys, labels and numbers; stored timestamps outside UTC display come back as the display zone's
    wall times (datetime64), as the typed path would give them."""
    import pandas as pd

    result = cast(CursorResult[Any], session.execute(stmt))
    frame = pd.DataFrame.from_records(result.cursor.fetchall(), columns=list(result.keys()))
    where = clock.zone()
    if not where.is_utc:
        for column in getattr(stmt, "selected_columns", ()):
            if getattr(column.type, "stores_utc", False) and column.name in frame and not frame.empty:
                frame[column.name] = _to_local(pd.to_datetime(frame[column.name], format="ISO8601"), where)
    return frame


def _to_local(stamps: pd.Series, where: Any) -> pd.Series:
    """UTC instants (datetime64) as the display zone's wall times."""
    return stamps.dt.tz_localize("UTC").dt.tz_convert(where.name).dt.tz_localize(None)


def _utc_array(values: Any) -> Any:
    """Display-zone wall times in a datetime64 array (a day: its midnight) as UTC instants, in the array's unit
    (seconds for days); a time repeated when the clocks go back is read as the first, as Python reads it."""
    import numpy as np
    import pandas as pd

    where = clock.zone()
    unit = np.datetime_data(values.dtype)[0]
    if where.is_utc:
        return values
    local = pd.DatetimeIndex(values)
    first = np.ones(len(local), dtype=bool)  # ambiguous wall times: daylight (the first) time
    moved = local.tz_localize(where.name, ambiguous=first, nonexistent="shift_forward").tz_convert("UTC")
    return moved.tz_localize(None).to_numpy().astype(f"datetime64[{'s' if unit == 'D' else unit}]")


def _utc_list(values: list[Any]) -> list[Any]:
    """Display-zone wall times (datetimes or days) in a list as UTC instants; each distinct one converted once."""
    if clock.zone().is_utc:
        return values
    converted = {v: clock.to_utc(v) if isinstance(v, date) and v == v else v for v in set(values)}  # NaT != NaT
    return [converted[v] for v in values]


def tuples(result: Iterable[Any]) -> list[tuple[Any, ...]]:
    """A typed query's rows as plain tuples, to build a DataFrame from: given SQLAlchemy's Row objects, pandas 3
    asks each one for a `dtype` attribute, an error raised and caught per row (0.3 s for 30,000 rows)."""
    rows = result.all() if hasattr(result, "all") else result  # all at once: one driver call, not one per row
    return [tuple(row) for row in rows]


def _sqlite_value(value: object) -> object:
    """Dates and datetimes as SQLAlchemy's SQLite types store them (so comparisons stay textual-exact)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def reset_sequences(conn, tables) -> None:  # type: ignore[no-untyped-def]
    """After inserting explicit ids, move PostgreSQL sequences past them (others track it themselves)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        highest = select(func.coalesce(func.max(table.c.id), 1)).scalar_subquery()
        conn.execute(select(func.setval(func.pg_get_serial_sequence(table.name, "id"), highest)))


class period_bucket(FunctionElement):  # noqa: N801 - reads like a SQL function
    """'YYYY-MM' of the first month of the calendar period (grain M, Q or Y) holding a date column, or the day
    itself as 'YYYY-MM-DD' (grain D).

    The one dialect-specific piece of date arithmetic; everything else binds plain dates.
    """

    type = String()
    inherit_cache = False  # the grain is not part of a cache key: never reuse another grain's SQL

    def __init__(self, column, grain: str) -> None:  # type: ignore[no-untyped-def]
        if grain not in ("D", "M", "Q", "Y"):
            raise ValueError(grain)
        self.grain = grain
        super().__init__(column)


def _local_sql(element, compiler, **kw) -> str:  # type: ignore[no-untyped-def]
    """The bucketed column in SQL, moved from the UTC the store keeps to the display zone's wall time when it is
    a stored timestamp (core.models.UtcDateTime), so a month is the users' month. PostgreSQL knows the zones;
    elsewhere a CASE over the zone's offset changes (core.clock)."""
    column = list(element.clauses)[0]
    sql = compiler.process(column, **kw)
    if not getattr(column.type, "stores_utc", False):
        return sql

    zone = clock.zone()
    if zone.is_utc:
        return sql
    if compiler.dialect.name == "postgresql":
        return f"(({sql}) AT TIME ZONE 'UTC' AT TIME ZONE '{zone.name}')"
    return shifted_sql(sql, compiler.dialect.name, zone.ranges())


def shifted_sql(sql: str, dialect: str, ranges: list[tuple[datetime | None, datetime | None, timedelta]]) -> str:
    """SQL for the timestamp `sql` moved by the offset of the range [low, high) it falls in (None: open): one
    expression on every dialect (SQLite and MariaDB know no time zones; PostgreSQL reads a repeated wall time
    otherwise than Python does). The range holding today is tested first, then
    the nearest ones, so a row of this year costs one or two comparisons."""
    now = clock.now()

    def distance(low: datetime | None, high: datetime | None) -> timedelta:
        if (low is None or low <= now) and (high is None or now < high):
            return timedelta(0)
        return min(abs(bound - now) for bound in (low, high) if bound is not None)

    def moved(offset: timedelta) -> str:
        minutes = int(offset.total_seconds() // 60)
        if not minutes:
            return sql
        if dialect == "sqlite":  # keeps the stored text's fraction of a second
            return f"(strftime('%Y-%m-%d %H:%M:%S', {sql}, '{minutes:+d} minutes') || substr({sql}, 20))"
        if dialect == "postgresql":
            return f"({sql} + INTERVAL '{minutes} minutes')"
        return f"DATE_ADD({sql}, INTERVAL {minutes} MINUTE)"

    ranges = sorted(ranges, key=lambda r: distance(r[0], r[1]))
    whens = []
    for low, high, offset in ranges[:-1]:
        tests = [
            f"{sql} >= '{low:%Y-%m-%d %H:%M:%S}'" if low else "",
            f"{sql} < '{high:%Y-%m-%d %H:%M:%S}'" if high else "",
        ]
        whens.append(f"WHEN {' AND '.join(t for t in tests if t)} THEN {moved(offset)}")
    last = moved(ranges[-1][2])
    return f"CASE {' '.join(whens)} ELSE {last} END" if whens else last


@compiles(period_bucket, "sqlite")
def _bucket_sqlite(element, compiler, **kw):  # type: ignore[no-untyped-def]
    column = _local_sql(element, compiler, **kw)
    # dates and date-times are ISO text on SQLite: cutting is exact, and 15 % faster than strftime
    if element.grain in ("D", "M"):
        return f"substr({column}, 1, {10 if element.grain == 'D' else 7})"
    if element.grain == "Y":
        return f"substr({column}, 1, 4) || '-01'"
    return (
        f"strftime('%Y', {column}) || '-' || "
        f"printf('%02d', ((CAST(strftime('%m', {column}) AS INTEGER) - 1) / 3) * 3 + 1)"
    )


@compiles(period_bucket, "postgresql")
def _bucket_postgresql(element, compiler, **kw):  # type: ignore[no-untyped-def]
    column = _local_sql(element, compiler, **kw)
    unit = {"D": "day", "M": "month", "Q": "quarter", "Y": "year"}[element.grain]
    return f"to_char(date_trunc('{unit}', {column}), '{'YYYY-MM-DD' if element.grain == 'D' else 'YYYY-MM'}')"


@compiles(period_bucket, "mysql")
@compiles(period_bucket, "mariadb")
def _bucket_mysql(element, compiler, **kw):  # type: ignore[no-untyped-def]
    column = _local_sql(element, compiler, **kw)
    if element.grain in ("D", "M", "Y"):
        pattern = compiler.process(literal({"D": "%Y-%m-%d", "M": "%Y-%m", "Y": "%Y-01"}[element.grain]), **kw)
        return f"DATE_FORMAT({column}, {pattern})"
    return f"CONCAT(YEAR({column}), '-', LPAD((QUARTER({column}) - 1) * 3 + 1, 2, '0'))"


def count_if(condition: Any) -> Any:
    """SUM(CASE WHEN condition THEN 1 ELSE 0 END): a conditional count every dialect runs."""
    return func.sum(case((condition, 1), else_=0))


class day_number(FunctionElement):  # noqa: N801 - reads like a SQL function
    """A date column as a whole number of days (any fixed origin): gaps between dates without parsing text."""

    type = Integer()
    inherit_cache = True


@compiles(day_number, "sqlite")
def _day_number_sqlite(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"CAST(julianday({compiler.process(list(element.clauses)[0], **kw)}) AS INTEGER)"


@compiles(day_number, "postgresql")
def _day_number_postgresql(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"({compiler.process(list(element.clauses)[0], **kw)} - DATE '1970-01-01')"


@compiles(day_number, "mysql")
@compiles(day_number, "mariadb")
def _day_number_mysql(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"TO_DAYS({compiler.process(list(element.clauses)[0], **kw)})"


class days_between(FunctionElement):  # noqa: N801 - reads like a SQL function
    """Days (with their fraction) from one stored time to another, computed in the database: a median of
    durations over many rows then reads plain numbers instead of converting every time read."""

    type = Float()
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw):  # type: ignore[no-untyped-def]
    since, until = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({until}) - julianday({since}))"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element, compiler, **kw):  # type: ignore[no-untyped-def]
    since, until = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({until} - {since})) / 86400.0)"


@compiles(days_between, "mysql")
@compiles(days_between, "mariadb")
def _days_between_mysql(element, compiler, **kw):  # type: ignore[no-untyped-def]
    since, until = (compiler.process(c, **kw) for c in element.clauses)
    return f"(TIMESTAMPDIFF(MICROSECOND, {since}, {until}) / 86400000000.0)"


class whole_number(FunctionElement):  # noqa: N801 - reads like a SQL function
    """A non-negative number's whole part as an integer (floor; PostgreSQL's and MariaDB's casts round)."""

    type = Integer()
    inherit_cache = True


@compiles(whole_number, "sqlite")
def _whole_number_sqlite(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"CAST({compiler.process(list(element.clauses)[0], **kw)} AS INTEGER)"


@compiles(whole_number, "postgresql")
def _whole_number_postgresql(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"CAST(FLOOR({compiler.process(list(element.clauses)[0], **kw)}) AS INTEGER)"


@compiles(whole_number, "mysql")
@compiles(whole_number, "mariadb")
def _whole_number_mysql(element, compiler, **kw):  # type: ignore[no-untyped-def]
    return f"CAST(FLOOR({compiler.process(list(element.clauses)[0], **kw)}) AS SIGNED)"


def row_batches(session: Session, stmt: Executable, *, size: int = 200_000) -> Iterator[list[tuple[Any, ...]]]:
    """A long query's rows as lists of plain tuples, `size` at a time. On SQLite straight from the driver's
    cursor, which steps through the query as rows are taken (SQLAlchemy's row objects cost as much again as
    the query); elsewhere through a server-side cursor, so a client never holds millions of rows."""
    if session.get_bind().dialect.name == "sqlite":
        cursor = cast(CursorResult[Any], session.execute(stmt)).cursor
        while rows := cursor.fetchmany(size):
            yield cast(list[tuple[Any, ...]], rows)
        return
    for part in session.execute(stmt, execution_options={"yield_per": size}).partitions():
        yield [tuple(row) for row in part]
