"""Every test gets its own real database: a temporary SQLite file, and, when CRM_TEST_POSTGRES_URL /
CRM_TEST_MYSQL_URL are set, a freshly created PostgreSQL / MariaDB database dropped afterwards."""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from core.db import make_engine, migrate
from core.pii import Keyring

TODAY = date(2026, 11, 25)
TEST_KEY = base64.b64encode(b"k" * 32).decode()
TEST_INDEX_KEY = base64.b64encode(b"i" * 32).decode()
TEST_KEYRING = Keyring(
    {"k1": b"k" * 32}, "k1", b"i" * 32
)  # fixed "today" of every generated data set, so expectations never drift
SERVER_URLS = {"postgresql": "CRM_TEST_POSTGRES_URL", "mysql": "CRM_TEST_MYSQL_URL"}


def _server_database(variable: str) -> Iterator[str]:
    raw = os.environ.get(variable)
    if not raw:
        pytest.skip(f"{variable} is not set: no {variable.split('_')[2].lower()} server for this run")
    base = make_url(make_engine(raw).url)  # normalises the driver and proves the server answers
    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))  # name is generated above, never user input
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if base.get_backend_name() == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database of each dialect (server dialects skip when not configured)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crm.db'}"
    else:
        yield from _server_database(SERVER_URLS[request.param])


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated, empty database of each dialect."""
    eng = make_engine(db_url)
    migrate(eng)
    yield eng
    eng.dispose()


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


@pytest.fixture(autouse=True)
def _test_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys from the environment, so no test writes the project's .streamlit/secrets.toml."""
    monkeypatch.setenv("CRM_COOKIE_KEY", "test-cookie-key-" + "x" * 40)
    monkeypatch.setenv("CRM_PII_KEYS", "k1=" + TEST_KEY)
    monkeypatch.setenv("CRM_PII_INDEX_KEY", TEST_INDEX_KEY)
    monkeypatch.setenv("CRM_SHOW_ERRORS", "1")  # page tests see a failure as an exception, not as a message
