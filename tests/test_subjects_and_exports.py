"""Data-subject export and erasure, and audited exports."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text

from core import audit, clock, exports, facts, models as m
from core.access import SYSTEM, Viewer
from core.customers import customer_profile
from core.db import make_engine, session_scope
from core.errors import PermissionDenied, ValidationError
from core.periods import Filters, period_containing
from core.subjects import erase_customer, export_customer
from tests.conftest import TEST_KEYRING

ADMIN = Viewer(1, "admin", "Admin", "admin")


def _busy_customer(s) -> int:  # type: ignore[no-untyped-def]
    return s.scalar(
        select(m.Ticket.customer_id).join(m.NpsResponse, m.NpsResponse.customer_id == m.Ticket.customer_id).limit(1)
    )


def test_export_holds_everything_with_contacts_in_clear(seeded_url: str) -> None:
    with session_scope(make_engine(seeded_url)) as s:
        customer_id = _busy_customer(s)
        data = json.loads(export_customer(s, viewer=ADMIN, keyring=TEST_KEYRING, customer_id=customer_id))
        orders = s.scalar(
            select(__import__("sqlalchemy").func.count()).select_from(m.Order).where(m.Order.customer_id == customer_id)
        )
        with pytest.raises(PermissionDenied):
            export_customer(s, viewer=Viewer(2, "e", "E", "executive"), keyring=TEST_KEYRING, customer_id=customer_id)
    assert data["customer"]["id"] == customer_id and "@" in data["customer"]["email"]
    assert len(data["orders"]) == orders and data["tickets"] and data["nps_responses"]
    with session_scope(make_engine(seeded_url)) as s:
        assert len(audit.entries(s, viewer=SYSTEM, action="customer_exported")) == 1


def test_erasure_removes_identity_and_keeps_every_figure(seeded_url: str) -> None:
    engine = make_engine(seeded_url)
    periods = [period_containing(clock.today().replace(day=1), g) for g in ("M", "Q", "Y")]
    with session_scope(engine) as s:
        customer_id = _busy_customer(s)
        before = [facts.live_measures(s, p, Filters()) for p in periods]
        with pytest.raises(ValidationError):
            erase_customer(s, viewer=ADMIN, keyring=TEST_KEYRING, customer_id=customer_id, reason="no")
        erase_customer(s, viewer=ADMIN, keyring=TEST_KEYRING, customer_id=customer_id, reason="customer request #42")
    with session_scope(engine) as s:
        after = [facts.live_measures(s, p, Filters()) for p in periods]
        row = s.execute(select(m.Customer).where(m.Customer.id == customer_id)).scalar_one()
        comments = s.scalars(select(m.NpsResponse.comment).where(m.NpsResponse.customer_id == customer_id)).all()
        profile = customer_profile(s, viewer=ADMIN, keyring=TEST_KEYRING, customer_id=customer_id)
        with pytest.raises(ValidationError, match="already erased"):
            erase_customer(s, viewer=ADMIN, keyring=TEST_KEYRING, customer_id=customer_id, reason="twice over")
    assert before == after
    assert row.name.startswith("[erased]") and row.phone_enc is None and row.email_hash is None
    assert set(comments) <= {None} and profile.phone is None
    with session_scope(engine) as s:
        assert "request #42" in audit.entries(s, viewer=SYSTEM, action="customer_erased").iloc[0]["details"]


def test_exports_are_audited_and_refused_without_the_right(seeded_url: str) -> None:
    with session_scope(make_engine(seeded_url)) as s:
        exports.record_export(
            s, viewer=Viewer(2, "exec", "E", "executive"), what="kpis", rows=13, filters=Filters(regions=("east",))
        )
        with pytest.raises(PermissionDenied):
            exports.record_export(s, viewer=Viewer(3, "am", "AM", "account_manager"), what="kpis", rows=13)
        with pytest.raises(PermissionDenied):
            exports.record_export(s, viewer=Viewer(2, "exec", "E", "executive"), what="audit_log", rows=1)
    with session_scope(make_engine(seeded_url)) as s:
        entry = audit.entries(s, viewer=SYSTEM, action="export").iloc[0]
    assert entry["username"] == "exec" and '"rows": 13' in entry["details"] and "east" in entry["details"]
    assert exports.to_csv(__import__("pandas").DataFrame({"名称": ["客户"]})).startswith(b"\xef\xbb\xbf")


def test_the_kpi_export_is_headed_in_the_language_rounded_and_complete(seeded_url: str) -> None:

    from core import exports, kpi
    from core.access import SYSTEM
    from core.db import make_engine, session_scope
    from core.periods import Filters

    with session_scope(make_engine(seeded_url)) as s:
        result = kpi.cockpit(s, kpi.latest_complete_month(clock.today()), Filters(), viewer=SYSTEM, now=clock.now())
    table = exports.kpi_table(result, "zh")
    assert list(table.columns) == ["指标", "期间", "数值", "上期", "上期数值", "显示值", "单位"]
    assert len(table) == len(result.kpis) + 2  # open complaints and revenue at risk too
    for value in table["数值"].dropna():
        assert round(float(value), 2) == float(value)  # no binary-float tails
    repurchase = table[table["指标"] == exports.t("kpi.repurchase_rate", "zh")].iloc[0]
    assert repurchase["数值"] == round(100 * result.kpi("repurchase_rate").value, 1) and repurchase["单位"] == "%"


def test_erasure_leaves_no_trace_of_the_person_in_any_table_or_the_file(seeded_url: str) -> None:
    """What they said and what was noted about them, in every table (list columns included) and in the
    SQLite file's bytes, once the person is erased."""
    from pathlib import Path

    from sqlalchemy import String, Text

    from core import activity, service
    from core.activity import InteractionForm, TicketForm
    from core.service import Step

    engine = make_engine(seeded_url)
    marks = {
        "name": "Zebulon Quartermaine",
        "note": "zq-note-7731",
        "finding": "zq-finding-5520",
        "resolution": "zq-resolution-8842",
        "comment": "zq-comment-1199",
        "task": "zq-task-3310",
        "desk_note": "zq-desk-note-4410",
        "retention": "zq-retention-6620",
    }
    now = clock.now().replace(microsecond=0)
    with session_scope(engine) as s:
        customer_id = _busy_customer(s)
        s.execute(m.Customer.__table__.update().where(m.Customer.id == customer_id).values(name=marks["name"]))
        facts.refresh_customer_row(s, customer_id)
        activity.log_interaction(
            s,
            ADMIN,
            InteractionForm(customer_id, "phone", "outbound", now, "call", marks["note"], None, 5, None),
            now=now,
        )
        ticket = activity.create_ticket(
            s, ADMIN, TicketForm(customer_id, "complaint", "billing", "high", "phone", "charged twice"), now=now
        )
        s.add(m.Task(customer_id=customer_id, title=marks["task"], due_date=now.date(), created_at=now))
        s.add(
            m.RetentionAction(
                customer_id=customer_id,
                kind="call",
                reason="other",
                due_date=now.date(),
                status="done",
                steps_done=1,
                note=marks["retention"],
                created_at=now,
            )
        )
    with session_scope(engine) as s:  # an account manager's note for the agent
        service.add_note(s, ADMIN, ticket, marks["desk_note"], now=now)
    for action, fields in (
        ("accept", {}),
        ("analyse", {"findings": marks["finding"], "root_cause": "process"}),
        ("agent_reply", {"note": marks["note"]}),
        ("resolve", {"resolution": marks["resolution"]}),
        ("feedback", {"csat": 2, "comment": marks["comment"]}),
    ):
        with session_scope(engine) as s:
            version = s.scalar(select(m.Ticket.version).where(m.Ticket.id == ticket))
            service.act(s, ADMIN, Step(ticket, action, int(version), **fields), now=now)  # type: ignore[arg-type]
    with session_scope(engine) as s:
        erase_customer(s, viewer=ADMIN, keyring=TEST_KEYRING, customer_id=customer_id, reason="customer request #43")
    found = []
    with session_scope(engine) as s:
        for table in m.Base.metadata.sorted_tables:
            texts = [c for c in table.columns if isinstance(c.type, (String, Text))]
            for column in texts:
                for mark in marks.values():
                    if s.scalar(select(func.count()).select_from(table).where(column.contains(mark))):
                        found.append(f"{table.name}.{column.name}: {mark}")
    assert not found, found
    engine.dispose()
    raw = Path(seeded_url.removeprefix("sqlite:///"))
    with session_scope(make_engine(seeded_url)) as s:
        s.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    wal = raw.with_name(raw.name + "-wal")
    data = raw.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    assert not [mark for mark in marks.values() if mark.encode() in data]  # secure_delete: no old bytes linger
