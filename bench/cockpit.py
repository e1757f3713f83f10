"""Benchmark of the cockpit's database work: prints one JSON line.

    python bench/cockpit.py --customers 100000 [--seed 42] [--database-url URL]

Seeds (or reuses) data/bench-<N>.db, then in a fresh process computes everything the cockpit page
shows for the default period (cold: new process, no cache), the same again (warm: database work only,
no Streamlit cache), and a custom range (live path). Peak RSS is that process's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_rss_mb() -> float:
    """This process's high-water RSS (VmHWM resets on exec, unlike ru_maxrss, which a child inherits)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def bench_store(customers: int, database_url: str | None) -> str:
    """The URL a bench measures: `database_url`, or data/bench-<N>.db, seeded by this script when missing."""
    if database_url:
        return database_url
    path = ROOT / "data" / f"bench-{customers}.db"
    if not path.exists():
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "cockpit.py"), "--customers", str(customers)],
            check=True,
            capture_output=True,
        )
    return f"sqlite:///{path}"


def _everything(url: str) -> dict[str, float]:
    """What the cockpit page loads: filter options, the period list and the cockpit figures."""
    from core import clock, facts, kpi
    from core.access import SYSTEM
    from core.customers import filter_options
    from core.db import make_engine, session_scope
    from core.periods import Filters, custom_period

    timings: dict[str, float] = {}
    started = time.perf_counter()
    engine = make_engine(url)
    period = kpi.latest_complete_month(clock.today())
    for label in ("cold_s", "warm_s"):
        t0 = time.perf_counter()
        with session_scope(engine) as session:
            filter_options(session)
            facts.facts_range(session)
            kpi.cockpit(session, period, Filters(), viewer=SYSTEM, now=clock.now())
        timings[label] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    with session_scope(engine) as session:
        kpi.cockpit(
            session,
            custom_period(period.start, period.last_day),
            Filters(regions=("east",)),
            viewer=SYSTEM,
            now=clock.now(),
        )
    timings["custom_range_live_s"] = round(time.perf_counter() - t0, 3)
    timings["process_s"] = round(time.perf_counter() - started, 3)
    timings["peak_rss_mb"] = _peak_rss_mb()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--database-url")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: run the measurement in this process
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_everything(args.measure)))
        return
    from sqlalchemy import func, select

    from core import models as m
    from core.db import session_scope
    from core.demo import seed_demo
    from core.settings import Settings
    from core.store import open_store

    url = args.database_url or f"sqlite:///{ROOT / 'data' / f'bench-{args.customers}.db'}"
    from core.pii import Keyring
    from core.secrets import load_secrets

    keyring = Keyring.from_secrets(load_secrets())
    engine = open_store(Settings(database_url=url), keyring)  # migrates; rebuilds summaries a migration marked stale
    result: dict[str, object] = {"customers": args.customers, "database": url.split("///")[-1]}
    with session_scope(engine) as session:
        present = session.scalar(select(func.count()).select_from(m.Customer))
    if present != args.customers:
        report = seed_demo(engine, customers=args.customers, seed=args.seed, replace=True, keyring=keyring)
        result["seed_s"] = round(report.seconds, 1)
        result["seed_phases_s"] = {k: round(v, 1) for k, v in report.phases.items()}
    with session_scope(engine) as session:
        result["rows_total"] = sum(
            session.scalar(select(func.count()).select_from(t))
            for t in (m.Customer, m.Lead, m.Order, m.Interaction, m.Ticket, m.TicketEvent, m.NpsResponse)
        )
    engine.dispose()
    measured = subprocess.run([sys.executable, __file__, "--measure", url], capture_output=True, text=True, check=True)
    result.update(json.loads(measured.stdout))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
