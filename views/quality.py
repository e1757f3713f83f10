"""Data quality: completeness per field and per source against its target (the Goals view's), validity, duplicates,
orphans, each source's freshness, the trend of each figure, and the customers behind any of them."""

from datetime import timedelta

import pandas as pd
import plotly.express as px
import streamlit as st

from core import access, clock, quality, targets
from core.formatting import plain
from core.periods import Filters
from ui import context, data, targets as target_parts
from ui.context import page_guard, tr
from ui.merge_parts import review_queue

viewer = page_guard("quality")
today, now = clock.today(), clock.now()
st.title(tr("quality.title"))
whole = data.read(quality.completeness, viewer)
found = data.read(quality.issues, viewer, today=today)
core_share = whole.core
standing = data.standings(targets.latest_month(today), Filters(), {"data_completeness": core_share}).get(
    "data_completeness"
)
goal = standing.goal if standing else None
target_text = f"{goal:.0%}" if goal is not None else tr("targets.none")
st.caption(tr("quality.caption", target=target_text))
cards = st.columns(4)
cards[0].metric(
    tr("quality.core"),
    f"{core_share:.1%}" if core_share is not None else "—",
    border=True,
    delta=f"{(core_share - goal) * 100:+.1f} {tr('unit.pp')}" if core_share is not None and goal is not None else None,
    help=tr("quality.core.help", target=target_text),
)
with cards[0]:
    target_parts.caption(standing)
cards[1].metric(
    tr("quality.duplicate_customers"),
    f"{found.duplicate_customers:,}",
    border=True,
    help=tr("quality.duplicate_customers.help"),
)
cards[2].metric(
    tr("quality.invalid"),
    f"{found.invalid_dates + found.invalid_amounts:,}",
    border=True,
    help=tr("quality.invalid.help", dates=found.invalid_dates, amounts=found.invalid_amounts),
)
cards[3].metric(
    tr("quality.orphans"),
    f"{found.orphan_orders + found.orphan_tickets + found.no_owner:,}",
    border=True,
    help=tr("quality.orphans.help", orders=found.orphan_orders, tickets=found.orphan_tickets, no_owner=found.no_owner),
)

st.subheader(tr("quality.by_source"))
by_source = data.read(quality.completeness_by_source, viewer)
fields = [*quality.CORE_FIELDS, *quality.OTHER_FIELDS]
if by_source.empty:
    st.info(tr("quality.empty"))
else:
    table = by_source.assign(**{f: by_source[f] * 100 for f in fields})
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "source": tr("quality.col.source"),
            "customers": st.column_config.NumberColumn(tr("quality.col.customers")),
            **{
                f: st.column_config.ProgressColumn(
                    tr(f"quality.field.{f}") + (" *" if f in quality.CORE_FIELDS else ""),
                    min_value=0,
                    max_value=100,
                    format="%.1f%%",
                )
                for f in fields
            },
        },
    )
    st.caption(tr("quality.core_note", target=target_text))

st.subheader(tr("quality.freshness"))
max_age = context.settings().feed_max_age_hours
fresh = data.read(quality.freshness, viewer, now=now, max_age_hours=max_age)
if fresh.empty:
    st.info(tr("quality.no_imports"))
else:
    for source in quality.stale_sources(fresh):
        st.warning(tr("quality.stale", source=plain(source), hours=max_age))
    st.dataframe(
        fresh.assign(stale=[tr("common.yes") if s else "" for s in fresh["stale"]]),
        hide_index=True,
        column_config={
            "source": tr("quality.col.source"),
            "last": st.column_config.DatetimeColumn(tr("quality.col.last"), format="YYYY-MM-DD HH:mm"),
            "imports": tr("quality.col.imports"),
            "age_hours": tr("quality.col.age"),
            "stale": tr("quality.col.stale"),
        },
    )

st.subheader(tr("quality.trend"))
history = data.read(quality.trend, viewer, since=now - timedelta(days=90))
shown = history[history["figure"].isin(["completeness_core", "duplicate_customers", "invalid_dates", "no_owner"])]
if shown["at"].nunique() < 2:
    st.caption(tr("quality.trend_empty"))
else:
    shown = shown.assign(  # the completeness share in %, like everywhere else on the page
        value=[v * 100 if f == "completeness_core" else v for f, v in zip(shown["figure"], shown["value"])],
        figure=[tr(f"quality.figure.{f}") for f in shown["figure"]],
    )
    figure = px.line(
        shown,
        x="at",
        y="value",
        color="figure",
        facet_row="figure",
        markers=True,
        height=560,
        labels={"at": "", "value": "", "figure": ""},
    )
    figure.update_yaxes(matches=None).for_each_annotation(lambda a: a.update(text=""))
    st.plotly_chart(figure, key="quality_trend")

st.subheader(tr("quality.drill"))
options = [("missing", f) for f in fields] + [(d, None) for d in quality.DRILLS if d != "missing"]
choice = st.selectbox(
    tr("quality.drill.choose"),
    options,
    key="quality_drill",
    format_func=lambda o: (
        tr("quality.drill.missing", field=tr(f"quality.field.{o[1]}"))
        if o[0] == "missing"
        else tr(f"quality.drill.{o[0]}")
    ),
)
rows = data.read(quality.rows_behind, viewer, choice[0], field=choice[1], today=today)
if rows.empty:
    st.success(tr("quality.drill.none"))
else:
    st.caption(tr("quality.drill.first", n=len(rows)))
    st.dataframe(
        pd.DataFrame(
            {
                "link": [f"/customer?id={i}#{c}" for i, c in zip(rows["customer_id"], rows["code"])],
                "name": rows["name"],
                "owner": rows["owner"].fillna(""),
                "source": rows["source"],
                "detail": rows["detail"],
            }
        ),
        hide_index=True,
        column_config={
            "link": st.column_config.LinkColumn(tr("column.code"), display_text=r"#(.+)$"),
            "name": st.column_config.TextColumn(tr("column.name")),
            "owner": tr("column.owner"),
            "source": tr("quality.col.source"),
            "detail": tr("quality.col.detail"),
        },
    )

if access.allowed(viewer, "customers:merge"):  # the review queue: merge, keep apart, undo
    review_queue(viewer, now=now)
