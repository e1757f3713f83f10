"""Data-quality figures on a hand-made store: every count below is worked out from the rows by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import models as m, pii, quality
from core.access import SYSTEM, Viewer
from core.db import session_scope
from core.errors import PermissionDenied
from tests import factories as f
from tests.conftest import TEST_KEYRING

NOW = datetime(2026, 11, 30, 12, 0)
TODAY = NOW.date()


@pytest.fixture
def store(engine: Engine) -> dict[str, object]:
    with session_scope(engine) as s:
        amy = f.user(s, "amy")
        c1 = f.customer(s, owner=amy, became=date(2025, 1, 1))  # complete, phone P
        c2 = f.customer(s, owner=None, became=date(2025, 1, 1))  # no owner, no contact
        c3 = f.customer(s, owner=amy, became=date(2025, 1, 1))  # phone P again: a duplicate of c1
        c4 = f.customer(s, owner=amy, became=date(2025, 6, 1), churned=date(2025, 3, 1))  # churned before became
        for who in (c1, c3):
            who.phone_hash = pii.search_hash("phone", "13812345678", TEST_KEYRING)
        c4.email_hash = pii.search_hash("email", "a@b.example", TEST_KEYRING)
        f.order(s, c1, date(2026, 10, 1), 100)
        f.order(s, c3, date(2026, 10, 2), 0)  # not a sale
        s.add(m.ExternalId(source="erp", kind="customer", external_id="E1", record_id=c1.id))
        s.add(
            m.ImportBatch(
                kind="customers",
                source="erp",
                file_name="e.csv",
                file_sha256="0" * 64,
                username="x",
                at=NOW - timedelta(hours=3),
                counts="{}",
            )
        )
        s.flush()
        return {"ids": (c1.id, c2.id, c3.id, c4.id), "amy": Viewer(amy.id, "amy", "Amy", "account_manager")}


def test_completeness_overall_per_source_and_in_scope(engine: Engine, store) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        whole = quality.completeness(s, SYSTEM)
        assert whole.customers == 4 and whole.share["owner"] == 0.75 and whole.share["contact"] == 0.75
        assert whole.share["name"] == 1.0 and whole.share["phone"] == 0.5 and whole.core == 0.75
        by_source = quality.completeness_by_source(s, SYSTEM).set_index("source")
        assert by_source.loc["erp", "customers"] == 1 and by_source.loc["typed", "customers"] == 3
        assert by_source.loc["typed", "owner"] == pytest.approx(2 / 3)
        mine = quality.completeness(s, store["amy"])  # an account manager: their three customers
        assert mine.customers == 3 and mine.share["owner"] == 1.0


def test_invalid_duplicate_and_orphan_counts_and_the_rows_behind_them(engine: Engine, store) -> None:  # type: ignore[no-untyped-def]
    c1, c2, c3, c4 = store["ids"]
    with Session(engine) as s:
        found = quality.issues(s, SYSTEM, today=TODAY)
        assert found == quality.Issues(
            invalid_dates=1, invalid_amounts=1, duplicate_customers=2, orphan_orders=0, orphan_tickets=0, no_owner=1
        )
        duplicates = quality.rows_behind(s, SYSTEM, "duplicate_customers", today=TODAY)
        assert set(duplicates["customer_id"]) == {c1, c3} and duplicates["detail"].nunique() == 1
        assert list(quality.rows_behind(s, SYSTEM, "missing", field="owner", today=TODAY)["customer_id"]) == [c2]
        assert list(quality.rows_behind(s, SYSTEM, "invalid_dates", today=TODAY)["customer_id"]) == [c4]
        assert list(quality.rows_behind(s, SYSTEM, "invalid_amounts", today=TODAY)["customer_id"]) == [c3]
        assert "phone" not in quality.rows_behind(s, SYSTEM, "missing", field="contact", today=TODAY).columns


def test_freshness_snapshots_and_who_may_look(engine: Engine, store) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as s:
        fresh = quality.freshness(s, SYSTEM, now=NOW, max_age_hours=1)
        assert list(fresh["source"]) == ["erp"] and fresh.iloc[0]["age_hours"] == 3.0
        assert quality.stale_sources(fresh) == ["erp"]
        assert quality.stale_sources(quality.freshness(s, SYSTEM, now=NOW, max_age_hours=4)) == []
        quality.snapshot(s, now=NOW - timedelta(days=1))
        quality.snapshot(s, now=NOW)
    with Session(engine) as s:
        history = quality.trend(s, SYSTEM, since=NOW - timedelta(days=7))
        core = history[history["figure"] == "completeness_core"]
        assert list(core["value"]) == [0.75, 0.75] and len(history) == 2 * len(quality.SNAPSHOT_FIGURES)
        with pytest.raises(PermissionDenied):
            quality.issues(s, store["amy"], today=TODAY)  # the page is for the whole-base roles
