"""Voice of the customer: NPS with its interval by month and by segment, CSAT beside SLA outcomes,
comments with their keywords, and the closed loop (follow-ups of detractors and unhappy CSAT)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import datetime, time
from functools import cache
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from core import db, models as m, service_facts
from core.access import Viewer, scope, scoped, visible
from core.db import period_bucket
from core.nps import SMALL_SAMPLE, category, nps
from core.periods import Filters, period_containing

C, N, T, R, S, TASKS, U, F = (
    m.table(m.Customer),
    m.table(m.NpsResponse),
    m.table(m.Ticket),
    m.table(m.TicketSla),
    m.table(m.CustomerStat),
    m.table(m.Task),
    m.table(m.User),
    m.table(m.PeriodFact),
)
NPS_DIMENSIONS = ("tier", "region", "industry", "acquisition_channel", "touchpoint")
CSAT_DIMENSIONS = ("category", "team", "sla")
ENGLISH_STOP = set(
    "a an and are as at be but by for from has have i in is it its of on or so that the this to too was "
    "were with we you your our they them very again every what does did do not no".split()
)
CHINESE_STOP = set("的 了 是 很 也 都 就 和 还 有 在 我 我们 你 他 她 这 那 太 多次 一般 整体 希望 可以".split())


NPS_COLUMNS = ["responses", "nps", "low", "high", "small_sample", "promoters", "passives", "detractors"]


def _dimension(by: str):  # type: ignore[no-untyped-def]
    return {
        "tier": S.c.tier,
        "region": C.c.region,
        "industry": C.c.industry,
        "acquisition_channel": C.c.acquisition_channel,
        "touchpoint": N.c.touchpoint,
    }[by]


def _answers_with(name: str, unfiltered: bool) -> Any:
    """NPS answers joined only to what the grouping and the viewer's filters read: the month and touchpoint
    charts of an unfiltered viewer need no customer row (each join costs a look-up per answer: a third of the
    time each)."""
    source: Any = N
    if name in ("region", "industry", "acquisition_channel") or not unfiltered:
        source = source.join(C, C.c.id == N.c.customer_id)
    if name == "tier":
        source = source.outerjoin(S, S.c.customer_id == N.c.customer_id)
    return source


def _nps_grouped(
    session: Session,
    viewer: Viewer,
    filters: Filters,
    key: ColumnElement[Any],
    name: str,
    start: datetime,
    end: datetime,
) -> pd.DataFrame:
    """Promoters, detractors and answers per value of `key`, counted in the database, with NPS and its interval."""
    stmt = (
        select(
            key.label(name),
            func.count().label("n"),
            func.sum(case((N.c.score >= 9, 1), else_=0)).label("p"),
            func.sum(case((N.c.score <= 6, 1), else_=0)).label("d"),
        )
        .select_from(_answers_with(name, scoped(viewer, filters).is_empty()))
        .where(N.c.responded_at >= start, N.c.responded_at < end)
        .group_by(key)
        .order_by(key)
    )
    return _nps_records(session.execute(visible(stmt, C, viewer, filters)).all(), name)


def _nps_records(counts: Any, name: str) -> pd.DataFrame:
    """(value, answers, promoters, detractors) rows as the page's table, with NPS and its interval."""
    records = []
    for value, n, promoters, detractors in counts:
        p, d = int(promoters or 0), int(detractors or 0)
        result = nps(float(p), float(d), float(n))
        records.append(
            {
                name: value,
                "responses": result.responses,
                "nps": result.score,
                "low": result.low,
                "high": result.high,
                "small_sample": result.small_sample,
                "promoters": p,
                "passives": int(n) - p - d,
                "detractors": d,
            }
        )
    return pd.DataFrame(records, columns=[name, *NPS_COLUMNS])


def nps_by_month(session: Session, viewer: Viewer, filters: Filters, *, start: datetime, end: datetime) -> pd.DataFrame:
    """NPS per month: promoters, passives, detractors, n and the 95% interval; small months flagged. The whole
    months inside the period come from period_facts (the cockpit's NPS, kept by the same write paths), the
    days before and after them from the answers."""
    month = period_bucket(N.c.responded_at, "M")
    wanted = scoped(viewer, filters)
    first = period_containing(start.date(), "M")
    first_whole = first.start if start == datetime.combine(first.start, time.min) else first.end
    last_whole = period_containing(end.date(), "M").start
    if wanted.with_tickets_only or first_whole >= last_whole:  # no customer summary limits to customers with tickets
        return _nps_grouped(session, viewer, filters, month, "month", start, end)
    counts: dict[str, list[int]] = {}
    parts = [
        _nps_grouped(session, viewer, filters, month, "month", low, high)
        for low, high in (
            (start, datetime.combine(first_whole, time.min)),
            (datetime.combine(last_whole, time.min), end),
        )
        if low < high
    ]
    for part in parts:
        for row in part.itertuples():
            counts[row.month] = [row.responses, row.promoters, row.detractors]
    summary = scope(
        select(F.c.period_start, func.sum(F.c.nps_responses), func.sum(F.c.nps_promoters), func.sum(F.c.nps_detractors))
        .where(F.c.grain == "M", F.c.period_start >= first_whole, F.c.period_start < last_whole)
        .group_by(F.c.period_start),
        F,
        wanted,
    )
    for period_start, n, promoters, detractors in session.execute(summary):
        if n:
            counts[period_start.strftime("%Y-%m")] = [int(n), int(promoters or 0), int(detractors or 0)]
    return _nps_records([(key, *counts[key]) for key in sorted(counts)], "month")


def nps_by(
    session: Session, viewer: Viewer, filters: Filters, *, by: str, start: datetime, end: datetime
) -> pd.DataFrame:
    """NPS per tier, region, industry, acquisition channel or touchpoint over [start, end)."""
    if by not in NPS_DIMENSIONS:
        raise ValueError(by)
    return _nps_grouped(session, viewer, filters, _dimension(by), by, start, end)


def csat_by(session: Session, viewer: Viewer, *, by: str, start: datetime, end: datetime) -> pd.DataFrame:
    """CSAT (share of 4-5 ratings) of feedback given in [start, end) by category, team, or whether the ticket's
    resolution SLA was met: the two rates with their n side by side. For a viewer who sees the whole desk, by
    category or team from service_day_facts (0.02 s instead of 1.7 s for a year at 1,000,000 customers)."""
    if by not in CSAT_DIMENSIONS:
        raise ValueError(by)
    if by != "sla" and scoped(viewer, Filters()).is_empty():  # the whole desk: the Service page's day summary
        counted = service_facts.counts(session, measure="csat", dim=by, start=start, end=end)
        counted = counted[counted["a"] > 0].sort_values("value")
        grouped = pd.DataFrame(
            {
                "value": counted["value"].replace("", "—"),
                "ratings": counted["a"],
                "satisfied": counted["b"],
                "average": counted["s"] / counted["a"],
            }
        ).reset_index(drop=True)
        return _csat_rates(grouped)
    stmt = (
        select(T.c.csat, T.c.category, T.c.team, R.c.state.label("sla"))
        .select_from(
            T.join(C, C.c.id == T.c.customer_id).outerjoin(R, (R.c.ticket_id == T.c.id) & (R.c.metric == "resolution"))
        )
        .where(T.c.csat.is_not(None), T.c.feedback_at >= start, T.c.feedback_at < end)
    )
    # rows are tickets already: a "customers with tickets" scope holds by construction (and its EXISTS
    # would correlate to this query's own tickets)
    key = {"category": T.c.category, "team": T.c.team, "sla": func.coalesce(R.c.state, "unknown")}[by].label("value")
    stmt = (
        stmt.with_only_columns(
            key,
            func.count().label("ratings"),
            func.sum(case((T.c.csat >= 4, 1), else_=0)).label("satisfied"),
            func.avg(T.c.csat).label("average"),
        )
        .group_by(key)
        .order_by(key)
    )
    rows = db.tuples(session.execute(scope(stmt, C, replace(scoped(viewer, Filters()), with_tickets_only=False))))
    grouped = pd.DataFrame(rows, columns=["value", "ratings", "satisfied", "average"])
    grouped["value"] = grouped["value"].fillna("—")
    grouped[["ratings", "satisfied"]] = grouped[["ratings", "satisfied"]].astype(int)
    grouped["average"] = grouped["average"].astype(float)
    return _csat_rates(grouped)


def _csat_rates(grouped: pd.DataFrame) -> pd.DataFrame:
    grouped["csat"] = grouped["satisfied"] / grouped["ratings"]
    grouped["small_sample"] = grouped["ratings"] < SMALL_SAMPLE
    return grouped


def _category_condition(categories: tuple[str, ...]):  # type: ignore[no-untyped-def]
    parts = {"promoter": N.c.score >= 9, "passive": (N.c.score >= 7) & (N.c.score <= 8), "detractor": N.c.score <= 6}
    return or_(*(parts[c] for c in categories))


def comments(
    session: Session,
    viewer: Viewer,
    filters: Filters,
    *,
    start: datetime,
    end: datetime,
    text: str = "",
    categories: tuple[str, ...] = (),
    limit: int = 500,
) -> pd.DataFrame:
    """The newest `limit` NPS comments in [start, end), searchable and filterable by category (in the database)."""
    stmt = (
        select(N.c.responded_at, N.c.score, N.c.touchpoint, N.c.comment, N.c.customer_id)
        .select_from(N.join(C, C.c.id == N.c.customer_id))
        .where(N.c.responded_at >= start, N.c.responded_at < end, N.c.comment.is_not(None), N.c.comment != "")
        .order_by(N.c.responded_at.desc(), N.c.id.desc())
        .limit(limit)
    )
    if categories:
        stmt = stmt.where(_category_condition(categories))
    if text.strip():
        needle = "%" + re.sub(r"([%_\\])", r"\\\1", text.strip()) + "%"
        stmt = stmt.where(N.c.comment.ilike(needle, escape="\\"))
    frame = pd.DataFrame(
        db.tuples(session.execute(visible(stmt, C, viewer, filters))),
        columns=["responded_at", "score", "touchpoint", "comment", "customer_id"],
    )
    frame.insert(2, "category", [category(int(v)) for v in frame["score"]])
    return frame


@cache
def _jieba():  # type: ignore[no-untyped-def]
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def warm_up() -> None:
    """Load jieba's dictionary now (about a second) instead of on the first keyword list a user asks for: the
    app calls it in a background thread when it opens the store."""
    _jieba().initialize()


def words(text: str) -> list[str]:
    """Words of a comment: Chinese by jieba, English by letters; stop words and one-letter pieces dropped."""
    out = []
    for piece in re.findall(r"[\u4e00-\u9fff]+|[A-Za-z][A-Za-z'-]+", text):
        if re.match(r"[\u4e00-\u9fff]", piece):
            out += [w for w in _jieba().lcut(piece) if len(w) > 1 and w not in CHINESE_STOP]
        elif piece.lower() not in ENGLISH_STOP:
            out.append(piece.lower())
    return out


def detractor_keywords(
    session: Session, viewer: Viewer, filters: Filters, *, start: datetime, end: datetime, top: int = 15
) -> pd.DataFrame:
    """The most frequent words in detractor comments, with their count in the previous same-length period."""
    previous_start = start - (end - start)

    def counts(a: datetime, b: datetime) -> Counter[str]:
        # each distinct comment is segmented once and weighted by how many detractors wrote it
        stmt = (
            select(N.c.comment, func.count())
            .select_from(N.join(C, C.c.id == N.c.customer_id))
            .where(N.c.responded_at >= a, N.c.responded_at < b, N.c.score <= 6, N.c.comment.is_not(None))
            .group_by(N.c.comment)
        )
        found: Counter[str] = Counter()
        for text, n in session.execute(visible(stmt, C, viewer, filters)).all():
            for word in set(words(str(text))):
                found[word] += int(n)
        return found

    return _keyword_table(counts(start, end), counts(previous_start, start), top)


def _keyword_table(now_counts: Counter[str], before: Counter[str], top: int) -> pd.DataFrame:
    rows = [
        {"keyword": w, "count": n, "previous": before.get(w, 0), "change": n - before.get(w, 0)}
        for w, n in now_counts.most_common(top)
    ]
    return pd.DataFrame(rows, columns=["keyword", "count", "previous", "change"])


def complaint_keywords(
    session: Session,
    viewer: Viewer,
    filters: Filters,
    *,
    start: datetime,
    end: datetime,
    category: str | None = None,
    top: int = 15,
) -> pd.DataFrame:
    """The most frequent words of complaint descriptions and findings (one category, or all), counted once per
    complaint, with their count in the previous same-length period: what customers complain of, and what the
    desk found, rising or falling."""
    previous_start = start - (end - start)
    K = T.alias("complaint")  # not correlated with a scope that reads the tickets table itself (team leads)

    def counts(a: datetime, b: datetime) -> Counter[str]:
        stmt = (
            select(K.c.description, K.c.findings, func.count())
            .select_from(K.join(C, C.c.id == K.c.customer_id))
            .where(
                K.c.kind == "complaint",
                K.c.created_at >= a,
                K.c.created_at < b,
                or_(K.c.description.is_not(None), K.c.findings.is_not(None)),
            )
            .group_by(K.c.description, K.c.findings)
        )
        if category:
            stmt = stmt.where(K.c.category == category)
        found: Counter[str] = Counter()
        for description, findings, n in session.execute(visible(stmt, C, viewer, filters)).all():
            for word in set(words(f"{description or ''} {findings or ''}")):
                found[word] += int(n)
        return found

    return _keyword_table(counts(start, end), counts(previous_start, start), top)


def closed_loop(session: Session, viewer: Viewer, *, start: datetime, end: datetime) -> dict[str, float | None]:
    """Follow-ups created in [start, end) for detractors and CSAT 1-2: how many, how many done by their due
    day, and the next NPS score of those customers after the follow-up was created (average, n)."""
    stmt = (
        select(TASKS.c.customer_id, TASKS.c.created_at, TASKS.c.due_date, TASKS.c.done_at)
        .select_from(TASKS.join(C, C.c.id == TASKS.c.customer_id))
        .where(
            TASKS.c.source.in_(("detractor", "low_csat", "survey_csat")),
            TASKS.c.created_at >= start,
            TASKS.c.created_at < end,
        )
    )
    # each follow-up's next NPS answer from that customer, found by the database (one index look-up of the
    # customer's answers per follow-up), read with the follow-ups as the driver's tuples (db.raw_frame: 50,000
    # follow-ups in two years at 100k customers)
    NEXT = N.alias("next_answer")
    next_score = (
        select(NEXT.c.score)
        .where(NEXT.c.customer_id == TASKS.c.customer_id, NEXT.c.responded_at > TASKS.c.created_at)
        .order_by(NEXT.c.responded_at, NEXT.c.id)
        .limit(1)
        .scalar_subquery()
    )
    tasks = db.raw_frame(session, visible(stmt.add_columns(next_score.label("next_score")), C, viewer))
    done = pd.to_datetime(tasks["done_at"], format="ISO8601")
    in_time = int((done.notna() & (done.dt.normalize() <= pd.to_datetime(tasks["due_date"], format="ISO8601"))).sum())
    scores = pd.to_numeric(tasks["next_score"]).dropna()
    next_scores, average, promoters = len(scores), scores.mean(), int((scores >= 9).sum())
    return {
        "follow_ups": float(len(tasks)),
        "in_time": float(in_time),
        "in_time_share": in_time / len(tasks) if len(tasks) else None,
        "next_score_avg": float(average) if next_scores else None,
        "next_score_n": float(next_scores),
        "next_promoter_share": int(promoters or 0) / next_scores if next_scores else None,
    }
