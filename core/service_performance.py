"""Agent and team performance on the service desk (issue 13): per agent or per team, the tickets handled, each
SLA clock's share met, the average CSAT and the re-open rate over a period, and the tickets behind each row.

Definitions are those of the rest of the Service page: handled = resolved in the period (as the re-open rate
counts them); a clock's share met = met / (met + breached) of the outcomes known in the period (as the
compliance chart counts them); CSAT = the mean rating of feedback given in the period. All aggregated in the
database; the ticket a figure comes from is listed by `tickets_of`.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import db, models as m, service_facts
from core.access import Viewer, require

T, R, U = m.table(m.Ticket), m.table(m.TicketSla), m.table(m.User)
BY = ("agent", "team")
CLOCKS = ("first_response", "accept", "analyse", "resolution", "feedback")
NOBODY = "—"  # unassigned tickets, or tickets of no team


def _key(by: str):  # type: ignore[no-untyped-def]
    return U.c.display_name if by == "agent" else T.c.team


def _source(by: str):  # type: ignore[no-untyped-def]
    return T.outerjoin(U, U.c.id == T.c.assignee_id) if by == "agent" else T


def performance(session: Session, viewer: Viewer, *, by: str, start: datetime, end: datetime) -> pd.DataFrame:
    """One row per agent (or team): handled, reopened, re-open rate, per clock met / breached / rate, CSAT
    mean and answers. Sorted by tickets handled, most first."""
    require(viewer, "page:service")

    def part(measure: str) -> pd.DataFrame:
        counted = service_facts.counts(session, measure=measure, dim=by, start=start, end=end)
        if by == "agent":
            counted["value"] = service_facts.agent_names(session, counted["value"])
        counted["value"] = counted["value"].replace("", NOBODY)
        return counted.groupby(["value", "metric"], as_index=False)[["a", "b", "s"]].sum()

    resolved = part("handled")
    frame = resolved.loc[resolved["a"] > 0, ["value", "a", "b"]].rename(columns={"a": "handled", "b": "reopened"})
    clocks = part("sla")
    for metric in CLOCKS:
        one = clocks.loc[clocks["metric"] == metric, ["value", "a", "b"]]
        one = one[one["a"] + one["b"] > 0].rename(columns={"a": f"{metric}_met", "b": f"{metric}_breached"})
        frame = frame.merge(one, on="value", how="outer")
    rated = part("csat")
    rated = rated[rated["a"] > 0]
    frame = frame.merge(
        pd.DataFrame({"value": rated["value"], "csat": rated["s"] / rated["a"], "csat_answers": rated["a"]}),
        on="value",
        how="outer",
    )
    counts = [c for c in frame.columns if c.endswith(("_met", "_breached"))] + ["handled", "reopened", "csat_answers"]
    frame[counts] = frame[counts].apply(pd.to_numeric).fillna(0).astype(int)
    frame["csat"] = pd.to_numeric(frame["csat"]).astype(float)
    frame["reopen_rate"] = frame["reopened"] / frame["handled"].where(frame["handled"] > 0)
    for metric in CLOCKS:
        total = frame[f"{metric}_met"] + frame[f"{metric}_breached"]
        frame[f"{metric}_rate"] = frame[f"{metric}_met"] / total.where(total > 0)
    return frame.sort_values(["handled", "value"], ascending=[False, True]).reset_index(drop=True)


def tickets_of(
    session: Session, viewer: Viewer, *, by: str, value: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """The tickets behind one row: resolved in the period, or with a clock outcome or a rating in it; with each
    clock's state, the rating and how often it was re-opened."""
    require(viewer, "page:service")
    column = _key(by)
    who = column.is_(None) if value == NOBODY else column == value
    in_period = (
        ((T.c.resolved_at >= start) & (T.c.resolved_at < end))
        | ((T.c.feedback_at >= start) & (T.c.feedback_at < end))
        | T.c.id.in_(select(R.c.ticket_id).where(R.c.known_at >= start, R.c.known_at < end))
    )
    tickets = pd.DataFrame(
        session.execute(
            select(
                T.c.id.label("ticket"),
                T.c.kind,
                T.c.category,
                T.c.priority,
                T.c.status,
                T.c.resolved_at,
                T.c.csat,
                T.c.reopened,
            )
            .select_from(_source(by))
            .where(who, in_period)
            .order_by(T.c.id)
        )
        .mappings()
        .all(),
        columns=["ticket", "kind", "category", "priority", "status", "resolved_at", "csat", "reopened"],
    )
    if tickets.empty:
        return tickets
    states = pd.DataFrame(
        db.tuples(
            session.execute(
                select(R.c.ticket_id, R.c.metric, R.c.state).where(
                    R.c.ticket_id.in_(tickets["ticket"].tolist()), R.c.metric.in_(CLOCKS)
                )
            )
        ),
        columns=["ticket", "metric", "state"],
    )
    wide = states.pivot_table(index="ticket", columns="metric", values="state", aggfunc="first")
    wide = wide.reindex(columns=list(CLOCKS)).reset_index()
    return tickets.merge(wide, on="ticket", how="left")
