"""Periodic surveys: start an NPS or CSAT run over a segment, work its list, take the answers back, and see
each run's response rate and score."""

import streamlit as st

from core import access, clock, surveys
from core.formatting import plain
from core.i18n import label
from ui import data
from ui.context import lang, page_guard, tr
from ui.downloads import csv_download
from ui.forms import flash
from ui.survey_parts import answer_form, answers_import, new_run_form

viewer = page_guard("surveys")
current = lang()
now = clock.now()
st.title(tr("survey.title"))
st.caption(tr("survey.caption"))
flash()
if access.allowed(viewer, "surveys:run"):
    with st.expander(tr("survey.new"), icon=":material/add:"):
        new_run_form(viewer, now)

runs = data.read(surveys.runs, viewer)
if runs.empty:
    st.info(tr("survey.none"))
    st.stop()


def score_text(kind: str, score: object) -> str:
    if score is None or score != score:
        return "—"
    return f"{score:.0f}" if kind == "nps" else f"{score:.2f}"  # type: ignore[str-format]


picked = st.dataframe(
    runs.assign(
        kind=[tr(f"survey.kind.{k}") for k in runs["kind"]],
        rate=runs["rate"] * 100,
        score=[score_text(k, v) for k, v in zip(runs["kind"], runs["score"])],
    ).drop(columns=["run"]),
    hide_index=True,
    key="survey_runs",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        **{c: tr(f"survey.col.{c}") for c in runs.columns},
        "created_at": st.column_config.DatetimeColumn(tr("survey.col.created_at"), format="YYYY-MM-DD"),
        "rate": st.column_config.NumberColumn(tr("survey.col.rate"), format="%.1f%%"),
    },
)
rows = picked.selection.rows if picked else []
run = runs.iloc[rows[0] if rows else 0]  # the latest run unless another is picked
st.subheader(tr("survey.run", name=plain(run["name"])))  # a name someone typed: text, never Markdown
cards = st.columns(4)
cards[0].metric(tr("survey.col.recipients"), f"{run['recipients']:,}", border=True)
cards[1].metric(tr("survey.col.answered"), f"{run['answered']:,}", border=True)
cards[2].metric(tr("survey.col.rate"), f"{run['rate']:.1%}", border=True)
cards[3].metric(tr(f"survey.score.{run['kind']}"), score_text(str(run["kind"]), run["score"]), border=True)

asked = data.read(surveys.recipients, viewer, int(run["run"]))
listed = asked.assign(
    tier=[label("tier", t, current) if t else "" for t in asked["tier"]],
    region=[label("region", r, current) for r in asked["region"]],
    answered=[tr("common.yes") if a is not None and a == a else "" for a in asked["answered_at"]],
).drop(columns=["customer_id", "answered_at"])
headers = {c: tr(f"survey.col.{c}") for c in listed.columns}
with st.expander(tr("survey.list", n=len(asked)), expanded=True):
    st.dataframe(listed.astype({"score": "Int64"}), hide_index=True, placeholder="", column_config=headers)
    csv_download(
        listed.rename(columns=headers),
        what="survey",
        file_name=f"survey-{int(run['run'])}.csv",
        viewer=viewer,
        key="survey_list",
    )
if access.allowed(viewer, "write:nps"):
    with st.expander(tr("survey.answer"), icon=":material/edit_note:"):
        answer_form(viewer, run, asked[asked["answered_at"].isna()], now)
if access.allowed(viewer, "surveys:run"):
    with st.expander(tr("survey.import"), icon=":material/upload_file:"):
        answers_import(viewer, run)
