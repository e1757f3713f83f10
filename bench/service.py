"""Benchmark of the service desk's SLA work: prints one JSON line.

    python bench/service.py --customers 100000 [--database-url URL] [--skip-rebuild]

Uses data/bench-<N>.db (seeded by bench/cockpit.py when missing; the store is migrated first). Then, in a
fresh process: the bulk rebuild of every ticket's SLA results (what a seed or import does; left out with
--skip-rebuild), one tick (what the Service page and `sla-tick` do), and everything the Service page's
analytics read, for the last 30 days and the last 12 months (agent performance and the bottlenecks' step
times included), the escalation back-test and the open complaints likely to escalate, each timed, with that
process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cockpit import _peak_rss_mb, bench_store  # noqa: E402


def _timed(result: dict[str, object], name: str, call):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = call()
    result[name] = round(time.perf_counter() - started, 3)
    return value


def _measure(url: str, *, rebuild: bool = True) -> dict[str, object]:
    from datetime import timedelta

    from sqlalchemy import func, select

    from core import (
        clock,
        models as m,
        service,
        service_analytics as sa,
        service_escalation as escalation,
        service_flow as flow,
        service_performance,
    )
    from core.access import Viewer
    from core.db import make_engine, session_scope

    engine = make_engine(url)
    lead = Viewer(None, "bench", "Bench", "team_lead")
    now = clock.now()
    result: dict[str, object] = {}
    with session_scope(engine) as session:
        result["tickets"] = session.scalar(select(func.count()).select_from(m.Ticket))
        if rebuild:  # a write-path figure (seed, import), not a page's: ten minutes at 1,000,000 customers
            result["ticket_sla_rows"] = _timed(
                result, "rebuild_ticket_sla_s", lambda: service.rebuild_ticket_sla(session, now=now)
            )
        result["tick_evaluated"] = _timed(result, "tick_s", lambda: service.tick(session, now=now))
    with session_scope(engine) as session:
        for days in (30, 365):
            start = now - timedelta(days=days)
            page: dict[str, object] = {}
            started = time.perf_counter()
            _timed(page, "queue", lambda: sa.queue(session, lead, sa.QueueFilter(), now=now))
            for by in sa.DIMENSIONS:
                _timed(
                    page,
                    f"compliance_by_{by}",
                    lambda: sa.compliance(session, lead, metric="resolution", by=by, start=start, end=now),
                )
            _timed(page, "times", lambda: sa.times(session, lead, start=start, end=now))
            _timed(page, "backlog", lambda: sa.backlog(session, lead, now=now))
            _timed(page, "rates", lambda: sa.rates(session, lead, start=start, end=now))
            _timed(
                page,
                "top_categories",
                lambda: sa.top_categories(session, lead, start=now - timedelta(days=365), end=now),
            )
            _timed(
                page,
                "performance_by_agent",
                lambda: service_performance.performance(session, lead, by="agent", start=start, end=now),
            )
            _timed(page, "bottlenecks_step_times", lambda: flow.step_times(session, lead, start=start, end=now))
            page["page_total_s"] = round(time.perf_counter() - started, 3)
            result[f"analytics_{days}d"] = page
        start = now - timedelta(days=30)
        _timed(
            result,
            "what_if_30d_s",
            lambda: sa.what_if(session, lead, {"first_response": 60.0, "resolution": 720.0}, start=start, end=now),
        )
        _timed(result, "pause_abuse_30d_s", lambda: sa.pause_abuse(session, lead, start=start, end=now))
        backtest = _timed(result, "escalation_backtest_s", lambda: escalation.backtest(session, lead, now=now))
        result["escalation"] = {
            "complaints": backtest.complaints,
            "flagged": backtest.flagged,
            "flagged_escalated": round(backtest.precision or 0, 3),
            "others_escalated": round(backtest.base_rate or 0, 3),
        }
        flagged = _timed(result, "escalation_open_s", lambda: escalation.open_flags(session, lead, now=now))
        result["escalation_open"] = len(flagged)
        session.rollback()
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--skip-rebuild", action="store_true", help="leave out the full SLA rebuild")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(args.measure, rebuild=not args.skip_rebuild)))
        return
    url = bench_store(args.customers, args.database_url)
    from core.pii import Keyring
    from core.secrets import load_secrets
    from core.settings import Settings
    from core.store import open_store

    started = time.perf_counter()
    open_store(Settings(database_url=url), Keyring.from_secrets(load_secrets())).dispose()
    result: dict[str, object] = {"customers": args.customers, "open_store_s": round(time.perf_counter() - started, 1)}
    command = [sys.executable, __file__, "--measure", url, *(["--skip-rebuild"] if args.skip_rebuild else [])]
    measured = subprocess.run(command, capture_output=True, text=True, check=True)
    result.update(json.loads(measured.stdout))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
