"""The Service page's parts: one ticket's workflow forms, the analytics tab, the policies tab (admins)."""

from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from core import access, charts, models as m, service, service_analytics as sa
from core.access import Viewer
from core.errors import Conflict, CrmError, FieldErrors, NotFound
from core.i18n import label
from core.ingest.files import detect_encoding
from core.periods import Filters, custom_period
from core.service import IllegalTransition, PolicyChange, Step
from ui import data, targets as target_parts
from ui.context import lang, reason, tr
from ui.downloads import csv_download, xlsx_download
from ui.escalation_parts import backtest_panel, signals_text
from ui.filters import url_int
from ui.flow_parts import bottlenecks_panel
from ui.forms import Slots
from ui.performance_parts import performance_panel
from ui.sections import sections

STEP_FIELDS = {"analyse": ("findings", "root_cause"), "resolve": ("resolution",), "feedback": ("csat", "comment")}


def _step_form(viewer: Viewer, ticket: dict[str, object], action: str) -> None:
    current, slots = lang(), Slots()
    with st.form(f"step_{action}_{ticket['id']}_{ticket['version']}"):
        slots.top()
        fields: dict[str, object] = {}
        if action == "analyse":
            fields["findings"] = st.text_area(tr("service.findings"))
            slots("findings")
            fields["root_cause"] = st.selectbox(
                tr("service.root_cause"),
                [None, *m.ROOT_CAUSES],
                format_func=lambda c: label("root_cause", c, current) if c else "—",
            )
            slots("root_cause")
        elif action == "resolve":
            fields["resolution"] = st.text_area(tr("service.resolution"))
            slots("resolution")
        elif action == "feedback":
            fields["csat"] = st.radio(tr("service.csat"), [1, 2, 3, 4, 5], index=None, horizontal=True)
            slots("csat")
            fields["comment"] = st.text_area(tr("form.comment"))
            slots("comment")
        else:
            fields["note"] = st.text_input(tr("service.note"))
        confirmed = (
            st.checkbox(tr("service.reopen_confirm"), key=f"reopen_{ticket['id']}") if action == "reopen" else True
        )
        if st.form_submit_button(tr(f"service.action.{action}"), type="primary"):
            if not confirmed:  # a closed ticket comes back to the queue and its clocks run again: say so first
                st.error(tr("service.reopen_unconfirmed"))
                return
            step = Step(int(ticket["id"]), action, int(ticket["version"]), **fields)  # type: ignore[arg-type]
            try:
                data.write(service.act, viewer, step)
            except FieldErrors as err:
                slots.show(err.errors)
            except IllegalTransition as err:
                st.error(tr(err.key))
            except Conflict:
                st.error(tr("service.conflict"))
            except CrmError as err:
                st.error(tr("form.refused", reason=reason(err)))
            else:
                st.session_state.pop(f"ticket_view_{ticket['id']}", None)  # show what is stored now
                st.session_state["flash"] = tr("service.done", action=tr(f"service.action.{action}"))
                st.rerun()


def duration(minutes: object) -> str:
    """Working minutes as "1 h 05 min" in the page's language (no fractional floats)."""
    if minutes is None or minutes != minutes:
        return ""
    total = round(float(minutes))  # type: ignore[arg-type]
    return (
        tr("unit.hours_minutes", h=total // 60, m=f"{total % 60:02d}") if total >= 60 else tr("unit.minutes", m=total)
    )


def ticket_panel(viewer: Viewer, wanted: object, now: datetime) -> None:
    """One ticket: what it is, its clocks, its history, and the steps its status allows."""
    current = lang()
    ticket_id = url_int(wanted)  # none chosen, or not a ticket number (a URL can say anything): None
    if ticket_id is None:
        st.info(tr("service.pick_ticket"))
        return
    # the agent works on what they loaded: a change by someone else since then is refused on save ("reload"),
    # not silently taken over by the next rerun
    key = f"ticket_view_{ticket_id}"
    if st.button(tr("service.reload"), icon=":material/refresh:") or key not in st.session_state:
        try:
            st.session_state[key] = data.read(sa.ticket_view, viewer, ticket_id, now=now)
        except NotFound:
            st.warning(tr("service.no_ticket"))
            return
    view = st.session_state[key]
    st.query_params["ticket"] = str(ticket_id)
    t = view.ticket
    st.subheader(
        f"#{t['id']} · {label('ticket_kind', t['kind'], current)} · {label('category', t['category'], current)}"
    )
    st.caption(
        " · ".join(
            [
                f"{t['customer']} ({t['code']})",
                label("priority", t["priority"], current),
                label("ticket_status", t["status"], current),
                tr("service.policy", name=service.policy_label(view.policy, current)),
                tr("service.assignee", name=t["assignee"] or "—"),
            ]
        )
    )
    if view.extra.get("escalation"):
        st.warning(
            tr("service.escalation_warning", signals=signals_text(view.extra["escalation"]))
            + (
                " " + tr("service.escalation_words", words=", ".join(view.extra["words"]))
                if view.extra["words"]
                else ""
            ),
            icon=":material/campaign:",
        )  # the words come from the word lists, not from the customer's text
    # what the customer wrote and what the desk recorded at each step, as typed (text, never Markdown)
    for field_key, value in (
        ("form.description", t["description"]),
        ("service.findings", t.get("findings")),
        ("service.root_cause", label("root_cause", t["root_cause"], current) if t.get("root_cause") else None),
        ("service.resolution", t.get("resolution")),
        ("service.csat", t.get("csat")),
        ("service.feedback_comment", t.get("feedback_comment")),
    ):
        if value not in (None, ""):
            st.markdown(f"**{tr(field_key)}**")
            st.text(str(value))
    if view.extra.get("wait_minutes") is not None:
        st.caption(
            tr(
                "service.waits",
                wait=f"{view.extra['wait_minutes'] / 60:.1f}",
                work=f"{view.extra['agent_minutes'] / 60:.1f}",
            )
        )
    if not view.sla.empty:
        sla = view.sla.assign(
            metric=[tr(f"sla.metric.{x}") for x in view.sla["metric"]],
            state=[tr(f"sla.state.{x}") for x in view.sla["state"]],
            target_minutes=[duration(v) for v in view.sla["target_minutes"]],
            elapsed_minutes=[duration(v) for v in view.sla["elapsed_minutes"]],
        )
        st.dataframe(
            sla,
            hide_index=True,
            placeholder="",
            column_config={
                **{c: tr(f"service.sla.{c}") for c in sla.columns},
                **{
                    c: st.column_config.DatetimeColumn(tr(f"service.sla.{c}"), format="YYYY-MM-DD HH:mm")
                    for c in ("due_at", "completed_at", "breached_at")
                },
            },
        )
    events = view.events.assign(
        action=[tr(f"service.event.{a}") if a else "" for a in view.events["action"]],
        from_status=[label("ticket_status", v, current) if v else "" for v in view.events["from_status"]],
        to_status=[label("ticket_status", v, current) if v else "" for v in view.events["to_status"]],
        # the SLA engine's events name their clock in the note
        note=[
            tr(f"sla.metric.{n}") if str(a or "").startswith("sla_") and n else (n or "")
            for a, n in zip(view.events["action"], view.events["note"])
        ],
    )
    with st.expander(tr("service.history", n=len(events))):
        st.dataframe(
            events,
            hide_index=True,
            placeholder="",
            column_config={
                **{c: tr(f"service.event_col.{c}") for c in events.columns},
                "at": st.column_config.DatetimeColumn(tr("service.event_col.at"), format="YYYY-MM-DD HH:mm"),
            },
        )
    if not access.allowed(viewer, "tickets:work"):
        return
    actions = [a for a, (allowed, _) in service.TRANSITIONS.items() if t["status"] in allowed]
    if not actions:
        st.info(tr("service.illegal.closed"))
        return
    choice = (
        st.segmented_control(
            tr("service.next_step"),
            actions,
            default=actions[0],
            key=f"step_{t['id']}",
            format_func=lambda a: tr(f"service.action.{a}"),
        )
        or actions[0]
    )
    _step_form(viewer, t, choice)


PERIODS = {"30d": 30, "90d": 90, "365d": 365}


def analytics(viewer: Viewer, now: datetime) -> None:
    """The period (shared by every section), then one section at a time."""
    span = (
        st.segmented_control(
            tr("service.period"),
            [*PERIODS, "custom"],
            default="30d",
            key="sa_period",
            format_func=lambda p: tr(f"service.period.{p}"),
        )
        or "30d"
    )
    start, end = now - timedelta(days=PERIODS.get(span, 30)), now
    if span == "custom":
        picked = st.date_input(
            tr("period.range"), value=(start.date(), now.date()), max_value=now.date(), key="sa_range"
        )
        if isinstance(picked, tuple) and len(picked) == 2:
            start = datetime.combine(picked[0], datetime.min.time())
            end = min(now, datetime.combine(picked[1], datetime.min.time()) + timedelta(days=1))
    shown = sections(SECTIONS, key="sa_section", label=lambda name: tr(f"service.section.{name}"))
    if shown.shows("overview"):
        with shown.tabs["overview"]:
            _overview(viewer, now, start=start, end=end)
    if shown.shows("agents"):
        with shown.tabs["agents"]:
            performance_panel(viewer, start=start, end=end)
    if shown.shows("flow"):
        with shown.tabs["flow"]:
            bottlenecks_panel(viewer, start=start, end=end)
    if shown.shows("escalation"):
        with shown.tabs["escalation"]:
            backtest_panel(viewer, now)
    if shown.shows("checks"):
        with shown.tabs["checks"]:
            _checks(viewer, start=start, end=end)


SECTIONS = ("overview", "agents", "flow", "escalation", "checks")  # each computed only while open


def _overview(viewer: Viewer, now: datetime, *, start: datetime, end: datetime) -> None:
    """Rates, times, compliance by a dimension (with the tickets behind a row), backlog and top categories."""
    current = lang()
    rates = data.figures(sa.rates, viewer, start=start, end=end)
    times = data.figures(sa.times, viewer, start=start, end=end)
    period = custom_period(start.date(), (end - timedelta(microseconds=1)).date())
    standing = data.standings(
        period,
        Filters(),
        {"complaint_resolution": rates.resolution_rate, "first_response_time": times["first_response"]["median"]},
    )
    resolution = standing.get("complaint_resolution")
    cards = st.columns(5)
    cards[0].metric(
        tr("service.resolution_rate"),
        f"{rates.resolution_rate:.1%}" if rates.resolution_rate is not None else "—",
        border=True,
        help=tr("service.resolution_rate.help"),
        delta=f"{(rates.resolution_rate - resolution.goal) * 100:+.1f} {tr('unit.pp')}"
        if rates.resolution_rate is not None and resolution is not None and resolution.goal is not None
        else None,
    )
    with cards[0]:
        target_parts.caption(resolution)
    cards[1].metric(
        tr("service.reopen_rate"),
        f"{rates.reopen_rate:.1%}" if rates.reopen_rate is not None else "—",
        border=True,
        delta_color="inverse",
    )
    for card, metric in zip(cards[2:4], ("first_response", "resolution")):
        figures = times[metric]
        card.metric(
            tr(f"service.median.{metric}"),
            tr("service.hours", n=f"{(figures['median'] or 0) / 60:.1f}"),
            border=True,
            help=tr("service.times.help"),
            delta=tr("service.p90", n=f"{(figures['p90'] or 0) / 60:.1f}"),
            delta_color="off",
            delta_arrow="off",
        )
        if metric == "first_response":
            with card:
                target_parts.caption(standing.get("first_response_time"))
    cards[4].metric(
        tr("service.complaint_rate"),
        f"{rates.complaint_rate:.1f}" if rates.complaint_rate is not None else "—",
        border=True,
        help=tr(
            "service.complaint_rate.help" if rates.active_customers is not None else "service.complaint_rate.scoped"
        ),
        delta=tr("service.complaints", n=f"{rates.complaints:,}"),
        delta_color="off",
        delta_arrow="off",
    )

    left, right = st.columns([1, 1])
    metric = left.selectbox(
        tr("service.metric"),
        ("first_response", "resolution", "next_response", "feedback"),
        format_func=lambda x: tr(f"sla.metric.{x}"),
        key="sa_metric",
    )
    by = right.selectbox(tr("service.by"), sa.DIMENSIONS, format_func=lambda x: tr(f"service.dim.{x}"), key="sa_by")
    table = data.figures(sa.compliance, viewer, metric=metric, by=by, start=start, end=end)
    groups = {"priority": "priority", "kind": "ticket_kind", "category": "category", "channel": "channel"}

    def show(value: object) -> str:
        return label(groups[by], value, current) if by in groups else str(value)

    if table.empty:
        st.info(tr("common.no_data"))
    else:
        st.plotly_chart(
            charts.compliance_bars(table, tr("service.compliance_title"), show, current, months=by == "month"),
            key="sa_bars",
        )
        picked = st.dataframe(
            table.assign(value=[show(v) for v in table["value"]], rate=table["rate"] * 100),
            hide_index=True,
            key="sa_table",
            on_select="rerun",
            selection_mode="single-row",
            column_config={
                "value": tr(f"service.dim.{by}"),
                "met": tr("service.met"),
                "breached": tr("service.breached"),
                "total": tr("service.total"),
                "rate": st.column_config.NumberColumn(tr("service.rate"), format="%.1f%%"),
            },
        )
        exported = table.assign(value=[show(v) for v in table["value"]], rate=(table["rate"] * 100).round(1)).rename(
            columns={
                "value": tr(f"service.dim.{by}"),
                "met": tr("service.met"),
                "breached": tr("service.breached"),
                "total": tr("service.total"),
                "rate": tr("service.rate") + " (%)",
            }
        )  # as the table reads
        left, right = st.columns([1, 6])
        with left:
            csv_download(
                exported, what="service_sla", file_name=f"sla-{metric}-{by}.csv", viewer=viewer, key="sa_export"
            )
        with right:
            xlsx_download(
                exported, what="service_sla", file_name=f"sla-{metric}-{by}.xlsx", viewer=viewer, key="sa_xlsx"
            )
        if picked and picked.selection.rows:
            value = table.iloc[picked.selection.rows[0]]["value"]
            behind = data.figures(sa.tickets_behind, viewer, metric=metric, by=by, value=value, start=start, end=end)
            st.caption(tr("service.behind", n=len(behind), value=show(value)))
            if not behind.empty:
                labelled = behind.assign(
                    **{
                        column: [label(group, v, current) for v in behind[column]]
                        for column, group in (
                            ("kind", "ticket_kind"),
                            ("category", "category"),
                            ("priority", "priority"),
                            ("channel", "channel"),
                        )
                    },
                    state=[tr(f"sla.state.{v}") for v in behind["state"]],
                    elapsed_minutes=[duration(v) for v in behind["elapsed_minutes"]],
                    target_minutes=[duration(v) for v in behind["target_minutes"]],
                )
                st.dataframe(
                    labelled,
                    hide_index=True,
                    placeholder="",
                    column_config={
                        "ticket": tr("service.col.ticket"),
                        "kind": tr("service.col.kind"),
                        "category": tr("service.col.category"),
                        "priority": tr("service.col.priority"),
                        "channel": tr("service.dim.channel"),
                        "team": tr("service.dim.team"),
                        "agent": tr("service.dim.agent"),
                        "state": tr("service.sla.state"),
                        "elapsed_minutes": tr("service.sla.elapsed_minutes"),
                        "target_minutes": tr("service.sla.target_minutes"),
                        "known_at": st.column_config.DatetimeColumn(tr("service.known_at"), format="YYYY-MM-DD HH:mm"),
                    },
                )

    left, right = st.columns(2)
    backlog = data.figures(sa.backlog, viewer, now=now)
    if not backlog.empty:
        left.plotly_chart(
            charts.stacked_counts(
                backlog,
                "age",
                "priority",
                "tickets",
                tr("service.backlog"),
                lambda a: tr(f"service.age.{a}"),
                lambda p: label("priority", p, current),
                order=[b for _, b in sa.AGE_BUCKETS],
            ),
            key="sa_backlog",
        )
    categories = data.figures(sa.top_categories, viewer, start=now - timedelta(days=365), end=now)
    if not categories.empty:
        right.plotly_chart(
            charts.stacked_counts(
                categories,
                "month",
                "category",
                "complaints",
                tr("service.categories"),
                str,
                lambda c: label("category", c, current),
            ),
            key="sa_categories",
        )


def _checks(viewer: Viewer, *, start: datetime, end: datetime) -> None:
    """What the page's period would have looked like under other targets, and who pauses clocks oddly."""
    st.subheader(tr("service.what_if"))
    st.caption(tr("service.what_if.help"))
    with st.form("what_if"):
        a, b = st.columns(2)
        first = a.number_input(tr("service.what_if.first"), min_value=1, value=120, step=15)
        resolution = b.number_input(tr("service.what_if.resolution"), min_value=1, value=24 * 60, step=60)
        if st.form_submit_button(tr("service.what_if.run")):
            result = data.read(
                sa.what_if,
                viewer,
                {"first_response": float(first), "resolution": float(resolution)},
                start=start,
                end=end,
            )
            st.dataframe(
                result.assign(metric=[tr(f"sla.metric.{x}") for x in result["metric"]]),
                hide_index=True,
                column_config={c: tr(f"service.what_if.col.{c}") for c in result.columns},
            )
    st.subheader(tr("service.pause_abuse"))
    st.caption(tr("service.pause_abuse.help"))
    suspicious = data.figures(sa.pause_abuse, viewer, start=start, end=end)
    st.dataframe(
        suspicious,
        hide_index=True,
        column_config={c: tr(f"service.pause_abuse.col.{c}") for c in suspicious.columns},
    )


def policies(viewer: Viewer) -> None:
    """Administrators: the policies in the order they are tried; edit one (a new version) or add one."""
    current = lang()
    rows = data.read(lambda session, _viewer: service.current_policies(session), viewer)
    calendars = {
        int(c["id"]): str(c["name"]) for c in data.read(lambda session, _v: service.calendars(session), viewer)
    }  # type: ignore[arg-type]
    groups = {"kind": "ticket_kind", "priority": "priority", "tier": "tier"}
    shown = [
        {
            "id": r["id"],
            "position": r["position"],
            "name": service.policy_label(r, current),
            **{k: label(g, r[k], current) if r[k] else tr("service.any") for k, g in groups.items()},
            "first_response_minutes": duration(r["first_response_minutes"]),
            "resolution_minutes": duration(r["resolution_minutes"]),
            "calendar_id": calendars.get(int(r["calendar_id"]), "")
            if r["calendar_id"]
            else tr("service.policy.always"),  # type: ignore[call-overload]
            "warn_share": f"{float(r['warn_share'] or 0):.0%}",
        }
        for r in rows
    ]
    st.dataframe(
        shown, hide_index=True, column_config={k: tr(f"service.policy_col.{k}") for k in shown[0]} if shown else None
    )
    by_id = {int(r["id"]): r for r in rows}  # type: ignore[arg-type]
    chosen = st.selectbox(
        tr("service.policy_pick"),
        [0, *by_id],
        key="policy_pick",
        format_func=lambda i: (
            tr("service.policy_new") if i == 0 else f"{i} · {service.policy_label(by_id[i], current)}"
        ),
    )
    base = by_id.get(chosen, {})
    slots = Slots()
    with st.form(f"policy_{chosen}"):
        slots.top()
        a, b = st.columns([3, 1])
        name = a.text_input(tr("service.policy_col.name"), value=str(base.get("name") or ""))
        slots("name")
        position = b.number_input(
            tr("service.policy.position"), min_value=0, value=int(base.get("position") or 5000), step=10
        )
        st.markdown(f"**{tr('service.policy.conditions')}**")
        conditions: dict[str, str | None] = {}
        columns = st.columns(6)
        groups = {
            "kind": "ticket_kind",
            "priority": "priority",
            "category": "category",
            "channel": "channel",
            "tier": "tier",
            "team": None,
        }
        for column, (condition, group) in zip(columns, groups.items()):
            options = [
                None,
                *(service.CONDITION_CODES[condition] or ([base[condition]] if base.get(condition) else [])),
            ]
            if condition == "team":
                conditions[condition] = (
                    column.text_input(tr(f"service.condition.{condition}"), value=str(base.get(condition) or ""))
                    or None
                )
                continue
            conditions[condition] = column.selectbox(
                tr(f"service.condition.{condition}"),
                options,
                index=options.index(base.get(condition)),
                format_func=lambda c, g=group: label(g, c, current) if c else tr("service.any"),
            )
        st.markdown(f"**{tr('service.policy.targets')}**")
        targets: dict[str, float | None] = {}
        columns = st.columns(6)
        for column, metric in zip(columns, service.METRICS):
            value = base.get(f"{metric}_minutes")
            targets[metric] = column.number_input(
                tr(f"sla.metric.{metric}"),
                value=float(value) if value else None,
                step=15.0,
                help=tr("service.policy.minutes"),
            )
            with column:
                slots(metric)
        a, b, c = st.columns(3)
        calendar_options: list[object] = ["always", *calendars]
        calendar = a.selectbox(
            tr("service.policy.calendar"),
            calendar_options,
            index=calendar_options.index(base.get("calendar_id") or "always"),
            format_func=lambda k: tr("service.policy.always") if k == "always" else calendars[int(k)],
        )  # type: ignore[arg-type]
        warn_share = b.number_input(
            tr("service.policy.warn_share"), value=float(base.get("warn_share") or 0.8), step=0.05, format="%.2f"
        )
        slots("warn_share")
        offset = base.get("warn_offset_minutes")
        warn_offset = c.number_input(
            tr("service.policy.warn_offset"), value=float(offset) if offset else None, step=5.0
        )
        actions = {}
        for column, action in zip(st.columns(3), ("on_warning", "on_violation", "on_success")):
            options = list(m.SLA_ACTION_TARGETS)
            actions[action] = column.selectbox(
                tr(f"service.policy.{action}"),
                options,
                index=options.index(base.get(action) or "none"),
                format_func=lambda x: tr(f"service.recipient.{x}"),
            )
        move = (
            st.radio(
                tr("service.move_open"),
                [True, False],
                format_func=lambda v: tr(f"service.move_open.{v}"),
                horizontal=True,
            )
            if chosen
            else False
        )
        if st.form_submit_button(tr("service.policy_save"), type="primary"):
            change = PolicyChange(
                targets=targets,
                conditions=conditions,
                calendar=calendar,
                name=name,  # type: ignore[arg-type]
                position=int(position),
                warn_share=warn_share,
                warn_offset_minutes=warn_offset,
                **actions,
            )
            try:
                if chosen:
                    new_id = data.write(service.change_policy, viewer, int(chosen), change, move_open=bool(move))
                else:
                    new_id = data.write(service.create_policy, viewer, change)
            except FieldErrors as err:
                slots.show(err.errors)
            except CrmError as err:
                st.error(tr("form.refused", reason=reason(err)))
            else:
                st.success(tr("service.policy_saved", id=new_id))
    st.subheader(tr("service.calendars"))
    calendar_form(viewer)


def calendar_form(viewer: Viewer) -> None:
    """Administrators: a business-hours calendar (working days, intervals, time zone, holidays)."""
    rows = data.read(lambda session, _viewer: service.calendars(session), viewer)
    for row in rows:
        with st.form(f"calendar_{row['id']}"):
            st.markdown(f"**{row['name']}**")
            a, b, c = st.columns(3)
            timezone = a.text_input(tr("service.calendar.timezone"), value=str(row["timezone"]))
            days = b.text_input(
                tr("service.calendar.days"), value=str(row["working_days"]), help=tr("service.calendar.days.help")
            )
            intervals = c.text_input(
                tr("service.calendar.intervals"),
                value=str(row["intervals"]),
                help=tr("service.calendar.intervals.help"),
            )
            left, right = st.columns(2)
            holidays = left.text_area(
                tr("service.calendar.holidays"), value=str(row["holidays"]), help=tr("service.calendar.holidays.help")
            )
            workdays = right.text_area(
                tr("service.calendar.workdays"), value=str(row["workdays"]), help=tr("service.calendar.workdays.help")
            )
            if st.form_submit_button(tr("service.calendar.save")):
                try:
                    data.write(
                        service.save_calendar,
                        viewer,
                        int(row["id"]),
                        timezone=timezone,
                        working_days=days,  # type: ignore[arg-type]
                        intervals=intervals,
                        holidays=holidays,
                        workdays=workdays,
                    )
                except CrmError as err:
                    st.error(tr("form.refused", reason=reason(err)))
                else:
                    st.success(tr("service.calendar.saved"))
        schedule_import(viewer, int(row["id"]))


def schedule_import(viewer: Viewer, calendar_id: int) -> None:
    """Administrators: an official year's holidays and make-up working days from a CSV file, or mainland
    China's shipped schedule, into one calendar (the file's years replace those years)."""
    with st.expander(tr("service.calendar.schedule")):
        upload = st.file_uploader(
            tr("service.calendar.schedule_file"),
            type=["csv", "txt"],
            key=f"schedule_file_{calendar_id}",
            help=tr("service.calendar.schedule_file.help"),
        )
        left, right, _ = st.columns([1, 1, 2])
        text = None
        if left.button(tr("service.calendar.schedule_import"), key=f"schedule_{calendar_id}", disabled=upload is None):
            raw = upload.getvalue() if upload is not None else b""
            try:
                text = raw.decode(detect_encoding(raw))
            except (CrmError, UnicodeDecodeError, LookupError):
                st.error(tr("form.refused", reason=tr("import.error.not_text")))
        if right.button(tr("service.calendar.schedule_shipped"), key=f"schedule_cn_{calendar_id}"):
            text = service.SHIPPED_SCHEDULE.read_text(encoding="utf-8")
        if text is not None:
            try:
                ranges, made_up = data.write(service.import_schedule, viewer, calendar_id, text)
            except CrmError as err:
                st.error(tr("form.refused", reason=reason(err)))
            else:  # shown above the page once it is drawn again, with the calendar's new days in its form
                st.session_state["flash"] = tr("service.calendar.schedule_done", holidays=ranges, workdays=made_up)
                st.rerun()
