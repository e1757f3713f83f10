"""The service desk: the queue by time to breach, one ticket's workflow, SLA analytics, policies."""

from functools import partial

import streamlit as st

from core import access, clock, models as m, service, service_analytics as sa
from core.i18n import label
from ui import data
from ui.context import lang, page_guard, tr
from ui.escalation_parts import signals_text
from ui.filters import multi_filter
from ui.forms import flash
from ui.sections import sections, state_key
from ui.service_parts import analytics, policies, ticket_panel


def _left(minutes: object) -> str:
    """Time to the next deadline (or past it): minutes under two hours, hours beyond."""
    if minutes is None or minutes != minutes:
        return ""
    value = int(minutes)  # type: ignore[call-overload]
    over = "over" if value < 0 else "left"
    if abs(value) < 120:
        return tr(f"service.minutes_{over}", n=abs(value))
    return tr(f"service.hours_{over}", n=f"{abs(value) / 60:.0f}")


viewer = page_guard("service")
current = lang()
st.title(tr("service.title"))
data.tick_if_due()
now = clock.now()

tab_names = ["queue", "ticket", "analytics"] + (["policies"] if access.allowed(viewer, "service:policies") else [])
if state_key("service_tab") not in st.session_state and st.query_params.get("ticket"):
    st.session_state[state_key("service_tab")] = tr("service.tab.ticket")  # a link to a ticket opens it
tabs = sections(tab_names, key="service_tab", label=lambda name: tr(f"service.tab.{name}"))
flash()  # a confirmation (assigned, step saved) shows above the tabs, wherever the user is looking


def open_ticket(ticket_id: int) -> None:
    st.session_state["ticket_id"] = ticket_id
    tabs.select("ticket")


def on_pick(ticket_ids: list[int]) -> None:
    """An agent's selected row opens its ticket (a team lead selects rows to assign them instead)."""
    rows = st.session_state["queue"].selection.rows
    if len(rows) == 1 and not access.allowed(viewer, "tickets:assign"):
        open_ticket(ticket_ids[rows[0]])


if tabs.shows("queue"):  # the queue's filters show only where they act
    st.sidebar.subheader(tr("service.filters"))
    agents = data.read(sa.agents, viewer)
    wanted = sa.QueueFilter(
        priorities=multi_filter(
            "t_priority", "form.priority", m.TICKET_PRIORITIES, lambda c: label("priority", c, current)
        ),
        kinds=multi_filter("t_kind", "form.kind", m.TICKET_KINDS, lambda c: label("ticket_kind", c, current)),
        categories=multi_filter(
            "t_category", "form.category", m.TICKET_CATEGORIES, lambda c: label("category", c, current)
        ),
        channels=multi_filter("t_channel", "form.channel", m.TICKET_CHANNELS, lambda c: label("channel", c, current)),
        states=multi_filter("t_state", "service.state", [*sa.STATE_ORDER, "none"], lambda c: tr(f"sla.state.{c}")),
        teams=multi_filter("t_team", "service.dim.team", data.read(sa.teams, viewer), str),
        assignee_ids=tuple(
            int(i)
            for i in multi_filter(
                "t_assignee", "service.dim.agent", [str(i) for i in agents], lambda i: agents.get(int(i), i)
            )
        ),
        mine=st.sidebar.toggle(tr("service.mine"), key="t_mine"),
        escalating=st.sidebar.toggle(tr("service.escalating"), key="t_escalating", help=tr("escalation.help")),
    )
    with tabs.tabs["queue"]:
        tickets = data.read(sa.queue, viewer, wanted, now=now)
        st.caption(tr("service.queue_count", n=len(tickets)))
        shown = tickets.assign(
            kind=[label("ticket_kind", v, current) for v in tickets["kind"]],
            category=[label("category", v, current) for v in tickets["category"]],
            priority=[label("priority", v, current) for v in tickets["priority"]],
            status=[label("ticket_status", v, current) for v in tickets["status"]],
            state=[tr(f"sla.state.{v}") for v in tickets["state"]],
            clock=[tr(f"sla.metric.{v}") if isinstance(v, str) else "" for v in tickets["clock"]],
            left=[_left(v) for v in tickets["minutes_left"]],
            escalation=[signals_text(v) for v in tickets["escalation"]],
        )
        columns = [
            "ticket",
            "state",
            "clock",
            "left",
            "escalation",
            "priority",
            "kind",
            "category",
            "status",
            "customer",
            "assignee",
            "created_at",
        ]
        picked = st.dataframe(
            shown[columns],
            hide_index=True,
            key="queue",
            on_select=partial(on_pick, [int(i) for i in tickets["ticket"]]),
            selection_mode="multi-row" if access.allowed(viewer, "tickets:assign") else "single-row",
            column_config={
                **{c: tr(f"service.col.{c}") for c in columns},
                "created_at": st.column_config.DatetimeColumn(tr("service.col.created_at"), format="YYYY-MM-DD HH:mm"),
            },
        )
        rows = picked.selection.rows if picked else []
        if rows and access.allowed(viewer, "tickets:assign"):
            chosen = [int(tickets.iloc[r]["ticket"]) for r in rows]
            if len(chosen) == 1:
                st.button(
                    tr("service.open_ticket", ticket=chosen[0]),
                    on_click=open_ticket,
                    args=(chosen[0],),
                    icon=":material/open_in_new:",
                )
            with st.form("bulk_assign"):
                who = st.selectbox(tr("service.assign_to"), list(agents), format_func=lambda i: agents[i])
                if st.form_submit_button(tr("service.assign", n=len(rows))):
                    done = data.write(service.assign, viewer, chosen, int(who))
                    st.session_state["flash"] = tr("service.assigned", n=done)
                    st.rerun()

if tabs.shows("ticket"):
    with tabs.tabs["ticket"]:
        ticket_panel(viewer, st.session_state.get("ticket_id") or st.query_params.get("ticket"), now)

if tabs.shows("analytics"):
    with tabs.tabs["analytics"]:
        analytics(viewer, now)

if tabs.shows("policies"):
    with tabs.tabs["policies"]:
        policies(viewer)
