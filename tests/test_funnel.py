"""The lead funnel on hand-made leads: stage counts, stage rates, the invalid share and the median days worked
out by hand, by source and by owner; a stage lists its leads; an account manager sees the leads they own."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import funnel
from core.access import SYSTEM, Viewer
from core.db import session_scope
from tests import factories as f

START, END = date(2026, 1, 1), date(2026, 7, 1)


@pytest.fixture
def leads(engine: Engine) -> dict[str, object]:
    """website: 4 leads (amy) — converted after 10 and 30 days, qualified, disqualified after 4 days; referral:
    2 leads (bob) — new, converted after 20 days; one website lead of 2025, outside the period."""
    with session_scope(engine) as s:
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        made = [
            ("website", amy, "converted", 10),
            ("website", amy, "converted", 30),
            ("website", amy, "qualified", None),
            ("website", amy, "disqualified", 4),
            ("referral", bob, "new", None),
            ("referral", bob, "converted", 20),
        ]
        for i, (source, owner, status, days) in enumerate(made):
            lead = f.lead(s, datetime(2026, 2, 1 + i, 9), status, owner=owner)
            lead.source_channel = source
            if status == "converted":
                lead.converted_at = datetime(2026, 2, 1 + i, 9) + timedelta(days=days)
            if status == "disqualified":
                lead.disqualified_at = datetime(2026, 2, 1 + i, 9) + timedelta(days=days)
        f.lead(s, datetime(2025, 6, 1), "converted", owner=amy).source_channel = "website"
        s.flush()
        return {"amy": Viewer(amy.id, "amy", "Amy", "account_manager"), "amy_id": amy.id, "bob_id": bob.id}


def test_the_funnel_by_hand(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        every = funnel.funnel(s, SYSTEM, start=START, end=END).iloc[0]
        by_source = funnel.funnel(s, SYSTEM, start=START, end=END, by="source").set_index("group")
        by_owner = funnel.funnel(s, SYSTEM, start=START, end=END, by="owner").set_index("group")
        hers = funnel.funnel(s, leads["amy"], start=START, end=END).iloc[0]
    assert (every["created"], every["qualified"], every["converted"], every["disqualified"], every["open"]) == (
        6,
        4,
        3,
        1,
        2,
    )
    assert every["qualified_rate"] == pytest.approx(4 / 6) and every["converted_of_qualified"] == pytest.approx(3 / 4)
    assert every["converted_rate"] == pytest.approx(3 / 6) and every["invalid_share"] == pytest.approx(1 / 6)
    assert every["days_to_convert"] == pytest.approx(20.0) and every["days_to_disqualify"] == pytest.approx(4.0)
    web = by_source.loc["website"]
    assert (web["created"], web["converted"], web["days_to_convert"]) == (4, 2, pytest.approx(20.0))
    assert by_source.loc["referral", "converted_rate"] == pytest.approx(0.5)
    assert by_owner.loc[leads["bob_id"], "created"] == 2
    assert hers["created"] == 4  # her own leads only


def test_a_stage_lists_its_leads(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        converted = funnel.stage_leads(s, SYSTEM, start=START, end=END, stage="converted")
        web_open = funnel.stage_leads(s, SYSTEM, start=START, end=END, stage="open", by="source", group="website")
        hers = funnel.stage_leads(s, leads["amy"], start=START, end=END, stage="created")
    assert len(converted) == 3 and list(converted["created_at"]) == sorted(converted["created_at"], reverse=True)
    assert list(web_open["status"]) == ["qualified"]
    assert set(hers["owner"]) == {"Amy"} and len(hers) == 4
