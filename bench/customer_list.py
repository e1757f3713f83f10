"""Benchmark of the customer list and its export: prints one JSON line.

    python bench/customer_list.py --customers 1000000 [--formats csv,xlsx] [--database-url URL]

Uses data/bench-<N>.db (seed it with bench/cockpit.py; the store is migrated and stale summaries are
rebuilt first). Then, in a fresh process (cold: no cache): the list page for several filter and sort
choices (filter + sort + one page + total count), and an export of every customer to a temporary
file per format, with that process's peak RSS after each step.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cockpit import _peak_rss_mb  # noqa: E402


def _measure(url: str, formats: list[str]) -> dict[str, object]:
    from datetime import date

    from core.access import SYSTEM, Viewer
    from core.customer_list import CustomerQuery, customer_page, export_customers
    from core.db import make_engine, session_scope
    from core.pii import Keyring
    from core.secrets import load_secrets

    keyring = Keyring.from_secrets(load_secrets())
    engine = make_engine(url)
    analyst = Viewer(None, "bench", "Bench", "analyst")
    cases = {
        "default (revenue desc)": CustomerQuery(),
        "region east + tier high_value": CustomerQuery(regions=("east",), tiers=("high_value",)),
        "detractors not contacted 90d, by last contact": CustomerQuery(
            nps=("detractor",), contact="over_90", sort="last_contact_at"
        ),
        "name contains, sorted by name": CustomerQuery(text="科技", sort="name", descending=False),
        "revenue range + customer since 2025": CustomerQuery(
            revenue_min=10_000, revenue_max=50_000, since_from=date(2025, 1, 1)
        ),
        "exact phone": CustomerQuery(text="13800000000"),
        "page 1000 of the default": CustomerQuery(),
    }
    result: dict[str, object] = {"list_s": {}}
    with session_scope(engine) as session:
        for name, query in cases.items():
            started = time.perf_counter()
            page = customer_page(
                session, analyst, query, keyring, page=1000 if name.startswith("page") else 1, page_size=50
            )
            result["list_s"][name] = {"seconds": round(time.perf_counter() - started, 3), "total": page.total}  # type: ignore[index]
        # the next page from the one before, as the list's "+" does (keyset paging), both sorts of the default
        for descending in (True, False):
            query = CustomerQuery(descending=descending)
            before = customer_page(session, analyst, query, keyring, page=999, page_size=50)
            started = time.perf_counter()
            page = customer_page(session, analyst, query, keyring, page=1000, page_size=50, after=before.last_key)
            name = f"page 1000 after page 999 ({'desc' if descending else 'asc'})"
            result["list_s"][name] = {"seconds": round(time.perf_counter() - started, 3), "total": page.total}  # type: ignore[index]
    result["list_rss_mb"] = _peak_rss_mb()
    for fmt in formats:
        with tempfile.TemporaryFile() as out, session_scope(engine) as session:
            started = time.perf_counter()
            rows = export_customers(session, SYSTEM, CustomerQuery(), keyring, out, fmt=fmt)
            result[f"export_{fmt}"] = {
                "rows": rows,
                "seconds": round(time.perf_counter() - started, 1),
                "megabytes": round(out.seek(0, 2) / 1e6, 1),
                "peak_rss_mb": _peak_rss_mb(),
            }
            session.rollback()  # the bench's own audit entry is not kept
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    if args.measure:
        print(json.dumps(_measure(args.measure, formats)))
        return
    from core.pii import Keyring
    from core.secrets import load_secrets
    from core.settings import Settings
    from core.store import open_store

    url = args.database_url or f"sqlite:///{ROOT / 'data' / f'bench-{args.customers}.db'}"
    started = time.perf_counter()
    open_store(Settings(database_url=url), Keyring.from_secrets(load_secrets())).dispose()  # migrate, rebuild stale
    result: dict[str, object] = {"customers": args.customers, "open_store_s": round(time.perf_counter() - started, 1)}
    measured = subprocess.run(
        [sys.executable, __file__, "--measure", url, "--formats", ",".join(formats)],
        capture_output=True,
        text=True,
        check=True,
    )
    result.update(json.loads(measured.stdout))
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
