"""Importing a company's files: prints one JSON line per store.

    python bench/import.py [--customers 100000] [--orders 2000000] [--postgres URL]

Writes a customers CSV (GB18030, Chinese headers, mixed phone formats) and an orders CSV (UTF-8, amounts
with ¥ and separators) into a temporary folder, imports them into a fresh store through `python -m core
import`'s own code (read, map, clean, match, one transaction, summaries rebuilt), and reports seconds per
phase, rows per second and the peak memory of the process. SQLite always; PostgreSQL with --postgres or
CRM_TEST_POSTGRES_URL (a database created for the run and dropped after it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core import clock, db, models as m  # noqa: E402
from core.access import SYSTEM  # noqa: E402
from core.ingest import batch  # noqa: E402
from core.ingest.fields import propose  # noqa: E402
from core.pii import Keyring  # noqa: E402

KEYRING = Keyring({"k1": b"k" * 32}, "k1", b"i" * 32)
PROVINCES = ["浙江", "上海", "北京", "广东", "四川", "湖北", "陕西", "辽宁", "江苏", "山东"]
INDUSTRIES = ["制造", "零售", "金融", "医疗健康", "教育", "信息技术服务", "物流", "能源", "房地产", "酒店餐饮"]
CHANNELS = ["官网", "社交媒体", "展会", "转介绍", "主动外呼", "合作伙伴"]


def write_files(folder: Path, customers: int, orders: int, rng: random.Random) -> tuple[Path, Path]:
    cpath, opath = folder / "erp-customers.csv", folder / "erp-orders.csv"
    start = date(2023, 1, 1)
    with cpath.open("w", encoding="gb18030", newline="") as out:
        out.write("客户编号,客户名称,客户类型,所属行业,省份,客户经理,获客渠道,签约日期,手机号码,邮箱\n")
        for i in range(customers):
            phone = f"13{rng.randint(0, 9)}{i:08d}"
            shown = phone if i % 3 else f"{phone[:3]} {phone[3:7]} {phone[7:]}"
            since = start + timedelta(days=rng.randint(0, 1000))
            out.write(
                f"E{i},客户{i}有限公司,{'企业' if i % 5 else '个人'},{rng.choice(INDUSTRIES)},"
                f"{rng.choice(PROVINCES)},bench_am,{rng.choice(CHANNELS)},{since:%Y/%m/%d},{shown},"
                f"c{i}@example.com\n"
            )
    with opath.open("w", encoding="utf-8", newline="") as out:
        out.write("订单号,客户编号,下单日期,订单金额,产品类别,销售渠道\n")
        for i in range(orders):
            day = start + timedelta(days=rng.randint(0, 1060))
            amount = rng.randint(100, 200_000) / 10
            shown = f'"¥{amount:,.2f}"' if i % 4 == 0 else f"{amount:.2f}"
            out.write(f"SO{i},E{rng.randrange(customers)},{day:%Y-%m-%d},{shown},软件,直销\n")
    return cpath, opath


def run(url: str, files: tuple[Path, Path]) -> dict[str, object]:
    engine = db.make_engine(url)
    db.migrate(engine)
    with db.session_scope(engine) as s:
        s.add(
            m.User(
                username="bench_am",
                display_name="Bench AM",
                role="account_manager",
                active=True,
                created_at=clock.today(),
            )
        )
    figures: dict[str, object] = {"store": engine.dialect.name}
    for kind, path in zip(("customers", "orders"), files):
        started = time.perf_counter()
        data = path.read_bytes()
        table = batch.read(data, kind=kind, file_name=path.name)
        read_s = time.perf_counter() - started
        mapping = propose(kind, table.header)
        plan = db.write(
            engine,
            lambda s: batch.run(
                s,
                SYSTEM,
                kind=kind,
                table=table,
                mapping=mapping,
                source="erp",
                keyring=KEYRING,
                file_name=path.name,
                data=data,
            ),
        )
        total = time.perf_counter() - started
        rows = sum(plan.counts.values())
        figures[kind] = {
            "rows": rows,
            "read_s": round(read_s, 1),
            "total_s": round(total, 1),
            "rows_per_s": round(rows / total),
            **plan.counts,
        }
    with engine.connect() as conn:
        figures["orders_in_store"] = conn.scalar(select(func.count()).select_from(m.Order))
    figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    figures["reader_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--postgres", default=os.environ.get("CRM_TEST_POSTGRES_URL"))
    parser.add_argument("--skip-sqlite", action="store_true", help="PostgreSQL only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        files = write_files(Path(folder), args.customers, args.orders, random.Random(7))
        print(
            json.dumps(
                {
                    "files_written_s": round(time.perf_counter() - started, 1),
                    "mb": round(sum(f.stat().st_size for f in files) / 1e6),
                }
            ),
            flush=True,
        )
        if not args.skip_sqlite:
            print(json.dumps(run(f"sqlite:///{folder}/bench-import.db", files)), flush=True)
        if args.postgres:
            name = f"bench_import_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
                print(json.dumps(run(url, files)), flush=True)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
