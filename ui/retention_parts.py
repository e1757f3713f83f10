"""Retention actions as the 360° view and the early-warning page draw them: planning one (for a customer or a
selection), working through its playbook, and the effect measured against the holdout."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from core import access, clock, formatting
from core.access import Viewer
from core.churn import retention
from core.errors import CrmError, FieldErrors
from core.periods import Filters
from ui import data
from ui.context import lang, reason, tr
from ui.forms import Slots, submit, token


def _fields(key: str, slots: Slots, proposed: str) -> retention.ActionForm:
    kind = st.selectbox(
        tr("retention.kind"),
        retention.KINDS,
        key=f"r_kind_{key}",
        format_func=lambda k: tr(f"retention.kind.{k}"),
        help="\n\n".join(f"{tr(f'retention.kind.{k}')}: {playbook(k)}" for k in retention.KINDS),
    )
    slots("kind")
    why = st.selectbox(
        tr("retention.reason"),
        retention.REASONS,
        index=retention.REASONS.index(proposed),
        key=f"r_reason_{key}",
        format_func=lambda r: tr(f"churn.group.{r}") if r != "other" else tr("retention.reason.other"),
    )
    slots("reason")
    due = st.date_input(tr("retention.due"), value=clock.today() + timedelta(days=7), key=f"r_due_{key}")
    slots("due_date")
    note = st.text_input(tr("retention.note"), key=f"r_note_{key}", max_chars=retention.NOTE_MAX)
    slots("note")
    return retention.ActionForm(kind, why, due if isinstance(due, date) else None, note)


def playbook(kind: str) -> str:
    """The playbook's steps of one kind of action, in order."""
    return " → ".join(tr(f"retention.step.{kind}.{n}") for n in range(1, retention.PLAYBOOK_STEPS[kind] + 1))


def plan_form(viewer: Viewer, customer_id: int, *, proposed: str) -> None:
    """Plan one action for this customer (the reason proposed is the strongest driver raising the risk)."""
    if not access.allowed(viewer, "write:retention"):
        return
    if data.read(lambda session, _viewer: retention.held_out(session, customer_id), viewer):
        st.info(tr("retention.held_out_note"), icon=":material/science:")
        return
    key, slots = token("retention"), Slots()
    with st.expander(tr("retention.plan"), icon=":material/support:"), st.form(f"retention_{key}"):
        slots.top()
        form = _fields(key, slots, proposed)
        if st.form_submit_button(tr("retention.save"), type="primary"):
            submit(
                "retention",
                slots,
                lambda _t: data.write(retention.create_action, viewer, customer_id, form),
                done=tr("retention.saved"),
            )


def customer_actions(viewer: Viewer, customer_id: int) -> None:
    """This customer's retention actions; an open one can be moved through its playbook and closed."""
    found = data.read(
        lambda session, v: retention.actions(session, Filters(), viewer=v, customer_id=customer_id), viewer
    )
    if found.empty:
        return
    st.markdown(f"**{tr('retention.title')}**")
    st.dataframe(_table(found), hide_index=True, column_config=_columns())
    if not access.allowed(viewer, "write:retention"):
        return
    for row in found[found["status"] == "open"].itertuples():
        steps = retention.PLAYBOOK_STEPS[row.kind]
        with st.expander(tr("retention.work", kind=tr(f"retention.kind.{row.kind}"), due=row.due_date)):
            with st.form(f"retention_update_{row.id}"):
                slots = Slots()
                slots.top()
                done = st.slider(tr("retention.steps_done"), 0, steps, int(row.steps_done), key=f"r_steps_{row.id}")
                for n in range(1, steps + 1):
                    st.text(("☑ " if n <= done else "☐ ") + tr(f"retention.step.{row.kind}.{n}"))
                status = st.selectbox(
                    tr("retention.status"),
                    retention.STATUSES,
                    key=f"r_status_{row.id}",
                    format_func=lambda s: tr(f"retention.status.{s}"),
                )
                outcome = st.selectbox(
                    tr("retention.outcome"),
                    [None, *retention.OUTCOMES],
                    key=f"r_outcome_{row.id}",
                    format_func=lambda o: tr("common.none") if o is None else tr(f"retention.outcome.{o}"),
                )
                slots("outcome")
                if st.form_submit_button(tr("retention.update")):
                    submit(
                        f"retention_update_{row.id}",
                        slots,
                        lambda _t, i=int(row.id), d=int(done), s=status, o=outcome: data.write(
                            retention.update_action, viewer, i, steps_done=d, status=s, outcome=o
                        ),
                        done=tr("retention.updated"),
                    )


def _table(found: pd.DataFrame) -> pd.DataFrame:
    return found.assign(
        kind=[tr(f"retention.kind.{k}") for k in found["kind"]],
        reason=[tr(f"churn.group.{r}") if r != "other" else tr("retention.reason.other") for r in found["reason"]],
        status=[tr(f"retention.status.{s}") for s in found["status"]],
        outcome=[tr(f"retention.outcome.{o}") if o else "" for o in found["outcome"]],
        steps=[f"{d}/{retention.PLAYBOOK_STEPS[k]}" for d, k in zip(found["steps_done"], found["kind"])],
        note=[n or "" for n in found["note"]],
    )[["code", "name", "kind", "reason", "owner", "due_date", "steps", "status", "outcome", "note"]]


def _columns() -> dict[str, object]:
    return {
        "code": tr("column.code"),
        "name": tr("column.name"),
        "kind": tr("retention.kind"),
        "reason": tr("retention.reason"),
        "owner": tr("column.owner"),
        "due_date": st.column_config.DateColumn(tr("retention.due")),
        "steps": tr("retention.steps_done"),
        "status": tr("retention.status"),
        "outcome": tr("retention.outcome"),
        "note": st.column_config.TextColumn(tr("retention.note")),
    }


def selection_form(viewer: Viewer, rows: pd.DataFrame) -> None:
    """The same action for several customers of the list's page (held-out customers and open duplicates are
    skipped and counted)."""
    if not access.allowed(viewer, "write:retention") or rows.empty:
        return
    codes = dict(zip(rows["code"], (int(i) for i in rows["customer_id"])))
    key, slots = token("retention_bulk"), Slots()
    with st.expander(tr("retention.plan_selection"), icon=":material/support:"), st.form(f"retention_bulk_{key}"):
        slots.top()
        picked = st.multiselect(tr("retention.customers"), list(codes), key=f"r_codes_{key}")
        form = _fields(key, slots, "other")
        if st.form_submit_button(tr("retention.save"), type="primary"):
            try:
                batch = data.write(retention.create_for_selection, viewer, [codes[c] for c in picked], form)
            except FieldErrors as err:
                slots.show(err.errors)
            except CrmError as err:
                st.error(tr("form.refused", reason=reason(err)))
            else:
                st.session_state["token_retention_bulk"] = uuid.uuid4().hex
                st.session_state["flash"] = tr(
                    "retention.saved_selection", n=batch.created, held_out=batch.held_out, already=batch.already_open
                )
                st.rerun()


def effect_panel(viewer: Viewer, filters: Filters) -> None:
    """Treated, untreated and held-out warned customers: churn since the warning with its interval, revenue
    per customer since then, and the difference the actions made."""
    current = lang()
    found = data.read(lambda session, v: retention.effect(session, filters, viewer=v), viewer)
    arms = {"treated": found.treated, "untreated": found.untreated, "held_out": found.held_out}
    table = pd.DataFrame(
        [
            {
                "arm": tr(f"retention.arm.{name}"),
                "customers": arm.customers,
                "churned": arm.churned,
                "rate": "—" if arm.churn_rate is None else f"{arm.churn_rate:.1%}",
                "interval": "—" if arm.interval is None else f"{arm.interval[0]:.1%} – {arm.interval[1]:.1%}",
                "revenue": formatting.money(arm.revenue_per_customer, current),
            }
            for name, arm in arms.items()
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "arm": tr("retention.arm"),
            "customers": tr("retention.col.customers"),
            "churned": tr("retention.col.churned"),
            "rate": tr("retention.col.rate"),
            "interval": tr("retention.col.interval"),
            "revenue": tr("retention.col.revenue"),
        },
    )
    difference = found.difference()
    if difference is None:
        st.caption(tr("retention.effect_pending"))
    else:
        points, low, high = (f"{value * 100:+.1f}".replace("-", "−") for value in difference)
        verdict = "lower" if difference[1] > 0 else "higher" if difference[2] < 0 else "unclear"
        st.markdown(tr("retention.effect", points=points, low=low, high=high))
        st.caption(tr(f"retention.verdict.{verdict}"))
    st.caption(tr("retention.effect_method"))


def open_actions(viewer: Viewer, filters: Filters) -> None:
    """The open retention actions in the viewer's scope, soonest due first."""
    found = data.read(lambda session, v: retention.actions(session, filters, viewer=v, open_only=True), viewer)
    st.subheader(tr("retention.open"))
    if found.empty:
        st.caption(tr("retention.none_open"))
        return
    st.dataframe(_table(found.sort_values("due_date")), hide_index=True, column_config=_columns())
