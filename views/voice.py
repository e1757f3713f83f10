"""Voice of the customer: NPS with its interval, CSAT against SLA outcomes, comments and keywords, closed loop."""

from datetime import timedelta

import streamlit as st

from core import access, charts, clock, models as m, nps as nps_math, voice
from core.i18n import label
from core.periods import custom_period
from ui import data, targets as target_parts
from ui.context import lang, page_guard, tr
from ui.downloads import csv_download
from ui.filters import dimension_filters
from ui.sections import sections

viewer = page_guard("voice")
current = lang()
st.title(tr("voice.title"))
filters = dimension_filters(by_owner=not access.own_customers_only(viewer))
now = clock.now()
days = (
    st.segmented_control(
        tr("service.period"), [90, 365, 730], default=365, key="voice_days", format_func=lambda d: tr("voice.days", n=d)
    )
    or 365
)
start, end = now - timedelta(days=days), now
period = custom_period(start.date(), end.date())  # rolling: a target in force today speaks for it


def scores() -> None:
    """NPS by month with its interval, by a segment, and CSAT by a dimension."""
    monthly = data.figures(voice.nps_by_month, viewer, filters=filters, start=start, end=end)
    if monthly.empty:
        st.info(tr("common.no_data"))
    else:
        whole = nps_math.nps(
            float(monthly["promoters"].sum()), float(monthly["detractors"].sum()), float(monthly["responses"].sum())
        )
        target_parts.caption(data.standings(period, filters, {"nps": whole.score}).get("nps"), with_value=True)
        st.plotly_chart(charts.nps_monthly(monthly, current), key="voice_nps")
        small = monthly[monthly["small_sample"]]
        if not small.empty:
            st.caption(tr("voice.small_months", months=", ".join(small["month"]), n=voice.SMALL_SAMPLE))
        headers = {
            "month": tr("chart.month"),
            "responses": "n",
            "nps": "NPS",
            "low": tr("voice.low"),
            "high": tr("voice.high"),
            "small_sample": tr("voice.small"),
            "promoters": tr("nps.promoter"),
            "passives": tr("nps.passive"),
            "detractors": tr("nps.detractor"),
        }
        with st.expander(tr("voice.months")):
            st.dataframe(
                monthly.assign(nps=["—" if v is None or v != v else f"{v:.0f}" for v in monthly["nps"]]),
                hide_index=True,
                column_config={
                    **headers,
                    "low": st.column_config.NumberColumn(headers["low"], format="%.0f"),
                    "high": st.column_config.NumberColumn(headers["high"], format="%.0f"),
                },
            )
        csv_download(
            monthly.rename(columns=headers),
            what="voice",
            file_name="nps-by-month.csv",
            viewer=viewer,
            filters=filters,
            key="voice_export",
        )  # headed as the table reads

    left, right = st.columns(2)
    by = left.selectbox(
        tr("voice.nps_by"), voice.NPS_DIMENSIONS, format_func=lambda d: tr(f"voice.dim.{d}"), key="voice_by"
    )
    groups = {
        "tier": "tier",
        "region": "region",
        "industry": "industry",
        "touchpoint": "touchpoint",
        "acquisition_channel": "acquisition",
    }
    segments = data.figures(voice.nps_by, viewer, filters=filters, by=by, start=start, end=end)
    segments = segments.assign(
        **{
            by: [
                tr("voice.no_value")
                if not isinstance(v, str)
                # no tier: not an active customer
                else label(groups[by], v, current)
                if by in groups
                else v
                for v in segments[by]
            ],
            # a small segment shows its interval only: its point would be noise
            "nps": ["—" if s or v is None else f"{v:.0f}" for v, s in zip(segments["nps"], segments["small_sample"])],
        }
    )
    left.dataframe(
        segments[[by, "responses", "nps", "low", "high", "promoters", "passives", "detractors"]],
        hide_index=True,
        column_config={
            by: tr(f"voice.dim.{by}"),
            "responses": "n",
            "nps": "NPS",
            "low": st.column_config.NumberColumn(tr("voice.low"), format="%.0f"),
            "high": st.column_config.NumberColumn(tr("voice.high"), format="%.0f"),
            "promoters": tr("nps.promoter"),
            "passives": tr("nps.passive"),
            "detractors": tr("nps.detractor"),
        },
    )
    left.caption(tr("voice.small_note", n=voice.SMALL_SAMPLE))

    csat_by = right.selectbox(
        tr("voice.csat_by"), voice.CSAT_DIMENSIONS, format_func=lambda d: tr(f"voice.csat_dim.{d}"), key="voice_csat_by"
    )
    csat = data.figures(voice.csat_by, viewer, by=csat_by, start=start, end=end)
    ratings = int(csat["ratings"].sum())
    with right:
        target_parts.caption(
            data.standings(period, filters, {"csat": csat["satisfied"].sum() / ratings if ratings else None}).get(
                "csat"
            ),
            with_value=True,
        )
    right.dataframe(
        csat.assign(
            value=[
                tr(f"sla.state.{v}")
                if csat_by == "sla"
                else (label("category", v, current) if csat_by == "category" else str(v))
                for v in csat["value"]
            ],
            csat=csat["csat"] * 100,
        ),
        hide_index=True,
        column_config={
            "value": tr(f"voice.csat_dim.{csat_by}"),
            "ratings": "n",
            "satisfied": tr("voice.satisfied"),
            "average": st.column_config.NumberColumn(tr("voice.average"), format="%.2f"),
            "csat": st.column_config.NumberColumn("CSAT", format="%.1f%%"),
            "small_sample": tr("voice.small"),
        },
    )


def comments() -> None:
    """What people wrote: the comments, the detractors' words and the complaints' words."""
    left, right = st.columns([2, 1])
    text = left.text_input(tr("voice.search"), key="voice_text")
    wanted = right.multiselect(
        tr("voice.categories"),
        ("promoter", "passive", "detractor"),
        key="voice_cat",
        placeholder=tr("common.all"),
        format_func=lambda c: tr(f"nps.{c}"),
    )
    found = data.figures(
        voice.comments, viewer, filters=filters, start=start, end=end, text=text, categories=tuple(wanted)
    )
    st.dataframe(
        found.assign(
            category=[tr(f"nps.{c}") for c in found["category"]],
            touchpoint=[label("touchpoint", v, current) for v in found["touchpoint"]],
        ).head(500),
        hide_index=True,
        column_config={
            "responded_at": st.column_config.DatetimeColumn(tr("timeline.at"), format="YYYY-MM-DD"),
            "score": tr("form.score"),
            "category": tr("voice.category"),
            "touchpoint": tr("form.touchpoint"),
            "comment": tr("form.comment"),
            "customer_id": None,
        },
    )
    left, right = st.columns(2)
    keyword_columns = {c: tr(f"voice.{c}") for c in ("keyword", "count", "previous", "change")}
    keywords = data.figures(voice.detractor_keywords, viewer, filters=filters, start=start, end=end)
    left.subheader(tr("voice.keywords"))
    left.dataframe(keywords, hide_index=True, column_config=keyword_columns)
    with right:
        st.subheader(tr("voice.complaint_keywords"), help=tr("voice.complaint_keywords.help"))
        complaint_category = st.selectbox(
            tr("voice.category"),
            [None, *m.TICKET_CATEGORIES],
            format_func=lambda c: tr("voice.all_categories") if c is None else label("category", c, current),
            key="complaint_category",
        )
        st.dataframe(
            data.figures(
                voice.complaint_keywords, viewer, filters=filters, start=start, end=end, category=complaint_category
            ),
            hide_index=True,
            column_config={**keyword_columns, "count": tr("voice.complaint_count")},
        )


def closed_loop() -> None:
    """Detractors followed up, in time, and what they scored next."""
    loop = data.figures(voice.closed_loop, viewer, start=start, end=end)
    left, right = st.columns(2)
    left.metric(
        tr("voice.loop.follow_ups"),
        f"{int(loop['follow_ups'] or 0):,}",
        border=True,
        delta=tr("voice.loop.in_time", share=f"{loop['in_time_share']:.0%}")
        if loop["in_time_share"] is not None
        else None,
        delta_color="off",
        delta_arrow="off",
    )
    right.metric(
        tr("voice.loop.next_score"),
        f"{loop['next_score_avg']:.1f}" if loop["next_score_avg"] is not None else "—",
        border=True,
        delta=tr("voice.loop.next_n", n=int(loop["next_score_n"] or 0)),
        delta_color="off",
        delta_arrow="off",
    )
    st.caption(tr("voice.loop.help"))


SECTIONS = {"scores": scores, "comments": comments, "loop": closed_loop}  # each computed only while open
shown = sections(list(SECTIONS), key="voice_section", label=lambda name: tr(f"voice.section.{name}"))
for name, draw in SECTIONS.items():
    if shown.shows(name):
        with shown.tabs[name]:
            draw()
