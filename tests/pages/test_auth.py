"""Sign-in through the real form, lockout, and what each role may open, as AppTest sees the app."""

from __future__ import annotations

import pytest

from core import access, audit, clock, kpi, security
from core.access import SYSTEM
from core.db import make_engine, session_scope
from core.formatting import value
from core.periods import Filters
from tests.pages.helpers import open_app, sign_in, signed_in

PAGES = {"cockpit": "views/cockpit.py", "customer": "views/customer.py", "admin": "views/admin.py"}
ROLE_USERS = {
    "admin": "admin",
    "executive": "executive",
    "analyst": "analyst",
    "account_manager": "manager1",
    "support_agent": "agent",
}


def _errors(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.value for e in at.error]


def test_right_and_wrong_passwords(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = open_app(monkeypatch, seeded_url)
    assert at.text_input(key="sign_in_password") is not None and not at.metric
    at = sign_in(at, "admin", "not-the-password-1")
    assert _errors(at) == ["Username or password is incorrect."] and not at.metric
    at = sign_in(at, "nobody", "not-the-password-1")
    assert _errors(at) == ["Username or password is incorrect."]
    at = sign_in(at, "admin")
    assert not _errors(at) and len(at.metric) == 16


def test_lockout_is_said_plainly(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = open_app(monkeypatch, seeded_url)
    for _ in range(4):
        at = sign_in(at, "analyst", "not-the-password-1")
    at = sign_in(at, "analyst", "not-the-password-1")
    assert "Too many failed sign-ins" in _errors(at)[0]
    at = sign_in(at, "analyst")  # the right password waits too
    assert "Too many failed sign-ins" in _errors(at)[0] and not at.metric


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_each_role_opens_exactly_its_pages(monkeypatch: pytest.MonkeyPatch, seeded_url: str, role: str) -> None:
    at = signed_in(monkeypatch, seeded_url, ROLE_USERS[role])
    viewer = access.Viewer(None, ROLE_USERS[role], "", role)
    for page, path in PAGES.items():
        at.switch_page(path).run()
        assert not at.exception, (role, page)
        denied = "You have no access to this page." in _errors(at)
        assert denied != access.may_open(viewer, page), (role, page)


def test_an_account_manager_sees_only_their_customers(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = signed_in(monkeypatch, seeded_url, "manager1")
    with session_scope(make_engine(seeded_url)) as s:
        manager = security.load_viewer(s, "manager1")
        own = kpi.cockpit(s, kpi.latest_complete_month(clock.today()), Filters(), viewer=manager, now=clock.now())
        everyone = kpi.cockpit(
            s, kpi.latest_complete_month(clock.today()), Filters(), viewer=access.SYSTEM, now=clock.now()
        )
        other = s.execute(security.U.select().where(security.U.c.username == "manager2")).mappings().one()
        foreign = s.execute(
            __import__("sqlalchemy").text("SELECT id FROM customers WHERE owner_id = :o LIMIT 1"), {"o": other["id"]}
        ).scalar()
    shown = {m.label: m.value for m in at.metric}
    assert shown["Active customers"] == value(own.kpi("active_customers").value, "count", "en")
    assert any("your own customers" in c.value for c in at.caption)
    assert not [w for w in at.multiselect if w.key == "owner"]  # no owner filter: core scopes them anyway
    assert own.kpi("active_customers").value < everyone.kpi("active_customers").value
    at.query_params["id"] = str(foreign)
    at.switch_page("views/customer.py").run()
    assert any("No customer" in w.value for w in at.warning)  # another manager's customer does not exist here


def test_no_pages_folder_beside_the_app() -> None:
    """Streamlit runs pages/<name>.py by itself, without app.py's sign-in, while a pages/ folder sits beside
    the entry script and no session has called st.navigation yet (multipage v1 mode). Views live in views/."""
    from tests.pages.helpers import APP

    assert not (__import__("pathlib").Path(APP).parent / "pages").exists()


def test_role_changes_and_deactivation_apply_on_the_next_page_load(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    at = signed_in(monkeypatch, seeded_url, "analyst")
    assert len(at.metric) == 16
    with session_scope(make_engine(seeded_url)) as s:
        security.change_user(s, username="analyst", role="support_agent", actor=access.SYSTEM)
    at.switch_page("views/cockpit.py").run()  # what they may see changed: the session ends, sign in again
    assert any("session has ended" in w.value for w in at.warning) and not at.metric
    at = sign_in(at, "analyst")
    assert "You have no access to this page." in _errors(at)  # a support agent has no cockpit
    with session_scope(make_engine(seeded_url)) as s:  # ...and the refused attempt is on record
        assert "page:cockpit" in list(
            audit.entries(s, viewer=SYSTEM, username="analyst", action="access_refused")["object"]
        )
    with session_scope(make_engine(seeded_url)) as s:
        security.change_user(s, username="analyst", active=False, actor=access.SYSTEM)
    at.run()
    assert any("session has ended" in w.value for w in at.warning)
    assert at.text_input(key="sign_in_password") is not None and not at.metric


@pytest.mark.parametrize("username, allowed", [("executive", True), ("analyst", True), ("manager1", False)])
def test_export_buttons_follow_the_right_to_export(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str, username: str, allowed: bool
) -> None:
    at = signed_in(monkeypatch, seeded_url, username)
    assert (len(at.get("download_button")) == 1) == allowed


def test_admin_page_renders_every_tab(monkeypatch: pytest.MonkeyPatch, seeded_url: str) -> None:
    at = signed_in(monkeypatch, seeded_url, "admin")
    at.switch_page("views/admin.py").run()
    assert not at.exception and len(at.tabs) == 3
    at.text_input(key="subject_code").input("C0000005").run()
    assert not at.exception and any("C0000005" in t.value for t in at.text)  # user text as text
    # a new user: no role is chosen for the administrator, and once created the user is in the list at once
    form = {t.label: t for t in at.text_input}
    form["Username"].input("nora")
    form["Display name"].input("Nora Li")
    form["Initial password (at least 10 characters)"].input("first-pass-1")
    create = next(b for b in at.button if b.label == "Create user")
    create.click().run()
    assert any("Choose a role" in e.value for e in at.error)  # refused in words, nothing created...
    assert {t.label: t for t in at.text_input}["Username"].value == "nora"  # ...and nothing typed is lost
    next(s for s in at.selectbox if s.label == "Role" and s.value is None).select("analyst")
    next(b for b in at.button if b.label == "Create user").click().run()
    assert not at.exception and any("User nora created" in s.value for s in at.success)
    assert "nora" in list(at.dataframe[0].value["Username"])
    assert {t.label: t for t in at.text_input}["Username"].value == ""  # a fresh form for the next one


def test_every_page_survives_an_empty_store(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    from core.cli import main
    from tests.conftest import DEMO_PASSWORD

    assert (
        main(
            [
                "--database-url",
                sqlite_url,
                "create-user",
                "admin",
                "--role",
                "admin",
                "--name",
                "Admin",
                "--password",
                DEMO_PASSWORD,
            ]
        )
        == 0
    )
    at = signed_in(monkeypatch, sqlite_url, "admin")
    for path in [*PAGES.values(), "views/goals.py"]:  # goals: seed 003's targets, with no data to measure
        at.switch_page(path).run()
        assert not at.exception, path
    assert at.dataframe(key="goals_table").value["status"].str.endswith("no data").all()
    at.switch_page("views/automation.py").run()  # the shipped rules, none fired yet
    assert not at.exception and set(at.dataframe(key="rules_table").value["fires"]) == {0}
    at.switch_page("views/growth.py")
    for section in ("Forecast", "Next best offer", "Channels", "Lead funnel", "Campaigns"):
        at.session_state["growth_section_en"] = section
        at.run()
        assert not at.exception, section
    assert at.info  # no campaigns yet, said rather than crashed
    at.switch_page(PAGES["admin"]).run()
    at.text_input(key="subject_code").input("C0000001").run()
    assert not at.exception and any("No customer" in w.value for w in at.warning)


def test_two_step_sign_in_asks_for_the_code_and_administrators_can_be_made_to_use_it(
    monkeypatch: pytest.MonkeyPatch, seeded_url: str
) -> None:
    import pyotp

    from core.access import Viewer
    from tests.conftest import TEST_KEYRING

    secret = security.new_totp_secret()
    with session_scope(make_engine(seeded_url)) as s:
        security.enable_totp(
            s,
            viewer=Viewer(None, "analyst", "Analyst", "analyst"),
            secret=secret,
            code=pyotp.TOTP(secret).now(),
            keyring=TEST_KEYRING,
        )
    at = sign_in(open_app(monkeypatch, seeded_url), "analyst")
    assert not at.metric and at.text_input(key="sign_in_code") is not None  # the password alone is not enough
    at.text_input(key="sign_in_code").input("000000")
    at = next(b for b in at.button if b.label == "Confirm").click().run()
    assert any("not right" in e for e in _errors(at)) and not at.metric  # a wrong code: back to the password
    at = sign_in(at, "analyst")
    at.text_input(key="sign_in_code").input(pyotp.TOTP(secret).now())
    at = next(b for b in at.button if b.label == "Confirm").click().run()
    assert not at.exception and len(at.metric) == 16  # signed in, on the cockpit
    monkeypatch.setenv("CRM_ADMIN_TOTP", "1")
    at = signed_in(monkeypatch, seeded_url, "admin")
    assert any("two steps" in w.value for w in at.warning) and not at.metric  # set it up before anything else
