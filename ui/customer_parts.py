"""Parts of the 360° view (views/customer.py): the timeline with its filters, and the customer's tasks with
the button that marks one done."""

from __future__ import annotations

from datetime import date

import streamlit as st

from core import activity, customer_view as cv
from core.access import Viewer
from core.errors import CrmError
from core.formatting import plain
from core.i18n import label
from ui import data
from ui.context import lang, reason, tr


def timeline_tab(viewer: Viewer, customer_id: int) -> None:
    """Orders, interactions, tickets, answers and tasks in time order, filtered by kind, dates and words."""
    current = lang()
    left, middle, right = st.columns([2, 2, 2])
    kinds = left.multiselect(
        tr("timeline.kinds"),
        cv.TIMELINE_KINDS,
        default=list(cv.TIMELINE_KINDS),
        placeholder=tr("timeline.kinds.none"),
        format_func=lambda k: tr(f"timeline.kind.{k}"),
    )
    span = middle.date_input(tr("timeline.range"), value=(), format="YYYY-MM-DD")
    text = right.text_input(tr("timeline.search"))
    since, until = span if isinstance(span, tuple) and len(span) == 2 else (None, None)
    events = data.read(cv.timeline, viewer, customer_id, kinds=tuple(kinds), since=since, until=until, text=text)
    st.caption(tr("timeline.count", n=len(events)))
    shown = events.assign(
        at=[
            f"{at:%Y-%m-%d}" if kind == "order" else f"{at:%Y-%m-%d %H:%M}"  # orders have a day only
            for at, kind in zip(events["at"], events["kind"])
        ],
        kind=[tr(f"timeline.kind.{k}") for k in events["kind"]],
        status=[" · ".join(label(g, c, current) for g, c in pairs if c) for pairs in events["labels"]],
    )
    st.dataframe(
        shown[["at", "kind", "title", "detail", "status"]],
        hide_index=True,
        height=420,
        column_config={
            "at": tr("timeline.at"),
            "kind": tr("timeline.kind"),
            "title": tr("timeline.title"),
            "detail": tr("timeline.detail"),
            "status": tr("timeline.status"),
        },
    )


def task_list(viewer: Viewer, customer_id: int, *, today: date) -> None:
    """The customer's tasks, overdue ones in red, done ones struck through; the owner marks one done."""
    current = lang()
    tasks = data.read(cv.customer_tasks, viewer, customer_id, today=today)
    if tasks.empty:
        st.caption(tr("list.no_tasks"))
    for row in tasks.itertuples():
        done = row.done_at is not None and str(row.done_at) != "NaT"
        line = plain(
            f"{row.due_date:%Y-%m-%d} · {cv.task_title(row.title, row.source, current)} · "
            f"{row.owner or tr('common.none')}"
        )
        left, right = st.columns([5, 1], vertical_alignment="center")
        left.markdown(f"~~{line}~~" if done else (f":red[{line}] ({tr('task.overdue')})" if row.overdue else line))
        if not done and activity.may_write(viewer, "task") and right.button(tr("task.done"), key=f"task_{row.task}"):
            try:
                data.write(activity.complete_task, viewer, int(row.task))
            except CrmError as err:
                st.error(tr("form.refused", reason=reason(err)))
            else:
                st.session_state["flash"] = tr("task.completed")
                st.rerun()
