"""Agent and team performance (core.service_performance) against the raw rows it summarises, on the seeded demo:
every figure recounted in pandas from tickets and ticket_sla, and the tickets behind a row."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, models as m, service_performance as sp
from core.access import Viewer
from core.db import make_engine
from core.errors import PermissionDenied

LEAD = Viewer(None, "lead", "Lead", "team_lead")


@pytest.mark.parametrize("by", sp.BY)
def test_each_figure_is_the_raw_rows_recounted(seeded_url: str, by: str) -> None:
    end = clock.now()
    start = end - timedelta(days=365)
    with Session(make_engine(seeded_url)) as s:
        found = sp.performance(s, LEAD, by=by, start=start, end=end)
        tickets = pd.read_sql(
            select(
                m.Ticket.id,
                m.Ticket.team,
                m.Ticket.resolved_at,
                m.Ticket.feedback_at,
                m.Ticket.csat,
                m.Ticket.reopened,
                m.User.display_name.label("agent"),
            ).outerjoin(m.User, m.User.id == m.Ticket.assignee_id),
            s.connection(),
        )
        clocks = pd.read_sql(
            select(m.TicketSla.ticket_id, m.TicketSla.metric, m.TicketSla.state, m.TicketSla.known_at), s.connection()
        )
        first = str(found.iloc[0]["value"])
        behind = sp.tickets_of(s, LEAD, by=by, value=first, start=start, end=end)
    tickets["who"] = tickets[by].fillna(sp.NOBODY)
    resolved = tickets[(tickets["resolved_at"] >= start) & (tickets["resolved_at"] < end)]
    expected_handled = resolved.groupby("who").size()
    assert dict(zip(found["value"], found["handled"])) == {k: int(v) for k, v in expected_handled.items()} | {
        v: 0 for v in set(found["value"]) - set(expected_handled.index)
    }
    row = found.set_index("value").loc[first]
    mine = tickets[tickets["who"] == first]
    known = clocks[(clocks["known_at"] >= start) & (clocks["known_at"] < end) & clocks["ticket_id"].isin(mine["id"])]
    for metric in ("first_response", "resolution"):
        outcome = known[known["metric"] == metric]["state"]
        assert (
            row[f"{metric}_met"] == (outcome == "met").sum()
            and row[f"{metric}_breached"] == (outcome == "breached").sum()
        )
    rated = mine[(mine["feedback_at"] >= start) & (mine["feedback_at"] < end) & mine["csat"].notna()]
    assert row["csat_answers"] == len(rated) > 0 and row["csat"] == pytest.approx(rated["csat"].mean())
    assert row["reopen_rate"] == pytest.approx((resolved[resolved["who"] == first]["reopened"] > 0).mean())
    assert row["handled"] > 0 and set(resolved[resolved["who"] == first]["id"]) <= set(behind["ticket"])
    assert set(behind.columns) >= {"first_response", "resolution", "csat", "reopened"}


def test_the_desk_pages_roles_only(seeded_url: str) -> None:
    end = clock.now()
    with Session(make_engine(seeded_url)) as s, pytest.raises(PermissionDenied):
        sp.performance(
            s, Viewer(None, "am", "AM", "account_manager"), by="agent", start=end - timedelta(days=30), end=end
        )
