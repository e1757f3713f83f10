"""The real app in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; no browser download)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core import clock, formatting, kpi
from core.access import SYSTEM
from core.db import make_engine, session_scope
from core.periods import Filters
from tests.conftest import DEMO_PASSWORD
from ui.auth import COOKIE_NAME

# the browser tests share one worker: two app servers and two Chromiums at once would starve each other
pytestmark = pytest.mark.xdist_group("browser")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(seeded_url: str, tmp_path: Path) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium); .ci/run installs it")
    port = _free_port()
    env = {**os.environ, "CRM_DATABASE_URL": seeded_url}
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError(f"streamlit did not start: {(tmp_path / 'streamlit.log').read_text()}") from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def sign_in(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    for attempt in range(3):  # a sign-in whose click was lost under load (seen twice in CI) is made again
        page.goto(url)
        page.locator("input[type='password']").wait_for(timeout=60_000)
        # a click while the sign-in page is still running can be lost under load: wait until its run is over
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
        page.locator("input[type='text']").first.fill(username)
        page.locator("input[type='password']").first.fill(DEMO_PASSWORD)
        page.locator("[data-testid='stFormSubmitButton'] button").first.click()
        try:
            page.locator("[data-testid='stSidebarNav']").wait_for(timeout=90_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    # the session cookie is set by a component after the first signed-in run: the next page load needs it
    page.wait_for_function(
        "(name) => document.cookie.includes(name + '=')", arg=COOKIE_NAME, polling=100, timeout=60_000
    )


def test_cockpit_in_a_browser(server: str, seeded_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with session_scope(make_engine(seeded_url)) as s:
        expected = kpi.cockpit(s, kpi.latest_complete_month(clock.today()), Filters(), viewer=SYSTEM, now=clock.now())
    active = formatting.value(expected.kpi("active_customers").value, "count", "en")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1440, "height": 2600})
        sign_in(page, server, "admin")
        card = page.locator("[data-testid='stMetric']").filter(has_text="Active customers").first
        card.wait_for(timeout=60_000)
        assert card.locator("[data-testid='stMetricValue']").inner_text().strip() == active
        page.locator(".js-plotly-plot").nth(5).wait_for(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        shot = Path(os.environ.get("CRM_SCREENSHOT_DIR", tmp_path)) / "cockpit.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 50_000
        # selecting the first churn warning opens that customer (the grid is a canvas: click the row marker)
        first_code = expected.churn_warnings.iloc[0]["code"]
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
        page.get_by_text(first_code).first.wait_for(timeout=30_000)
        assert "/customer" in page.url
        page.goto(f"{server}/?lang=zh")
        page.get_by_text("客户健康驾驶舱").wait_for(timeout=30_000)
        browser.close()


def test_the_session_survives_a_reload_until_the_user_is_deactivated(server: str, seeded_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    from core import security

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        sign_in(page, server, "executive")
        page.locator("[data-testid='stMetric']").first.wait_for(timeout=60_000)
        nav = page.locator("[data-testid='stSidebarNav']").inner_text()
        assert "Cockpit" in nav and "Administration" not in nav  # absent from the navigation...
        page.goto(f"{server}/admin")
        page.get_by_text("You have no access to this page.").wait_for(timeout=30_000)  # ...and refused by URL
        page.goto(f"{server}/cockpit")  # the role's first page answers at its own path too, with the session
        page.locator("[data-testid='stMetric']").first.wait_for(timeout=60_000)
        assert page.get_by_text("Page not found").count() == 0
        with session_scope(make_engine(seeded_url)) as s:
            security.change_user(s, username="executive", active=False, actor=SYSTEM)
        page.reload()
        page.get_by_text("Your session has ended").wait_for(timeout=60_000)
        # the sign-in form is back, once the runs the reload started are over (a rerun redraws it meanwhile)
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
        expect(page.locator("input[type='password']")).to_have_count(1, timeout=30_000)
        expect(page.get_by_text("Your session has ended")).to_have_count(1, timeout=30_000)
        browser.close()


def test_a_cookie_copied_before_sign_out_no_longer_signs_in(server: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        first = browser.new_context()
        page = first.new_page()
        sign_in(page, server, "executive")
        page.locator("[data-testid='stMetric']").first.wait_for(timeout=60_000)
        page.wait_for_function("(name) => document.cookie.includes(name + '=')", arg=COOKIE_NAME, timeout=60_000)
        copied = [c for c in first.cookies() if c["name"] == COOKIE_NAME]
        assert copied
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("Password", exact=True).wait_for(timeout=60_000)
        thief = browser.new_context()  # another browser with the copy taken while signed in
        thief.add_cookies(copied)
        stolen = thief.new_page()
        stolen.goto(server)
        stolen.get_by_label("Password", exact=True).wait_for(timeout=60_000)  # the sign-in form, not the cockpit
        assert stolen.locator("[data-testid='stMetric']").count() == 0
        browser.close()
