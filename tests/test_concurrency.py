"""Many writers at once through the one write path: nothing refused, nothing lost or duplicated, and the
summaries equal a rebuild from raw rows afterwards (SQLite, PostgreSQL, MariaDB)."""

from __future__ import annotations

import random
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import activity, clock, db, facts, models as m
from core.access import Viewer
from core.activity import InteractionForm, NpsForm, TicketForm
from core.db import session_scope
from core.periods import Filters, period_containing
from tests import factories as f

WRITERS, WRITES = 8, 25


def test_eight_writers_at_once_lose_nothing_and_keep_the_summaries_right(engine: Engine) -> None:
    now = clock.now().replace(microsecond=0)
    with session_scope(engine) as s:
        owner = f.user(s, "amy")
        customers = [
            f.customer(s, owner=owner, became=date(2024, 3, 1), region=("east", "north")[i % 2]) for i in range(4)
        ]
        s.flush()
        facts.rebuild_all(s, as_of=now.date())
        ids = [c.id for c in customers]
    amy = Viewer(owner.id, "amy", "Amy", "account_manager")
    failures: list[BaseException] = []
    latencies: list[float] = []

    def writer(number: int) -> None:
        rng = random.Random(number)
        for i in range(WRITES):
            customer = ids[(number + i) % len(ids)]
            kind = (number + i) % 3
            started = time.perf_counter()
            try:
                if kind == 0:
                    form = InteractionForm(
                        customer,
                        "phone",
                        "outbound",
                        now - timedelta(minutes=i),
                        f"call {number}/{i}",
                        "",
                        None,
                        5,
                        None,
                    )
                    db.write(engine, lambda s: activity.log_interaction(s, amy, form, token=f"i{number}-{i}", now=now))
                elif kind == 1:
                    ticket = TicketForm(
                        customer, "complaint", "billing", "normal", "phone", f"charged twice {number}/{i}"
                    )
                    db.write(engine, lambda s: activity.create_ticket(s, amy, ticket, token=f"t{number}-{i}", now=now))
                else:
                    answer = NpsForm(customer, rng.randint(0, 10), now - timedelta(minutes=i), "post_service", "")
                    db.write(engine, lambda s: activity.record_nps(s, amy, answer, token=f"n{number}-{i}", now=now))
            except BaseException as exc:  # noqa: BLE001 - every refusal is a failure of this test
                failures.append(exc)
            latencies.append(time.perf_counter() - started)
            time.sleep(rng.uniform(0, 0.02))  # a little think time

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    expected = {kind: sum(1 for n in range(WRITERS) for i in range(WRITES) if (n + i) % 3 == kind) for kind in range(3)}
    month = period_containing(now.date(), "M")
    F = m.PeriodFact.__table__
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Interaction)) == expected[0]
        assert s.scalar(select(func.count()).select_from(m.Ticket)) == expected[1]
        assert s.scalar(select(func.count()).select_from(m.NpsResponse)) == expected[2]
        keys = (F.c.grain, F.c.period_start, F.c.region, F.c.industry, F.c.kind, F.c.owner_id)
        copies = s.execute(select(*keys, func.count()).group_by(*keys).having(func.count() > 1)).all()
        assert not copies, copies  # no summary key written twice by interleaved refreshes
        for filters in (Filters(), Filters(regions=("east",))):
            assert facts.summary_measures(s, month, filters) == facts.live_measures(s, month, filters)
    assert max(latencies) < 30


def test_the_write_path_retries_a_busy_store_and_says_plainly_what_it_cannot_fix(sqlite_url: str) -> None:
    import sqlite3

    import pytest
    from sqlalchemy.exc import OperationalError

    from core.db import make_engine, migrate
    from core.errors import StoreError
    from core.i18n import error_text

    engine = make_engine(sqlite_url)
    migrate(engine)
    calls: list[int] = []

    def busy_once(session: Session) -> str:
        calls.append(1)
        session.add(m.AppMeta(key=f"k{len(calls)}", value="v"))
        if len(calls) == 1:
            raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
        return "saved"

    assert db.write(engine, busy_once) == "saved" and len(calls) == 2
    with Session(engine) as s:  # the refused attempt left nothing behind
        assert s.scalars(select(m.AppMeta.key).where(m.AppMeta.key.like("k%"))).all() == ["k2"]

    def full(session: Session) -> None:
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))

    with pytest.raises(StoreError) as refused:
        db.write(engine, full)
    assert error_text(refused.value, "zh") == "数据库磁盘已满，本次内容未保存。"

    def always_busy(session: Session) -> None:
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))

    with pytest.raises(StoreError, match="busy"):
        db.write(engine, always_busy, attempts=2)


def test_parallel_wrong_passwords_cannot_overshoot_the_lockout(engine: Engine) -> None:
    """Twelve wrong passwords at once: exactly five are compared and counted, the rest are refused as locked
    (and recorded as such) — the count and the check are one step of the write path."""
    from core import security

    admin = Viewer(None, "root", "Root", "admin")
    with session_scope(engine) as s:
        security.create_user(
            s, username="ivy", display_name="Ivy", role="analyst", password="first-pass-1", actor=admin
        )
    outcomes: list[str] = []
    start = threading.Barrier(12)

    def guess() -> None:
        start.wait()
        try:
            db.write(engine, lambda s: security.sign_in(s, "ivy", "wrong-guess-1"))
        except security.AccountLocked:
            outcomes.append("locked")
        except security.SignInFailed:
            outcomes.append("failed")

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    A = m.AuditLog.__table__
    with Session(engine) as s:
        counted = s.scalar(select(func.count()).where(A.c.action == "sign_in_failed", A.c.username == "ivy"))
        refused = s.scalar(select(func.count()).where(A.c.action == "sign_in_locked", A.c.username == "ivy"))
    assert len(outcomes) == 12 and counted == security.MAX_FAILURES  # no overshoot
    assert outcomes.count("failed") == security.MAX_FAILURES - 1 and refused == 12 - security.MAX_FAILURES


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)  # the embedded store, a team's server
def test_a_write_in_another_process_clears_this_ones_cached_figures(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes on one store (the app here, the command line in a child process, as cron runs it): the
    child's write changes the data version, and this process drops its cached figures on its next page run."""
    import os
    import subprocess
    import sys

    import streamlit as st

    from tests.conftest import TEST_KEY
    from ui import context, data

    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    loads: list[int] = []

    @st.cache_data
    def figure() -> int:
        loads.append(1)
        with session_scope(context.engine()) as s:
            return int(s.scalar(select(func.count()).select_from(m.User)) or 0)

    st.cache_data.clear()  # (the same function's cache is shared by this test's runs on each dialect)
    data.follow_other_writers()  # the first look remembers the version
    assert figure() == figure() == 0 and len(loads) == 1  # served from the cache
    data.follow_other_writers()
    assert figure() == 0 and len(loads) == 1  # nothing changed: still the cache
    env = {**os.environ, "CRM_PII_KEYS": "k1=" + TEST_KEY, "CRM_PII_INDEX_KEY": TEST_KEY, "CRM_COOKIE_KEY": "c" * 40}
    child = subprocess.run(
        [sys.executable, "-m", "core", "--database-url", url, "create-user", "cara", "--role", "analyst",
         "--name", "Cara", "--password", "a-long-pass-2026"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stderr
    assert figure() == 0  # the cache does not know yet
    data.follow_other_writers()
    assert figure() == 1 and len(loads) == 2  # read again after the other process's write
    with Session(engine) as s:
        assert db.data_version(s) is not None


LOADS: list[str] = []


def _users_made_since(session: Session, viewer: Viewer, *, start: object, end: object) -> int:
    """A stand-in for a period's figures (`ui.data.figures` resolves it by module and name)."""
    LOADS.append(viewer.username)
    return int(session.scalar(select(func.count()).select_from(m.User)) or 0)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_period_figures_are_kept_per_viewer_and_minute_until_a_write(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Service and Voice pages' figures over a period: a rerun in the same minute (any widget changed)
    reads nothing again; another viewer never gets this one's figures; a write shows at once."""
    import streamlit as st

    from ui import data

    monkeypatch.setenv("CRM_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    st.cache_data.clear()
    LOADS.clear()
    start = clock.now().replace(second=5, microsecond=0) - timedelta(days=365)
    lead, agent = Viewer(None, "lena", "Lena", "team_lead"), Viewer(None, "ari", "Ari", "support_agent")
    first = data.figures(_users_made_since, lead, start=start, end=start + timedelta(days=365))
    again = data.figures(_users_made_since, lead, start=start + timedelta(seconds=40), end=start + timedelta(days=365))
    assert first == again == 0 and LOADS == ["lena"]  # the same minute: from the cache
    assert data.figures(_users_made_since, agent, start=start, end=start + timedelta(days=365)) == 0
    assert LOADS == ["lena", "ari"]  # kept per viewer
    data.write(lambda session, _viewer: f.user(session, "cara"), lead)
    assert data.figures(_users_made_since, lead, start=start, end=start + timedelta(days=365)) == 1
    assert LOADS == ["lena", "ari", "lena"]  # a write clears it


def test_cached_figures_come_from_the_read_replica_and_writes_go_to_the_store(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """With CRM_READ_DATABASE_URL, the cached figures are read there (here a second file standing for a
    replica, holding a manager the store does not), while the data version and writes use the store."""
    import streamlit as st

    from core.db import make_engine, migrate
    from ui import context, data

    primary, replica = f"sqlite:///{tmp_path / 'primary.db'}", f"sqlite:///{tmp_path / 'replica.db'}"
    copy = make_engine(replica)
    migrate(copy)
    with session_scope(copy) as s:
        f.user(s, "rhea")
    monkeypatch.setenv("CRM_DATABASE_URL", primary)
    monkeypatch.setenv("CRM_READ_DATABASE_URL", replica)
    st.cache_data.clear()
    assert [name for _, name in data.options().owners] == ["Rhea"]  # read from the replica
    with Session(context.engine()) as s:
        assert s.scalar(select(func.count()).select_from(m.User)) == 0  # the store itself has no one
    monkeypatch.delenv("CRM_READ_DATABASE_URL")
    st.cache_data.clear()
    assert data.options().owners == []


def test_the_data_version_moves_with_data_not_with_audit_rows(engine: Engine) -> None:
    """Viewing a customer or signing in writes an audit row only: every process's cached figures stay valid.
    A write that changes data gives the store a new version."""
    from core import audit

    def version() -> str | None:
        with Session(engine) as s:
            return db.data_version(s)

    before = version()
    db.write(engine, lambda s: audit.record(s, action="sign_in", username="amy"))
    assert version() == before
    db.write(engine, lambda s: f.user(s, "amy"))
    changed = version()
    assert changed is not None and changed != before
    db.write(engine, lambda s: audit.record(s, action="customer_viewed", username="amy", object="customer:1"))
    assert version() == changed
