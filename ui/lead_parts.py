"""The Growth page's leads section (core.funnel, core.leads): the funnel by period, source, campaign and owner
with its stage rates and times, the invalid leads by reason with the share the rules filtered, a stage's leads
(a click opens one to work it), the new-lead form and, for administrators, the screening rules."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core import access, charts, clock, formatting, funnel, leads, models as m
from core.access import Viewer
from core.customer_changes import PossibleDuplicate
from core.errors import CrmError, FieldErrors
from core.i18n import label
from ui import context, data
from ui.context import lang, reason, tr
from ui.forms import Slots, confirm_duplicates, saved
from ui.growth_parts import months_back, percent

RATES = ("contacted_rate", "qualified_of_contacted", "converted_of_qualified", "converted_rate", "invalid_share")
CHART_STAGES = ("created", "contacted", "qualified", "converted")
COSTS = ("cost_per_lead", "cost_per_converted")
DAYS = ("days_to_contact", "days_to_qualify", "days_to_convert", "days_to_disqualify")


def funnel_group_label(by: str, group: object, names: dict[object, str]) -> str:
    if by == "source":
        return label("acquisition", group, lang())
    if by == "month":
        return str(group)
    if by in ("owner", "campaign"):
        return names.get(group) or tr(f"growth.funnel.no_{by}") if group is not None else tr(f"growth.funnel.no_{by}")
    return tr("growth.funnel.all")


def _text(value: object) -> str:
    """A name or code, or a dash for none (a missing value may arrive as None or NaN)."""
    return value if isinstance(value, str) and value else "—"


def _days(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) and value == value else "—"


def _names(viewer: Viewer, by: str, groups: list[object]) -> dict[object, str]:
    if by == "owner":
        return data.read(lambda session, who, ids: funnel.owners(session, ids), viewer, groups)
    if by == "campaign":
        return data.read(lambda session, who, ids: funnel.campaign_names(session, ids), viewer, groups)
    return {}


def funnel_section(viewer: Viewer) -> None:
    if access.allowed(viewer, "leads:work"):
        with st.expander(tr("leads.new"), icon=":material/person_add:"):
            lead_form(viewer)
    a, b = st.columns(2)
    span = int(a.select_slider(tr("growth.funnel.months"), options=[3, 6, 12, 24], value=12, key="funnel_months"))
    by = (
        b.segmented_control(
            tr("growth.by"),
            list(funnel.GROUPS),
            default="none",
            format_func=lambda k: tr(f"growth.funnel.by.{k}"),
            key="funnel_by",
        )
        or "none"
    )
    end = clock.today().replace(day=1)
    start = months_back(end, span)
    st.caption(tr("growth.funnel.period", start=f"{start:%Y-%m-%d}", end=f"{end:%Y-%m-%d}"))
    table = data.figures(funnel.funnel, viewer, start=start, end=end, by=by)
    names = _names(viewer, by, list(table["group"]))
    if table.empty:
        st.info(tr("growth.funnel.empty"))
    else:
        _funnel_figures(table, by, names)
        _invalid_reasons(viewer, start=start, end=end)
        _stage_leads(viewer, table, by, names, start=start, end=end)
    if access.allowed(viewer, "leads:rules"):
        with st.expander(tr("leads.rules"), icon=":material/filter_alt:"):
            rules_form(viewer)


def _funnel_figures(table: pd.DataFrame, by: str, names: dict[object, str]) -> None:
    total = table[list(funnel.STAGES)].sum()
    event = st.plotly_chart(
        charts.lead_funnel(
            {stage: int(total[stage]) for stage in CHART_STAGES}, lang(), title=tr("growth.funnel.title")
        ),
        key="funnel_chart",
        on_select="rerun",
        selection_mode="points",
    )
    points = event.selection.points if event else []
    if points:  # a click on a stage lists its leads below (the list's stage box follows, and can be changed)
        index = points[0].get("point_index", points[0].get("point_number"))
        clicked = CHART_STAGES[int(index)] if isinstance(index, int) and 0 <= index < len(CHART_STAGES) else None
        if clicked and st.session_state.get("funnel_clicked") != clicked:
            st.session_state["funnel_clicked"] = clicked
            st.session_state["funnel_stage"] = clicked
    counts = ("created", "contacted", "qualified", "converted", "disqualified")
    costs = COSTS if by == "campaign" else ()
    money = lambda v: formatting.money(v, lang()) if v is not None and v == v else "—"  # noqa: E731
    st.dataframe(
        pd.DataFrame(
            {
                "group": [funnel_group_label(by, g, names) for g in table["group"]],
                **{k: [f"{n:,}" for n in table[k]] for k in counts},
                **{k: [percent(v) for v in table[k]] for k in (*RATES, "filtered_share")},
                **{k: [_days(v) for v in table[k]] for k in DAYS},
                **{k: [money(v) for v in table[k]] for k in costs},
            }
        ),
        hide_index=True,
        key="funnel_table",
        column_config={
            "group": tr(f"growth.funnel.by.{by}"),
            **{k: tr(f"growth.funnel.col.{k}") for k in (*counts, *RATES, "filtered_share", *DAYS, *costs)},
        },
    )
    st.caption(tr("growth.funnel.how"))
    if costs:
        st.caption(tr("growth.funnel.cost_note"))


def _invalid_reasons(viewer: Viewer, *, start: Any, end: Any) -> None:
    reasons = data.figures(funnel.invalid_reasons, viewer, start=start, end=end)
    if reasons.empty:
        return
    invalid, screened = int(reasons["leads"].sum()), int(reasons["screened"].sum())
    st.markdown(f"**{tr('leads.invalid.title')}**")
    st.caption(tr("leads.invalid.filtered", share=percent(screened / invalid if invalid else None), n=f"{invalid:,}"))
    st.dataframe(
        pd.DataFrame(
            {
                "reason": [tr(f"invalid_reason.{r}") for r in reasons["reason"]],
                "leads": [f"{n:,}" for n in reasons["leads"]],
                "screened": [f"{n:,}" for n in reasons["screened"]],
                "share_of_created": [percent(v) for v in reasons["share_of_created"]],
            }
        ),
        hide_index=True,
        key="invalid_reasons",
        column_config={k: tr(f"leads.invalid.col.{k}") for k in ("reason", "leads", "screened", "share_of_created")},
    )


def _stage_leads(
    viewer: Viewer, table: pd.DataFrame, by: str, names: dict[object, str], *, start: Any, end: Any
) -> None:
    current = lang()
    c, d = st.columns(2)
    stage = c.selectbox(
        tr("growth.funnel.stage"),
        list(funnel.STAGES),
        format_func=lambda k: tr(f"growth.funnel.stage.{k}"),
        key="funnel_stage",
    )
    groups: list[object] = [funnel.ALL, *table["group"]] if by != "none" else [funnel.ALL]
    index = d.selectbox(  # by position: None is a group of its own (the leads without a campaign or owner)
        tr(f"growth.funnel.by.{by}"),
        range(len(groups)),
        format_func=lambda i: tr("growth.funnel.all") if i == 0 else funnel_group_label(by, groups[i], names),
        key=f"funnel_group_{by}",
        disabled=by == "none",
    )
    picked = groups[index or 0] if (index or 0) < len(groups) else funnel.ALL
    listed = data.figures(funnel.stage_leads, viewer, start=start, end=end, stage=stage, by=by, group=picked)
    columns = (
        "number",
        "company",
        "source",
        "campaign",
        "owner",
        "created_at",
        "status",
        "decided_at",
        "customer_code",
    )
    chosen = st.dataframe(
        pd.DataFrame(
            {
                "number": [f"#{i}" for i in listed["id"]],
                "company": listed["company"],
                "source": [label("acquisition", v, current) for v in listed["source"]],
                "campaign": [_text(v) for v in listed["campaign"]],
                "owner": [_text(v) for v in listed["owner"]],
                "created_at": [f"{v:%Y-%m-%d}" for v in listed["created_at"]],
                "status": [
                    tr(f"growth.funnel.status.{s}")
                    + (f" · {tr(f'invalid_reason.{r}')}" if s == "disqualified" and r else "")
                    for s, r in zip(listed["status"], listed["invalid_reason"])
                ],
                "decided_at": [f"{v:%Y-%m-%d}" if v is not None and v == v else "—" for v in listed["decided_at"]],
                "customer_code": [_text(v) for v in listed["customer_code"]],
            }
        ),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="funnel_leads",
        column_config={k: tr(f"growth.funnel.lead.{k}") for k in columns},
    )
    st.caption(tr("growth.funnel.leads_note", n=len(listed)))
    typed = st.number_input(
        tr("leads.open"), min_value=1, step=1, value=None, key="lead_open", help=tr("leads.open.help")
    )
    rows = chosen.selection.rows if chosen else []
    if rows and rows[0] < len(listed):
        lead_panel(viewer, int(listed["id"].iloc[rows[0]]))
    elif typed is not None:
        lead_panel(viewer, int(typed))


# --- one lead -----------------------------------------------------------------------------------------


def _choice(name: str, options: list[Any], group: str, *, key: str, index: int | None = None) -> Any:
    return st.selectbox(
        tr(f"leads.field.{name}"),
        options,
        index=index,
        format_func=lambda v: label(group, v, lang()),
        placeholder=tr("customer_form.choose"),
        key=key,
    )


def lead_form(viewer: Viewer) -> None:
    """A lead typed in: the rules screen it as it is saved, and the page says what they found."""
    n = st.session_state.get("lead_form", 0)
    campaigns = data.read(lambda session, who: leads.campaigns_to_name(session), viewer)
    owners = data.read(_owners, viewer)
    with st.form(f"lead_form_{n}"):
        slots = Slots()
        slots.top()
        a, b = st.columns(2)
        company = a.text_input(tr("leads.field.company_name"), max_chars=200)
        with a:
            slots("company_name")
        contact = b.text_input(tr("leads.field.contact_name"), max_chars=100)
        with b:
            slots("contact_name")
        phone = a.text_input(tr("leads.field.phone"), max_chars=25)
        with a:
            slots("phone")
        email = b.text_input(tr("leads.field.email"), max_chars=200)
        with b:
            slots("email")
        choices: dict[str, Any] = {}
        for column, (name, codes, group) in zip(
            (a, b, a, b),
            (
                ("source_channel", m.ACQUISITION_CHANNELS, "acquisition"),
                ("kind", m.CUSTOMER_KINDS, "kind"),
                ("industry", m.INDUSTRIES, "industry"),
                ("region", m.REGIONS, "region"),
            ),
        ):
            with column:
                choices[name] = _choice(name, list(codes), group, key=f"lead_{name}_{n}")
                slots(name)
        campaign = a.selectbox(
            tr("leads.field.campaign"),
            list(campaigns),
            index=None,
            format_func=lambda i: campaigns[i],
            placeholder=tr("leads.no_campaign"),
        )
        owner = None
        if owners:
            owner = b.selectbox(
                tr("leads.field.owner"),
                list(owners),
                index=None,
                format_func=lambda i: owners[i],
                placeholder=tr("customer_form.no_owner"),
            )
            with b:
                slots("owner_id")
        if not st.form_submit_button(tr("leads.save"), type="primary"):
            return
    form = leads.LeadForm(
        company,
        choices["source_channel"],
        choices["kind"],
        choices["industry"],
        choices["region"],
        contact or None,
        phone or None,
        email or None,
        campaign,
        owner,
    )
    saved(
        lambda: data.write(leads.create_lead, viewer, form, keyring=context.keyring()),
        slots,
        done=_created_message,
        form="lead_form",
    )


def _owners(session: Any, viewer: Viewer) -> dict[int, str]:
    from core import customer_changes

    return customer_changes.account_managers(session, viewer) if access.allowed(viewer, "customers:hand_over") else {}


def _match_text(match: Any) -> str:
    name = formatting.plain(match.name) if match.name else ""
    return f"{match.code or tr('customer_form.not_yours')} {name}".strip()


def _created_message(new: leads.NewLead) -> str:
    if new.reason == "duplicate" and new.duplicate is not None:
        return tr("leads.saved.duplicate", of=_match_text(new.duplicate))
    if new.reason:
        return tr("leads.saved.screened", reason=tr(f"invalid_reason.{new.reason}"))
    if new.alike:
        return tr("leads.saved.alike", names="; ".join(_match_text(a) for a in new.alike))
    return tr("leads.saved")


def lead_panel(viewer: Viewer, lead_id: int) -> None:
    """One lead's details and the next step: contacted, qualified, converted (to a customer by code, or a
    new one made from the lead), invalid with a reason, or reopened."""
    current = lang()
    try:
        record = data.read(leads.lead, viewer, lead_id, keyring=context.keyring())
    except CrmError as err:
        st.error(reason(err))
        return
    with st.container(border=True):
        st.subheader(formatting.plain(record["company_name"]))
        facts = {
            "contact_name": record["contact_name"],
            "phone": record["phone"],
            "email": record["email"],
            "source_channel": label("acquisition", record["source_channel"], current),
            "campaign": record["campaign"],
            "owner": record["owner"],
            "created_at": f"{record['created_at']:%Y-%m-%d}",
            "status": tr(f"growth.funnel.status.{record['status']}"),
            "invalid_reason": tr(f"invalid_reason.{record['invalid_reason']}") if record["invalid_reason"] else None,
            "customer_code": record["customer_code"],
        }
        st.dataframe(
            pd.DataFrame(
                {"field": [tr(f"leads.field.{k}") for k in facts], "value": [v or "—" for v in facts.values()]}
            ),
            hide_index=True,
            key="lead_facts",
            column_config={"field": tr("leads.detail.field"), "value": tr("leads.detail.value")},
        )
        if record["screened"]:
            st.caption(tr("leads.detail.screened"))
        if not record["moves"]:
            st.caption(tr("leads.detail.final"))
        elif access.allowed(viewer, "leads:work"):
            _move_form(viewer, record)


def _move_form(viewer: Viewer, record: dict[str, Any]) -> None:
    n = st.session_state.get("lead_move", 0)
    key = f"{record['id']}_{n}"
    with st.form(f"lead_move_{key}"):
        slots = Slots()
        slots.top()
        to = st.selectbox(tr("leads.move.to"), list(record["moves"]), format_func=lambda k: tr(f"leads.move.{k}"))
        a, b = st.columns(2)
        why = a.selectbox(
            tr("leads.field.invalid_reason"),
            list(leads.REASONS),
            index=None,
            format_func=lambda r: tr(f"invalid_reason.{r}"),
            placeholder=tr("leads.move.reason_hint"),
        )
        with a:
            slots("reason")
        code = b.text_input(tr("leads.move.customer_code"), max_chars=32, help=tr("leads.move.customer_code.help"))
        with b:
            slots("customer_code")
        confirmed = confirm_duplicates(st.session_state.get(f"lead_duplicates_{key}"))
        if not st.form_submit_button(tr("leads.move.save"), type="primary"):
            return
    try:
        data.write(
            leads.move_lead,
            viewer,
            record["id"],
            to=to,
            seen_status=record["status"],
            keyring=context.keyring(),
            reason=why if to == "disqualified" else None,
            customer_code=code if to == "converted" else None,
            confirmed=confirmed,
        )
    except PossibleDuplicate as err:  # shown above the button on the next run
        st.session_state[f"lead_duplicates_{key}"] = err.matches
        st.rerun()
    except FieldErrors as err:
        slots.show(err.errors)
    except CrmError as err:
        st.error(tr("form.refused", reason=reason(err)))
    else:
        st.session_state["flash"] = tr("leads.moved", to=tr(f"leads.move.{to}"))
        st.session_state["lead_move"] = n + 1
        st.rerun()


def rules_form(viewer: Viewer) -> None:
    """The invalid-lead rules, each on or off, with its terms; a change applies to the leads saved after it."""
    rules = data.read(lambda session, who: leads.screen_rules(session), viewer)
    st.caption(tr("leads.rules.how"))
    for rule in leads.SCREEN_RULES:
        _rule_form(viewer, rules[rule])


def _rule_form(viewer: Viewer, current: leads.ScreenRule) -> None:
    rule = current.rule
    with st.form(f"lead_rule_{rule}_{st.session_state.get('lead_rules', 0)}"):
        slots = Slots()
        slots.top()
        on = st.toggle(tr(f"leads.rule.{rule}"), value=current.enabled, help=tr(f"leads.rule.{rule}.help"))
        terms = ""
        if rule in ("test_data", "blocked_domain"):
            terms = st.text_area(tr(f"leads.rule.{rule}.terms"), value="\n".join(current.terms), height=120)
            slots("terms")
        if current.changed_by == "shipped":  # as the migration made it: nobody has changed it yet
            st.caption(tr("leads.rule.shipped"))
        elif current.changed_at is not None:
            when = f"{current.changed_at:%Y-%m-%d %H:%M}"
            st.caption(tr("leads.rule.changed", by=formatting.plain(current.changed_by), at=when))
        if not st.form_submit_button(tr("leads.rule.save")):
            return
    saved(
        lambda: data.write(leads.set_screen_rule, viewer, rule, enabled=on, terms=terms),
        slots,
        done=tr("leads.rule.saved"),
        form="lead_rules",
    )
