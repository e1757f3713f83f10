"""Many people writing at once: prints one JSON line per store and think time.

    python bench/concurrency.py [--writers 20] [--seconds 60] [--think 2,0] [--postgres URL]

Each writer logs interactions, opens tickets and records NPS answers for the demo's customers through the
one write path (core.db.write), sleeping `think` seconds between writes (0: back to back). Reported:
attempted, committed, refused (an error reached the writer), lost (committed but not in the store),
p50 / p95 / max write latency, and whether the month's summaries still equal a rebuild from raw rows.
SQLite uses data/bench-concurrency.db (seeded with a 2,000-customer demo on first use); PostgreSQL a
database created for the run and dropped after it (CRM_TEST_POSTGRES_URL or --postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core import activity, clock, db, facts, models as m  # noqa: E402
from core.access import SYSTEM  # noqa: E402
from core.activity import InteractionForm, NpsForm, TicketForm  # noqa: E402
from core.demo import seed_demo  # noqa: E402
from core.periods import Filters, period_containing  # noqa: E402
from core.pii import Keyring  # noqa: E402

KEYRING = Keyring({"k1": b"b" * 32}, "k1", b"j" * 32)
TEMPLATE = ROOT / "data" / "bench-concurrency.db"


def _sqlite_store() -> str:
    if not TEMPLATE.exists():
        engine = db.make_engine(f"sqlite:///{TEMPLATE}")
        db.migrate(engine)
        seed_demo(engine, customers=2000, seed=5, keyring=KEYRING, demo_password="bench-pass-1")
        engine.dispose()
    copy = Path(tempfile.mkdtemp()) / "store.db"
    shutil.copy(TEMPLATE, copy)
    return f"sqlite:///{copy}"


def _postgres_store(base: str) -> tuple[str, object]:
    url = make_url(db.make_engine(base).url)
    name = f"crm_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))  # a generated name, never user input
    target = url.set(database=name).render_as_string(hide_password=False)
    engine = db.make_engine(target)
    db.migrate(engine)
    seed_demo(engine, customers=2000, seed=5, keyring=KEYRING, demo_password="bench-pass-1")
    engine.dispose()

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))

    return target, drop


def run(url: str, *, writers: int, seconds: float, think: float) -> dict[str, object]:
    engine = db.make_engine(url)
    with engine.connect() as conn:
        customers = [r[0] for r in conn.execute(select(m.Customer.id).where(m.Customer.status == "active").limit(500))]
        before = {t: conn.scalar(select(func.count()).select_from(t)) for t in (m.Interaction, m.Ticket, m.NpsResponse)}
    lock = threading.Lock()
    tally = {"attempted": 0, "committed": 0, "refused": 0}
    made = {m.Interaction: 0, m.Ticket: 0, m.NpsResponse: 0}
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.time() + seconds

    def writer(number: int) -> None:
        rng = random.Random(number)
        i = 0
        while time.time() < stop:
            i += 1
            customer, now = rng.choice(customers), clock.now().replace(microsecond=0)
            kind = rng.randrange(3)
            started = time.perf_counter()
            try:
                if kind == 0:
                    form = InteractionForm(customer, "phone", "outbound", now, f"bench {number}/{i}", "", None, 5, None)
                    db.write(
                        engine,
                        lambda s: activity.log_interaction(s, SYSTEM, form, token=f"{number}-{i}-{uuid.uuid4().hex}"),
                    )
                    table = m.Interaction
                elif kind == 1:
                    ticket = TicketForm(
                        customer, "complaint", "billing", "normal", "phone", f"bench ticket {number}/{i}"
                    )
                    db.write(
                        engine,
                        lambda s: activity.create_ticket(s, SYSTEM, ticket, token=f"{number}-{i}-{uuid.uuid4().hex}"),
                    )
                    table = m.Ticket
                else:
                    answer = NpsForm(customer, rng.randint(0, 10), now - timedelta(minutes=1), "post_service", "")
                    db.write(
                        engine,
                        lambda s: activity.record_nps(s, SYSTEM, answer, token=f"{number}-{i}-{uuid.uuid4().hex}"),
                    )
                    table = m.NpsResponse
                outcome = "committed"
            except Exception as exc:  # noqa: BLE001 - counted, not hidden
                outcome, table = "refused", None
                with lock:
                    errors.append(type(exc).__name__ + ": " + str(exc)[:120])
            elapsed = time.perf_counter() - started
            with lock:
                tally["attempted"] += 1
                tally[outcome] += 1
                latencies.append(elapsed)
                if table is not None:
                    made[table] += 1
            time.sleep(rng.uniform(0.5, 1.5) * think)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    month = period_containing(clock.now().date(), "M")
    with db.session_scope(engine) as s:
        found = {t: s.scalar(select(func.count()).select_from(t)) - before[t] for t in made}
        summary, live = facts.summary_measures(s, month, Filters()), facts.live_measures(s, month, Filters())
        drift = sorted(k for k in live if abs(summary[k] - live[k]) > 1e-6 * max(1.0, abs(live[k])))  # float sums
    engine.dispose()
    ordered = sorted(latencies)
    return {
        "store": make_url(url).get_backend_name(),
        "writers": writers,
        "seconds": seconds,
        "think_s": think,
        **tally,
        "lost": sum(made[t] - found[t] for t in made),
        "summary_drift": drift,
        "p50_s": round(statistics.median(ordered), 3) if ordered else None,
        "p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3) if ordered else None,
        "max_s": round(ordered[-1], 3) if ordered else None,
        "errors": sorted(set(errors))[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", default="2,0", help="think times in seconds, comma-separated")
    parser.add_argument("--postgres", default=os.environ.get("CRM_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    thinks = [float(t) for t in args.think.split(",")]
    for think in thinks:
        print(json.dumps(run(_sqlite_store(), writers=args.writers, seconds=args.seconds, think=think)), flush=True)
    if args.postgres:
        for think in thinks:
            url, drop = _postgres_store(args.postgres)
            try:
                print(json.dumps(run(url, writers=args.writers, seconds=args.seconds, think=think)), flush=True)
            finally:
                drop()  # type: ignore[operator]


if __name__ == "__main__":
    main()
