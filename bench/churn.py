"""The churn model at scale: prints one JSON line.

    python bench/churn.py [--customers 100000] [--url sqlite:///path/to/a/seeded.db]

Seeds a demo store of that size into a temporary folder (in a child process, so the peak memory reported is
the model's, not the seed's; or uses --url), then times each phase: the training set (features at eight
quarterly snapshots), training both models with the out-of-time test and the calibration, storing the model,
scoring every active customer (risk, band, drivers, the cohort, health, RFM, lifetime value and tiers; the
last four also timed alone), the early-warning page's server work (its figures, the first page of the list,
the model card), the value tab's and one customer's 18 weeks of health; with the peak memory of the process and the
metrics of each model beside the recency baseline.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from core import churn, clock, db, models as m  # noqa: E402
from core.access import SYSTEM  # noqa: E402
from core.churn import portfolio, value, warnings  # noqa: E402
from core.churn.model import features_and_orders  # noqa: E402
from core.demo import seed_demo  # noqa: E402
from core.periods import Filters  # noqa: E402
from core.pii import Keyring  # noqa: E402

KEYRING = Keyring({"k1": b"k" * 32}, "k1", b"i" * 32)


def run(url: str) -> dict[str, object]:
    engine = db.make_engine(url)
    figures: dict[str, object] = {}
    started = time.perf_counter()
    with Session(engine) as session:
        frame = churn.training_set(session, clock.today())
    figures["training_set_s"] = round(time.perf_counter() - started, 1)
    figures["rows"] = len(frame)
    figures["churned"] = int(frame["churned"].sum())
    started = time.perf_counter()
    trained = churn.train(frame)
    figures["train_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    store = lambda s: churn.save(s, trained, horizon=churn.HORIZON_DAYS, username="bench")  # noqa: E731
    figures["version"] = db.write(engine, store)
    figures["save_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    figures["scored"] = db.write(engine, lambda s: churn.score(s, as_of=clock.today()))
    figures["score_s"] = round(time.perf_counter() - started, 1)
    with Session(engine) as session:  # the part of scoring that is health, RFM, lifetime value and tiers
        frame, orders = features_and_orders(session, clock.today())
        bands = session.execute(select(m.ChurnScore.customer_id, m.ChurnScore.band)).all()
    band = frame["customer_id"].map(dict(bands)).fillna("low").to_numpy()
    started = time.perf_counter()
    db.write(engine, lambda s: value.refresh(s, frame, band, as_of=clock.today(), orders=orders))
    figures["value_refresh_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    with Session(engine) as session:  # what the early-warning page asks of the store on a cold cache
        warnings.summary(session, Filters(), viewer=SYSTEM)
        warnings.risk_list(session, Filters(), viewer=SYSTEM, limit=50)
        warnings.model_card(session, today=clock.today())
    figures["page_server_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    with Session(engine) as session:  # the value tab
        portfolio.overview(session, Filters(), viewer=SYSTEM)
        portfolio.health_calibration(session, viewer=SYSTEM)
        portfolio.tier_flow(session, Filters(), viewer=SYSTEM)
    figures["value_tab_server_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    with Session(engine) as session:  # one customer's 18 weeks of health on the 360° view
        one = int(frame["customer_id"].iloc[0])
        portfolio.customer_health_history(session, SYSTEM, one, as_of=clock.today())
    figures["health_history_s"] = round(time.perf_counter() - started, 2)
    figures["chosen"], figures["grade"] = trained.chosen, trained.grade
    figures["roc_auc"] = {name: round(e.roc_auc, 3) for name, e in trained.metrics.items()}
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    engine.dispose()
    return figures


def seed(url: str, customers: int) -> None:
    engine = db.make_engine(url)
    db.migrate(engine)
    seed_demo(engine, customers=customers, seed=7, demo_password="bench-pass-2026", keyring=KEYRING)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--url", help="a seeded store to use instead of seeding one")
    args = parser.parse_args()
    if args.url:
        print(json.dumps(run(args.url)), flush=True)
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench-churn.db"
        started = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(target=seed, args=(url, args.customers))
        child.start()
        child.join()
        print(json.dumps({"customers": args.customers, "seed_s": round(time.perf_counter() - started, 1)}), flush=True)
        print(json.dumps(run(url)), flush=True)


if __name__ == "__main__":
    main()
