"""The browser floor: each page settled after a reload, against a bare page with the same widgets in the same run.

    python bench/browser.py [--customers 100000 | --database-url URL] [--repeat 3]
                            [--pages cockpit customers churn customer service voice surveys quality import]

Starts the app over the bench store (as bench/load.py does) and, beside it, a bare Streamlit page that draws
what it is told to (cards, Plotly charts, tables, forms, tabs, sidebar widgets) from constants: no sign-in,
no data work. Signs in as the analyst (every page but administration) in headless Chromium (Debian's
/usr/bin/chromium), then for each page: loads it once (the server's caches warm, as a user's reload finds
them), then reloads it and times it until settled (the script has finished and the page's elements have held
still for a second; the time is that of the last change), counts what it drew, and times the bare page
drawing the same counts. Prints one JSON line per page with the medians of `--repeat` runs: the page, its
bare twin, the gap, and whether the gap is within the goal (0.5 s, PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cockpit import bench_store  # noqa: E402
from bench.load import PASSWORD, prepare, start_server  # noqa: E402
from ui.auth import COOKIE_NAME  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]
GOAL_S = 0.5
PAGES = ["cockpit", "customers", "churn", "customer", "service", "voice", "surveys", "quality", "import"]
COUNTED = {  # what a page drew, by Streamlit's own test ids
    "metrics": "[data-testid='stMain'] [data-testid='stMetric']",
    "charts": "[data-testid='stMain'] .js-plotly-plot",
    "tables": "[data-testid='stMain'] [data-testid='stDataFrame']",
    "forms": "[data-testid='stMain'] [data-testid='stForm']",
    "tabs": "[data-testid='stMain'] [data-testid='stTabs'] [role='tab']",
    "inputs": "[data-testid='stMain'] [data-testid='stWidgetLabel']",
    "sidebar": "[data-testid='stSidebarUserContent'] [data-testid='stWidgetLabel']",
}
BARE = """
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

n = {k: int(v) for k, v in st.query_params.items()}
for i in range(n.get("sidebar", 0)):
    st.sidebar.multiselect(f"Filter {i}", ["North", "South", "East", "West"], key=f"s{i}")
st.title("Bare page")
tabs = st.tabs([f"Tab {i}" for i in range(n.get("tabs", 0))]) if n.get("tabs") else [st.container()]
with tabs[0]:
    for row in range(0, n.get("metrics", 0), 4):
        for column, i in zip(st.columns(4), range(row, min(row + 4, n["metrics"]))):
            column.metric(f"Figure {i}", f"{1234 + i:,}", delta="+1.2 %", border=True)
    for i in range(n.get("inputs", 0)):
        st.selectbox(f"Choice {i}", ["a", "b", "c"], key=f"i{i}")
    for i in range(n.get("charts", 0)):
        figure = go.Figure(go.Scatter(x=list(range(24)), y=[(j * 37 + i) % 50 for j in range(24)]))
        st.plotly_chart(figure.update_layout(height=320, title=f"Chart {i}"), key=f"c{i}")
    for i in range(n.get("tables", 0)):
        st.dataframe(pd.DataFrame({f"col{j}": range(50) for j in range(8)}), key=f"t{i}")
    for i in range(n.get("forms", 0)):
        with st.form(f"f{i}"):
            st.text_input("Text")
            st.form_submit_button("Save")
"""


def _counts(page) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {name: page.locator(selector).count() for name, selector in COUNTED.items()}


def _settled(page, started: float, limit_s: float = 120.0, still_s: float = 1.0) -> float | None:  # type: ignore[no-untyped-def]
    """Seconds from `started` to the page's last change before it held still with its script finished."""
    try:
        page.wait_for_selector(  # attached: the first container may be a hidden one (a zero-height component)
            "[data-testid='stMain'] [data-testid='stElementContainer']", state="attached", timeout=limit_s * 1000
        )
    except Exception:
        return None
    last, since = None, time.perf_counter()
    while time.perf_counter() - started < limit_s:
        state = page.get_attribute("[data-testid='stApp']", "data-test-script-state")
        now = (tuple(_counts(page).values()), state, page.locator("[data-testid='stStatusWidget']").count())
        if now != last:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= still_s and state == "notRunning" and not now[2]:
            return since - started
        time.sleep(0.05)
    return None


def _timed(page, address: str) -> float | None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    page.goto(address)
    return _settled(page, started)


def _sign_in(page, address: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(address)
    page.wait_for_selector("input[type='password']", timeout=120_000)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
    page.locator("input[type='text']").first.fill("analyst")  # every page but the administrator's
    page.locator("input[type='password']").first.fill(PASSWORD)
    page.locator("[data-testid='stFormSubmitButton'] button").first.click()
    page.wait_for_selector("[data-testid='stSidebarNav']", timeout=120_000)
    page.wait_for_function(  # the session cookie is set by a component after the first signed-in run
        "(name) => document.cookie.includes(name + '=')", arg=COOKIE_NAME, polling=100, timeout=60_000
    )


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--pages",
        nargs="+",
        default=PAGES,
    )
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian's chromium is not installed: apt-get install chromium")
    url = bench_store(args.customers, args.database_url)
    ids = prepare(url)
    folder = Path(tempfile.mkdtemp())
    bare_script = folder / "bare.py"
    bare_script.write_text(BARE)
    app, app_address = start_server(url, folder / "app.log")
    bare, bare_address = start_server(url, folder / "bare.log", script=bare_script)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            _sign_in(page, app_address)
            for name in args.pages:
                address = f"{app_address}/{name}" + (f"?id={ids[0]}" if name == "customer" else "")
                real, twin, counts = [], [], {}
                _timed(page, address)  # once unmeasured: a user's reload finds the server's caches warm
                for _ in range(args.repeat):
                    real.append(_timed(page, address))
                    counts = _counts(page)
                    twin.append(_timed(page, f"{bare_address}/?{urlencode(counts)}"))
                shown = [t for t in real if t is not None]
                floor = [t for t in twin if t is not None]
                result: dict[str, object] = {"page": name, **counts}
                if shown and floor:
                    page_s, floor_s = statistics.median(shown), statistics.median(floor)
                    result |= {
                        "settled_s": round(page_s, 2),
                        "bare_s": round(floor_s, 2),
                        "gap_s": round(page_s - floor_s, 2),
                        "within_goal": page_s - floor_s <= GOAL_S,
                    }
                else:
                    result["timed_out"] = {"page": len(real) - len(shown), "bare": len(twin) - len(floor)}
                print(json.dumps(result), flush=True)
            browser.close()
    finally:
        for process in (app, bare):
            process.terminate()
            process.wait(timeout=30)
    if os.environ.get("KEEP_LOGS") is None:
        for log in folder.iterdir():
            log.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
