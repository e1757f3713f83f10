"""The Goals view through AppTest: every target of the demo with its status; an administrator's refused and
accepted target from the form; an executive reads without the form."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock, models as m, targets
from core.access import SYSTEM
from core.db import make_engine
from tests.pages.helpers import signed_in


def test_an_administrator_sets_a_target_and_an_executive_reads_them(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    engine = make_engine(seeded_url)
    with Session(engine) as s:
        expected = targets.overview(s, viewer=SYSTEM, period=targets.latest_month(clock.today()))
    at = signed_in(monkeypatch, seeded_url, "admin")
    at.switch_page("views/goals.py")
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe(key="goals_table").value
    assert len(table) == len(expected) >= 8  # seed 003's six and the demo's own
    statuses = {s.status for s in expected}
    assert {"met", "missed"} <= statuses  # the demo has examples of both for its last month
    shown = dict(zip(table["kpi"], table["status"]))
    csat = next(s.status for s in expected if s.target.kpi == "csat")
    assert shown["CSAT"].endswith(csat.replace("_", " "))  # as core says
    assert len(at.get("plotly_chart")) == 1  # the first target's trend toward it

    def field(kind: str, label: str):  # type: ignore[no-untyped-def]
        return next(w for w in getattr(at, kind) if w.label == label)

    field("selectbox", "KPI").set_value("nps")
    field("number_input", "Value").set_value(150.0)  # NPS runs from -100 to 100
    next(b for b in at.button if b.label == "Save target").click()
    at.run()
    assert any("between -100 and 100" in e.value for e in at.error), [e.value for e in at.error]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.KpiTarget)) == len(expected)  # nothing written
    field("number_input", "Value").set_value(25.0)
    field("text_input", "Note").input("**board** <b>goal</b>")
    next(b for b in at.button if b.label == "Save target").click()
    at.run()
    assert not at.exception, at.exception
    assert any("Target saved" in x.value for x in at.success), [e.value for e in at.error]
    with Session(engine) as s:
        saved = s.execute(select(m.KpiTarget).where(m.KpiTarget.note == "**board** <b>goal</b>")).scalar_one()
        assert (saved.kpi, saved.kind, saved.value) == ("nps", "absolute", 25.0)
        assert s.scalar(select(func.count()).select_from(m.AuditLog).where(m.AuditLog.action == "target_created"))
    notes = at.dataframe(key="goals_table").value["note"]
    assert "**board** <b>goal</b>" in set(notes)  # typed text shown as text

    at = signed_in(monkeypatch, seeded_url, "executive")
    at.switch_page("views/goals.py")
    at.run()
    assert not at.exception, at.exception
    assert len(at.dataframe(key="goals_table").value) == len(expected) + 1
    assert not [b for b in at.button if b.label == "Save target"]  # reading only
