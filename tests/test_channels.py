"""Channels on a hand-made base: customers acquired per channel, their revenue, retention, NPS and cost per
acquisition worked out by hand; cohort retention month by month; service channels; the interaction mix by
tier; costs checked, replaced and audited; an account manager's figures hold their own customers only."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from core import channels, facts, models as m
from core.access import SYSTEM, Viewer
from core.db import session_scope, write
from core.errors import FieldErrors, PermissionDenied
from tests import factories as f

TODAY = date(2026, 11, 20)
START, END = date(2026, 1, 1), date(2026, 7, 1)


@pytest.fixture
def base(engine: Engine) -> dict[str, object]:
    """website: w1 (Jan, amy, 300 spent, active), w2 (Feb, bob, 100, churned 2026-03-15); referral: r1 (Mar, amy,
    600, active); outside the period: old (2025, website)."""
    with session_scope(engine) as s:
        amy, bob = f.user(s, "amy"), f.user(s, "bob")
        w1 = f.customer(s, owner=amy, became=date(2026, 1, 10))
        w2 = f.customer(s, owner=bob, became=date(2026, 2, 10), churned=date(2026, 3, 15))
        r1 = f.customer(s, owner=amy, became=date(2026, 3, 5))
        old = f.customer(s, owner=amy, became=date(2025, 5, 1))
        r1.acquisition_channel = "referral"
        for who, amount in ((w1, 300.0), (w2, 100.0), (r1, 600.0), (old, 50.0)):
            f.order(s, who, who.became_customer_date, amount)  # type: ignore[arg-type]
        for who, score in ((w1, 10), (w2, 3), (r1, 9), (old, 0)):
            f.nps(s, who, datetime(2026, 4, 1, 12), score)
        f.nps(s, w1, datetime(2026, 8, 1, 12), 0)  # after the period: not counted
        for who, channel, csat, state in (
            (w1, "phone", 5, "met"),
            (w2, "phone", 1, "breached"),
            (r1, "email", None, "running"),
        ):
            ticket = f.ticket(s, who, datetime(2026, 2, 20, 9), csat=csat)
            ticket.channel = channel
            s.flush()
            s.add(
                m.TicketSla(ticket_id=ticket.id, metric="resolution", target_minutes=60, elapsed_minutes=1, state=state)
            )
        for who, channel in ((w1, "phone"), (w1, "email"), (w1, "email"), (r1, "visit")):
            s.add(
                m.Interaction(
                    customer_id=who.id,
                    channel=channel,
                    direction="outbound",
                    occurred_at=datetime(2026, 5, 1),
                    subject="x",
                )
            )
        s.flush()
        facts.rebuild_all(s, as_of=TODAY)
        s.execute(update(m.CustomerStat).where(m.CustomerStat.customer_id == w1.id).values(tier="high_value"))
        s.execute(update(m.CustomerStat).where(m.CustomerStat.customer_id == r1.id).values(tier="general"))
        return {"amy": Viewer(amy.id, "amy", "Amy", "account_manager")}


def test_acquisition_by_hand(engine: Engine, base) -> None:  # type: ignore[no-untyped-def]
    write(engine, lambda s: channels.set_cost(s, SYSTEM, channels.CostEntry("website", date(2026, 2, 14), 800.0)))
    write(engine, lambda s: channels.set_cost(s, SYSTEM, channels.CostEntry("website", date(2026, 3, 1), 200.0)))
    write(
        engine, lambda s: channels.set_cost(s, SYSTEM, channels.CostEntry("website", date(2026, 9, 1), 999.0))
    )  # later
    with Session(engine) as s:
        rows = channels.acquisition(s, SYSTEM, start=START, end=END).set_index("channel")
        mine = channels.acquisition(s, base["amy"], start=START, end=END).set_index("channel")
    web, ref = rows.loc["website"], rows.loc["referral"]
    assert (web["acquired"], web["revenue"], web["retained"]) == (2, 400.0, 0.5)
    assert (
        web["nps"] == pytest.approx(-100 / 3) and web["nps_answers"] == 3
    )  # w1 10, w2 3, old 0: 1 promoter, 2 detractors
    assert web["cost"] == 1000.0 and web["cost_per_acquisition"] == 500.0  # February and March over 2 customers
    assert (ref["acquired"], ref["revenue"], ref["retained"], ref["nps"]) == (1, 600.0, 1.0, 100.0)
    assert rows.loc["partner", "acquired"] == 0 and pd.isna(rows.loc["partner", "retained"])
    assert mine.loc["website", "acquired"] == 1  # bob's w2 is not hers


def test_cohorts_month_by_month(engine: Engine, base) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        table = channels.cohorts(s, SYSTEM, channel="website", today=TODAY)
    feb = table.loc[date(2026, 2, 1)]  # w2 alone: active on Feb 1 and Mar 1, churned by Apr 1
    assert feb["customers"] == 1 and (feb[0], feb[1], feb[2]) == (1.0, 1.0, 0.0)
    jan = table.loc[date(2026, 1, 1)]
    assert jan["customers"] == 1 and jan[10] == 1.0 and pd.isna(jan[11])  # Dec 2026 has not come yet


def test_service_channels_and_the_interaction_mix(engine: Engine, base) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        served = channels.service(s, SYSTEM, start=START, end=END).set_index("channel")
        mix = channels.interaction_mix(s, SYSTEM, start=START, end=END)
    assert served.loc["phone", "tickets"] == 2 and served.loc["phone", "csat"] == 3.0
    assert served.loc["phone", "resolution_met"] == 0.5 and pd.isna(served.loc["email", "resolution_met"])
    assert mix.loc["high_value", "interactions"] == 3 and mix.loc["high_value", "email"] == pytest.approx(2 / 3)
    assert mix.loc["general", "visit"] == 1.0


def test_costs_are_checked_replaced_and_audited(engine: Engine, base) -> None:  # type: ignore[no-untyped-def]
    for bad, field in (
        (channels.CostEntry("fax", date(2026, 1, 1), 1.0), "channel"),
        (channels.CostEntry("website", date(2026, 1, 1), -5.0), "amount"),
    ):
        with pytest.raises(FieldErrors) as err, session_scope(engine) as s:
            channels.set_cost(s, SYSTEM, bad)
        assert field in err.value.errors
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        channels.set_cost(s, base["amy"], channels.CostEntry("website", date(2026, 1, 1), 1.0))
    write(engine, lambda s: channels.set_cost(s, SYSTEM, channels.CostEntry("website", date(2026, 1, 5), 100.0)))
    write(
        engine, lambda s: channels.set_cost(s, SYSTEM, channels.CostEntry("website", date(2026, 1, 25), 150.0, "=1+1"))
    )
    with Session(engine) as s:
        entered = channels.costs(s, SYSTEM)
        assert list(zip(entered["month"], entered["amount"], entered["note"])) == [(date(2026, 1, 1), 150.0, "=1+1")]
        assert (
            s.scalar(select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "channel_cost_set")) == 2
        )
