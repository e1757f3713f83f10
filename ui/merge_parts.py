"""The customer-merge review queue (Data quality page, administrators and analysts): a pair of possible
duplicates side by side, merge one into the other or keep them apart, and undo a recent merge."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from core import merging
from core.access import Viewer
from core.errors import CrmError, FieldErrors
from core.i18n import label
from ui import data
from ui.context import lang, reason, tr
from ui.forms import flash


def review_queue(viewer: Viewer, *, now: datetime) -> None:
    """The pairs to review, the chosen pair's two customers and the merge form, then the recent merges."""
    st.subheader(tr("merge.title"))
    flash()
    pairs = data.duplicate_pairs(viewer)
    if not pairs:
        st.success(tr("merge.none"))
    else:
        st.caption(tr("merge.caption", n=len(pairs)))
        pick = st.selectbox(
            tr("merge.pair"),
            range(len(pairs)),
            key="merge_pair",
            format_func=lambda i: (
                tr(f"merge.why.{pairs[i].why}", score=f"{pairs[i].score:.0f}")
                + f" · #{pairs[i].first_id} / #{pairs[i].second_id}"
            ),
        )
        pair = pairs[pick]
        sides = data.read(merging.pair_details, viewer, [pair.first_id, pair.second_id])
        for row in sides:  # codes in the page's language
            row["region"] = label("region", row["region"], lang())
        st.dataframe(
            pd.DataFrame(sides).drop(columns=["id"]),
            hide_index=True,
            column_config={
                "code": tr("column.code"),
                "name": st.column_config.TextColumn(tr("column.name")),
                "region": tr("quality.field.region"),
                "city": tr("quality.field.city"),
                "owner": tr("column.owner"),
                "became_customer_date": tr("quality.field.became_customer_date"),
                "orders_total": tr("merge.col.orders"),
                "revenue_12m": tr("merge.col.revenue"),
            },
        )
        with st.form(f"merge_{pair.first_id}_{pair.second_id}"):
            codes = {row["id"]: row["code"] for row in sides}
            keep = st.radio(
                tr("merge.keep"),
                [pair.first_id, pair.second_id],
                horizontal=True,
                format_func=lambda i: codes.get(i, str(i)),
                key=f"merge_keep_{pair.first_id}_{pair.second_id}",
            )
            why = st.text_input(tr("merge.reason"), max_chars=500)
            left, right = st.columns(2)
            merge_clicked = left.form_submit_button(tr("merge.do"), type="primary")
            apart_clicked = right.form_submit_button(tr("merge.apart"))
        if merge_clicked or apart_clicked:
            other = pair.second_id if keep == pair.first_id else pair.first_id
            try:
                if merge_clicked:
                    data.write(merging.merge, viewer, keep, other, reason=why)
                    st.session_state["flash"] = tr("merge.done", code=codes.get(other, ""), into=codes.get(keep, ""))
                else:
                    data.write(merging.keep_apart, viewer, pair.first_id, pair.second_id)
                    st.session_state["flash"] = tr("merge.kept_apart")
            except FieldErrors:
                st.error(tr("merge.reason_needed"))
            except CrmError as err:
                st.error(reason(err))
            else:
                st.rerun()
    done = data.read(merging.recent_merges, viewer, now=now)
    if done:
        with st.expander(tr("merge.recent")):
            for row in done:
                left, right = st.columns([4, 1])
                left.text(
                    tr(
                        "merge.recent_row",
                        at=f"{row['at']:%Y-%m-%d %H:%M}",
                        user=row["username"] or "",
                        code=row["merged_code"],
                        name=row["merged_name"],
                        reason=row["reason"],
                    )
                )
                if row["undoable"] and right.button(tr("merge.undo"), key=f"undo_{row['id']}"):
                    try:
                        data.write(merging.undo, viewer, row["id"])
                    except CrmError as err:
                        st.error(reason(err))
                    else:
                        st.session_state["flash"] = tr("merge.undone", code=row["merged_code"])
                        st.rerun()
