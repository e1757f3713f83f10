"""The Surveys page's forms (`core.surveys`): start a run over a segment, record an answer, bring a file of
answers in (checked first, written on confirmation)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import streamlit as st

from core import models as m, segmentation, surveys
from core.access import Viewer
from core.customer_list import CustomerQuery
from core.errors import CrmError
from core.i18n import label
from core.ingest.files import MAX_BYTES
from ui import context, data
from ui.context import lang, reason, tr
from ui.downloads import csv_download
from ui.forms import Slots, submit, token


def new_run_form(viewer: Viewer, now: datetime) -> None:
    """Name, kind, segment (the customer list's filters) and an optional sample size; the run's list is fixed
    when it starts."""
    current, key, slots = lang(), token("survey"), Slots()
    with st.form(f"survey_{key}"):
        slots.top()
        left, right = st.columns(2)
        name = left.text_input(tr("survey.name"), max_chars=100, key=f"sv_name_{key}")
        slots("name")
        kind = right.radio(
            tr("survey.kind"), surveys.KINDS, format_func=lambda k: tr(f"survey.kind.{k}"), horizontal=True
        )
        tiers = left.multiselect(tr("list.tier"), segmentation.TIERS, format_func=lambda t: label("tier", t, current))
        stages = right.multiselect(
            tr("list.stage"),
            segmentation.LIFECYCLE_STAGES,
            default=[s for s in segmentation.LIFECYCLE_STAGES if s not in ("prospect", "churned")],
            format_func=lambda s: label("stage", s, current),
        )
        regions = left.multiselect(tr("filters.region"), m.REGIONS, format_func=lambda r: label("region", r, current))
        industries = right.multiselect(
            tr("filters.industry"), m.INDUSTRIES, format_func=lambda i: label("industry", i, current)
        )
        size = left.number_input(tr("survey.size"), min_value=0, value=0, step=50, help=tr("survey.size.help"))
        slots("size")
        closes = right.date_input(tr("survey.closes_on"), value=now.date() + timedelta(days=30), key=f"sv_close_{key}")
        slots("closes_on")
        st.caption(tr("survey.fatigue", days=surveys.FATIGUE_DAYS))
        if st.form_submit_button(tr("survey.start"), type="primary"):
            plan = surveys.SurveyPlan(
                name,
                str(kind),
                CustomerQuery(
                    tiers=tuple(tiers), stages=tuple(stages), regions=tuple(regions), industries=tuple(industries)
                ),
                closes,  # type: ignore[arg-type]
                int(size) or None,
            )
            submit(
                "survey",
                slots,
                lambda _: data.write(surveys.create_run, viewer, plan, context.keyring(), now=now),
                done=tr("survey.started"),
            )


def answer_form(viewer: Viewer, run: pd.Series, waiting: pd.DataFrame, now: datetime) -> None:
    """One answer given by phone or on paper, for a customer of the run who has not answered yet."""
    if waiting.empty:
        st.caption(tr("survey.all_answered"))
        return
    low, high = surveys.SCALE[str(run["kind"])]
    names = dict(zip(waiting["customer_id"], waiting["code"] + " · " + waiting["name"].astype(str)))
    key, slots = token("survey_answer"), Slots()
    with st.form(f"survey_answer_{key}"):
        slots.top()
        customer = st.selectbox(tr("survey.customer"), list(names), format_func=lambda c: names[c])
        score = st.slider(
            tr("survey.score", low=low, high=high), low, high, value=high - 1 if high > 5 else 4, key=f"sa_score_{key}"
        )
        slots("score")
        comment = st.text_area(tr("form.comment"), max_chars=2000, key=f"sa_comment_{key}")
        slots("comment")
        if st.form_submit_button(tr("survey.record"), type="primary"):
            submit(
                "survey_answer",
                slots,
                lambda _: data.write(
                    surveys.record_answer,
                    viewer,
                    int(run["run"]),
                    int(customer),
                    score=int(score),
                    comment=comment,
                    now=now,
                ),
                done=tr("survey.recorded"),
            )


def answers_import(viewer: Viewer, run: pd.Series) -> None:
    """A file of answers: checked and summarised first (with each refused row and why), written on confirm."""
    upload = st.file_uploader(tr("survey.file"), type=["csv", "txt", "xlsx", "xls"], key=f"survey_file_{run['run']}")
    st.caption(tr("survey.file.help"))
    if upload is None:
        return
    if upload.size > MAX_BYTES:
        st.error(tr("import.error.too_big"))
        return
    payload = upload.getvalue()
    try:
        checked = data.read(surveys.read_answers, viewer, int(run["run"]), payload, file_name=upload.name)
    except CrmError as err:
        st.error(tr("form.refused", reason=reason(err)))
        return
    st.info(
        tr("survey.file.checked", answers=len(checked.answers), already=checked.already, rejected=len(checked.rejected))
    )
    if not checked.rejected.empty:
        refused = checked.rejected.assign(reason=[tr(k) for k in checked.rejected["reason"]])
        st.dataframe(refused, hide_index=True, column_config={c: tr(f"survey.col.{c}") for c in refused.columns})
        csv_download(refused, what="survey", file_name="rejected-answers.csv", viewer=viewer, key="survey_rejected")
    if checked.answers and st.button(tr("survey.file.confirm", n=len(checked.answers)), type="primary"):
        try:
            written = data.write(surveys.import_answers, viewer, int(run["run"]), checked, file_name=upload.name)
        except CrmError as err:
            st.error(tr("form.refused", reason=reason(err)))
            return
        st.session_state["flash"] = tr("survey.file.done", n=written)
        st.session_state.pop(f"survey_file_{run['run']}", None)
        st.rerun()
