"""The customer list: filters in the sidebar and the URL, a page of rows from the database, exports, tasks."""

from functools import partial

import streamlit as st

from core import access, clock, exports, formatting
from core.customer_list import PAGE_SIZES, SORTS, matching_ids
from core.customer_view import my_open_tasks, open_task_counts, task_title
from core.errors import ValidationError
from core.i18n import label
from ui import context, data
from ui.context import lang, page_guard, reason, tr
from ui.customer_forms import hand_over_form, new_customer_form
from ui.filters import customer_query, url_int
from ui.forms import flash
from ui.my_tickets import my_tickets_panel

viewer = page_guard("customers")
current = lang()
if "open_customer" in st.session_state:  # a row of the list or of the tasks was selected (see open_row)
    st.switch_page("views/customer.py", query_params={"id": str(st.session_state.pop("open_customer"))})


def open_row(grid: str, customer_ids: list[int]) -> None:
    selection = st.session_state[grid].selection
    if selection.rows:
        st.session_state["open_customer"] = customer_ids[selection.rows[0]]


st.title(tr("list.title"))
flash()
if access.allowed(viewer, "customers:create"):
    with st.expander(tr("customer_form.title"), icon=":material/person_add:"):
        new_customer_form(viewer)

if access.own_customers_only(viewer):
    tasks = data.read(my_open_tasks, viewer, today=clock.today())
    counts = data.read(open_task_counts, viewer, today=clock.today())
    with st.expander(
        tr("list.tasks", open=f"{counts.open:,}", overdue=f"{counts.overdue:,}"), expanded=counts.overdue > 0
    ):
        if tasks.empty:
            st.caption(tr("list.no_tasks"))
        else:
            if counts.open > len(tasks):
                st.caption(tr("list.tasks_first", n=len(tasks)))
            st.dataframe(
                tasks.assign(
                    overdue=[tr("common.yes") if o else "" for o in tasks["overdue"]],
                    title=[task_title(t, s, current) for t, s in zip(tasks["title"], tasks["source"])],
                )[["due_date", "code", "name", "title", "overdue"]],
                hide_index=True,
                key="tasks_grid",
                on_select=partial(open_row, "tasks_grid", [int(i) for i in tasks["customer_id"]]),
                selection_mode="single-row",
                column_config={
                    "due_date": st.column_config.DateColumn(tr("task.due")),
                    "code": tr("column.code"),
                    "name": tr("column.name"),
                    "title": tr("task.title"),
                    "overdue": tr("task.overdue"),
                },
            )

if access.own_customers_only(viewer):
    my_tickets_panel(viewer, open_row)

try:
    query = customer_query(by_owner=not access.own_customers_only(viewer))  # core scopes a manager anyway
except ValidationError as err:
    st.error(tr("list.bad_filter", reason=reason(err)))
    st.stop()

if st.session_state.get("list_query") != query:  # another filter: back to the first page
    if "list_query" in st.session_state:
        st.session_state["page"] = 1
    st.session_state["list_query"] = query
if "size" not in st.session_state:
    wanted = st.query_params.get("size", "50")
    st.session_state["size"] = size if (size := url_int(wanted)) in PAGE_SIZES else 50
if "page" not in st.session_state:
    wanted = st.query_params.get("page", "1")
    st.session_state["page"] = url_int(wanted) or 1
result = data.customers(viewer, query, st.session_state["page"], st.session_state["size"])
data.note_list_view(viewer, result)  # contact details in clear (an account manager's own customers) are on record
st.caption(tr("list.total", total=f"{result.total:,}", page=result.page, pages=f"{result.pages:,}"))
if access.own_customers_only(viewer):
    st.caption(tr("cockpit.own_customers"))

rows = result.rows
money = formatting.money
table = rows.assign(
    kind=[label("kind", v, current) for v in rows["kind"]],
    region=[label("region", v, current) for v in rows["region"]],
    industry=[label("industry", v, current) for v in rows["industry"]],
    tier=[label("tier", v, current) if v else "" for v in rows["tier"]],
    lifecycle_stage=[label("stage", v, current) for v in rows["lifecycle_stage"]],
    revenue_12m=[money(v, current) for v in rows["revenue_12m"]],
    revenue_total=[money(v, current) for v in rows["revenue_total"]],
)
shown = [
    "code",
    "name",
    "tier",
    "lifecycle_stage",
    "owner",
    "region",
    "industry",
    "kind",
    "revenue_12m",
    "revenue_total",
    "orders_12m",
    "last_order_date",
    "last_contact_at",
    "latest_nps_score",
    "open_tickets",
    "phone",
    "email",
]
config = {c: tr(f"list.col.{c}") for c in shown}
config.update(
    {
        "last_order_date": st.column_config.DateColumn(tr("list.col.last_order_date")),
        "last_contact_at": st.column_config.DatetimeColumn(tr("list.col.last_contact_at"), format="YYYY-MM-DD HH:mm"),
    }
)
st.session_state.setdefault("list_grid", 0)


def sort_by_header(grid: str, customer_ids: list[int]) -> None:
    """A row opens its customer. A click on a column header selects the column (which turns the grid's own,
    page-only sorting off): sort the whole list by it in the database; a second click flips the direction."""
    open_row(grid, customer_ids)
    columns = st.session_state[grid].selection.columns
    if columns and columns[0] in SORTS:
        if st.session_state.get("sort") == columns[0]:
            st.session_state["asc"] = not st.session_state.get("asc", False)
        else:
            st.session_state["sort"], st.session_state["asc"] = columns[0], columns[0] in ("name", "code")
    st.session_state["list_grid"] += 1  # a new grid: the header is not left selected


grid = f"list_{st.session_state['list_grid']}"
st.dataframe(
    table[shown],
    hide_index=True,
    key=grid,
    column_config=config,
    selection_mode=["single-row", "single-column"],
    on_select=partial(sort_by_header, grid, [int(i) for i in rows["customer_id"]]),
)
st.caption(tr("list.sort_hint"))

left, middle, right = st.columns([1, 1, 2], vertical_alignment="bottom")
st.session_state["page"] = min(st.session_state["page"], result.pages)
left.number_input(tr("list.page"), min_value=1, max_value=result.pages, step=1, key="page")
middle.selectbox(tr("list.page_size"), PAGE_SIZES, key="size")
st.query_params["page"] = str(st.session_state["page"])
st.query_params["size"] = str(st.session_state["size"])
if access.allowed(viewer, "customers:hand_over") and result.total:
    with st.expander(tr("handover.found", total=f"{result.total:,}")):
        if st.toggle(tr("handover.start"), key="handover_found"):  # the ids are read only when asked for
            hand_over_form(viewer, data.read(matching_ids, viewer, query, context.keyring()), key="found")
if exports.may_export(viewer, "customers") and result.total:
    with right:
        st.caption(tr("list.export_note", total=f"{result.total:,}"))
        csv_col, xlsx_col = st.columns(2)
        csv_col.download_button(
            tr("export.csv"),
            data.export_file(viewer, query, "csv"),
            file_name="customers.csv",
            mime="text/csv",
            icon=":material/download:",
            key="export_csv",
            on_click="ignore",
        )
        xlsx_col.download_button(
            tr("export.xlsx"),
            data.export_file(viewer, query, "xlsx"),
            file_name="customers.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            icon=":material/table:",
            key="export_xlsx",
            on_click="ignore",
        )
