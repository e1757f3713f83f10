"""Every page as its main role, in English and in Chinese, in headless Chromium: what only a browser shows.

Fails on: a traceback or an error box; `None` / `nan` / `NaT`, an English catalog key or a raw data code
visible on the Chinese page; a download button that does not produce a file (each one is clicked, the
file opened and its rows and masking checked); a month axis out of calendar order.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import func, select

from core import clock, models as m, surveys
from core.access import SYSTEM
from core.customer_list import CustomerQuery
from core.db import make_engine, session_scope
from core.i18n import catalog
from tests.conftest import TEST_KEYRING
from tests.e2e.test_browser import CHROMIUM, FLAGS, server, sign_in  # noqa: F401  (the app-server fixture)

# the browser tests share one worker: two app servers and two Chromiums at once would starve each other
pytestmark = pytest.mark.xdist_group("browser")

MISSING = re.compile(r"(?<![\w.])(None|nan|NaN|NaT)(?![\w.])")
MASKED_PHONE = re.compile(r"\d{3}\*{4}\d{4}")
MONTH = re.compile(r"^\d{4}-\d{2}$")
# data codes that have a label: shown raw on a Chinese page, they are untranslated (roles are left out:
# the demo's usernames are role names)
CODE_GROUPS = (
    "ticket_status",
    "ticket_kind",
    "priority",
    "category",
    "channel",
    "tier",
    "stage",
    "sla.metric",
    "sla.state",
    "root_cause",
    "outcome",
    "direction",
    "touchpoint",
    "kind",
    "region",
    "industry",
    "service.event",
)
KEYS = {k for k in catalog("en") if "." in k}
CODES = {k.rsplit(".", 1)[1] for k in catalog("en") if k.rsplit(".", 1)[0] in CODE_GROUPS} - {"other", "none", "email"}
RAW = re.compile(r"(?<![\w@.*-])(" + "|".join(sorted(map(re.escape, CODES), key=len, reverse=True)) + r")(?![\w@.*-])")

BEHIND = {"en": r"tickets? behind", "zh": r"对应的 \d+ 个工单"}  # service.behind
CARD_ORDER = [
    "active_customers",
    "new_customers",
    "revenue",
    "average_order_value",
    "repurchase_rate",
    "lead_conversion_rate",
    "lifetime_value",
    "churn_rate",
    "nps",
    "csat",
    "first_response_sla",
    "resolution_sla",
    "complaint_rate",
]  # views/cockpit.py
STREAMLIT_ENGLISH = ("Choose an option", "Choose options", "No options to select", "No results")
TEXT_JS = """(skip) => {
  const parts = [document.body.innerText];
  document.querySelectorAll(".js-plotly-plot text").forEach(e => parts.push(e.textContent));
  document.querySelectorAll("[data-testid='stDataFrame']").forEach((grid, i) => {
    if (!skip.includes(i)) grid.querySelectorAll("[data-testid^='glide-cell']").forEach(e => parts.push(e.textContent));
  });
  return parts.join("\\n");
}"""
MONTH_AXES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(plot =>
  Array.from(plot.querySelectorAll('.xaxislayer-above .xtick text')).map(t => t.textContent))"""


def settle(page, *, limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page has its title, the script has finished, no status widget shows and the page stops
    changing (1 s)."""
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=limit * 1000)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=limit * 1000)
    page.wait_for_function(
        """() => {
        const now = document.querySelectorAll('[data-testid]').length + ':' +
                    document.querySelector("[data-testid='stApp']").getAttribute('data-test-script-state') + ':' +
                    document.querySelectorAll("[data-testid='stStatusWidget']").length;
        const w = window.__settle || (window.__settle = {last: '', since: Date.now()});
        if (now !== w.last) { w.last = now; w.since = Date.now(); return false; }
        return Date.now() - w.since > 1000 && now.endsWith('notRunning:0');
    }""",
        polling=100,
        timeout=limit * 1000,
    )


def check_page(page, lang: str, where: str, *, free_text: tuple[int, ...] = ()) -> str:  # type: ignore[no-untyped-def]
    """The page's visible text after the checks every page must pass; returns it for page-specific checks.

    `free_text`: grids (by position) of people's own words (comments, their keywords), where an English word
    that is also a code ("onboarding") is what someone wrote, not an untranslated label."""
    settle(page)
    problems = []
    if page.locator("[data-testid='stException']").count():
        problems.append("a traceback: " + page.locator("[data-testid='stException']").first.inner_text()[:300])
    if page.locator("[data-testid='stAlertContentError']").count():
        problems.append("an error box: " + page.locator("[data-testid='stAlertContentError']").first.inner_text()[:300])
    text = page.evaluate(TEXT_JS, list(free_text))
    problems += [f"'{hit}' shown" for hit in sorted(set(MISSING.findall(text)))]
    if lang == "zh":
        keys = {token for token in re.findall(r"[a-z_]+(?:\.[a-z0-9_]+)+", text) if token in KEYS}
        problems += [f"catalog key {k} shown" for k in sorted(keys)]
        problems += [  # with the text around it, so a failure under load says where it was
            f"raw code '{hit.group(1)}' shown in “{text[max(0, hit.start() - 60) : hit.end() + 60]!r}”"
            for hit in {h.group(1): h for h in RAW.finditer(text)}.values()
        ]
        problems += [f"Streamlit's own English '{w}' shown" for w in STREAMLIT_ENGLISH if w in text]
    for ticks in page.evaluate(MONTH_AXES_JS):
        months = [t for t in ticks if MONTH.match(t)]
        if months != sorted(months):
            problems.append(f"month axis out of order: {months}")
    assert not problems, f"{where} ({lang}): " + "; ".join(problems)
    return text


def click_tabs(page, lang: str, where: str) -> str:  # type: ignore[no-untyped-def]
    """Open every tab of the page in turn (charts draw their axes only when visible), checking each."""
    text = check_page(page, lang, where)
    tabs = page.locator("[data-testid='stTabs'] [role='tab']")
    for i in range(tabs.count()):
        tabs.nth(i).click()
        text += check_page(page, lang, f"{where}, tab {i + 1}")
    return text


def downloads(page, tmp_path: Path, lang: str, where: str, expect: int) -> list[Path]:  # type: ignore[no-untyped-def]
    """Click each of the `expect` download buttons the page must have; each must deliver a non-empty file."""
    files = []
    buttons = page.locator("[data-testid='stDownloadButton'] button")
    buttons.nth(expect - 1).wait_for(timeout=30_000)
    assert buttons.count() == expect, f"{where} ({lang}): {buttons.count()} download buttons"
    for i in range(expect):
        for attempt in range(3):  # a click lost while a rerun redraws the page (seen once under a loaded CI)
            try:
                with page.expect_download(timeout=60_000) as info:
                    buttons.nth(i).click()
                break
            except PlaywrightTimeout:
                if attempt == 2:
                    raise
                settle(page)
        target = tmp_path / f"{where}-{lang}-{i}-{info.value.suggested_filename}"
        info.value.save_as(target)
        assert target.stat().st_size > 0, f"{where} ({lang}): download {i} is empty"
        codes = [h for h in read_rows(target)[0] if re.fullmatch(r"[a-z_]{2,}", str(h))]  # ("n" is the sample size)
        assert not codes, f"{where} ({lang}): download {i} is headed with raw column names {codes}"
        files.append(target)
        settle(page)
    return files


def read_rows(path: Path) -> list[list[object]]:
    if path.suffix == ".xlsx":
        from openpyxl import load_workbook

        return [list(r) for r in load_workbook(path, read_only=True).active.iter_rows(values_only=True)]
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_as_its_main_role(server: str, seeded_url: str, tmp_path: Path, lang: str) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    engine = make_engine(seeded_url)
    with session_scope(engine) as s:
        manager = s.execute(select(m.User.id).where(m.User.username == "manager1")).scalar_one()
        own = s.scalar(select(m.Customer.id).where(m.Customer.owner_id == manager).order_by(m.Customer.id))
        anyone = s.scalar(select(m.Customer.id).where(m.Customer.owner_id != manager).order_by(m.Customer.id))
        ticket, resolution = s.execute(
            select(m.Ticket.id, m.Ticket.resolution)
            .where(m.Ticket.status == "closed", m.Ticket.resolution.is_not(None))
            .order_by(m.Ticket.id.desc())
        ).first()  # type: ignore[misc]
        first_code, last_code = s.scalar(select(func.min(m.Customer.code))), s.scalar(select(func.max(m.Customer.code)))
        segment = CustomerQuery(tiers=("high_value",))
        plan = surveys.SurveyPlan("Pulse", "nps", segment, clock.today() + timedelta(days=30))
        run = surveys.create_run(s, SYSTEM, plan, TEST_KEYRING, now=clock.now() - timedelta(days=1))
        asked = s.scalar(select(m.SurveyRecipient.customer_id).where(m.SurveyRecipient.run_id == run))
        surveys.record_answer(s, SYSTEM, run, int(asked or 0), score=9, comment="onboarding was smooth")
    q = f"lang={lang}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)

        def as_user(username: str):  # type: ignore[no-untyped-def]
            for done in browser.contexts:  # the previous user's session ends: the server keeps one at a time
                done.close()
            context = browser.new_context(viewport={"width": 1440, "height": 1800}, accept_downloads=True)
            page = context.new_page()
            sign_in(page, f"{server}/?{q}", username)
            return page

        page = as_user("executive")  # the cockpit, its KPI export, and the voice of the customer
        check_page(page, lang, "cockpit")
        cut = page.evaluate("""() => Array.from(document.querySelectorAll("[data-testid='stMetricDeltaDescription'] p"))
            .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent)""")
        assert not cut, f"cockpit ({lang}): previous-period values cut off: {cut}"
        if lang == "zh":  # on a phone the cards stack in reading order, row by row
            page.set_viewport_size({"width": 390, "height": 3000})
            settle(page)
            # the resize can rerun the page: read the cards once all sixteen are drawn again (CI read none once)
            page.locator("[data-testid='stMetric'] [data-testid='stMetricLabel']").nth(15).wait_for(timeout=60_000)
            tops = page.evaluate("""() => Array.from(
                document.querySelectorAll("[data-testid='stMetric'] [data-testid='stMetricLabel']"))
                .map(e => [e.getBoundingClientRect().top, e.textContent.trim()])""")
            keys = [*CARD_ORDER, "open_complaints", "revenue_at_risk", "data_completeness"]
            assert [label for _, label in sorted(tops)] == [catalog(lang)[f"kpi.{k}"] for k in keys]
            page.set_viewport_size({"width": 1440, "height": 1800})
            settle(page)
        kpis = read_rows(downloads(page, tmp_path, lang, "cockpit", 1)[0])
        assert len(kpis) > 10
        page.goto(f"{server}/goals?{q}")  # every target with its status and trend
        check_page(page, lang, "goals")
        page.goto(f"{server}/loyalty?{q}")  # members, liability, levels, the matched comparison
        check_page(page, lang, "loyalty")
        page.goto(f"{server}/growth?{q}")  # the revenue forecast with its bands and backtest, then the offers
        check_page(page, lang, "growth, forecast")
        page.locator("[data-testid='stTabs'] [role='tab']").nth(1).click()
        check_page(page, lang, "growth, next best offer")
        page.locator("[data-testid='stTabs'] [role='tab']").nth(2).click()
        check_page(page, lang, "growth, channels")
        page.locator("[data-testid='stTabs'] [role='tab']").nth(3).click()
        check_page(page, lang, "growth, lead funnel")
        # a click on the funnel's last stage lists the converted leads below it (the stage box follows)
        stage = page.locator(".js-plotly-plot .funnellayer .point").nth(3)
        stage.scroll_into_view_if_needed()
        bar = stage.bounding_box()  # where it is in the window now: the pointer clicks there
        assert bar is not None
        page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
        page.wait_for_selector(".js-plotly-plot .hoverlayer .hovertext")  # Plotly clicks the point it hovers
        page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
        converted = catalog(lang)["growth.funnel.stage.converted"]
        page.wait_for_function(  # the state to wait for, not a time: the stage box shows the clicked stage
            """(label) => [...document.querySelectorAll("[data-testid='stSelectbox'] input")].some(
                i => i.value === label)""",
            arg=converted,
            polling=100,
            timeout=60_000,
        )
        check_page(page, lang, "growth, a funnel stage's leads")
        page.locator("[data-testid='stTabs'] [role='tab']").nth(4).click()
        check_page(page, lang, "growth, campaigns")
        page.goto(f"{server}/churn?{q}")  # the small demo is below the training threshold: says how to train
        check_page(page, lang, "churn warnings")
        page.goto(f"{server}/voice?{q}")
        check_page(page, lang, "voice")
        assert len(read_rows(downloads(page, tmp_path, lang, "voice", 1)[0])) > 2
        sections = page.locator("[data-testid='stTabs'] [role='tab']")  # each computed when opened
        sections.nth(1).click()
        check_page(page, lang, "voice, comments", free_text=(0, 1))  # comments, detractor keywords
        sections.nth(2).click()
        check_page(page, lang, "voice, closed loop")

        page = as_user("analyst")  # the list and its exports (every filtered row, contact details masked), imports
        page.goto(f"{server}/customers?{q}")
        check_page(page, lang, "customers")
        exported = [read_rows(f) for f in downloads(page, tmp_path, lang, "customers", 2)]
        assert len(exported) == 2, "CSV and Excel"
        for rows in exported:
            assert len(rows) - 1 > 50 and len({len(r) for r in rows}) == 1
            flat = " ".join(str(c) for r in rows[1:] for c in r if c is not None)
            assert MASKED_PHONE.search(flat) and not re.search(
                r"(?<![\d.])1\d{10}(?![\d.])", flat
            )  # masked, never in clear
            assert not re.search(r"\d\.\d{3,}", flat), "money in cents, not binary-float tails"
        if lang == "en":  # a header click sorts the whole list in the database, a second click reverses it
            codes = [first_code, last_code]
            grid = page.locator("[data-testid='stDataFrame']").first
            box = grid.bounding_box()
            for x in range(20, 400, 25):  # the first sortable header from the left is the code column
                page.mouse.click(box["x"] + x, box["y"] + 17)
                settle(page)
                if "sort=code" in page.url:
                    break
            assert "sort=code" in page.url and "asc=1" in page.url
            page.wait_for_function(
                "(code) => document.querySelector(\"[data-testid='glide-cell-1-0']\")?.textContent === code",
                arg=codes[0],
                timeout=30_000,
            )  # the first customer of all pages, not of this one
            page.mouse.click(box["x"] + x, box["y"] + 17)
            settle(page)
            assert "asc=1" not in page.url
            page.wait_for_function(
                "(code) => document.querySelector(\"[data-testid='glide-cell-1-0']\")?.textContent === code",
                arg=codes[1],
                timeout=30_000,
            )
        page.goto(f"{server}/customer?id={anyone}&{q}")
        text = click_tabs(page, lang, "customer 360 (analyst)")
        assert MASKED_PHONE.search(text), "the masked phone shows as stored (no Markdown bold)"
        if lang == "zh":  # the team lead's tour below shows the same page in both languages
            page.goto(f"{server}/service?{q}")
            click_tabs(page, lang, "service (analyst)")
        page.goto(f"{server}/import?{q}")  # bringing data in, and how good it is
        check_page(page, lang, "import")
        page.locator("[data-testid='stMain'] [data-testid='stSelectbox']").first.click()  # a sample file
        page.get_by_role("option").filter(has_text="erp-customers-zh.csv").first.click()
        settle(page)
        page.locator("button").filter(has_text=catalog(lang)["import.check"]).first.click()
        page.locator("[data-testid='stMetric']").first.wait_for(timeout=60_000)
        settle(page)
        check_page(page, lang, "import, the preview")
        metrics = page.locator("[data-testid='stMetricValue']").all_inner_texts()
        # 11 rows: new, updates, unchanged, duplicates, refused (managers the small demo lacks are refused)
        assert sum(int(n) for n in metrics) == 11 and int(metrics[0]) >= 1 and metrics[3] == "1", metrics
        page.locator("button").filter(has_text=catalog(lang)["import.run"].split("{")[0].strip()).last.click()
        page.locator("[data-testid='stAlertContentSuccess']").first.wait_for(timeout=60_000)
        settle(page)
        check_page(page, lang, "import, done")
        page.goto(f"{server}/quality?{q}")
        check_page(page, lang, "data quality")
        page.goto(f"{server}/surveys?{q}")  # a survey run, its list to contact and the list's export
        check_page(page, lang, "surveys")
        assert len(read_rows(downloads(page, tmp_path, lang, "surveys", 1)[0])) > 2

        page = as_user("manager1")  # the 360° view of an own customer, with the forms
        page.goto(f"{server}/customer?id={own}&{q}")
        click_tabs(page, lang, "customer 360 (manager)")

        if lang == "en":  # an agent's selected queue row opens the ticket
            page = as_user("agent")
            page.goto(f"{server}/service?{q}")
            settle(page)
            grid = page.locator("[data-testid='stDataFrame']").first
            box = grid.bounding_box()
            first = page.locator("[data-testid='glide-cell-1-0']").text_content()
            page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
            page.locator("[data-testid='stTabs'] [role='tab'][aria-selected='true']").filter(
                has_text="Ticket"
            ).wait_for(timeout=30_000)
            page.locator("h3").filter(has_text=f"#{first}").first.wait_for(timeout=30_000)

        page = as_user("lead")  # the queue, one ticket's history and SLA, analytics, performance and their exports
        page.goto(f"{server}/service?ticket={ticket}&{q}")  # a link to a ticket opens its tab
        text = click_tabs(page, lang, "service (team lead)")
        assert resolution in text  # what the desk recorded is shown again
        page.locator("[data-testid='stTabs'] [role='tab']").nth(2).click()
        settle(page)
        for path in downloads(page, tmp_path, lang, "service", 2):  # SLA compliance, CSV and Excel
            assert len(read_rows(path)) > 1
        table = page.locator("[data-testid='stDataFrame']:visible").first  # a compliance row lists its tickets
        box = table.bounding_box()
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
        page.get_by_text(re.compile(BEHIND[lang])).first.wait_for(timeout=30_000)
        check_page(page, lang, "service analytics, the tickets behind a row")
        sections = page.locator("[data-testid='stTabs'] [data-testid='stTabs'] [role='tab']")  # computed when opened
        for i in range(1, sections.count()):
            sections.nth(i).click()
            check_page(page, lang, f"service analytics, section {i + 1}")
            if i == 1:  # agent and team performance, CSV and Excel
                for path in downloads(page, tmp_path, lang, "service performance", 2):
                    assert len(read_rows(path)) > 1

        page = as_user("admin")  # users, the audit log (and its export), data-subject requests
        page.goto(f"{server}/admin?{q}")
        click_tabs(page, lang, "admin")
        page.locator("[data-testid='stTabs'] [role='tab']").nth(1).click()
        settle(page)
        audit_rows = read_rows(downloads(page, tmp_path, lang, "admin", 1)[0])
        assert len(audit_rows) > 2 and not any(str(c).startswith("{") for r in audit_rows for c in r)  # words, not JSON
        page.goto(f"{server}/automation?rule=6&{q}")  # the rules, one demo rule's firings, outcome and editor
        text = check_page(page, lang, "automation")
        assert (
            catalog(lang)["rules.outcome.resolution_met"] in text
            and catalog(lang)["rules.firings"].split(" (")[0].split("（")[0] in text
        )
        page.goto(f"{server}/service?{q}")  # the tab only administrators have (the others are the lead's above)
        settle(page)
        page.locator("[data-testid='stTabs'] [role='tab']").last.click()
        check_page(page, lang, "service (administrator: policies and calendars)")
        browser.close()
