"""Benchmark of the automation rules: prints one JSON line.

    python bench/rules.py --customers 100000 [--database-url URL]

Uses a copy of data/bench-<N>.db (seeded by bench/cockpit.py when missing; the copy is written to and
deleted). Times the Automation page's reads (the overview, each rule's outcome), each rule's 90-day dry run,
one scheduled run of the time triggers, and what the rules add to a write: tickets created through the form's
core function with every rule switched off, then with the shipped and demo rules on.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cockpit import _peak_rss_mb, bench_store  # noqa: E402


def _timed(call):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    value = call()
    return value, round(time.perf_counter() - started, 3)


def _measure(url: str, tickets: int) -> dict[str, object]:
    from sqlalchemy import select, update

    from core import activity, clock, models as m, rules
    from core.access import SYSTEM
    from core.activity import TicketForm
    from core.db import make_engine, session_scope, write

    engine = make_engine(url)
    result: dict[str, object] = {}
    with session_scope(engine) as session:
        overview, result["overview_s"] = _timed(lambda: rules.overview(session, SYSTEM))
        result["rules"] = len(overview)
        result["firings"] = int(overview["fires"].sum())
        outcomes, dry = {}, {}
        for rule in rules.current(session):
            _, outcomes[rule.number] = _timed(lambda r=rule: rules.outcome(session, SYSTEM, r.number))
            change = rules.RuleChange(rule.name, rule.trigger, rule.threshold, rule.conditions, rule.actions)
            replay, seconds = _timed(lambda c=change: rules.dry_run(session, SYSTEM, c))
            dry[f"{rule.number} {rule.trigger}"] = {
                "s": seconds,
                "triggered": replay.triggered,
                "matched": replay.matched,
            }
        result["outcome_s"] = outcomes
        result["dry_run"] = dry
        customers = list(session.scalars(select(m.Customer.id).where(m.Customer.status == "active").limit(tickets)))
    done, result["run_rules_s"] = _timed(lambda: write(engine, lambda s: rules.run(s, now=clock.now())))
    result["run_rules"] = done

    def create(batch: list[int]) -> float:
        started = time.perf_counter()
        for customer in batch:
            form = TicketForm(customer, "complaint", "billing", "urgent", "email", "Bench: charged twice")
            write(engine, lambda s, f=form: activity.create_ticket(s, SYSTEM, f))
        return round(1000 * (time.perf_counter() - started) / len(batch), 1)

    half = len(customers) // 2
    with session_scope(engine) as session:
        enabled = [r.number for r in rules.current(session, enabled_only=True)]
        session.execute(update(m.AutomationRule).values(enabled=False))
    result["ticket_write_ms_rules_off"] = create(customers[:half])
    with session_scope(engine) as session:
        session.execute(
            update(m.AutomationRule)
            .where(m.AutomationRule.number.in_(enabled), m.AutomationRule.valid_to.is_(None))
            .values(enabled=True)
        )
    result["ticket_write_ms_rules_on"] = create(customers[half:])
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", help="a server store to measure (written to: use a copy)")
    parser.add_argument("--tickets", type=int, default=40, help="tickets created per half of the write test")
    args = parser.parse_args()
    url = bench_store(args.customers, args.database_url)
    if url.startswith("sqlite:///"):
        folder = tempfile.mkdtemp()
        copy = Path(folder) / "rules.db"
        shutil.copy(url.removeprefix("sqlite:///"), copy)
        url = f"sqlite:///{copy}"
    try:
        print(json.dumps({"customers": args.customers, **_measure(url, 2 * args.tickets)}, default=str))
    finally:
        if "folder" in locals():
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
