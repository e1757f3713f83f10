"""The 360° view's forms: log an interaction, open a ticket, record an NPS answer, edit the profile.

Thin: each reads its widgets, hands a core form object to core (which validates, checks scope and
writes in one transaction) and shows core's field messages under the fields.
"""

from __future__ import annotations

from datetime import date, datetime, time

import streamlit as st

from core import access, activity, clock, models as m
from core.access import Viewer
from core.customers import CustomerProfile
from core.i18n import label
from ui import data
from ui.context import keyring, lang, tr
from ui.forms import Slots, confirm_duplicates, submit, token

# The widgets take any date or number; core refuses what is out of range with a message under the field.
# (A bound on the widget itself makes the browser drop the typed value silently.)
ANY_DATE = {"min_value": date(1900, 1, 1), "max_value": date(2999, 12, 31)}


def _when(prefix: str, key: str, slots: Slots) -> datetime:
    left, right = st.columns(2)
    day = left.date_input(tr(f"{prefix}.date"), value=clock.today(), key=f"{key}_day", format="YYYY-MM-DD", **ANY_DATE)
    moment = right.time_input(
        tr(f"{prefix}.time"), value=clock.now().time().replace(second=0, microsecond=0), key=f"{key}_time", step=300
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


def new_customer_form(viewer: Viewer) -> None:
    """A customer typed in by hand: checked field by field like an import; a possible duplicate is shown
    first and saved only when the user says it is another customer."""
    from core import customer_changes as cc

    current, key, slots = lang(), token("new_customer"), Slots()
    owners = data.read(cc.account_managers, viewer) if access.allowed(viewer, "customers:hand_over") else {}
    with st.form(f"new_customer_{key}"):
        slots.top()
        name = st.text_input(tr("customer_form.name"), key=f"n_name_{key}", max_chars=200)
        slots("name")
        left, middle, right = st.columns(3)
        choices = {}
        for column, field, codes, group in (
            (left, "kind", m.CUSTOMER_KINDS, "kind"),
            (middle, "industry", m.INDUSTRIES, "industry"),
            (right, "region", m.REGIONS, "region"),
            (left, "acquisition_channel", m.ACQUISITION_CHANNELS, "acquisition"),
            (middle, "company_size", m.COMPANY_SIZES, "size"),
        ):
            with column:
                choices[field] = st.selectbox(
                    tr(f"import.field.{field}"),
                    codes,
                    index=None,
                    placeholder=tr("customer_form.choose"),
                    key=f"n_{field}_{key}",
                    format_func=lambda c, g=group: label(g, c, current),
                )
                slots(field)
        with right:
            city = st.text_input(tr("import.field.city"), key=f"n_city_{key}", max_chars=64)
            slots("city")
        left, right = st.columns(2)
        phone = left.text_input(tr("import.field.phone"), key=f"n_phone_{key}", max_chars=40)
        with left:
            slots("phone")
        email = right.text_input(tr("import.field.email"), key=f"n_email_{key}", max_chars=200)
        with right:
            slots("email")
        left, right = st.columns(2)
        first = left.date_input(
            tr("import.field.first_contact_date"), value=None, key=f"n_first_{key}", format="YYYY-MM-DD", **ANY_DATE
        )
        with left:
            slots("first_contact_date")
        became = right.date_input(
            tr("import.field.became_customer_date"),
            value=None,
            key=f"n_became_{key}",
            format="YYYY-MM-DD",
            help=tr("customer_form.became.help"),
            **ANY_DATE,
        )
        with right:
            slots("became_customer_date")
        owner = None
        if owners:
            owner = st.selectbox(
                tr("import.field.owner"),
                list(owners),
                index=None,
                key=f"n_owner_{key}",
                format_func=lambda i: owners[i],
                placeholder=tr("customer_form.no_owner"),
            )
            slots("owner_id")
        tags = st.text_input(tr("import.field.tags"), key=f"n_tags_{key}", max_chars=200)
        slots("tags")
        confirmed = confirm_duplicates(st.session_state.get(f"n_duplicates_{key}"), key=f"n_confirm_{key}")
        if st.form_submit_button(tr("customer_form.submit"), type="primary"):
            form = cc.CustomerForm(
                name,
                choices["kind"],
                choices["industry"],
                choices["region"],
                choices["acquisition_channel"],
                first,
                became,
                city or None,
                choices["company_size"],
                phone or None,
                email or None,
                tags or None,
                owner,
            )

            def save(_token: str) -> int:
                try:
                    return data.write(cc.create_customer, viewer, form, keyring=keyring(), confirmed=confirmed)
                except cc.PossibleDuplicate as err:  # shown above the button on the next run
                    st.session_state[f"n_duplicates_{key}"] = err.matches
                    st.rerun()

            new_id = submit("new_customer", slots, save, done=tr("customer_form.saved", name=name.strip()))
            if new_id:
                st.session_state.pop(f"n_duplicates_{key}", None)


def hand_over_form(viewer: Viewer, customer_ids: list[int], *, key: str) -> None:
    """Move these customers (one, or the filtered list) to another account manager, with a reason."""
    from core import customer_changes as cc

    slots = Slots()
    owners = data.read(cc.account_managers, viewer)
    with st.form(f"hand_over_{key}"):
        slots.top()
        to = st.selectbox(
            tr("handover.to"),
            list(owners),
            index=None,
            format_func=lambda i: owners[i],
            placeholder=tr("customer_form.choose"),
            key=f"h_to_{key}",
        )
        slots("to_owner_id")
        why = st.text_input(tr("handover.reason"), max_chars=500, key=f"h_reason_{key}")
        slots("reason")
        if st.form_submit_button(tr("handover.submit", n=f"{len(customer_ids):,}"), type="primary"):
            submit(
                f"hand_over_{key}",
                slots,
                lambda _token: data.write(cc.hand_over, viewer, customer_ids, to_owner_id=to if to else -1, reason=why),
                done=tr("handover.done", n=f"{len(customer_ids):,}", name=owners.get(to or -1, "")),
            )


def dimensions_form(viewer: Viewer, profile: CustomerProfile) -> None:
    """An administrator corrects region, industry or type (the summaries are restated from its first day)."""
    from core import customer_changes as cc

    current, slots, key = lang(), Slots(), f"dims_{profile.id}"
    with st.form(key):
        slots.top()
        columns = st.columns(3)
        chosen = {}
        for column, (name, group) in zip(columns, (("region", "region"), ("industry", "industry"), ("kind", "kind"))):
            codes = cc.DIMENSIONS[name]
            with column:
                chosen[name] = st.selectbox(
                    tr(f"import.field.{name}"),
                    codes,
                    index=codes.index(getattr(profile, name)),
                    format_func=lambda c, g=group: label(g, c, current),
                    key=f"{key}_{name}",
                )
                slots(name)
        why = st.text_input(tr("handover.reason"), max_chars=500, key=f"{key}_reason")
        slots("reason")
        if st.form_submit_button(tr("dimensions.submit")):
            submit(
                key,
                slots,
                lambda _token: data.write(cc.change_dimensions, viewer, profile.id, reason=why, **chosen),
                done=tr("dimensions.done"),
            )


def ticket_note_form(viewer: Viewer, tickets: list[int]) -> None:
    """An internal note on one of the customer's open tickets, for the agent working it (kept in its history)."""
    if not tickets or not access.allowed(viewer, "write:ticket"):
        return
    from core import service

    key, slots = token("ticket_note"), Slots()
    with st.form(f"ticket_note_{key}"):
        slots.top()
        left, right = st.columns([1, 3])
        ticket = left.selectbox(tr("ticket.note.ticket"), tickets, format_func=lambda t: f"#{t}", key=f"tn_t_{key}")
        note = right.text_input(tr("ticket.note.text"), max_chars=200, key=f"tn_text_{key}")
        slots("note")
        if st.form_submit_button(tr("ticket.note.submit")):
            submit(
                "ticket_note",
                slots,
                lambda _token: data.write(service.add_note, viewer, int(ticket), note),
                done=tr("ticket.note.saved", ticket=ticket),
            )
