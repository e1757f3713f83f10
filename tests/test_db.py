"""The store: clear errors for bad URLs, schema migrations equal to the models, the portable date bucket."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select

from core import models as m
from core.db import make_engine, period_bucket, schema_revision
from core.errors import ConfigError
from tests import factories as f


@pytest.mark.parametrize(
    "url, message",
    [
        ("nonsense", "is not a database URL"),
        ("oracle://u@h/db", "Unsupported database"),
        ("postgresql://postgres@127.0.0.1:1/none", "Cannot open the database"),
    ],
)
def test_bad_urls_give_one_clear_message(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_engine(url)


def test_unwritable_folder_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="Cannot write the database folder"):
        make_engine(f"sqlite:///{blocker / 'data' / 'crm.db'}")


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    current, head = schema_revision(engine)
    assert current == head
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    assert diff == []


def test_period_bucket_on_every_dialect(engine: Engine) -> None:
    from core.db import session_scope

    with session_scope(engine) as s:
        who = f.customer(s, became=date(2025, 1, 1))
        f.order(s, who, date(2026, 8, 17), 1)
        s.flush()
        buckets = [s.scalar(select(period_bucket(m.Order.order_date, g))) for g in ("M", "Q", "Y")]
        ticket = f.ticket(s, who, __import__("datetime").datetime(2026, 11, 3, 23, 59))
        s.flush()
        q_of_datetime = s.scalar(select(period_bucket(m.Ticket.created_at, "Q")).where(m.Ticket.id == ticket.id))
    assert buckets == ["2026-08", "2026-07", "2026-01"]
    assert q_of_datetime == "2026-10"


def test_migrations_downgrade_and_upgrade_again(engine: Engine) -> None:
    from alembic import command

    from core.db import _alembic_config, migrate, table_names

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "base")
    assert set(table_names(engine)) <= {"alembic_version"}
    migrate(engine)
    assert schema_revision(engine)[0] == schema_revision(engine)[1]
    assert {"customers", "orders", "period_facts"} <= set(table_names(engine))


def test_upgrading_a_filled_store_keeps_its_rows(engine: Engine) -> None:
    """From 0003 (plaintext contacts) to head with a customer and an order in it, then encrypted on open."""
    from alembic import command
    from sqlalchemy import text

    from core import pii
    from core.db import _alembic_config, migrate
    from core.store import protect_plaintext
    from tests.conftest import TEST_KEYRING

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, code, name, kind, industry, region, acquisition_channel, "
                "first_contact_date, status, phone, email) VALUES (1, 'C1', 'Old', 'B2B', 'retail', "
                "'east', 'website', :d, 'prospect', '13800001234', 'old@example.com')"
            ),
            {"d": date(2025, 1, 1)},
        )
        conn.execute(
            text(
                "INSERT INTO orders (customer_id, order_date, amount, product_category, sales_channel) "
                "VALUES (1, :d, 10, 'software', 'direct')"
            ),
            {"d": date(2025, 2, 1)},
        )
    migrate(engine)
    assert protect_plaintext(engine, TEST_KEYRING) == 1
    with engine.connect() as conn:
        phone, email = conn.execute(text("SELECT phone_enc, email_enc FROM customers WHERE id = 1")).one()
        assert conn.execute(text("SELECT COUNT(*) FROM orders WHERE customer_id = 1")).scalar() == 1
    assert pii.decrypt(phone, TEST_KEYRING) == "13800001234" and pii.decrypt(email, TEST_KEYRING) == "old@example.com"


def test_a_refused_upgrade_changes_nothing(sqlite_url: str) -> None:
    """SQLite DDL runs in the migration's transaction: a refusal leaves the store exactly as it was."""
    from alembic import command
    from sqlalchemy import inspect, text

    from core.db import _alembic_config, migrate

    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0003")
    raw = engine.raw_connection()
    raw.driver_connection.execute("PRAGMA foreign_keys=OFF")
    raw.driver_connection.execute(
        "INSERT INTO orders (customer_id, order_date, amount, product_category, "
        "sales_channel) VALUES (999, '2025-01-01', 1, 'x', 'y')"
    )  # a dangling reference
    raw.close()
    with pytest.raises(ConfigError, match="nothing was changed"):
        migrate(engine)
    assert schema_revision(engine)[0] == "0003"
    tables = inspect(engine).get_table_names()
    assert "_alembic_tmp_customers" not in tables and "phone_hash" not in {
        c["name"] for c in inspect(engine).get_columns("customers")
    }
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM orders")).scalar() == 1


def test_store_errors_never_carry_the_values_written(sqlite_url: str) -> None:
    """A failing statement's message (logs, the server's error page) names no parameter: they may be personal."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    from core import models as m
    from core.db import make_engine, migrate, session_scope

    engine = make_engine(sqlite_url)
    migrate(engine)
    with pytest.raises(IntegrityError) as failed, session_scope(engine) as s:
        s.add(m.AppMeta(key="a", value="13812345678"))
        s.flush()
        s.add(m.AppMeta(key="a", value="13812345678"))
        s.flush()
    assert "13812345678" not in str(failed.value)


def test_users_never_see_error_details() -> None:
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none" and config["server"]["fileWatcherType"] == "none"


def test_bulk_work_pauses_the_collector_and_restores_what_it_changed(engine: Engine) -> None:
    import gc

    from sqlalchemy.orm import Session

    from core.db import bulk_work

    with Session(engine) as s:
        sqlite = engine.dialect.name == "sqlite"
        before = s.connection().exec_driver_sql("PRAGMA cache_size").scalar() if sqlite else None
        with bulk_work(s, cache_mb=64):
            assert not gc.isenabled()
            if sqlite:
                assert s.connection().exec_driver_sql("PRAGMA cache_size").scalar() == -64 * 1024
        assert gc.isenabled()
        if sqlite:
            assert s.connection().exec_driver_sql("PRAGMA cache_size").scalar() == before
