"""Timestamps are stored as UTC instants and seen in the display zone (CRM_TIMEZONE): conversions both ways,
on every dialect, in bulk loads, in month buckets, and the migration that moved old wall times to UTC."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from core import clock, models as m
from core.db import bulk_insert, period_bucket, raw_frame, session_scope

A = m.table(m.AuditLog)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Set the display zone for one test (and read the environment again after it)."""

    def use(name: str) -> None:
        monkeypatch.setenv("CRM_TIMEZONE", name)
        clock.refresh()

    yield use  # type: ignore[misc]
    monkeypatch.undo()
    clock.refresh()


def stored(engine: Engine, action: str) -> list[str]:
    """The audit rows' times as the database holds them, to the second, bypassing every conversion."""
    with engine.connect() as conn:
        values = conn.execute(text("SELECT at FROM audit_log WHERE action = :a ORDER BY id"), {"a": action}).scalars()
        return [str(v)[:19] for v in values]


def test_wall_times_and_instants_convert_both_ways(zone) -> None:  # type: ignore[no-untyped-def]
    zone("Asia/Shanghai")
    assert clock.to_utc(datetime(2026, 3, 2, 9)) == datetime(2026, 3, 2, 1)
    assert clock.to_utc(date(2026, 4, 1)) == datetime(2026, 3, 31, 16)  # a day: its local midnight
    assert clock.to_local(datetime(2026, 3, 31, 16)) == datetime(2026, 4, 1)
    assert clock.to_utc(datetime(1988, 7, 1, 12)) == datetime(1988, 7, 1, 3)  # China kept summer time then
    aware = datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Berlin"))
    assert clock.to_utc(aware) == datetime(2026, 3, 2, 8)
    shanghai_now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    assert abs((clock.now() - shanghai_now).total_seconds()) < 60 and clock.today() == shanghai_now.date()
    zone("America/New_York")  # the clocks go back at 02:00 on 1 November 2026: 01:30 happens twice
    first, second = clock.to_local(datetime(2026, 11, 1, 5, 30)), clock.to_local(datetime(2026, 11, 1, 6, 30))
    assert first == second == datetime(2026, 11, 1, 1, 30) and (first.fold, second.fold) == (0, 1)
    assert (clock.to_utc(first), clock.to_utc(second)) == (datetime(2026, 11, 1, 5, 30), datetime(2026, 11, 1, 6, 30))
    assert clock.to_utc(datetime(2026, 7, 1, 12)) == datetime(2026, 7, 1, 16)


def test_the_store_keeps_utc_and_answers_in_the_display_zone(engine: Engine, zone) -> None:  # type: ignore[no-untyped-def]
    """Written one by one, in bulk from a list and from a datetime64 array: stored as UTC, read back as the wall
    time; a day in a filter is its local midnight; months and raw frames are the display zone's."""
    zone("Asia/Shanghai")
    times = [datetime(2026, 3, 2, 9), datetime(2026, 4, 1, 3), datetime(2026, 3, 31, 23, 59)]
    with session_scope(engine) as s:
        s.add_all(m.AuditLog(at=at, action="one") for at in times)
        bulk_insert(s.connection(), A, {"at": times, "action": ["list"] * 3})
        bulk_insert(s.connection(), A, {"at": np.array(times, dtype="datetime64[s]"), "action": ["array"] * 3})
    for action in ("one", "list", "array"):
        assert stored(engine, action) == ["2026-03-02 01:00:00", "2026-03-31 19:00:00", "2026-03-31 15:59:00"]
    with Session(engine) as s:
        assert s.scalars(select(A.c.at).where(A.c.action == "one").order_by(A.c.id)).all() == times
        april = s.scalars(select(A.c.action).where(A.c.at >= date(2026, 4, 1), A.c.action == "list")).all()
        months = s.execute(
            select(period_bucket(A.c.at, "M"), period_bucket(A.c.at, "Q"), period_bucket(A.c.at, "Y"))
            .where(A.c.action == "array")
            .order_by(A.c.id)
        ).all()
        frame = raw_frame(s, select(A.c.at).where(A.c.action == "list").order_by(A.c.id))
    assert april == ["list"]  # 2026-04-01 03:00 in Shanghai only, though stored on 31 March
    assert [tuple(row) for row in months] == [
        ("2026-03", "2026-01", "2026-01"),
        ("2026-04", "2026-04", "2026-01"),
        ("2026-03", "2026-01", "2026-01"),
    ]
    assert [t.to_pydatetime() for t in frame["at"]] == times
    zone("UTC")  # the same instants seen by a team on UTC: nothing moved in the store
    with Session(engine) as s:
        assert s.scalars(select(A.c.at).where(A.c.action == "one").order_by(A.c.id)).first() == datetime(2026, 3, 2, 1)
        assert s.scalar(select(period_bucket(A.c.at, "M")).where(A.c.action == "one").order_by(A.c.id.desc())) == (
            "2026-03"
        )


def test_months_follow_a_daylight_saving_zone(engine: Engine, zone) -> None:  # type: ignore[no-untyped-def]
    zone("America/New_York")
    times = [datetime(2026, 10, 31, 23, 30), datetime(2026, 11, 1, 1, 30, fold=1), datetime(2026, 3, 31, 23, 30)]
    with session_scope(engine) as s:
        s.add_all(m.AuditLog(at=at, action="dst") for at in times)
    assert stored(engine, "dst") == ["2026-11-01 03:30:00", "2026-11-01 06:30:00", "2026-04-01 03:30:00"]
    with Session(engine) as s:
        months = s.scalars(select(period_bucket(A.c.at, "M")).where(A.c.action == "dst").order_by(A.c.id)).all()
        back = s.scalars(select(A.c.at).where(A.c.action == "dst").order_by(A.c.id)).all()
    assert months == ["2026-10", "2026-11", "2026-03"]
    assert back == times and back[1].fold == 1


def test_the_migration_moves_stamped_wall_times_to_utc_and_back(engine: Engine, zone) -> None:  # type: ignore[no-untyped-def]
    """A store stamped on a New York clock (recorded in app_meta) is moved to UTC on upgrade, exactly (summer,
    winter, the repeated hour read as its first), and back on downgrade; NULLs stay NULL."""
    from alembic import command

    from core.db import _alembic_config, migrate

    zone("Asia/Shanghai")  # the server's zone now differs: the recorded zone decides
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0015")
    walls = ["2026-07-01 12:00:00", "2026-01-15 12:00:00", "2026-11-01 01:30:00"]
    with engine.begin() as conn:
        conn.execute(m.AppMeta.__table__.insert().values(key="store_timezone", value="America/New_York"))
        for at in walls:
            conn.execute(
                text("INSERT INTO audit_log (at, action) VALUES (:at, 'old')"), {"at": datetime.fromisoformat(at)}
            )
        conn.execute(
            text(
                "INSERT INTO users (username, display_name, role, active, created_at) VALUES ('u', 'U', 'a', :t, :at)"
            ),
            {"t": True, "at": datetime(2026, 7, 1, 12, 0, 0, 250000)},
        )
    migrate(engine)
    assert stored(engine, "old") == ["2026-07-01 16:00:00", "2026-01-15 17:00:00", "2026-11-01 05:30:00"]
    with engine.connect() as conn:
        created, revoked = conn.execute(
            text("SELECT created_at, sessions_valid_after FROM users WHERE username = 'u'")
        ).one()
    assert str(created).startswith("2026-07-01 16:00:00") and revoked is None
    assert engine.dialect.name == "mysql" or str(created).endswith(".250000")  # MariaDB's column keeps seconds
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0015")
    assert stored(engine, "old") == walls
