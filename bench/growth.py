"""Benchmark of the Growth page's work: prints one JSON line.

    python bench/growth.py --customers 100000 [--database-url URL]

Uses a copy of data/bench-<N>.db (seeded by bench/cockpit.py when missing). In one process: every forecast the
page offers (revenue and orders, in total, by region and by tier, 12 months ahead) with its backtest error,
the channels section's five reads and the lead funnel's reads over the last 12 months (by source and by
campaign, the invalid reasons, a stage's leads), a lead typed in and moved on, learning the next best
offer (the transition table and the held-out hit rate), the worklist of the whole base and of one account
manager, and one customer's offers (the 360° view's line).
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


def _measure(url: str) -> dict[str, object]:
    from sqlalchemy import select

    from core import channels, clock, forecast, funnel, models as m, next_offer
    from core.access import SYSTEM, Viewer
    from core.db import make_engine, session_scope, write

    engine = make_engine(url)
    result: dict[str, object] = {}
    with session_scope(engine) as session:
        for measure in forecast.MEASURES:
            for by in forecast.GROUPINGS:
                started = time.perf_counter()
                found, _ = forecast.forecasts(session, SYSTEM, measure=measure, by=by, horizon=12, today=clock.today())
                result[f"forecast_{measure}_{by}_s"] = round(time.perf_counter() - started, 3)
                if by == "total" and found:
                    result[f"forecast_{measure}_mape"] = round(found[0].mape or 0, 4)
                    result[f"forecast_{measure}_naive_mape"] = round(found[0].naive_mape or 0, 4)
        manager = session.scalar(select(m.User.id).where(m.User.role == "account_manager").order_by(m.User.id))
        customer = session.scalar(select(m.Customer.id).where(m.Customer.owner_id == manager).order_by(m.Customer.id))
    with session_scope(engine) as session:
        end = clock.today().replace(day=1)
        start = end.replace(year=end.year - 1)
        for name, call in (
            ("acquisition", lambda: channels.acquisition(session, SYSTEM, start=start, end=end)),
            ("acquired_by_month", lambda: channels.acquired_by_month(session, SYSTEM, start=start, end=end)),
            ("cohorts", lambda: channels.cohorts(session, SYSTEM, channel=None, today=clock.today())),
            ("service", lambda: channels.service(session, SYSTEM, start=start, end=end)),
            ("interaction_mix", lambda: channels.interaction_mix(session, SYSTEM, start=start, end=end)),
            ("funnel", lambda: funnel.funnel(session, SYSTEM, start=start, end=end, by="source")),
            ("funnel_by_campaign", lambda: funnel.funnel(session, SYSTEM, start=start, end=end, by="campaign")),
            ("invalid_reasons", lambda: funnel.invalid_reasons(session, SYSTEM, start=start, end=end)),
            ("stage_leads", lambda: funnel.stage_leads(session, SYSTEM, start=start, end=end, stage="converted")),
        ):
            started = time.perf_counter()
            call()
            result[f"channels_{name}_s"] = round(time.perf_counter() - started, 3)
        filtered = funnel.funnel(session, SYSTEM, start=start, end=end).iloc[0]
        result["leads_filtered_share"] = round(float(filtered["filtered_share"] or 0), 4)
    result |= _lead_writes(engine)
    started = time.perf_counter()
    learned = write(engine, lambda s: next_offer.learn(s))
    result["learn_s"] = round(time.perf_counter() - started, 3)
    result["hit_rate"] = {"model": learned.evaluation.model, "popular": learned.evaluation.baseline}
    result["scored_customers"] = learned.evaluation.customers
    with session_scope(engine) as session:
        for name, who in (("base", SYSTEM), ("manager", Viewer(manager, "m", "M", "account_manager"))):
            started = time.perf_counter()
            _, work = next_offer.current_worklist(session, who)
            result[f"worklist_{name}_s"] = round(time.perf_counter() - started, 3)
        started = time.perf_counter()
        next_offer.customer_offers(session, SYSTEM, int(customer or 0))
        result["customer_offers_s"] = round(time.perf_counter() - started, 3)
    result["peak_rss_mb"] = _peak_rss_mb()
    return result


def _lead_writes(engine) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """A lead typed in (screened: the hash look-ups, the names alike in its region, its periods summarised again),
    one with a customer's phone (filtered as a duplicate), and the first one moved on to contacted."""
    from sqlalchemy import select

    from core import leads, models as m, pii
    from core.access import Viewer
    from core.db import write
    from core.secrets import load_secrets

    keyring = pii.Keyring.from_secrets(load_secrets())
    admin = Viewer(None, "bench", "Bench", "admin")
    phone = None
    with engine.connect() as conn:
        stored = conn.execute(select(m.Customer.phone_enc).where(m.Customer.phone_enc.is_not(None)).limit(1)).scalar()
        phone = pii.decrypt(stored, keyring) if stored else None
    out: dict[str, object] = {}
    made = []
    for name, company, number in (
        ("create_lead_s", "宁波港贸有限公司", "13570001234"),
        ("create_duplicate_lead_s", "另一家港贸公司", phone or "13570001235"),
    ):
        form = leads.LeadForm(company, "trade_show", "B2B", "retail", "east", phone=number)
        started = time.perf_counter()
        new = write(engine, lambda s, form=form: leads.create_lead(s, admin, form, keyring=keyring))
        out[name] = round(time.perf_counter() - started, 3)
        made.append(new)
    out["duplicate_found"] = made[1].reason
    started = time.perf_counter()
    write(
        engine,
        lambda s: leads.move_lead(s, admin, made[0].id, to="contacted", seen_status="new", keyring=keyring),
    )
    out["move_lead_s"] = round(time.perf_counter() - started, 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--database-url", help="a server store to measure (a model row is written: use a copy)")
    args = parser.parse_args()
    url = bench_store(args.customers, args.database_url)
    folder = None
    if url.startswith("sqlite:///"):
        folder = tempfile.mkdtemp()
        copy = Path(folder) / "growth.db"
        shutil.copy(url.removeprefix("sqlite:///"), copy)
        url = f"sqlite:///{copy}"
    try:
        print(json.dumps({"customers": args.customers, **_measure(url)}, default=str))
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
