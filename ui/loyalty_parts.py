"""The 360° view's loyalty block: level, balance, what is left to the next level, the latest ledger rows, and
the forms staff use there (enrol, redeem, award an action; an administrator's adjustment)."""

from __future__ import annotations

import streamlit as st

from core import access, clock, formatting, loyalty
from core.access import Viewer
from core.errors import CrmError, FieldErrors
from ui import data
from ui.context import lang, reason, tr
from ui.forms import Slots


def _done(message: str) -> None:
    st.session_state["flash"] = message
    st.rerun()


def loyalty_panel(viewer: Viewer, customer_id: int) -> None:
    """Nothing without a programme; a join button for a customer who is not a member (staff who may enrol)."""
    current = lang()
    found = data.read(loyalty.membership, viewer, customer_id)
    if found is None:
        if data.loyalty_programme() is None:
            return
        if access.allowed(viewer, "loyalty:enrol") and st.button(tr("loyalty.enrol"), key=f"enrol_{customer_id}"):
            try:
                data.write(loyalty.enrol, viewer, customer_id)
            except CrmError as err:
                st.error(tr("form.refused", reason=reason(err)))
            else:
                _done(tr("loyalty.enrolled"))
        return
    st.subheader(tr("loyalty.member_title"))
    cells = st.columns(3)
    cells[0].metric(tr("loyalty.level"), found.level, border=True, help=tr("loyalty.level.help"))
    cells[1].metric(tr("loyalty.balance"), f"{found.balance:,}", border=True)
    cells[2].metric(
        tr("loyalty.to_next"),
        f"{found.to_next:,}" if found.to_next is not None else "—",
        border=True,
        delta=tr("loyalty.next", level=found.next_level) if found.next_level else tr("loyalty.top"),
        delta_color="off",
        delta_arrow="off",
    )
    st.caption(tr("loyalty.joined", day=f"{found.joined_at:%Y-%m-%d}", earned=f"{found.earned_12m:,}"))
    with st.expander(tr("loyalty.ledger")):
        st.dataframe(
            found.ledger.assign(
                kind=[tr(f"loyalty.kind.{k}") for k in found.ledger["kind"]],
                source=[tr(f"loyalty.source.{k}") for k in found.ledger["source"]],
            ),
            hide_index=True,
            column_config={
                "at": st.column_config.DatetimeColumn(tr("timeline.at"), format="YYYY-MM-DD HH:mm"),
                "kind": tr("loyalty.col.kind"),
                "source": tr("loyalty.col.source"),
                "points": st.column_config.NumberColumn(tr("loyalty.col.points"), format="%+d"),
                "reason": tr("loyalty.col.reason"),
                "expires_at": st.column_config.DatetimeColumn(tr("loyalty.col.expires"), format="YYYY-MM-DD"),
            },
        )
    left, middle, right = st.columns(3)
    if access.allowed(viewer, "loyalty:redeem"):
        with left, st.form(f"redeem_{customer_id}_{st.session_state.get('redeem_form', 0)}"):
            st.markdown(f"**{tr('loyalty.redeem')}**")
            slots = Slots()
            slots.top()
            points = st.number_input(tr("loyalty.col.points"), min_value=0, step=100, value=None)
            slots("points")
            why = st.text_input(tr("loyalty.col.reason"), max_chars=200, placeholder=tr("loyalty.redeem.placeholder"))
            slots("reason")
            if st.form_submit_button(tr("loyalty.redeem")):
                _write(
                    slots,
                    loyalty.redeem,
                    viewer,
                    customer_id,
                    points,
                    why,
                    "redeem_form",
                    tr("loyalty.redeemed", points=f"{int(points or 0):,}"),
                )
    if access.allowed(viewer, "loyalty:enrol"):
        with middle, st.form(f"award_{customer_id}"):
            st.markdown(f"**{tr('loyalty.award')}**")
            action = st.selectbox(
                tr("loyalty.action"), ("referral", "review"), format_func=lambda a: tr(f"loyalty.source.{a}")
            )
            if st.form_submit_button(tr("loyalty.award")):
                try:
                    given = data.write(
                        lambda s, v: loyalty.award(s, v, customer_id, str(action), at=clock.now()), viewer
                    )
                except CrmError as err:
                    st.error(tr("form.refused", reason=reason(err)))
                else:
                    _done(tr("loyalty.awarded", points=f"{given:,}"))
    if access.allowed(viewer, "loyalty:adjust"):
        with right, st.form(f"adjust_{customer_id}_{st.session_state.get('adjust_form', 0)}"):
            st.markdown(f"**{tr('loyalty.adjust')}**")
            slots = Slots()
            slots.top()
            points = st.number_input(tr("loyalty.col.points"), step=100, value=None, key=f"adjust_points_{customer_id}")
            slots("points")
            why = st.text_input(tr("loyalty.col.reason"), max_chars=200, key=f"adjust_reason_{customer_id}")
            slots("reason")
            if st.form_submit_button(tr("loyalty.adjust")):
                _write(
                    slots,
                    loyalty.adjust,
                    viewer,
                    customer_id,
                    points,
                    why,
                    "adjust_form",
                    tr("loyalty.adjusted", points=formatting.value(float(points or 0), "count", current)),
                )


def _write(slots: Slots, function, viewer: Viewer, customer_id: int, points, why, form: str, done: str) -> None:  # type: ignore[no-untyped-def]
    try:
        data.write(function, viewer, customer_id, None if points is None else int(points), reason=why)
    except FieldErrors as err:
        slots.show(err.errors)
    except CrmError as err:
        st.error(tr("form.refused", reason=reason(err)))
    else:
        st.session_state[form] = st.session_state.get(form, 0) + 1
        _done(done)
