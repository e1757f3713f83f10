"""Benchmark of the Voice of the customer page's database work: prints one JSON line.

    python bench/voice.py --customers 100000 [--database-url URL]

Uses data/bench-<N>.db (seeded by bench/cockpit.py when missing). Then, in a fresh process (cold: no
cache): everything the page reads for its default 12 months and for 2 years, each part timed (NPS by month,
by each dimension, CSAT by each dimension, the comments, the detractors' and the complaints' keywords, the
closed loop), after jieba's dictionary load (timed apart: the app loads it in the background at start), with
that process's peak RSS.
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


def _measure(url: str) -> dict[str, object]:
    from datetime import timedelta

    from core import clock, voice
    from core.access import Viewer
    from core.db import make_engine, session_scope
    from core.periods import Filters

    engine = make_engine(url)
    analyst = Viewer(None, "bench", "Bench", "analyst")
    now = clock.now()
    result: dict[str, object] = {}
    started = time.perf_counter()
    voice.warm_up()  # what the app does in the background when it opens the store
    result["jieba_dictionary_s"] = round(time.perf_counter() - started, 3)
    with session_scope(engine) as session:
        for days in (365, 730):
            start, parts = now - timedelta(days=days), {}
            calls = {
                "nps_by_month": lambda: voice.nps_by_month(session, analyst, Filters(), start=start, end=now),
                **{
                    f"nps_by_{by}": (
                        lambda by=by: voice.nps_by(session, analyst, Filters(), by=by, start=start, end=now)
                    )
                    for by in voice.NPS_DIMENSIONS
                },
                **{
                    f"csat_by_{by}": (lambda by=by: voice.csat_by(session, analyst, by=by, start=start, end=now))
                    for by in voice.CSAT_DIMENSIONS
                },
                "comments": lambda: voice.comments(
                    session, analyst, Filters(), start=start, end=now, text="", categories=()
                ),
                "detractor_keywords": lambda: voice.detractor_keywords(
                    session, analyst, Filters(), start=start, end=now
                ),
                "complaint_keywords": lambda: voice.complaint_keywords(
                    session, analyst, Filters(), start=start, end=now, category=None
                ),
                "closed_loop": lambda: voice.closed_loop(session, analyst, start=start, end=now),
            }
            for name, call in calls.items():
                started = time.perf_counter()
                call()
                parts[name] = round(time.perf_counter() - started, 3)
            # what one page view computes: the month chart, one NPS and one CSAT breakdown (the defaults), the
            # comments, both keyword lists and the closed loop
            shown = ["nps_by_month", "nps_by_tier", "csat_by_category", "comments", "detractor_keywords"]
            shown += ["complaint_keywords", "closed_loop"]
            result[f"{days}d"] = {"page_s": round(sum(parts[n] for n in shown), 3), "parts_s": parts}
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(args.measure)))
        return
    url = bench_store(args.customers, args.database_url)
    measured = subprocess.run([sys.executable, __file__, "--measure", url], capture_output=True, text=True, check=True)
    print(json.dumps({"customers": args.customers, **json.loads(measured.stdout)}))


if __name__ == "__main__":
    main()
