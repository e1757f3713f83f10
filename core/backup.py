"""Backup and restore of the whole store, as the operator runs them (`python -m core backup PATH`, `restore`).

SQLite: the online backup API, a consistent copy taken while the app keeps working (and restored the same
way, page by page, in one step). PostgreSQL and MariaDB: their own dump tools (`pg_dump`/`pg_restore`,
`mariadb-dump`/`mariadb`), which must be installed where this runs; the password goes to them through the
environment, never on a command line. A backup holds personal data (names in clear, contact details
encrypted under the store's keys): it is written readable by its owner only, and the keys are not in it.
Both are audited in the store itself (a restore records itself after the restored rows).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from core import audit
from core.db import migrate, schema_revision, write
from core.errors import ConfigError

SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Copy:
    path: Path
    size: int
    sha256: str


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            sha.update(block)
    return sha.hexdigest()


def _copy(path: Path) -> Copy:
    return Copy(path, path.stat().st_size, _digest(path))


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ConfigError(f"{name} is not installed here: install {package} (the server's version) and run it again.")
    return found


def _server_args(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection options for a dump tool, and its environment with the password (kept off the command line)."""
    env = dict(os.environ)
    if url.get_backend_name() == "postgresql":
        args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        return args, env
    args = ["-h", url.host or "127.0.0.1", "-P", str(url.port or 3306), "-u", url.username or "root"]
    if url.password:
        env["MYSQL_PWD"] = str(url.password)
    return args, env


def _run(command: list[str], env: dict[str, str], *, stdin: Path | None = None) -> None:
    handle = stdin.open("rb") if stdin else None
    try:
        done = subprocess.run(command, env=env, stdin=handle, capture_output=True, check=False)
    finally:
        if handle:
            handle.close()
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ConfigError(f"{Path(command[0]).name} failed: {message[-1] if message else done.returncode}")


def backup(engine: Engine, path: Path, *, username: str = "cli") -> Copy:
    """Copy the whole store to `path` (a new file: an existing one is not overwritten)."""
    if path.exists():
        raise ConfigError(f"{path} already exists: choose a new file name (backups are never overwritten).")
    if not path.parent.is_dir():
        raise ConfigError(f"The folder {path.parent} does not exist.")
    url, dialect = engine.url, engine.dialect.name
    path.touch(mode=0o600)
    try:
        if dialect == "sqlite":
            target = sqlite3.connect(path)
            source = engine.raw_connection()
            try:
                source.driver_connection.backup(target)  # type: ignore[union-attr]
            finally:
                source.close()
                target.close()
        elif dialect == "postgresql":
            args, env = _server_args(url)
            _run([_tool("pg_dump", "postgresql-client"), *args, "-Fc", "-f", str(path), str(url.database)], env)
        else:
            args, env = _server_args(url)
            tool = _tool("mariadb-dump", "mariadb-client")
            _run([tool, *args, "--single-transaction", "--result-file", str(path), str(url.database)], env)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    copy = _copy(path)
    write(
        engine,
        lambda session: audit.record(
            session, action="backup", username=username, details={"file": path.name, "sha256": copy.sha256}
        ),
    )
    return copy


def _check_sqlite_backup(path: Path, engine: Engine) -> None:
    """Refuse what is not a backup of this app, or one from a newer version (it would not open)."""
    with path.open("rb") as handle:
        if handle.read(16) != SQLITE_MAGIC:
            raise ConfigError(f"{path.name} is not a SQLite backup of this app.")
    check = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        revision = check.execute("SELECT version_num FROM alembic_version").fetchone()
        check.execute("SELECT COUNT(*) FROM customers").fetchone()
    except sqlite3.DatabaseError:
        raise ConfigError(f"{path.name} is not a SQLite backup of this app.") from None
    finally:
        check.close()
    head = schema_revision(engine)[1]
    if revision is None or str(revision[0]) > str(head):
        raise ConfigError(f"{path.name} comes from a newer version of the app (schema {revision}); update first.")


def restore(engine: Engine, path: Path, *, username: str = "cli") -> Copy:
    """Replace the whole store with the backup at `path`, then bring it to this version's schema. Everything
    written since the backup is gone: stop the app first (its open connections would hold the old store)."""
    if not path.is_file():
        raise ConfigError(f"There is no backup at {path}.")
    copy = _copy(path)
    dialect = engine.dialect.name
    if dialect == "sqlite":
        _check_sqlite_backup(path, engine)
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = engine.raw_connection()
        try:
            source.backup(target.driver_connection)  # type: ignore[arg-type]
        finally:
            target.close()
            source.close()
    else:
        engine.dispose()  # our own pooled connections would block the drop of tables
        args, env = _server_args(engine.url)
        database = str(engine.url.database)
        if dialect == "postgresql":
            tool = _tool("pg_restore", "postgresql-client")
            _run([tool, *args, "-d", database, "--clean", "--if-exists", "--no-owner", "--single-transaction",
                  str(path)], env)  # fmt: skip
        else:
            _run([_tool("mariadb", "mariadb-client"), *args, database], env, stdin=path)
    engine.dispose()
    migrate(engine)
    with engine.connect() as conn:  # the restored store is an app store: it has customers to count
        conn.execute(text("SELECT COUNT(*) FROM customers")).scalar()
    if dialect == "postgresql":  # pg_restore brings no planner statistics: without them big reads plan blind
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))
    write(
        engine,
        lambda session: audit.record(
            session, action="restore", username=username, details={"file": path.name, "sha256": copy.sha256}
        ),
    )
    return copy
