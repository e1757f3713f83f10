"""Opening the store: migrated, stale summaries rebuilt, only the default file seeded automatically."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from core import facts, models as m
from core.db import make_engine, session_scope
from core.settings import Settings
from core.store import is_empty, open_store
from tests.conftest import TEST_KEYRING


def test_stale_summaries_are_rebuilt_on_open(seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    with session_scope(engine) as s:
        before = s.scalar(select(func.count()).select_from(m.PeriodFact))
        s.execute(delete(m.PeriodFact))
        s.execute(delete(m.AppMeta).where(m.AppMeta.key == "summaries_as_of"))
    engine.dispose()
    reopened = open_store(Settings(database_url=seeded_url), TEST_KEYRING)
    with session_scope(reopened) as s:
        assert s.scalar(select(func.count()).select_from(m.PeriodFact)) == before > 0
        assert facts.get_meta(s, "summaries_as_of") is not None


def test_a_store_other_than_the_default_is_never_seeded(sqlite_url: str) -> None:
    engine = open_store(Settings(database_url=sqlite_url, demo_customers=50), TEST_KEYRING, seed_demo_if_empty=True)
    assert is_empty(engine)


def test_the_first_seed_reports_its_progress(sqlite_url: str) -> None:
    from core.db import make_engine, migrate
    from core.demo import seed_demo
    from tests.conftest import TEST_KEYRING

    engine = make_engine(sqlite_url)
    migrate(engine)
    told: list[tuple[str, float]] = []
    seed_demo(
        engine,
        customers=60,
        seed=3,
        keyring=TEST_KEYRING,
        demo_password="demo-pass-2026",
        progress=lambda phase, share: told.append((phase, share)),
    )
    assert [phase for phase, _ in told] == ["generate", "insert", "summaries", "service", "churn", "done"]
    shares = [share for _, share in told]
    assert shares == sorted(shares) and shares[-1] == 1.0
