"""The customer list, the 360° view and its forms through AppTest, signed in through the real form."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from core import clock, models as m
from core.access import SYSTEM, Viewer
from core.customer_list import CustomerQuery, count_customers, customer_page
from core.db import make_engine
from tests.conftest import TEST_KEYRING
from tests.pages.helpers import signed_in


def _open(monkeypatch: pytest.MonkeyPatch, url: str, user: str, page: str, **query: str) -> AppTest:
    at = signed_in(monkeypatch, url, user, **query)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def _manager(url: str) -> tuple[int, int]:
    """manager1's user id and one of their customers."""
    with Session(make_engine(url)) as s:
        user_id = s.scalar(select(m.User.id).where(m.User.username == "manager1"))
        customer_id = s.scalar(select(m.Customer.id).where(m.Customer.owner_id == user_id).order_by(m.Customer.id))
    assert user_id and customer_id
    return user_id, customer_id


def test_the_list_follows_url_filters_and_counts_in_the_database(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    # (the cockpit, where sign-in lands, has its own region widget: list-only filters come from the URL here,
    # and region is set through its widget)
    at = _open(
        monkeypatch,
        seeded_url,
        "analyst",
        "views/customers.py",
        tier="high_value",
        nps="promoter",
        sort="name",
        asc="1",
    )
    at.multiselect(key="region").set_value(["east"]).run()
    with Session(make_engine(seeded_url)) as s:
        total = count_customers(
            s, SYSTEM, CustomerQuery(regions=("east",), tiers=("high_value",), nps=("promoter",)), TEST_KEYRING
        )
    assert total > 0
    assert any(f"{total:,} customers" in c.value for c in at.caption), [c.value for c in at.caption]
    table = at.dataframe[0].value
    assert len(table) == min(total, 50)
    names = list(table["name"])
    assert names == sorted(names) or len(set(names)) < len(names)  # sorted by name, as the URL asked (SQL collation)
    assert all(v == "High value" for v in table["tier"]) and all(v >= 9 for v in table["latest_nps_score"])
    assert len(at.get("download_button")) == 2  # CSV and Excel for an analyst
    at.selectbox(key="contact").select("never").run()
    assert at.query_params["contact"] in ("never", ["never"]) and at.query_params["region"] in ("east", ["east"])


def _viewer_of(url: str, username: str) -> Viewer:
    from core import security

    with Session(make_engine(url)) as s:
        found = security.load_viewer(s, username)
    assert found is not None
    return found


def test_an_account_manager_sees_only_their_customers_and_tasks(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    user_id, _ = _manager(seeded_url)
    at = _open(monkeypatch, seeded_url, "manager1", "views/customers.py", owner="999")
    with Session(make_engine(seeded_url)) as s:
        own = s.scalar(select(func.count()).select_from(m.Customer).where(m.Customer.owner_id == user_id))
    assert any(f"{own:,} customers" in c.value for c in at.caption)
    assert not at.get("download_button")  # account managers work the list; exports stay with analysts
    assert any("My tasks" in e.label for e in at.expander)
    from core import audit
    from core.db import session_scope

    with session_scope(make_engine(seeded_url)) as s:  # their own customers' contacts, shown in clear: on record
        listed = audit.entries(s, viewer=SYSTEM, action="contacts_listed")
    assert list(listed["username"]) == ["manager1"] and '"customers": 50' in listed.iloc[0]["details"]
    # paging forward and back: pages after the first start from the page before (keyset), rows as by OFFSET
    assert own > 75
    at.selectbox(key="size").set_value(25).run()
    shown = {}
    for number in (2, 3, 2):
        at.number_input(key="page").set_value(number).run()
        table = next(d.value for d in at.dataframe if "revenue_12m" in d.value.columns)  # (the tasks come first)
        shown.setdefault(number, []).append(list(table["code"]))
    viewer = _viewer_of(seeded_url, "manager1")
    with Session(make_engine(seeded_url)) as s:
        expected = {n: list(customer_page(s, viewer, CustomerQuery(), TEST_KEYRING, page=n, page_size=25).rows["code"])
                    for n in (2, 3)}  # fmt: skip
    assert shown[2] == [expected[2], expected[2]] and shown[3] == [expected[3]] and expected[2] != expected[3]


def test_the_support_agent_has_no_list(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = signed_in(monkeypatch, seeded_url, "agent")
    at.switch_page("views/customers.py")
    at.run()
    assert any("access" in e.value for e in at.error)


def test_the_360_view_and_logging_an_interaction(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    user_id, customer_id = _manager(seeded_url)
    at = _open(monkeypatch, seeded_url, "manager1", "views/customer.py", id=str(customer_id))
    assert {"Lifetime revenue", "Orders, last 12 months", "Last contact", "Open tickets", "Latest NPS score"} <= {
        x.label for x in at.metric
    }
    timeline_before = at.dataframe[0].value
    engine = make_engine(seeded_url)
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(m.Interaction))
    # an empty subject: the field's message, nothing saved
    submit = next(b for b in at.button if b.label == "Save interaction")
    submit.click().run()
    assert any("Required" in e.value for e in at.error) and any("Nothing was saved" in e.value for e in at.error)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Interaction)) == before
    subject = next(t for t in at.text_input if t.label == "Subject")
    subject.input("Called about renewal")
    next(b for b in at.button if b.label == "Save interaction").click().run()
    assert not at.exception, at.exception
    assert any("Interaction saved" in s.value for s in at.success)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Interaction)) == before + 1
    timeline = at.dataframe[0].value
    assert len(timeline) == len(timeline_before) + 1 and timeline.iloc[0]["title"] == "Called about renewal"
    # out-of-range values reach core (the widgets do not bound them) and each is refused under its field
    next(t for t in at.text_input if t.label == "Subject").input("A very long call")
    next(n for n in at.number_input if n.label == "Duration (minutes)").set_value(99_999)
    next(d for d in at.date_input if d.label == "Follow-up date (creates a task)").set_value(date(2040, 1, 1))
    next(b for b in at.button if b.label == "Save interaction").click().run()
    messages = [e.value for e in at.error]
    assert "Between 0 and 1440." in messages and any("days ahead" in e for e in messages), messages
    assert messages[0].startswith("Nothing was saved")  # above the fields, not below them
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(m.Interaction)) == before + 1
    # the navigation remembers the open customer and offers the ones viewed before
    with Session(engine) as s:
        first_code = s.scalar(select(m.Customer.code).where(m.Customer.id == customer_id))
        other, other_code = s.execute(
            select(m.Customer.id, m.Customer.code)
            .where(m.Customer.owner_id == user_id, m.Customer.id != customer_id)
            .order_by(m.Customer.id)
        ).first()  # type: ignore[misc]
    at.query_params["id"] = str(other)  # another customer...
    at.switch_page("views/customer.py").run()
    at.query_params.pop("id", None)  # ...then "Customer" from the navigation, with no id
    at.switch_page("views/customer.py").run()
    assert not at.exception and any(other_code in h.value for h in at.header)  # the open customer is remembered
    assert any(o.startswith(first_code) for o in at.pills(key=f"recent_{other}").options)  # and the one before offered


@pytest.mark.parametrize(
    "form, button, field_label, message",
    [
        ("ticket", "Open ticket", "Description", "At least 5 characters"),
        ("nps", "Save NPS answer", None, None),
    ],
)
def test_ticket_and_nps_forms(
    monkeypatch: pytest.MonkeyPatch,
    seeded_url: str,
    form: str,
    button: str,
    field_label: str | None,
    message: str | None,
) -> None:
    _, customer_id = _manager(seeded_url)
    at = _open(monkeypatch, seeded_url, "manager1", "views/customer.py", id=str(customer_id))
    at.segmented_control(key="log_what").set_value(form).run()
    engine = make_engine(seeded_url)
    table = m.Ticket if form == "ticket" else m.NpsResponse
    with Session(engine) as s:
        before = s.scalar(select(func.count()).select_from(table))
    if field_label:
        next(t for t in at.text_area if t.label == field_label).input("no")
        next(b for b in at.button if b.label == button).click().run()
        assert any(message in e.value for e in at.error)
        with Session(engine) as s:
            assert s.scalar(select(func.count()).select_from(table)) == before
        next(t for t in at.text_area if t.label == field_label).input("The invoice was sent twice.")
    next(b for b in at.button if b.label == button).click().run()
    assert not at.exception, at.exception
    assert at.success, [e.value for e in at.error]
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(table)) == before + 1
        if form == "ticket":
            created = s.scalar(select(m.Ticket.created_at).order_by(m.Ticket.id.desc()))
            assert created is not None and abs((clock.now() - created).total_seconds()) < 120


def test_an_executive_reads_but_cannot_record(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    _, customer_id = _manager(seeded_url)
    at = _open(monkeypatch, seeded_url, "executive", "views/customer.py", id=str(customer_id))
    assert any("look, not record" in i.value for i in at.info)
    assert not [b for b in at.button if b.label == "Save interaction"]


@pytest.mark.parametrize("wanted", ["²", str(2**63), "1e3", "12abc"])
def test_a_hostile_id_in_the_url_is_no_customer_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str, wanted: str
) -> None:
    at = _open(monkeypatch, seeded_url, "analyst", "views/customer.py", id=wanted)
    from core.i18n import t

    assert not at.exception and any(i.value == t("customer.prompt") for i in at.info)  # asked to pick one


def test_an_unexpected_error_shows_a_reference_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from core import customer_view

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom with 13812345678 inside")

    _, customer_id = _manager(seeded_url)
    monkeypatch.setenv("CRM_SHOW_ERRORS", "0")  # as in production
    monkeypatch.setattr(customer_view, "timeline", broken)
    at = _open(monkeypatch, seeded_url, "manager1", "views/customer.py", id=str(customer_id))
    shown = [e.value for e in at.error]
    assert not at.exception and any("reference" in e for e in shown), shown
    assert not any("13812345678" in e or "RuntimeError" in e for e in shown)  # the details stay in the server log
    reference = next(e for e in shown if "reference" in e).rsplit(" ", 1)[-1]
    assert any(reference in r.getMessage() for r in caplog.records)


def test_a_refused_reveal_is_on_record(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    from core import audit
    from core.db import session_scope
    from core.i18n import t

    _, customer_id = _manager(seeded_url)
    at = _open(monkeypatch, seeded_url, "admin", "views/customer.py", id=str(customer_id))
    next(x for x in at.text_input if x.label == t("customer.reveal_reason")).input("no")
    next(b for b in at.button if b.label == t("customer.reveal")).click().run()
    assert not at.exception and at.error  # too short a reason: refused, with its message
    with session_scope(make_engine(seeded_url)) as s:
        refused = audit.entries(s, viewer=SYSTEM, username="admin", action="reveal_refused")
    assert list(refused["object"]) == [f"customer:{customer_id}"] and "error.reason" in refused.iloc[0]["details"]
