"""Loyalty programme: members, points liability, redemption, the level distribution, members' repurchase against
comparable non-members with its interval, and the programme's rules (edited by administrators, versioned)."""

import pandas as pd
import streamlit as st

from core import access, charts, formatting, loyalty
from core.errors import CrmError, FieldErrors
from core.i18n import label
from ui import data
from ui.context import lang, page_guard, reason, tr
from ui.forms import Slots, flash

viewer = page_guard("loyalty")
current = lang()
st.title(tr("loyalty.title"))
flash()
figures = data.figures(loyalty.overview, viewer)
programme = data.loyalty_programme()
if figures is None or programme is None:
    st.info(tr("loyalty.none"))
else:
    st.caption(tr("loyalty.caption", version=programme.version, since=f"{programme.valid_from:%Y-%m-%d}"))
    cards = st.columns(5)
    cards[0].metric(
        tr("loyalty.members"),
        f"{figures.members:,}",
        border=True,
        delta=tr("loyalty.of_active", share=f"{figures.members / figures.customers:.0%}")
        if figures.customers
        else None,
        delta_color="off",
        delta_arrow="off",
    )
    cards[1].metric(
        tr("loyalty.liability"),
        formatting.money(figures.liability_yuan, current),
        border=True,
        help=tr("loyalty.liability.help", value=programme.yuan_per_point),
        delta=tr("loyalty.points", n=f"{figures.liability_points:,}"),
        delta_color="off",
        delta_arrow="off",
    )
    cards[2].metric(tr("loyalty.earned_12m"), f"{figures.earned_12m:,}", border=True)
    cards[3].metric(
        tr("loyalty.redemption_rate"),
        f"{figures.redemption_rate:.1%}" if figures.redemption_rate is not None else "—",
        border=True,
        help=tr("loyalty.redemption_rate.help"),
        delta=tr("loyalty.points", n=f"{figures.redeemed_12m:,}"),
        delta_color="off",
        delta_arrow="off",
    )
    cards[4].metric(tr("loyalty.expired_12m"), f"{figures.expired_12m:,}", border=True)
    left, right = st.columns(2)
    left.plotly_chart(charts.loyalty_levels(figures.levels, current), key="loyalty_levels")
    with right:
        st.markdown(f"**{tr('loyalty.compare')}**")
        compared = data.figures(loyalty.compare_repurchase, viewer)
        if compared.difference is None:
            st.info(tr("loyalty.compare.none"))
        else:
            st.metric(
                tr("loyalty.compare.difference"),
                f"{100 * compared.difference:+.1f} {tr('unit.pp')}",
                border=True,
                delta=tr(
                    "loyalty.compare.interval",
                    low=f"{100 * (compared.low or 0):+.1f}",
                    high=f"{100 * (compared.high or 0):+.1f}",
                ),
                delta_color="off",
                delta_arrow="off",
                help=tr("loyalty.compare.help"),
            )
            st.caption(
                tr(
                    "loyalty.compare.rates",
                    members=f"{compared.member_rate:.1%}",
                    others=f"{compared.non_member_rate:.1%}",
                    n=f"{compared.members:,}",
                    m=f"{compared.non_members:,}",
                )
            )
            with st.expander(tr("loyalty.compare.strata")):
                st.dataframe(
                    compared.strata.assign(tier=[label("tier", t, current) for t in compared.strata["tier"]]),
                    hide_index=True,
                    column_config={
                        "tier": tr("list.col.tier"),
                        "tenure": tr("loyalty.col.tenure"),
                        "members": tr("loyalty.members"),
                        "member_rate": st.column_config.NumberColumn(tr("loyalty.col.member_rate"), format="%.3f"),
                        "non_members": tr("loyalty.col.non_members"),
                        "non_member_rate": st.column_config.NumberColumn(
                            tr("loyalty.col.non_member_rate"), format="%.3f"
                        ),
                    },
                )

    st.subheader(tr("loyalty.rules"))
    st.dataframe(
        pd.DataFrame(
            {
                "level": [lv.name for lv in programme.levels],
                "threshold": [lv.threshold for lv in programme.levels],
                "benefit": [lv.benefit for lv in programme.levels],
            }
        ),
        hide_index=True,
        column_config={
            "level": tr("loyalty.level"),
            "threshold": tr("loyalty.col.threshold"),
            "benefit": tr("loyalty.col.benefit"),
        },
    )
    st.caption(
        tr(
            "loyalty.rules_text",
            per_yuan=programme.points_per_yuan,
            referral=programme.action_points.get("referral", 0),
            review=programme.action_points.get("review", 0),
            survey=programme.action_points.get("survey", 0),
            months=programme.expiry_months or "—",
            value=programme.yuan_per_point,
        )
    )

if access.allowed(viewer, "loyalty:programme"):
    with st.expander(tr("loyalty.edit"), expanded=programme is None):
        base = programme or loyalty.programme_from(loyalty.DEFAULT)
        with st.form(f"programme_{st.session_state.get('programme_form', 0)}"):
            slots = Slots()
            slots.top()
            a, b, c = st.columns(3)
            per_yuan = a.number_input(
                tr("loyalty.per_yuan"), min_value=0.0, value=float(base.points_per_yuan), step=0.1
            )
            with a:
                slots("points_per_yuan")
            months = b.number_input(
                tr("loyalty.expiry"),
                min_value=0,
                value=int(base.expiry_months or 0),
                step=1,
                help=tr("loyalty.expiry.help"),
            )
            with b:
                slots("expiry_months")
            worth = c.number_input(
                tr("loyalty.worth"), min_value=0.0, value=float(base.yuan_per_point), step=0.01, format="%.3f"
            )
            with c:
                slots("yuan_per_point")
            points = {}
            for column, action in zip(st.columns(3), loyalty.ACTIONS):
                points[action] = column.number_input(
                    tr("loyalty.action_points", action=tr(f"loyalty.source.{action}")),
                    min_value=0,
                    value=int(base.action_points.get(action, 0)),
                    step=10,
                )
                with column:
                    slots(f"points_{action}")
            st.caption(tr("loyalty.levels.help"))
            edited = st.data_editor(
                pd.DataFrame(
                    {
                        "name": [lv.name for lv in base.levels],
                        "threshold": [lv.threshold for lv in base.levels],
                        "benefit": [lv.benefit for lv in base.levels],
                    }
                ),
                num_rows="dynamic",
                hide_index=True,
                key="programme_levels",
                column_config={
                    "name": tr("loyalty.level"),
                    "threshold": st.column_config.NumberColumn(tr("loyalty.col.threshold"), min_value=0, step=1),
                    "benefit": tr("loyalty.col.benefit"),
                },
            )
            slots("levels")
            if st.form_submit_button(tr("loyalty.save"), type="primary"):
                change = loyalty.ProgrammeChange(
                    points_per_yuan=per_yuan,
                    action_points={k: int(v) for k, v in points.items()},
                    levels=[
                        (str(r.name or ""), None if pd.isna(r.threshold) else int(r.threshold), str(r.benefit or ""))
                        for r in edited.itertuples()
                    ],
                    expiry_months=int(months) or None,
                    yuan_per_point=worth,
                )
                try:
                    version = data.write(loyalty.set_programme, viewer, change)
                except FieldErrors as err:
                    slots.show(err.errors)
                except CrmError as err:
                    st.error(tr("form.refused", reason=reason(err)))
                else:
                    st.session_state["programme_form"] = st.session_state.get("programme_form", 0) + 1
                    st.session_state["flash"] = tr("loyalty.saved", version=version)
                    st.rerun()
