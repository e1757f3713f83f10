"""The lead funnel on hand-made leads: stage counts (reached by a stage's time or a later status), stage rates,
the invalid and filtered shares, the median days in each stage worked out by hand, by source, campaign and
owner; the invalid leads by reason; a stage lists its leads; an account manager sees the leads they own."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import funnel, models as m
from core.access import SYSTEM, Viewer
from core.db import session_scope
from tests import factories as f

START, END = date(2026, 1, 1), date(2026, 7, 1)


@pytest.fixture
def leads(engine: Engine) -> dict[str, object]:
    """Seven leads of February 2026 (days after creation: contacted, qualified, converted / invalid):

    1 website amy converted 2, 5, 10        2 website amy converted 4, 10, 30
    3 website amy qualified 1, 3            4 website amy invalid (not_interested) contacted 1, invalid 4
    5 referral bob contacted (no time kept) 6 referral bob converted 6, 8, 20 — campaign "Fair"
    7 referral bob invalid at once, screened (duplicate) — campaign "Fair"
    and one website lead of 2025, outside the period."""
    with session_scope(engine) as s:
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        fair = m.Campaign(
            name="Fair",
            channel="events",
            starts_on=date(2026, 2, 1),
            ends_on=date(2026, 2, 28),
            cost=1000,
            holdout_percent=0,
            segment="{}",
            created_by="admin",
            created_at=datetime(2026, 1, 20),
        )
        s.add(fair)
        s.flush()
        made = [
            ("website", amy, "converted", (2, 5, 10), None, None),
            ("website", amy, "converted", (4, 10, 30), None, None),
            ("website", amy, "qualified", (1, 3, None), None, None),
            ("website", amy, "disqualified", (1, None, 4), "not_interested", None),
            ("referral", bob, "contacted", (None, None, None), None, None),
            ("referral", bob, "converted", (6, 8, 20), None, fair.id),
            ("referral", bob, "disqualified", (None, None, 0), "duplicate", fair.id),
        ]
        for i, (source, owner, status, (contact, qualify, end), reason, campaign) in enumerate(made):
            created = datetime(2026, 2, 1 + i, 9)
            lead = f.lead(s, created, status, owner=owner)
            lead.source_channel, lead.campaign_id = source, campaign
            at = lambda d: created + timedelta(days=d) if d is not None else None  # noqa: E731
            lead.contacted_at, lead.qualified_at = at(contact), at(qualify)
            if status == "converted":
                lead.converted_at = at(end)
            if status == "disqualified":
                lead.disqualified_at, lead.invalid_reason, lead.screened = at(end), reason, reason == "duplicate"
        f.lead(s, datetime(2025, 6, 1), "converted", owner=amy).source_channel = "website"
        s.flush()
        return {
            "amy": Viewer(amy.id, "amy", "Amy", "account_manager"),
            "amy_id": amy.id,
            "bob_id": bob.id,
            "fair": fair.id,
        }


def test_the_funnel_by_hand(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        every = funnel.funnel(s, SYSTEM, start=START, end=END).iloc[0]
        by_source = funnel.funnel(s, SYSTEM, start=START, end=END, by="source").set_index("group")
        by_owner = funnel.funnel(s, SYSTEM, start=START, end=END, by="owner").set_index("group")
        by_campaign = funnel.funnel(s, SYSTEM, start=START, end=END, by="campaign").set_index("group")
        hers = funnel.funnel(s, leads["amy"], start=START, end=END).iloc[0]
        by_month = funnel.funnel(s, SYSTEM, start=date(2025, 1, 1), end=END, by="month").set_index("group")
        names = funnel.campaign_names(s, list(by_campaign.index))
    stages = ("created", "contacted", "qualified", "converted", "disqualified", "screened", "open")
    assert tuple(int(every[s]) for s in stages) == (7, 6, 4, 3, 2, 1, 2)
    assert every["contacted_rate"] == pytest.approx(6 / 7)
    assert every["qualified_of_contacted"] == pytest.approx(4 / 6)
    assert every["qualified_rate"] == pytest.approx(4 / 7)
    assert every["converted_of_qualified"] == pytest.approx(3 / 4)
    assert every["converted_rate"] == pytest.approx(3 / 7)
    assert every["invalid_share"] == pytest.approx(2 / 7) and every["filtered_share"] == pytest.approx(1 / 2)
    # medians: contact (2, 4, 1, 1, 6) → 2; qualify (3, 6, 2, 2) → 2.5; convert (5, 20, 12) → 12; invalid (4, 0) → 2
    assert every["days_to_contact"] == pytest.approx(2.0) and every["days_to_qualify"] == pytest.approx(2.5)
    assert every["days_to_convert"] == pytest.approx(12.0) and every["days_to_disqualify"] == pytest.approx(2.0)
    web = by_source.loc["website"]
    assert (web["created"], web["converted"], web["days_to_convert"]) == (4, 2, pytest.approx(12.5))
    assert by_source.loc["referral", "converted_rate"] == pytest.approx(1 / 3)
    assert by_owner.loc[leads["bob_id"], "created"] == 3
    fair = by_campaign.loc[leads["fair"]]
    assert (fair["created"], fair["converted"], fair["filtered_share"]) == (2, 1, pytest.approx(1.0))
    assert (fair["cost_per_lead"], fair["cost_per_converted"]) == (500.0, 1000.0)
    unlinked = by_campaign.loc[[g for g in by_campaign.index if g is None]].iloc[0]  # leads 1–5: no campaign
    assert unlinked["created"] == 5 and pd.isna(unlinked["cost_per_lead"])
    assert unlinked["days_to_contact"] == pytest.approx(1.5)  # (2, 4, 1, 1)
    assert names == {leads["fair"]: "Fair"}
    assert hers["created"] == 4 and hers["screened"] == 0  # her own leads only
    assert list(by_month.index) == ["2025-06", "2026-02"] and list(by_month["created"]) == [1, 7]
    assert by_month.loc["2026-02", "converted_rate"] == pytest.approx(3 / 7)


def test_invalid_leads_by_reason(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        reasons = funnel.invalid_reasons(s, SYSTEM, start=START, end=END).set_index("reason")
        hers = funnel.invalid_reasons(s, leads["amy"], start=START, end=END).set_index("reason")
    assert set(reasons.index) == {"not_interested", "duplicate"}
    assert (reasons.loc["duplicate", "leads"], reasons.loc["duplicate", "screened"]) == (1, 1)
    assert (reasons.loc["not_interested", "leads"], reasons.loc["not_interested", "screened"]) == (1, 0)
    assert reasons.loc["duplicate", "share_of_created"] == pytest.approx(1 / 7)
    assert list(hers.index) == ["not_interested"] and hers.loc["not_interested", "share_of_created"] == 0.25


def test_a_stage_lists_its_leads(engine: Engine, leads) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        converted = funnel.stage_leads(s, SYSTEM, start=START, end=END, stage="converted")
        web_open = funnel.stage_leads(s, SYSTEM, start=START, end=END, stage="open", by="source", group="website")
        contacted = funnel.stage_leads(s, SYSTEM, start=START, end=END, stage="contacted")
        screened = funnel.stage_leads(
            s, SYSTEM, start=START, end=END, stage="screened", by="campaign", group=leads["fair"]
        )
        hers = funnel.stage_leads(s, leads["amy"], start=START, end=END, stage="created")
        no_campaign = funnel.stage_leads(s, SYSTEM, start=START, end=END, stage="created", by="campaign", group=None)
        february = funnel.stage_leads(s, SYSTEM, start=START, end=END, stage="converted", by="month", group="2026-02")
    assert len(february) == 3 and len(no_campaign) == 5 and set(no_campaign["campaign"]) == {None}
    assert len(converted) == 3 and list(converted["created_at"]) == sorted(converted["created_at"], reverse=True)
    assert list(web_open["status"]) == ["qualified"]
    assert len(contacted) == 6 and "new" not in set(contacted["status"])
    assert list(screened["invalid_reason"]) == ["duplicate"] and list(screened["campaign"]) == ["Fair"]
    assert set(hers["owner"]) == {"Amy"} and len(hers) == 4


def test_an_unknown_grouping_or_stage_is_refused(engine: Engine) -> None:
    from core.errors import ValidationError

    with Session(engine) as s:
        with pytest.raises(ValidationError):
            funnel.funnel(s, SYSTEM, start=START, end=END, by="colour")
        with pytest.raises(ValidationError):
            funnel.stage_leads(s, SYSTEM, start=START, end=END, stage="won")
