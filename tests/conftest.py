"""Every test gets its own real database: a temporary SQLite file, and, when CRM_TEST_POSTGRES_URL /
CRM_TEST_MYSQL_URL are set, a freshly created PostgreSQL / MariaDB database dropped afterwards."""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL, make_url

from core import clock, security
from core.db import make_engine, migrate
from core.pii import Keyring

# bcrypt's lowest work factor for every hash the tests make (the demo templates' users too): the suite signs in
# and guesses wrong hundreds of times, 0.25 s each at the app's 12
security.BCRYPT_ROUNDS = 4

TODAY = date(2026, 11, 25)
TEST_KEY = base64.b64encode(b"k" * 32).decode()
TEST_INDEX_KEY = base64.b64encode(b"i" * 32).decode()
TEST_KEYRING = Keyring(
    {"k1": b"k" * 32}, "k1", b"i" * 32
)  # fixed "today" of every generated data set, so expectations never drift
SERVER_URLS = {"postgresql": "CRM_TEST_POSTGRES_URL", "mysql": "CRM_TEST_MYSQL_URL"}


def _admin(variable: str) -> tuple[Engine, URL]:
    raw = os.environ.get(variable)
    if not raw:
        pytest.skip(f"{variable} is not set: no {variable.split('_')[2].lower()} server for this run")
    base = make_url(make_engine(raw).url)  # normalises the driver and proves the server answers
    return create_engine(base, isolation_level="AUTOCOMMIT"), base


def _drop(conn: Connection, name: str) -> None:
    suffix = " WITH (FORCE)" if conn.dialect.name == "postgresql" else ""
    conn.execute(text(f"DROP DATABASE IF EXISTS {name}{suffix}"))  # names are generated here, never user input


class _Templates:
    """One migrated database per dialect and test process, copied for each test: migrating every test's
    database took most of a server test's time (PostgreSQL copies a template database; MariaDB has none, so
    its tables are recreated from the template's own SHOW CREATE TABLE, foreign keys included)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[str, object] = {}
        self.servers: list[tuple[Engine, str]] = []  # the templates, dropped at the end
        self.admins: dict[str, tuple[Engine, URL]] = {}

    def sqlite(self, target: Path) -> None:
        if "sqlite" not in self.made:
            path = self.folder / "migrated.db"
            eng = make_engine(f"sqlite:///{path}")
            migrate(eng)
            eng.dispose()
            self.made["sqlite"] = path
        shutil.copy(self.made["sqlite"], target)  # type: ignore[arg-type]

    def server(self, variable: str) -> tuple[Engine, str, str]:
        """A new database copied from the dialect's template: (admin engine, its name, its URL)."""
        if variable not in self.admins:
            self.admins[variable] = _admin(variable)
        admin, base = self.admins[variable]
        backend = base.get_backend_name()
        if backend not in self.made:
            name = f"crm_tmpl_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {name}"))
            self.servers.append((admin, name))
            eng = make_engine(base.set(database=name).render_as_string(hide_password=False))
            migrate(eng)
            if backend == "mysql":
                with eng.connect() as conn:
                    tables = conn.execute(text("SHOW TABLES")).scalars().all()
                    ddl = [conn.execute(text(f"SHOW CREATE TABLE `{t}`")).one()[1] for t in tables]
                    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
                    # rows a migration ships (the shipped automation rules), copied into each test's database
                    filled = [
                        t
                        for t in tables
                        if t != "alembic_version" and conn.execute(text(f"SELECT 1 FROM `{t}` LIMIT 1")).first()
                    ]
                self.made[backend] = (ddl, revision, name, filled)
            else:
                self.made[backend] = name
            eng.dispose()
        name = f"crm_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            if backend == "postgresql":
                conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {self.made[backend]}"))
            else:
                conn.execute(text(f"CREATE DATABASE {name}"))
                ddl, revision, template, filled = self.made[backend]  # type: ignore[misc]
                conn.execute(text(f"USE {name}"))
                conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
                for statement in ddl:
                    conn.execute(text(statement.replace("%", "%%")))
                for table in filled:
                    conn.execute(text(f"INSERT INTO `{table}` SELECT * FROM `{template}`.`{table}`"))
                conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:r)"), {"r": revision})
        return admin, name, base.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        for admin, name in self.servers:
            with admin.connect() as conn:
                _drop(conn, name)
        for admin, _ in self.admins.values():
            admin.dispose()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    templates = _Templates(tmp_path_factory.mktemp("migrated"))
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, _templates: _Templates) -> Iterator[Engine]:
    """A migrated, empty database of each dialect: a copy of this process's migrated template."""
    if request.param == "sqlite":
        _templates.sqlite(tmp_path / "crm.db")
        eng = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
        yield eng
        eng.dispose()
        return
    admin, name, url = _templates.server(SERVER_URLS[request.param])
    eng = make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            _drop(conn, name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crm.db'}"


@pytest.fixture(scope="session")
def _seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seeded up to the real today, as the app is: its default period (last complete month) has data."""
    from core.demo import seed_demo

    path = tmp_path_factory.mktemp("template") / "demo.db"
    eng = make_engine(f"sqlite:///{path}")
    migrate(eng)
    seed_demo(eng, customers=400, seed=7, demo_password=DEMO_PASSWORD, keyring=TEST_KEYRING)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture
def seeded_url(_seeded_template: Path, tmp_path: Path) -> str:
    """A private copy of a small seeded demo database (400 customers, seed 7, history up to today)."""
    target = tmp_path / "demo.db"
    shutil.copy(_seeded_template, target)
    return f"sqlite:///{target}"


DEMO_PASSWORD = "demo-pass-2026"


_REAL_NOW = clock.now


def _pinned_now() -> datetime:
    """The display zone's clock moved back by whole days so that its date is TODAY: time still passes (sessions,
    lockouts, "seconds ago"), but the dates a learned model is judged on are the same on every day CI runs."""
    real = _REAL_NOW()
    return real - timedelta(days=(real.date() - TODAY).days)


@pytest.fixture(scope="session")
def _trained_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int | None]:
    """2,000 demo customers, seeded (which trains and scores the demo's model) once per test process: the
    shared 400-customer template is below the training threshold. Tests that use it carry
    `xdist_group("trained_demo")`, so one worker builds it. Its days are pinned to TODAY (the model's quality on
    a store this small moves with the calendar: on one day in three its lead over recency fell below 0.05)."""
    from core.demo import seed_demo

    path = tmp_path_factory.mktemp("trained") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "now", _pinned_now)
        report = seed_demo(
            engine, customers=2000, seed=7, today=TODAY, demo_password=DEMO_PASSWORD, keyring=TEST_KEYRING
        )
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path, report.churn_model


@pytest.fixture
def trained_demo(_trained_demo: tuple[Path, int | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A private copy of the trained demo's store, read with the clock at its TODAY."""
    monkeypatch.setattr(clock, "now", _pinned_now)
    target = tmp_path / "demo.db"
    shutil.copy(_trained_demo[0], target)
    return f"sqlite:///{target}"


@pytest.fixture(autouse=True)
def _test_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys from the environment, so no test writes the project's .streamlit/secrets.toml."""
    monkeypatch.setenv("CRM_COOKIE_KEY", "test-cookie-key-" + "x" * 40)
    monkeypatch.setenv("CRM_PII_KEYS", "k1=" + TEST_KEY)
    monkeypatch.setenv("CRM_PII_INDEX_KEY", TEST_INDEX_KEY)
    monkeypatch.setenv("CRM_SHOW_ERRORS", "1")  # page tests see a failure as an exception, not as a message
    monkeypatch.setenv("CRM_RULES_EVERY_MINUTES", "0")  # the app's own rule runs are tested in core, not by timing
