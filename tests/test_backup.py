"""Backup and restore drill on every dialect: back up, change, restore, and every figure is as it was."""

from __future__ import annotations

import sqlite3
import stat
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from core import backup, facts, models as m
from core.db import DATA_VERSION_KEY, WRITE_LOCK_KEY, session_scope
from core.errors import ConfigError
from tests import factories as f


def figures(engine: Engine) -> dict[str, object]:
    """Row counts of every table but the audit log (backup and restore add to it), revenue, and the period
    facts and customer statistics as the cockpit reads them."""
    with session_scope(engine) as s:
        counts = {
            table.name: s.scalar(select(func.count()).select_from(table))
            for table in m.Base.metadata.sorted_tables
            if table.name != "audit_log"
        }
        counts["app_meta"] = s.scalar(  # the write path's own rows are made by the first write: not figures
            select(func.count()).select_from(m.AppMeta).where(m.AppMeta.key.not_in([WRITE_LOCK_KEY, DATA_VERSION_KEY]))
        )
        revenue = s.scalar(select(func.sum(m.Order.amount)))
        stored_facts = sorted(map(tuple, s.execute(select(m.table(m.PeriodFact))).all()), key=str)
    return {"counts": counts, "revenue": revenue, "facts": stored_facts}


def test_back_up_change_restore_and_every_figure_is_as_it_was(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as s:
        owner = f.user(s, "amy")
        for n in range(3):
            who = f.customer(s, owner=owner, became=date(2026, 1, 5))
            f.order(s, who, date(2026, 2, n + 1), 100.0 + n)
            f.nps(s, who, datetime(2026, 2, 10, 9, 30), 9 - n)
        facts.rebuild_all(s, as_of=date(2026, 3, 1))
    before = figures(engine)
    copy = backup.backup(engine, tmp_path / "crm.backup")
    assert copy.size > 0 and stat.S_IMODE(copy.path.stat().st_mode) == 0o600  # it holds personal data
    with pytest.raises(ConfigError, match="already exists"):
        backup.backup(engine, copy.path)
    with session_scope(engine) as s:  # a day's work after the backup
        who = f.customer(s, owner=s.get(m.User, s.scalar(select(m.User.id))), became=date(2026, 2, 1))
        f.order(s, who, date(2026, 2, 20), 5000.0)
        s.execute(m.table(m.NpsResponse).delete())
        facts.rebuild_all(s, as_of=date(2026, 3, 1))
    assert figures(engine) != before
    backup.restore(engine, copy.path)
    assert figures(engine) == before
    with session_scope(engine) as s:
        trail = s.scalars(select(m.AuditLog.action).order_by(m.AuditLog.id)).all()
    assert trail[-1] == "restore"  # recorded after the restored rows (the backup's own row came after its copy)
    if engine.dialect.name == "postgresql":  # statistics for the restored tables (pg_restore brings none)
        with engine.connect() as conn:
            analyzed = conn.execute(
                text("SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'orders' AND last_analyze IS NOT NULL")
            ).scalar()
        assert analyzed == 1


def test_a_restore_refuses_what_is_not_a_backup_and_the_cli_asks_first(sqlite_url: str, tmp_path: Path) -> None:
    from core.cli import main
    from core.db import make_engine, migrate

    engine = make_engine(sqlite_url)
    migrate(engine)
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database", encoding="utf-8")
    with pytest.raises(ConfigError, match="not a SQLite backup"):
        backup.restore(engine, junk)
    with pytest.raises(ConfigError, match="no backup at"):
        backup.restore(engine, tmp_path / "missing.db")
    saved = tmp_path / "saved.db"
    assert main(["--database-url", sqlite_url, "backup", str(saved)]) == 0
    assert main(["--database-url", sqlite_url, "restore", str(saved)]) == 1  # not without --yes
    assert main(["--database-url", sqlite_url, "restore", str(saved), "--yes"]) == 0
    assert main(["--database-url", sqlite_url, "restore", str(junk), "--yes"]) == 2  # a message, no traceback
    newer = tmp_path / "newer.db"
    backup.backup(engine, newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(ConfigError, match="newer version"):
        backup.restore(engine, newer)
