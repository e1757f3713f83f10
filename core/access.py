"""Who may see and do what: the one place that decides it.

- `PAGES` is the page registry (which page, which roles); the app builds each role's navigation from it.
- `ACTIONS` names every other right (export, write, reveal, act on tickets, administer) with its roles;
  core functions call `require(viewer, action)` before they read or write, views ask `allowed(...)` only
  to decide what to draw. A role missing from an action's tuple is refused in core whatever the page shows.
- `scoped` is the row-level scope (an account manager: own customers; the service desk: customers behind
  tickets) and `scope` turns filters into SQL; `visible` is both at once, for every customer-level read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Select, select

from core import models as m
from core.errors import PermissionDenied
from core.periods import Filters

ROLES = m.ROLES
_ALL = ROLES
_DESK = ("admin", "team_lead", "support_agent")  # work tickets
_LEADS = ("admin", "team_lead")
_WHOLE_BASE = ("admin", "executive", "analyst")  # every customer, no row-level limit
_ADMIN = ("admin",)

# page -> roles that may open it (a page outside a role's list is absent from its navigation and says "no access")
PAGES: dict[str, tuple[str, ...]] = {
    "cockpit": ("admin", "executive", "analyst", "account_manager"),
    "goals": _WHOLE_BASE,  # company targets: measured over the whole base
    "customers": ("admin", "executive", "analyst", "account_manager"),
    "churn": ("admin", "executive", "analyst", "account_manager"),
    "customer": _ALL,
    "service": _DESK + ("executive", "analyst"),
    "voice": _ALL,
    "surveys": _ALL,
    "import": ("admin", "analyst"),
    "quality": _WHOLE_BASE,
    "loyalty": _WHOLE_BASE,  # the programme's figures over every member
    "growth": ("admin", "executive", "analyst", "account_manager"),  # forecast and next best offer (in scope)
    "automation": _ADMIN,  # rules that act on everyone's tickets and customers
    "admin": _ADMIN,
}

# action -> roles that may do it (always within the role's row-level scope)
ACTIONS: dict[str, tuple[str, ...]] = {
    **{f"page:{page}": roles for page, roles in PAGES.items()},
    # personal data
    "contacts:clear": ("support_agent", "team_lead", "account_manager"),  # phone/email in clear (in scope)
    "contacts:reveal": _ADMIN,  # sees masked values, may reveal one with a reason (audited)
    "subjects:handle": _ADMIN,  # data-subject export and erasure
    # exports: an account manager works the customer list; bulk copies of it stay with executives and analysts
    "export:kpis": _WHOLE_BASE,
    "export:customers": _WHOLE_BASE,
    "export:service_sla": _WHOLE_BASE + ("team_lead",),
    "export:voice": _WHOLE_BASE + ("team_lead",),
    "export:churn": _WHOLE_BASE,
    "export:survey": _WHOLE_BASE + ("account_manager",),  # a run's list to call: a manager's own customers
    "export:audit_log": _ADMIN,
    # forms on the 360° view
    "write:interaction": ("admin", "account_manager", "support_agent", "team_lead"),
    "write:ticket": ("admin", "account_manager", "support_agent", "team_lead"),
    "write:nps": ("admin", "account_manager", "support_agent", "team_lead"),
    "write:profile": ("admin", "account_manager"),
    "write:task": ("admin", "account_manager"),
    "write:retention": ("admin", "account_manager"),  # retention actions for warned customers (in scope)
    "tasks:everyone": _ADMIN,  # an account manager's task list holds their own tasks
    # service desk
    "tickets:work": _DESK,  # accept, analyse, resolve, feedback, reopen
    "tickets:assign": _LEADS,
    "service:policies": _ADMIN,  # SLA policies and business calendars
    # customers kept by hand: a new one (an account manager's own), handing customers to another manager
    "customers:create": ("admin", "account_manager"),
    "customers:hand_over": _LEADS,
    "customers:merge": ("admin", "analyst"),  # the duplicate review queue: merge, keep apart, undo
    "customers:dimensions": _ADMIN,  # region, industry and type: they key the summaries' history
    # bringing data in (files of customers and orders; new records, never deletions)
    "import:run": ("admin", "analyst"),
    "surveys:run": ("admin", "analyst"),  # start a survey over a segment, bring its answers in from a file
    # administration
    "users:manage": _ADMIN,
    "targets:edit": _ADMIN,  # KPI targets (the Goals view)
    "rules:manage": _ADMIN,  # automation rules: create, edit, enable, dry-run, see their firings
    "offers:learn": ("admin", "analyst"),  # learn the next best offer again from every order
    "channels:costs": ("admin", "analyst"),  # what each acquisition channel cost (the cost per acquisition)
    "campaigns:run": ("admin", "analyst"),  # a campaign over a segment or a file, with its control group
    "leads:work": ("admin", "account_manager"),  # type a lead in, move it through its stages (their own)
    "leads:rules": _ADMIN,  # the invalid-lead rules: on or off, test words, blocked domains
    # loyalty: a member's points on the 360° view (in scope); the programme's rules and corrections stay with admins
    "loyalty:enrol": ("admin", "account_manager", "support_agent", "team_lead"),
    "loyalty:redeem": ("admin", "account_manager", "support_agent", "team_lead"),
    "loyalty:adjust": _ADMIN,
    "loyalty:programme": _ADMIN,
    "audit:read": _ADMIN,
}


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as core sees them: read from the users table on every page load."""

    user_id: int | None
    username: str
    display_name: str
    role: str
    team: str | None = None


SYSTEM = Viewer(None, "cli", "Command line", "admin")  # the operator at the shell has the database anyway


def allowed(viewer: Viewer, action: str) -> bool:
    """Whether the viewer's role may do `action` (a key of ACTIONS; an unknown action is a programming error)."""
    return viewer.role in ACTIONS[action]


def require(viewer: Viewer, action: str) -> None:
    """Refuse (PermissionDenied, with the catalog key of a message that fits) unless the viewer may do `action`."""
    if allowed(viewer, action):
        return
    message = f"{viewer.role} may not {action}"
    if action.startswith("page:"):
        raise PermissionDenied(message, key="app.no_access")
    if action == "tickets:work":
        raise PermissionDenied(message, key="error.service_only")
    if action == "tickets:assign":
        raise PermissionDenied(message, key="error.lead_only")
    if ACTIONS[action] == _ADMIN:
        raise PermissionDenied(message, key="error.admin_only")
    raise PermissionDenied(message, key="error.role_may_not")


def holders(action: str) -> tuple[str, ...]:
    """The roles that may do `action`: for queries such as "who can tickets be assigned to"."""
    return ACTIONS[action]


def may_open(viewer: Viewer, page: str) -> bool:
    return page in PAGES and allowed(viewer, f"page:{page}")


def pages_for(viewer: Viewer) -> list[str]:
    return [page for page in PAGES if may_open(viewer, page)]


def own_customers_only(viewer: Viewer) -> bool:
    """An account manager's figures and lists hold their own customers: no owner filter to offer."""
    return viewer.role == "account_manager"


def sees_whole_base(viewer: Viewer) -> bool:
    """No row-level limit: base-wide denominators (all active customers) belong to this viewer's figures."""
    return viewer.role in _WHOLE_BASE


def scoped(viewer: Viewer, filters: Filters) -> Filters:
    """The viewer's row-level scope applied to requested filters: the only place that decides it."""
    if viewer.role == "account_manager":
        return replace(filters, owner_ids=(viewer.user_id,) if viewer.user_id is not None else (-1,))
    if viewer.role in ("support_agent", "team_lead"):
        return replace(filters, with_tickets_only=True)
    if viewer.role in _WHOLE_BASE:
        return filters
    raise PermissionDenied(f"unknown role {viewer.role!r}", key="app.no_access")


def scope(stmt: Select, table, filters: Filters | None) -> Select:  # type: ignore[no-untyped-def]
    """Filters as SQL on a table with the customer dimensions (customers or one of their summaries)."""
    if not filters:
        return stmt
    for column, values in (
        ("region", filters.regions),
        ("industry", filters.industries),
        ("kind", filters.kinds),
        ("owner_id", filters.owner_ids),
    ):
        if values:
            stmt = stmt.where(table.c[column].in_(values))
    if filters.with_tickets_only:
        customers, tickets = m.table(m.Customer), m.table(m.Ticket)
        if table is not customers:
            raise PermissionDenied("Summaries cannot be limited to customers with tickets.", key="error.role_may_not")
        stmt = stmt.where(select(tickets.c.id).where(tickets.c.customer_id == customers.c.id).exists())
    return stmt


def visible(stmt: Select, table, viewer: Viewer, filters: Filters | None = None) -> Select:  # type: ignore[no-untyped-def]
    """`stmt` limited to the rows of `table` the viewer may see, within the requested filters."""
    return scope(stmt, table, scoped(viewer, filters or Filters()))
