"""Complaints likely to escalate (issue 13, seed 003 投诉升级预警): which open complaints to watch, why, who
is told, and how often a flagged complaint really did escalate.

A complaint collects signals, each from the moment it became true:
- repeat_contacts: the customer opened at least REPEAT_TICKETS other tickets in the REPEAT_DAYS before it, or
  while it is open (they keep coming back);
- reopened: the complaint was re-opened (weight 2: the customer rejected a resolution);
- negative_words: its description uses words of anger, threat or loss (lawyer, media, refund, 投诉到12315 …);
- valued_customer: a high-value customer, or one the churn model (or rules) rate at risk;
- near_breach: one of its SLA clocks reached its warning point (or breached).
It is flagged at the first instant the weights of its signals reach THRESHOLD while it is still open. The
flag is computed from stored rows on each read, never stored: a new event changes it at once. The SLA tick
routes each newly flagged open complaint to its team's lead once (a task and an event on the ticket).

Did it escalate? After the flag (or, unflagged, after it was opened): it was re-opened again, the customer
complained again within REPEAT_DAYS, or rated the resolution CSAT 1–2. The back-test compares that rate
between flagged and unflagged complaints old enough for the outcome window to have passed. The customer's
value tier is today's, not as it stood then (tiers keep no history before the model's quarters).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import pandas as pd
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from core import db, models as m
from core.access import Viewer, require, visible

T, E, R, S, C, TASKS = (
    m.table(m.Ticket),
    m.table(m.TicketEvent),
    m.table(m.TicketSla),
    m.table(m.CustomerStat),
    m.table(m.Customer),
    m.table(m.Task),
)
SIGNALS = ("reopened", "repeat_contacts", "negative_words", "valued_customer", "near_breach")
WEIGHTS = {"reopened": 2, "repeat_contacts": 1, "negative_words": 1, "valued_customer": 1, "near_breach": 1}
THRESHOLD = 2
REPEAT_DAYS = 30
REPEAT_TICKETS = 2
VALUED_TIERS = ("high_value", "churn_risk")
CHINESE_WORDS = (
    "12315",
    "消协",
    "消费者协会",
    "工商",
    "举报",
    "曝光",
    "媒体",
    "律师",
    "起诉",
    "法院",
    "退款",
    "赔偿",
    "欺骗",
    "骗子",
    "差评",
    "无法接受",
    "不能接受",
    "失望",
    "愤怒",
    "太差",
    "垃圾",
    "再也不",
    "多次",
    "一直没",
    "还没解决",
    "找领导",
    "上级",
)
ENGLISH_WORDS = (
    "lawyer",
    "legal action",
    "sue",
    "court",
    "regulator",
    "media",
    "refund",
    "compensation",
    "cancel",
    "unacceptable",
    "furious",
    "angry",
    "disappointed",
    "worst",
    "terrible",
    "scam",
    "again",
    "still not",
    "manager",
    "escalate",
)
_ENGLISH = re.compile(r"\b(" + "|".join(re.escape(w) for w in ENGLISH_WORDS) + r")\b", re.IGNORECASE)


_CHINESE = re.compile("|".join(re.escape(w) for w in sorted(CHINESE_WORDS, key=len, reverse=True)))


@lru_cache(maxsize=4096)  # many complaints share a text (a template, a form's default): each is read once
def negative_words(text: str | None) -> tuple[str, ...]:
    """The escalation words a complaint's text uses, in the order of the word lists (English whole words only:
    'sue' is not found in 'issue')."""
    if not text:
        return ()
    chinese = set(_CHINESE.findall(text))
    english = {match.lower() for match in _ENGLISH.findall(text)}
    return tuple(w for w in CHINESE_WORDS if w in chinese) + tuple(w for w in ENGLISH_WORDS if w in english)


@dataclass(frozen=True)
class Signals:
    """When each signal of one complaint became true (None: never, by the end of its life)."""

    opened: datetime
    ended: datetime  # closed, or now
    since: dict[str, datetime]
    words: tuple[str, ...] = ()

    def flagged_at(self) -> datetime | None:
        """The first instant the active signals' weights reach THRESHOLD, while the complaint was open."""
        weight = 0
        for signal, at in sorted(self.since.items(), key=lambda item: item[1]):
            weight += WEIGHTS[signal]
            if weight >= THRESHOLD:
                return at if at <= self.ended else None
        return None

    def active(self, at: datetime) -> list[str]:
        return [s for s in SIGNALS if s in self.since and self.since[s] <= at]


def _complaints(session: Session, where: ColumnElement[bool]) -> pd.DataFrame:
    rows = db.tuples(
        session.execute(
            select(
                T.c.id,
                T.c.customer_id,
                T.c.created_at,
                T.c.closed_at,
                T.c.status,
                T.c.description,
                T.c.csat,
                T.c.feedback_at,
            ).where(T.c.kind == "complaint", where)
        )
    )
    return pd.DataFrame(
        rows,
        columns=["ticket", "customer_id", "created_at", "closed_at", "status", "description", "csat", "feedback_at"],
    )


def _signals(
    session: Session, complaints: pd.DataFrame, where: ColumnElement[bool], now: datetime
) -> dict[int, Signals]:
    """Each complaint's signals from its stored rows: four reads in all, whatever the number of complaints
    (`where` selects the same complaints, so the reads take them as subqueries, not as long lists of ids)."""
    if complaints.empty:
        return {}
    ids = select(T.c.id).where(T.c.kind == "complaint", where)
    customers = select(T.c.customer_id).where(T.c.kind == "complaint", where)
    earliest = min(complaints["created_at"]) - timedelta(days=REPEAT_DAYS)
    window = and_(T.c.created_at >= earliest, T.c.created_at <= now)
    # only customers with more tickets in the window than the signal needs can have repeat contacts
    busy = (
        select(T.c.customer_id)
        .where(T.c.customer_id.in_(customers), window)
        .group_by(T.c.customer_id)
        .having(func.count() > REPEAT_TICKETS)
    )
    contacts: dict[int, list[tuple[datetime, int]]] = {}
    for customer_id, created_at, ticket_id in session.execute(
        select(T.c.customer_id, T.c.created_at, T.c.id).where(T.c.customer_id.in_(busy), window)
    ):
        contacts.setdefault(int(customer_id), []).append((created_at, int(ticket_id)))
    for times in contacts.values():
        times.sort()
    reopened = dict(
        session.execute(
            select(E.c.ticket_id, func.min(E.c.at))
            .where(E.c.action == "reopen", E.c.ticket_id.in_(ids))
            .group_by(E.c.ticket_id)
        ).all()
    )
    # a clock's warning point, where it was reached before the clock finished (or it breached first)
    near: dict[int, datetime] = {}
    for ticket_id, warn_at, breached_at, completed_at in session.execute(
        select(R.c.ticket_id, R.c.warn_at, R.c.breached_at, R.c.completed_at).where(R.c.ticket_id.in_(ids))
    ):
        for at in (warn_at, breached_at):
            if at is not None and at <= now and (completed_at is None or at < completed_at):
                near[int(ticket_id)] = min(at, near.get(int(ticket_id), at))
    valued = set(
        session.scalars(select(S.c.customer_id).where(S.c.customer_id.in_(customers), S.c.tier.in_(VALUED_TIERS)))
    )
    out: dict[int, Signals] = {}
    for row in complaints.itertuples(index=False):
        ticket, opened = int(row.ticket), row.created_at.to_pydatetime()
        ended = row.closed_at.to_pydatetime() if pd.notna(row.closed_at) else now
        since: dict[str, datetime] = {}
        if ticket in reopened:
            since["reopened"] = reopened[ticket]
        others = [at for at, other in contacts.get(int(row.customer_id), []) if other != ticket]
        first = bisect_left(others, opened - timedelta(days=REPEAT_DAYS))
        if len(others) - first >= REPEAT_TICKETS:
            since["repeat_contacts"] = max(opened, others[first + REPEAT_TICKETS - 1])
        words = negative_words(row.description)
        if words:
            since["negative_words"] = opened
        if int(row.customer_id) in valued:
            since["valued_customer"] = opened
        if ticket in near:
            since["near_breach"] = max(opened, near[ticket])
        out[ticket] = Signals(opened, min(ended, now), since, tuple(words))
    return out


def flags(session: Session, ticket_ids: list[int], *, now: datetime) -> pd.DataFrame:
    """For the given tickets, the complaints flagged by `now`: ticket, flagged_at, signals (codes active now)
    and words. Other tickets (not complaints, or not flagged) are left out."""
    columns = ["ticket", "flagged_at", "signals", "words"]
    if not ticket_ids:
        return pd.DataFrame(columns=columns)
    chosen = T.c.id.in_(ticket_ids)
    found = _signals(session, _complaints(session, chosen), chosen, now)
    rows = [
        (ticket, at, tuple(s.active(now)), s.words) for ticket, s in found.items() if (at := s.flagged_at()) is not None
    ]
    return pd.DataFrame(rows, columns=columns)


OPEN = m.OPEN_TICKET_STATUSES


def open_flags(session: Session, viewer: Viewer, *, now: datetime, limit: int = 200) -> pd.DataFrame:
    """The open complaints likely to escalate that the viewer may see, the most recently flagged first, with
    their customer and team: for the cockpit and the account manager."""
    require(viewer, "page:customer")
    mine = T.alias("t")  # an alias: the scope's own test on tickets (a desk sees customers with tickets) stays apart
    stmt = visible(
        select(mine.c.id)
        .select_from(mine.join(C, C.c.id == mine.c.customer_id))
        .where(mine.c.kind == "complaint", mine.c.status.in_(OPEN)),
        C,
        viewer,
    )
    ids = [int(i) for i in session.scalars(stmt)]
    flagged = flags(session, ids, now=now)
    if flagged.empty:
        return flagged.assign(customer_id=[], code=[], customer=[], priority=[], team=[], created_at=[])
    about = pd.DataFrame(
        db.tuples(
            session.execute(
                select(
                    T.c.id.label("ticket"),
                    T.c.customer_id,
                    C.c.code,
                    C.c.name.label("customer"),
                    T.c.priority,
                    T.c.team,
                    T.c.created_at,
                )
                .select_from(T.join(C, C.c.id == T.c.customer_id))
                .where(T.c.id.in_([int(i) for i in flagged["ticket"]]))
            )
        ),
        columns=["ticket", "customer_id", "code", "customer", "priority", "team", "created_at"],
    )
    return (
        flagged.merge(about, on="ticket")
        .sort_values(["flagged_at", "ticket"], ascending=False, ignore_index=True)
        .head(limit)
    )


def route(session: Session, *, now: datetime) -> int:
    """Tell the team lead of each open complaint newly likely to escalate, once: a task and an event on the
    ticket naming the signals (codes, not the customer's words). Run by the SLA tick. Returns how many."""
    from core.service import _event, _recipient, tell  # the workflow module runs this from its tick

    ids = [int(i) for i in session.scalars(select(T.c.id).where(T.c.kind == "complaint", T.c.status.in_(OPEN)))]
    flagged = flags(session, ids, now=now)
    if flagged.empty:
        return 0
    told = set(
        session.scalars(
            select(TASKS.c.ticket_id).where(
                TASKS.c.source == "escalation", TASKS.c.ticket_id.in_([int(i) for i in flagged["ticket"]])
            )
        )
    )
    count = 0
    for row in flagged.itertuples(index=False):
        ticket_id = int(row.ticket)
        if ticket_id in told:
            continue
        ticket = dict(session.execute(select(T).where(T.c.id == ticket_id)).mappings().one())
        lead = _recipient(session, ticket, "team_lead")
        tell(session, ticket, lead, f"Likely to escalate: #{ticket_id}", source="escalation", now=now)
        _event(session, ticket_id, now, None, "escalation_warning", note=",".join(row.signals))
        count += 1
    return count


@dataclass(frozen=True)
class Backtest:
    """How often flagged complaints escalated, beside the unflagged ones, over complaints old enough."""

    start: datetime
    end: datetime
    complaints: int
    flagged: int
    flagged_escalated: int
    unflagged_escalated: int
    tickets: pd.DataFrame  # ticket, flagged_at, signals, escalated, how

    @property
    def precision(self) -> float | None:
        return self.flagged_escalated / self.flagged if self.flagged else None

    @property
    def base_rate(self) -> float | None:
        rest = self.complaints - self.flagged
        return self.unflagged_escalated / rest if rest else None

    @property
    def lift(self) -> float | None:
        if self.precision is None or not self.base_rate:
            return None
        return self.precision / self.base_rate


def _escalations(
    session: Session, complaints: pd.DataFrame, where: ColumnElement[bool], ref: dict[int, datetime]
) -> dict[int, str]:
    """How each complaint escalated after its reference instant, if it did: reopen, complained_again or low_csat."""
    ids = select(T.c.id).where(T.c.kind == "complaint", where)
    reopens: dict[int, list[datetime]] = {}
    for ticket_id, at in session.execute(
        select(E.c.ticket_id, E.c.at).where(E.c.action == "reopen", E.c.ticket_id.in_(ids))
    ):
        reopens.setdefault(int(ticket_id), []).append(at)
    later: dict[int, list[datetime]] = {}
    since_first = and_(T.c.kind == "complaint", T.c.created_at >= min(ref.values()))
    again = (  # only a customer with two complaints or more can have complained again
        select(T.c.customer_id)
        .where(since_first, T.c.customer_id.in_(select(T.c.customer_id).where(T.c.kind == "complaint", where)))
        .group_by(T.c.customer_id)
        .having(func.count() > 1)
    )
    for customer_id, at in session.execute(
        select(T.c.customer_id, T.c.created_at).where(since_first, T.c.customer_id.in_(again))
    ):
        later.setdefault(int(customer_id), []).append(at)
    for times in later.values():
        times.sort()
    out: dict[int, str] = {}
    for row in complaints.itertuples(index=False):
        ticket, since = int(row.ticket), ref[int(row.ticket)]
        if any(at > since for at in reopens.get(ticket, [])):
            out[ticket] = "reopen"
            continue
        times = later.get(int(row.customer_id), [])
        if bisect_right(times, since + timedelta(days=REPEAT_DAYS)) - bisect_right(times, since) > 0:
            out[ticket] = "complained_again"
            continue
        if pd.notna(row.csat) and row.csat <= 2 and pd.notna(row.feedback_at) and row.feedback_at > since:
            out[ticket] = "low_csat"
    return out


def backtest(session: Session, viewer: Viewer, *, now: datetime, days: int = 365) -> Backtest:
    """Complaints opened in the `days` before the last REPEAT_DAYS (so each one's outcome window has passed):
    flagged or not as the rows stood, and whether each escalated after the flag (or after it was opened)."""
    require(viewer, "page:service")
    end = now - timedelta(days=REPEAT_DAYS)
    start = end - timedelta(days=days)
    chosen = and_(T.c.created_at >= start, T.c.created_at < end)
    complaints = _complaints(session, chosen)
    columns = ["ticket", "flagged_at", "signals", "escalated", "how"]
    if complaints.empty:
        return Backtest(start, end, 0, 0, 0, 0, pd.DataFrame(columns=columns))
    found = _signals(session, complaints, chosen, now)
    flagged_at = {t: s.flagged_at() for t, s in found.items()}
    ref = {t: at or found[t].opened for t, at in flagged_at.items()}
    how = _escalations(session, complaints, chosen, ref)
    table = pd.DataFrame(
        [(t, at, tuple(found[t].active(at)) if at else (), t in how, how.get(t)) for t, at in flagged_at.items()],
        columns=columns,
    )
    flagged = table[table["flagged_at"].notna()]
    return Backtest(
        start,
        end,
        complaints=len(table),
        flagged=len(flagged),
        flagged_escalated=int(flagged["escalated"].sum()),
        unflagged_escalated=int(table[table["flagged_at"].isna()]["escalated"].sum()),
        tickets=flagged.sort_values("flagged_at", ascending=False, ignore_index=True),
    )
