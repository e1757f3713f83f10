"""Periodic surveys (core.surveys) on hand-made customers: who is asked (segment, nobody twice a quarter, a
sample), answers by form and by file with every refusal named, the response rate and score by hand."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import models as m, surveys
from core.access import Viewer
from core.customer_list import CustomerQuery
from core.customer_view import task_title
from core.db import session_scope
from core.errors import FieldErrors, PermissionDenied, ValidationError
from tests import factories as f
from tests.conftest import TEST_KEYRING

NOW = datetime(2026, 6, 1, 10)
ANALYST = Viewer(None, "ana", "Ana", "analyst")


def _stat(s: Session, who: m.Customer, tier: str, stage: str = "mature") -> None:
    s.add(
        m.CustomerStat(
            customer_id=who.id,
            as_of=NOW.date(),
            code=who.code,
            tier=tier,
            lifecycle_stage=stage,
            region=who.region,
            owner_id=who.owner_id,
        )
    )


def _world(s: Session) -> dict[str, object]:
    amy, bob = f.user(s, "amy"), f.user(s, "bob")
    high = [f.customer(s, owner=amy if i < 3 else bob, became=date(2024, 1, 1)) for i in range(5)]
    plain = [f.customer(s, owner=amy, became=date(2024, 1, 1)) for _ in range(3)]
    for who in high:
        _stat(s, who, "high_value")
    for who in plain:
        _stat(s, who, "general")
    s.flush()
    return {
        "amy": amy.id,
        "high": [c.id for c in high],
        "codes": [c.code for c in high],
        "plain": [c.id for c in plain],
    }


def _plan(kind: str = "nps", size: int | None = None) -> surveys.SurveyPlan:
    return surveys.SurveyPlan("Q2 pulse", kind, CustomerQuery(tiers=("high_value",)), date(2026, 6, 30), size)


def test_a_run_asks_its_segment_once_a_quarter_and_samples(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = _world(s)
        first = surveys.create_run(s, ANALYST, _plan(size=2), TEST_KEYRING, now=NOW)
    with session_scope(engine) as s:
        sampled = set(s.scalars(select(m.SurveyRecipient.customer_id).where(m.SurveyRecipient.run_id == first)))
        assert len(sampled) == 2 and sampled <= set(w["high"])  # type: ignore[arg-type]
        left = surveys.audience(s, ANALYST, _plan(), TEST_KEYRING, now=NOW + timedelta(days=10))
        assert (left.segment, left.recently_asked, sorted(left.to_ask)) == (
            5,
            2,
            sorted(set(w["high"]) - sampled),  # type: ignore[arg-type]
        )
        csat = surveys.audience(s, ANALYST, _plan("csat"), TEST_KEYRING, now=NOW)  # another kind: all five
        assert len(csat.to_ask) == 5
        later = surveys.audience(s, ANALYST, _plan(), TEST_KEYRING, now=NOW + timedelta(days=91))
        assert len(later.to_ask) == 5  # a quarter on, everyone may be asked again
        surveys.create_run(s, ANALYST, _plan(), TEST_KEYRING, now=NOW + timedelta(days=1))  # the other three
    with pytest.raises(ValidationError) as nobody, session_scope(engine) as s:
        surveys.create_run(s, ANALYST, _plan(), TEST_KEYRING, now=NOW + timedelta(days=2))
    assert nobody.value.key == "survey.error.nobody"
    with pytest.raises(FieldErrors) as bad, session_scope(engine) as s:
        surveys.create_run(
            s, ANALYST, surveys.SurveyPlan(" ", "sms", CustomerQuery(), date(2026, 5, 1)), TEST_KEYRING, now=NOW
        )
    assert set(bad.value.errors) == {"name", "kind", "closes_on"}
    with pytest.raises(PermissionDenied), session_scope(engine) as s:
        manager = Viewer(int(w["amy"]), "amy", "Amy", "account_manager")  # type: ignore[call-overload]
        surveys.create_run(s, manager, _plan("csat"), TEST_KEYRING, now=NOW)


def test_answers_by_form_count_in_nps_and_call_detractors_back(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = _world(s)
        run = surveys.create_run(s, ANALYST, _plan(), TEST_KEYRING, now=NOW)
    amy = Viewer(int(w["amy"]), "amy", "Amy", "account_manager")  # type: ignore[call-overload]
    high: list[int] = w["high"]  # type: ignore[assignment]
    with session_scope(engine) as s:
        surveys.record_answer(s, amy, run, high[0], score=10, comment="Great", now=NOW + timedelta(days=1))
        surveys.record_answer(s, amy, run, high[1], score=9, now=NOW + timedelta(days=1))
        surveys.record_answer(s, amy, run, high[2], score=3, comment="Slow delivery", now=NOW + timedelta(days=1))
    for who, score, key in (
        (high[0], 8, "survey.error.answered"),
        (w["plain"][0], 8, "survey.error.not_asked"),  # type: ignore[index]
    ):
        with pytest.raises(ValidationError) as refused, session_scope(engine) as s:
            surveys.record_answer(s, amy, run, who, score=score, now=NOW + timedelta(days=1))
        assert refused.value.key == key
    with pytest.raises(PermissionDenied), session_scope(engine) as s:  # bob's customer
        surveys.record_answer(s, amy, run, high[3], score=8, now=NOW + timedelta(days=1))
    with pytest.raises(FieldErrors) as bad, session_scope(engine) as s:
        surveys.record_answer(s, ANALYST.__class__(None, "adm", "Adm", "admin"), run, high[3], score=11, now=NOW)
    assert set(bad.value.errors) == {"score"}
    with Session(engine) as s:
        answers = s.execute(
            select(m.NpsResponse.customer_id, m.NpsResponse.score, m.NpsResponse.touchpoint).order_by(
                m.NpsResponse.customer_id
            )
        ).all()
        tasks = s.scalars(select(m.Task.customer_id).where(m.Task.source == "detractor")).all()
        table = surveys.runs(s, ANALYST).set_index("run")
        mine = surveys.runs(s, amy).set_index("run")
    assert [(c, sc) for c, sc, _ in answers] == [(high[0], 10), (high[1], 9), (high[2], 3)]
    assert {t for _, _, t in answers} == {"quarterly_survey"} and tasks == [high[2]]
    # 5 asked, 3 answered: 60 %; NPS = 100 × (2 promoters − 1 detractor) / 3
    assert (table.loc[run, "recipients"], table.loc[run, "answered"]) == (5, 3)
    assert table.loc[run, "rate"] == pytest.approx(0.6) and table.loc[run, "score"] == pytest.approx(100 / 3)
    assert (mine.loc[run, "recipients"], mine.loc[run, "rate"]) == (3, 1.0)  # amy's three customers


def test_a_file_of_answers_is_checked_then_written_once(engine: Engine) -> None:
    with session_scope(engine) as s:
        w = _world(s)
        run = surveys.create_run(s, ANALYST, _plan("csat"), TEST_KEYRING, now=NOW)
    codes: list[str] = w["codes"]  # type: ignore[assignment]
    text = "\n".join(
        [
            "客户编号,评分,评论,日期",
            f"{codes[0]},5,很满意,2026/6/2",
            f"{codes[1]},1,太慢了,2026-06-02 09:30",
            f"{codes[2]},9,,",  # off the 1–5 scale
            "C9999999,4,,",  # not asked
            f"{codes[3]},4,,2026-05-01",  # before the survey started
            f"{codes[4]},3,,next week",  # not a date
        ]
    ).encode("gb18030")
    with Session(engine) as s:
        checked = surveys.read_answers(s, ANALYST, run, text, file_name="answers.csv", now=NOW + timedelta(days=2))
    assert [(a[1], a[2]) for a in checked.answers] == [(5, "很满意"), (1, "太慢了")]
    assert checked.answers[1][3] == datetime(2026, 6, 2, 9, 30)
    assert list(checked.rejected["reason"]) == [
        "form.error.range",
        "survey.error.not_asked",
        "survey.error.before_run",
        "import.reason.date",
    ]
    assert list(checked.rejected["line"]) == [4, 5, 6, 7]
    with session_scope(engine) as s:
        written = surveys.import_answers(s, ANALYST, run, checked, file_name="answers.csv", now=NOW + timedelta(days=2))
    assert written == 2
    with Session(engine) as s:  # the same file again: nothing new to write
        again = surveys.read_answers(s, ANALYST, run, text, file_name="answers.csv", now=NOW + timedelta(days=3))
        low = s.scalars(select(m.Task.title).where(m.Task.source == "survey_csat")).all()
        table = surveys.runs(s, ANALYST).set_index("run")
        nps_rows = s.scalar(select(func.count()).select_from(m.NpsResponse))
    assert (again.answers, again.already) == ([], 2)
    assert low == [f"CSAT 1 in survey #{run}"] and nps_rows == 0  # a CSAT answer is not an NPS response
    assert task_title(low[0], "survey_csat", "zh") == f"回访：调研 #{run} 满意度 1 分"  # in the reader's language
    assert table.loc[run, "answered"] == 2 and table.loc[run, "score"] == pytest.approx(3.0)
    with pytest.raises(ValidationError) as no_columns, Session(engine) as s:
        surveys.read_answers(s, ANALYST, run, b"name,value\nx,1\n", file_name="x.csv")
    assert no_columns.value.key == "survey.error.columns"
