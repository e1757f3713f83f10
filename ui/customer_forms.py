"""The 360° view's forms: log an interaction, open a ticket, record an NPS answer, edit the profile.

Thin: each reads its widgets, hands a core form object to core (which validates, checks scope and
writes in one transaction) and shows core's field messages under the fields.
"""

from __future__ import annotations

from datetime import date, datetime, time

import streamlit as st

from core import activity, models as m
from core.access import Viewer
from core.customers import CustomerProfile
from core.i18n import label
from ui import data
from ui.context import keyring, lang, tr
from ui.forms import Slots, submit, token

# The widgets take any date or number; core refuses what is out of range with a message under the field.
# (A bound on the widget itself makes the browser drop the typed value silently.)
ANY_DATE = {"min_value": date(1900, 1, 1), "max_value": date(2999, 12, 31)}


def _when(prefix: str, key: str, slots: Slots) -> datetime:
    left, right = st.columns(2)
    day = left.date_input(tr(f"{prefix}.date"), value=date.today(), key=f"{key}_day", format="YYYY-MM-DD", **ANY_DATE)
    moment = right.time_input(
        tr(f"{prefix}.time"), value=datetime.now().time().replace(second=0, microsecond=0), key=f"{key}_time", step=300
    )
    slots(key.rsplit("_", 1)[0])
    return datetime.combine(day, moment or time())


def interaction_form(viewer: Viewer, profile: CustomerProfile) -> None:
    current, key, slots = lang(), token("interaction"), Slots()
    with st.form(f"interaction_{key}"):
        slots.top()
        left, right = st.columns(2)
        channel = left.selectbox(
            tr("form.channel"),
            m.INTERACTION_CHANNELS,
            key=f"i_channel_{key}",
            format_func=lambda c: label("channel", c, current),
        )
        direction = right.selectbox(
            tr("form.direction"),
            m.INTERACTION_DIRECTIONS,
            key=f"i_direction_{key}",
            format_func=lambda c: label("direction", c, current),
        )
        slots("channel")
        occurred = _when("form.occurred", f"occurred_at_{key}", slots)
        subject = st.text_input(tr("form.subject"), key=f"i_subject_{key}", max_chars=200)
        slots("subject")
        notes = st.text_area(tr("form.notes"), key=f"i_notes_{key}")
        slots("notes")
        left, right = st.columns(2)
        outcome = left.selectbox(
            tr("form.outcome"),
            [None, *m.INTERACTION_OUTCOMES],
            key=f"i_outcome_{key}",
            format_func=lambda c: label("outcome", c, current) if c else tr("common.none"),
        )
        duration = right.number_input(tr("form.duration"), value=None, step=5, key=f"i_duration_{key}")
        slots("duration_minutes")
        follow_up = st.date_input(
            tr("form.follow_up"),
            value=None,
            key=f"i_follow_{key}",
            format="YYYY-MM-DD",
            help=tr("form.follow_up.help"),
            **ANY_DATE,
        )
        slots("follow_up")
        if st.form_submit_button(tr("form.interaction.submit"), type="primary"):
            form = activity.InteractionForm(
                profile.id,
                channel,
                direction,
                occurred,
                subject,
                notes,
                outcome,
                int(duration) if duration is not None else None,
                follow_up,
            )
            submit(
                "interaction",
                slots,
                lambda t: data.write(activity.log_interaction, viewer, form, token=t),
                done=tr("form.interaction.saved"),
            )


def ticket_form(viewer: Viewer, profile: CustomerProfile) -> None:
    current, key, slots = lang(), token("ticket"), Slots()
    with st.form(f"ticket_{key}"):
        slots.top()
        left, right = st.columns(2)
        kind = left.selectbox(
            tr("form.kind"), m.TICKET_KINDS, key=f"t_kind_{key}", format_func=lambda c: label("ticket_kind", c, current)
        )
        category = right.selectbox(
            tr("form.category"),
            m.TICKET_CATEGORIES,
            key=f"t_category_{key}",
            format_func=lambda c: label("category", c, current),
        )
        left, right = st.columns(2)
        priority = left.selectbox(
            tr("form.priority"),
            m.TICKET_PRIORITIES,
            index=2,
            key=f"t_priority_{key}",
            format_func=lambda c: label("priority", c, current),
        )
        channel = right.selectbox(
            tr("form.channel"),
            m.TICKET_CHANNELS,
            key=f"t_channel_{key}",
            format_func=lambda c: label("channel", c, current),
        )
        description = st.text_area(tr("form.description"), key=f"t_description_{key}")
        slots("description")
        st.caption(tr("form.ticket.sla_note"))
        if st.form_submit_button(tr("form.ticket.submit"), type="primary"):
            form = activity.TicketForm(profile.id, kind, category, priority, channel, description)
            submit(
                "ticket",
                slots,
                lambda t: data.write(activity.create_ticket, viewer, form, token=t),
                done=tr("form.ticket.saved"),
            )


def nps_form(viewer: Viewer, profile: CustomerProfile) -> None:
    current, key, slots = lang(), token("nps"), Slots()
    with st.form(f"nps_{key}"):
        slots.top()
        score = st.slider(tr("form.score"), 0, 10, value=8, key=f"n_score_{key}")
        slots("score")
        responded = _when("form.responded", f"responded_at_{key}", slots)
        touchpoint = st.selectbox(
            tr("form.touchpoint"),
            m.NPS_TOUCHPOINTS,
            key=f"n_touchpoint_{key}",
            format_func=lambda c: label("touchpoint", c, current),
        )
        comment = st.text_area(tr("form.comment"), key=f"n_comment_{key}")
        slots("comment")
        if st.form_submit_button(tr("form.nps.submit"), type="primary"):
            form = activity.NpsForm(profile.id, int(score), responded, touchpoint, comment)
            submit(
                "nps",
                slots,
                lambda t: data.write(activity.record_nps, viewer, form, token=t),
                done=tr("form.nps.saved"),
            )


def profile_form(viewer: Viewer, profile: CustomerProfile) -> None:
    """The editable fields as stored when the form opened; a concurrent edit is refused by core."""
    current, slots = lang(), Slots()
    seen_key = f"profile_seen_{profile.id}"
    if seen_key not in st.session_state:
        st.session_state[seen_key] = data.read(activity.current_profile, viewer, profile.id, keyring())
    seen: activity.ProfileForm = st.session_state[seen_key]
    key = token("profile")
    with st.form(f"profile_{key}"):
        slots.top()
        name = st.text_input(tr("form.name"), value=seen.name, key=f"p_name_{key}")
        slots("name")
        left, right = st.columns(2)
        city = left.text_input(tr("customer.field.city"), value=seen.city or "", key=f"p_city_{key}")
        sizes = [None, *m.COMPANY_SIZES]
        size = right.selectbox(
            tr("form.company_size"),
            sizes,
            index=sizes.index(seen.company_size) if seen.company_size in sizes else 0,
            key=f"p_size_{key}",
            format_func=lambda c: label("size", c, current) if c else tr("common.none"),
        )
        slots("city")
        tags = st.text_input(tr("form.tags"), value=seen.tags or "", key=f"p_tags_{key}", help=tr("form.tags.help"))
        slots("tags")
        left, right = st.columns(2)
        phone = left.text_input(tr("customer.field.phone"), value=seen.phone or "", key=f"p_phone_{key}")
        email = right.text_input(tr("customer.field.email"), value=seen.email or "", key=f"p_email_{key}")
        slots("phone")
        slots("email")
        if st.form_submit_button(tr("form.profile.submit"), type="primary"):
            form = activity.ProfileForm(profile.id, name, city, size, tags, phone, email)

            def save(_token: str) -> list[str]:
                changed = data.write(activity.update_profile, viewer, form, seen=seen, keyring=keyring())
                del st.session_state[seen_key]  # the next form opens on what is stored now
                return changed

            submit("profile", slots, save, done=tr("form.profile.saved"))
