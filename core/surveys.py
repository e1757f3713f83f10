"""Periodic surveys (issue 13, seed 001 #15): an NPS or CSAT survey run over a segment of customers gives the
list to contact, takes the answers back by form or from a file, and reports the response rate.

A run keeps the customers it asked (survey_recipients), chosen by the customer list's filters, less anyone
asked the same kind of survey in the last FATIGUE_DAYS (nobody is asked twice a quarter), optionally a random
sample of a chosen size. An NPS answer is also an NPS response (touchpoint quarterly_survey): the cockpit and
the Voice page count it and a detractor gets a call back. A CSAT answer stays with its run (the cockpit's CSAT
is the desk's, per ticket); a 1 or 2 gets a call back too.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from core import activity, audit, clock, db, facts, models as m, service, validators
from core.access import Viewer, require, visible
from core.customer_list import CustomerQuery, matching_ids
from core.errors import FieldErrors, NotFound, ValidationError
from core.ingest import clean
from core.ingest.files import normalise_header, read_table
from core.nps import nps
from core.pii import Keyring

RUNS, ASKED, C, U = m.table(m.SurveyRun), m.table(m.SurveyRecipient), m.table(m.Customer), m.table(m.User)
S = m.table(m.CustomerStat)
KINDS = ("nps", "csat")
SCALE = {"nps": (0, 10), "csat": (1, 5)}
FATIGUE_DAYS = 90
TOUCHPOINT = "quarterly_survey"
SEGMENT_FIELDS = ("regions", "industries", "kinds", "owner_ids", "tiers", "stages", "nps")


@dataclass(frozen=True)
class SurveyPlan:
    name: str
    kind: str
    query: CustomerQuery  # the customer list's filters: the segment
    closes_on: date
    size: int | None = None  # a random sample of this many; None: everyone in the segment


@dataclass(frozen=True)
class Audience:
    segment: int  # customers the filters find, in the viewer's scope
    recently_asked: int  # of them, asked the same kind of survey in the last FATIGUE_DAYS
    to_ask: list[int]


def _validate(plan: SurveyPlan, now: datetime) -> str:
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    name = validators.text(errors, "name", plan.name, required=True, longest=100, multiline=False)
    if plan.kind not in KINDS:
        errors["kind"] = ("form.error.choice", {})
    if plan.closes_on < now.date():
        errors["closes_on"] = ("survey.error.closed", {})
    if plan.size is not None:
        validators.whole_number(errors, "size", plan.size, low=1, high=1_000_000)
    if errors:
        raise FieldErrors(errors)
    return str(name)


def audience(session: Session, viewer: Viewer, plan: SurveyPlan, keyring: Keyring, *, now: datetime) -> Audience:
    """Who a run would ask: the segment less those asked lately, sampled at random (reproducibly for the same
    segment and day) when a size is set."""
    require(viewer, "surveys:run")
    found = matching_ids(session, viewer, plan.query, keyring, now=now)
    lately = set(
        session.scalars(
            select(ASKED.c.customer_id)
            .join(RUNS, RUNS.c.id == ASKED.c.run_id)
            .where(RUNS.c.kind == plan.kind, RUNS.c.created_at >= now - timedelta(days=FATIGUE_DAYS))
        )
    )
    fresh = [c for c in found if c not in lately]
    recently = len(found) - len(fresh)
    if plan.size is not None and plan.size < len(fresh):
        fresh = sorted(random.Random(f"{plan.kind}{now.date()}{len(found)}").sample(fresh, plan.size))
    return Audience(len(found), recently, fresh)


def create_run(session: Session, viewer: Viewer, plan: SurveyPlan, keyring: Keyring, *, now: datetime) -> int:
    """Start a run: its recipients written in one go. Refused (a message) when nobody is left to ask."""
    name = _validate(plan, now)
    chosen = audience(session, viewer, plan, keyring, now=now)
    if not chosen.to_ask:
        raise ValidationError("Nobody in this segment is left to ask.", key="survey.error.nobody")
    segment = {f: list(getattr(plan.query, f)) for f in SEGMENT_FIELDS if getattr(plan.query, f)}
    run_id = int(
        db.new_id(
            session,
            RUNS.insert().values(
                name=name,
                kind=plan.kind,
                segment=json.dumps(segment, ensure_ascii=False, sort_keys=True),
                created_at=now,
                created_by=viewer.user_id,
                closes_on=plan.closes_on,
            ),
        )
    )
    session.execute(ASKED.insert(), [{"run_id": run_id, "customer_id": c} for c in chosen.to_ask])
    audit.record(
        session,
        action="survey_created",
        username=viewer.username,
        object=f"survey:{run_id}",
        details={"kind": plan.kind, "recipients": len(chosen.to_ask), "segment": segment},
    )
    return run_id


def runs(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Every run with its response rate and score, counted over the recipients the viewer may see (an account
    manager's figures are their own customers')."""
    require(viewer, "page:surveys")
    mine = visible(select(C.c.id), C, viewer)
    answered = ASKED.c.answered_at.is_not(None)
    promoters = func.sum(case((and_(answered, ASKED.c.score >= 9), 1), else_=0))
    detractors = func.sum(case((and_(answered, ASKED.c.score <= 6), 1), else_=0))
    rows = db.tuples(
        session.execute(
            select(
                RUNS.c.id,
                RUNS.c.name,
                RUNS.c.kind,
                RUNS.c.created_at,
                RUNS.c.closes_on,
                func.count().label("recipients"),
                func.count(ASKED.c.answered_at).label("answered"),
                func.avg(case((answered, ASKED.c.score))).label("average"),
                promoters.label("promoters"),
                detractors.label("detractors"),
            )
            .join(ASKED, ASKED.c.run_id == RUNS.c.id)
            .where(ASKED.c.customer_id.in_(mine))
            .group_by(RUNS.c.id, RUNS.c.name, RUNS.c.kind, RUNS.c.created_at, RUNS.c.closes_on)
            .order_by(RUNS.c.created_at.desc(), RUNS.c.id.desc())
        )
    )
    frame = pd.DataFrame(
        rows,
        columns=[
            "run",
            "name",
            "kind",
            "created_at",
            "closes_on",
            "recipients",
            "answered",
            "average",
            "promoters",
            "detractors",
        ],
    )
    frame = frame.astype({"recipients": "int64", "answered": "int64"})
    for column in ("average", "promoters", "detractors"):  # PostgreSQL and MariaDB sum and average as decimals
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["rate"] = frame["answered"] / frame["recipients"]
    frame["score"] = [
        (nps(p, d, n).score if n else None) if k == "nps" else (float(a) if a is not None else None)
        for k, a, p, d, n in zip(
            frame["kind"], frame["average"], frame["promoters"], frame["detractors"], frame["answered"]
        )
    ]
    return frame.drop(columns=["average", "promoters", "detractors"])


def _run(session: Session, run_id: int) -> dict[str, object]:
    row = session.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().first()
    if row is None:
        raise NotFound("No such survey.", key="survey.not_found")
    return dict(row)


def recipients(session: Session, viewer: Viewer, run_id: int) -> pd.DataFrame:
    """The run's list to contact, as the viewer may see it: who, their account manager, answered or not."""
    require(viewer, "page:surveys")
    _run(session, run_id)
    stmt = visible(
        select(
            C.c.id.label("customer_id"),
            C.c.code,
            C.c.name,
            U.c.display_name.label("owner"),
            C.c.region,
            S.c.tier,
            ASKED.c.answered_at,
            ASKED.c.score,
        )
        .select_from(
            ASKED.join(C, C.c.id == ASKED.c.customer_id)
            .outerjoin(U, U.c.id == C.c.owner_id)
            .outerjoin(S, S.c.customer_id == C.c.id)
        )
        .where(ASKED.c.run_id == run_id)
        .order_by(ASKED.c.answered_at.is_not(None), C.c.code),
        C,
        viewer,
    )
    return pd.DataFrame(
        db.tuples(session.execute(stmt)),
        columns=["customer_id", "code", "name", "owner", "region", "tier", "answered_at", "score"],
    )


def _save(
    session: Session,
    run: dict[str, object],
    customer: dict[str, object],
    *,
    score: int,
    comment: str | None,
    at: datetime,
    now: datetime,
    refresh: bool,
) -> None:
    response = None
    if run["kind"] == "nps":
        response = activity.save_nps(
            session, customer, score=score, comment=comment, at=at, touchpoint=TOUCHPOINT, now=now, refresh=refresh
        )
    elif score <= 2:  # closed loop, as for a desk CSAT of 1 or 2
        service.follow_up(
            session,
            customer_id=int(customer["id"]),  # type: ignore[call-overload]
            owner_id=customer["owner_id"],  # type: ignore[arg-type]
            now=now,
            source="survey_csat",
            title=f"CSAT {score} in survey #{run['id']}",
        )
    session.execute(
        ASKED.update()
        .where(ASKED.c.run_id == run["id"], ASKED.c.customer_id == customer["id"])
        .values(answered_at=at.replace(microsecond=0), score=score, comment=comment, nps_response_id=response)
    )


def _check(
    errors: dict[str, tuple[str, dict[str, object]]],
    run: dict[str, object],
    score: object,
    comment: object,
    at: datetime,
    now: datetime,
) -> tuple[int | None, str | None]:
    low, high = SCALE[str(run["kind"])]
    value = validators.whole_number(errors, "score", score, low=low, high=high)
    text = validators.text(errors, "comment", comment, required=False, longest=2000, multiline=True)
    if at > now + timedelta(minutes=1):
        errors["answered_at"] = ("form.error.future", {})
    elif at < run["created_at"]:  # type: ignore[operator]
        errors["answered_at"] = ("survey.error.before_run", {})
    return value, text


def record_answer(
    session: Session,
    viewer: Viewer,
    run_id: int,
    customer_id: int,
    *,
    score: object,
    comment: str | None = None,
    answered_at: datetime | None = None,
    now: datetime | None = None,
) -> None:
    """One answer given by phone or on paper, by whoever may record NPS answers for the customer. FieldErrors
    for a score off the scale, a bad comment or date; refused if the customer was not asked or already answered."""
    now = now or clock.now()
    run = _run(session, run_id)
    customer = activity._customer(session, viewer, customer_id, "nps")
    asked = session.execute(
        select(ASKED.c.answered_at).where(ASKED.c.run_id == run_id, ASKED.c.customer_id == customer_id)
    ).first()
    if asked is None:
        raise ValidationError("This customer was not asked in this survey.", key="survey.error.not_asked")
    if asked.answered_at is not None:
        raise ValidationError("This customer has already answered this survey.", key="survey.error.answered")
    errors: dict[str, tuple[str, dict[str, object]]] = {}
    at = answered_at or now
    value, text = _check(errors, run, score, comment, at, now)
    if errors:
        raise FieldErrors(errors)
    _save(session, run, customer, score=int(value or 0), comment=text, at=at, now=now, refresh=True)
    audit.record(
        session,
        action="survey_answer",
        username=viewer.username,
        object=f"survey:{run_id}",
        details={"customer": customer["code"], "score": value},
    )


HEADERS = {
    "code": ("code", "customer code", "客户编号", "客户代码", "编号"),
    "score": ("score", "rating", "nps", "csat", "评分", "分数", "得分"),
    "comment": ("comment", "comments", "feedback", "评论", "意见", "备注"),
    "answered_at": ("answered at", "date", "answered", "回答日期", "日期", "时间"),
}


@dataclass(frozen=True)
class AnswerFile:
    """A file of answers checked against a run: what would be written, and each refused row with its reason."""

    answers: list[tuple[int, int, str | None, datetime]]  # customer id, score, comment, answered at
    already: int  # rows of customers who had answered: left as they are (a re-imported file changes nothing)
    rejected: pd.DataFrame  # line, code, reason (a catalog key), field


def _when(text: str, now: datetime) -> datetime | None:
    """The answer's date and time in the importer's formats (2026/10/8, 2026年10月8日 9:05 …); none: now."""
    try:
        at, _ = clean.moment(text, today=now.date())
    except clean.Problem:
        return None
    return at or now


def read_answers(
    session: Session, viewer: Viewer, run_id: int, data: bytes, *, file_name: str, now: datetime | None = None
) -> AnswerFile:
    """Check a file of answers (CSV in any common encoding, or Excel; columns code and score, optionally comment
    and date) against the run, writing nothing."""
    require(viewer, "surveys:run")
    now = now or clock.now()
    run = _run(session, run_id)
    known = {normalise_header(h) for names in HEADERS.values() for h in names}
    table = read_table(data, file_name=file_name, known=known)
    where = {
        field: next(
            (i for i, h in enumerate(table.header) if normalise_header(h) in {normalise_header(n) for n in names}), None
        )
        for field, names in HEADERS.items()
    }
    if where["code"] is None or where["score"] is None:
        raise ValidationError("The file needs a customer code and a score column.", key="survey.error.columns")
    asked = {
        code: (customer_id, answered)
        for code, customer_id, answered in session.execute(
            select(C.c.code, C.c.id, ASKED.c.answered_at)
            .join(ASKED, ASKED.c.customer_id == C.c.id)
            .where(ASKED.c.run_id == run_id)
        )
    }
    answers, rejected, already, seen = [], [], 0, set()

    def cell(row: list[str], field: str) -> str:
        index = where[field]
        return row[index].strip() if index is not None and index < len(row) else ""

    for line, row in table.rows():
        code = cell(row, "code")
        errors: dict[str, tuple[str, dict[str, object]]] = {}
        if code not in asked:
            rejected.append((line, code, "survey.error.not_asked", "code"))
            continue
        customer_id, answered = asked[code]
        if answered is not None or customer_id in seen:
            already += 1
            continue
        at = _when(cell(row, "answered_at"), now)
        if at is None:
            rejected.append((line, code, "import.reason.date", "answered_at"))
            continue
        raw = cell(row, "score")
        score = int(raw) if raw.isdigit() else raw
        value, text = _check(errors, run, score, cell(row, "comment") or None, at, now)
        if errors:
            field, (key, _) = next(iter(errors.items()))
            rejected.append((line, code, key, field))
            continue
        seen.add(customer_id)
        answers.append((int(customer_id), int(value or 0), text, at))
    return AnswerFile(answers, already, pd.DataFrame(rejected, columns=["line", "code", "reason", "field"]))


def import_answers(
    session: Session, viewer: Viewer, run_id: int, checked: AnswerFile, *, file_name: str, now: datetime | None = None
) -> int:
    """Write the answers a checked file holds, in one transaction, with the summaries refreshed once."""
    require(viewer, "surveys:run")
    now = now or clock.now()
    run = _run(session, run_id)
    customers = {
        int(r["id"]): dict(r)
        for r in session.execute(
            select(C.c.id, C.c.code, C.c.owner_id).where(C.c.id.in_([a[0] for a in checked.answers]))
        ).mappings()
    }
    written = 0
    for customer_id, score, comment, at in checked.answers:
        if session.scalar(
            select(ASKED.c.answered_at).where(ASKED.c.run_id == run_id, ASKED.c.customer_id == customer_id)
        ):
            continue  # answered since the file was checked
        _save(session, run, customers[customer_id], score=score, comment=comment, at=at, now=now, refresh=False)
        written += 1
    if run["kind"] == "nps" and checked.answers:
        since = min(a[3] for a in checked.answers).date()
        facts.customer_changed(session, sorted(customers), since=since, as_of=now.date())
    audit.record(
        session,
        action="survey_import",
        username=viewer.username,
        object=f"survey:{run_id}",
        details={"file": file_name, "answers": written, "rejected": len(checked.rejected)},
    )
    return written
