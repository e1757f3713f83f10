"""The Surveys page through AppTest: an analyst starts a run over a segment from the form, an account manager
records an answer of one of their customers, and the run's response rate follows."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import models as m
from core.db import make_engine
from tests.pages.helpers import signed_in


def test_an_analyst_starts_a_survey_and_a_manager_records_an_answer(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    at = signed_in(monkeypatch, seeded_url, "analyst")
    at.switch_page("views/surveys.py")
    at.run()
    assert not at.exception, at.exception
    assert any("Quarterly relationship survey" in h.value for h in at.subheader)  # the demo's last quarter
    next(b for b in at.button if b.label == "Start the survey").click()  # no name: said under the field
    at.run()
    assert any("required" in e.value.lower() for e in at.error), [e.value for e in at.error]
    next(t for t in at.text_input if t.label == "Name").input("Q4 *pulse*")
    next(ms for ms in at.multiselect if ms.label == "Value tier").set_value(["high_value"])
    next(b for b in at.button if b.label == "Start the survey").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Survey started" in x.value for x in at.success), [e.value for e in at.error]
    with Session(make_engine(seeded_url)) as s:
        run = s.execute(select(m.SurveyRun.id, m.SurveyRun.kind).where(m.SurveyRun.name == "Q4 *pulse*")).one()
        asked = set(s.scalars(select(m.SurveyRecipient.customer_id).where(m.SurveyRecipient.run_id == run.id)))
        high = set(s.scalars(select(m.CustomerStat.customer_id).where(m.CustomerStat.tier == "high_value")))
        manager = s.scalar(select(m.User.id).where(m.User.username == "manager1"))
        own = s.scalar(
            select(m.Customer.id)
            .where(m.Customer.owner_id == manager, m.Customer.id.in_(asked))
            .order_by(m.Customer.code)
        )
    assert run.kind == "nps" and asked and asked <= high and own is not None
    assert {x.label: x.value for x in at.metric}["Asked"] == f"{len(asked):,}"
    assert any(h.value == r"Survey: Q4 \*pulse\*" for h in at.subheader)  # the typed name as text, not Markdown

    at = signed_in(monkeypatch, seeded_url, "manager1")
    at.switch_page("views/surveys.py")
    at.run()
    assert not [b for b in at.button if b.label == "Start the survey"]  # a manager works the list, no more
    shown = {x.label: x.value for x in at.metric}
    mine = int(shown["Asked"].replace(",", ""))
    assert 0 < mine < len(asked) and shown["Answered"] == "0"  # their own customers only
    at.selectbox(key=next(s.key for s in at.selectbox if s.label == "Customer")).set_value(own)
    next(sl for sl in at.slider if sl.label.startswith("Score")).set_value(3)
    next(b for b in at.button if b.label == "Save the answer").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Answer saved" in x.value for x in at.success)
    shown = {x.label: x.value for x in at.metric}
    assert shown["Answered"] == "1" and shown["Response rate"] == f"{1 / mine:.1%}" and shown["NPS"] == "-100"
    with Session(make_engine(seeded_url)) as s:
        assert s.scalar(select(m.SurveyRecipient.score).where(m.SurveyRecipient.customer_id == own)) == 3
