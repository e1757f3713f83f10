"""`python -m core ...`: a thin command line over the library (seed, migrate, refresh, kpis, settings)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date

from sqlalchemy import func, select

from core import clock, models as m
from core.errors import ConfigError, CrmError
from core.i18n import t
from core.ingest.fields import KINDS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="CRM Cockpit command line.")
    parser.add_argument("--database-url", help="SQLAlchemy URL of the store (default: CRM_DATABASE_URL or data/crm.db)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    seed = commands.add_parser("seed", help="fill the store with deterministic demo data")
    seed.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
    seed.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    seed.add_argument("--today", type=date.fromisoformat, help="last day of the history, YYYY-MM-DD (default today)")
    seed.add_argument(
        "--replace", action="store_true", help="wipe every row first (refused without it on a non-empty store)"
    )
    seed.add_argument("--demo-password", help="password of every demo user (default: a random one each, printed)")
    seed.add_argument("--force", action="store_true", help="with --replace: wipe a store that is not a demo too")

    user = commands.add_parser("create-user", help="create a user (the first admin of a fresh store, for example)")
    user.add_argument("username")
    user.add_argument("--role", required=True, choices=list(m.ROLES))
    user.add_argument("--name", required=True, help="display name")
    user.add_argument("--email")
    user.add_argument("--team")
    user.add_argument("--password", help="initial password (default: asked for without echo)")

    commands.add_parser("migrate", help="bring the schema to the latest revision")

    rotate = commands.add_parser("rotate-key", help="add a new personal-data key and re-encrypt phone/email with it")
    rotate.add_argument(
        "--reencrypt-only",
        action="store_true",
        help="only re-encrypt under the active key (when keys come from CRM_PII_KEYS)",
    )

    commands.add_parser(
        "loyalty", help="loyalty programme, nightly: points for members' new orders, then expired points taken out"
    )
    refresh = commands.add_parser(
        "refresh",
        help="rebuild the summary tables (period facts, customer stats, tiers, service days); learn next best offers",
    )
    refresh.add_argument("--as-of", type=date.fromisoformat, help="date the statistics are taken at (default today)")

    churn = commands.add_parser(
        "train-churn", help="train the churn model out of time and compare it with the recency baseline"
    )
    churn.add_argument("--horizon", type=int, default=90, help="churned within this many days (default 90)")
    churn.add_argument("--from-csv", help="any CSV with a churn label: print 5-fold cross-validated ROC-AUC")
    churn.add_argument("--label", help="the label column of --from-csv (1/0, yes/no, true/false)")
    churn.add_argument("--id", help="an id column of --from-csv to leave out of the features")

    commands.add_parser(
        "score-churn",
        help="score every active customer with the newest churn model, with health, RFM, lifetime value and "
        "value tiers (nightly)",
    )

    kpis = commands.add_parser("kpis", help="print the cockpit KPIs of the last complete month as JSON")
    kpis.add_argument("--month", help="YYYY-MM instead of the last complete month")

    imp = commands.add_parser("import", help="import customers, orders, tickets, answers, ... from a CSV or Excel file")
    imp.add_argument("kind", choices=KINDS)
    imp.add_argument("file", help="a .csv (any common encoding) or .xlsx file")
    imp.add_argument("--source", help="the system the file comes from (default: the file name up to its first - or _)")
    imp.add_argument("--mapping", help="a mapping saved in the app (default: columns proposed from the header)")
    imp.add_argument("--encoding", help="the CSV's encoding when detection is wrong (e.g. gb18030, utf-8)")
    imp.add_argument("--sheet", help="the Excel sheet (default: the first)")
    imp.add_argument("--rejects", help="write the refused rows, with their reasons, to this CSV file")
    imp.add_argument("--dry-run", action="store_true", help="only report what would happen; write nothing")

    feeds = commands.add_parser("import-folder", help="import every file waiting in the watched folder (for cron)")
    feeds.add_argument("folder", nargs="?", help="the watched folder (default: CRM_IMPORT_FOLDER, data/feeds)")

    commands.add_parser(
        "sla-tick",
        help="recompute open tickets' SLA clocks, fire due warnings/violations, "
        "tell leads of complaints likely to escalate",
    )
    commands.add_parser(
        "run-rules",
        help="run the automation rules' time triggers (no contact, churn risk) and send their queued e-mails",
    )
    saved = commands.add_parser(
        "backup", help="copy the whole store to a new file (SQLite online; pg_dump, mariadb-dump)"
    )
    saved.add_argument("path", help="the backup file to write (never overwritten)")
    back = commands.add_parser("restore", help="replace the whole store with a backup (stop the app first)")
    back.add_argument("path", help="a file written by `backup`")
    back.add_argument("--yes", action="store_true", help="confirm: everything written since the backup is lost")
    commands.add_parser("settings", help="list every setting with its environment variable and help")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except CrmError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _import(args: argparse.Namespace, engine, keyring) -> int:  # type: ignore[no-untyped-def]
    """Import a file as the operator (the audit row names "cli"); exit 1 when the mapping is incomplete."""
    from pathlib import Path

    from core.access import SYSTEM
    from core.db import session_scope, write
    from core.ingest import batch
    from core.ingest.fields import propose

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from None
    table = batch.read(data, kind=args.kind, file_name=path.name, encoding=args.encoding, sheet=args.sheet)
    source = args.source or batch.default_source(path.name)
    if args.mapping:
        with session_scope(engine) as session:
            saved = batch.mappings(session, SYSTEM, kind=args.kind)
        if args.mapping not in saved:
            raise ConfigError(f"No saved {args.kind} mapping named {args.mapping!r}: {', '.join(saved) or 'none yet'}.")
        mapping = saved[args.mapping]
    else:
        mapping = propose(args.kind, table.header)
    print(f"{path.name}: encoding {table.encoding or '-'}, sheet {table.sheet or '-'}")
    for name, column in mapping.columns.items():
        print(f"  {name:22} <- {column}")

    common = {
        "kind": args.kind,
        "table": table,
        "mapping": mapping,
        "source": source,
        "keyring": keyring,
    }
    problems = batch.check(args.kind, table, mapping)  # nothing is read or written when the mapping is incomplete
    for key, values in problems:
        print(f"mapping problem: {t(key, 'en', **values)}", file=sys.stderr)
    if problems:
        return 1
    if args.dry_run:
        with session_scope(engine) as session:
            plan = batch.preview(session, SYSTEM, **common)
    else:
        plan = write(engine, lambda session: batch.run(session, SYSTEM, file_name=path.name, data=data, **common))
    print(("would import: " if args.dry_run else "imported: ") + ", ".join(f"{k} {v}" for k, v in plan.counts.items()))
    for (name, fixed), n in sorted(plan.fixed.items()):
        print(f"  fixed {n:>6} x {name}: {t(fixed, 'en')}")
    for name, unknown in plan.unknown.items():
        print(f"  unknown {name}: " + ", ".join(f"{v} ({n})" for v, n in unknown.most_common(10)))
    for issue in plan.rejected[:20]:
        print(f"  line {issue.line}: {issue.text('en')}")
    if len(plan.rejected) > 20:
        print(f"  ... {len(plan.rejected) - 20} more reasons")
    if args.rejects and plan.rejected:
        Path(args.rejects).write_bytes(batch.rejected_csv(table, plan, "en"))
        print(f"refused rows written to {args.rejects}")
    return 0


def _backup_or_restore(args: argparse.Namespace, engine) -> int:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from core import backup

    path = Path(args.path).expanduser().resolve()
    if args.command == "backup":
        copy = backup.backup(engine, path)
        print(f"backed up to {copy.path} ({copy.size:,} bytes, sha256 {copy.sha256[:16]}…); it holds personal data")
        return 0
    if not args.yes:
        print("restore replaces the whole store: everything written since the backup is lost. Stop the app, then "
              "run it again with --yes.", file=sys.stderr)  # fmt: skip
        return 1
    copy = backup.restore(engine, path)
    print(f"restored from {copy.path} (sha256 {copy.sha256[:16]}…); start the app again")
    return 0


def _churn_from_csv(args: argparse.Namespace) -> int:
    import pandas as pd

    from core import churn as churn_model

    if not args.label:
        raise ConfigError("Name the label column with --label.")
    try:
        frame = pd.read_csv(args.from_csv, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError(f"Cannot read {args.from_csv}: {exc}") from None
    mean, spread = churn_model.cross_validate(frame, label=args.label, id_column=args.id)
    print(f"{args.from_csv}: {len(frame)} rows, 5-fold cross-validated ROC-AUC {mean:.3f} ± {spread:.3f}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from core.settings import describe_settings, load_settings

    if args.command == "settings":
        for variable, default, text in describe_settings():
            print(f"{variable}\n    default: {default}\n    {text}")
        return 0
    if args.command == "train-churn" and args.from_csv:
        return _churn_from_csv(args)
    settings = load_settings(database_url=args.database_url)
    from core.db import safe_url, session_scope, write
    from core.pii import Keyring
    from core.secrets import load_secrets
    from core.store import open_store

    keyring = Keyring.from_secrets(load_secrets())
    engine = open_store(settings, keyring)
    if args.command == "migrate":
        print(f"schema up to date at {safe_url(engine.url)}")
    elif args.command == "seed":
        from core.demo import seed_demo

        report = seed_demo(
            engine,
            customers=args.customers,
            seed=args.seed,
            today=args.today,
            replace=args.replace,
            demo_password=args.demo_password,
            keyring=keyring,
            force=args.force,
        )
        print(
            f"seeded {report.customers} customers, {report.rows_total} rows in {report.seconds:.1f} s "
            f"into {safe_url(engine.url)}"
        )
        for table, rows in report.rows.items():
            print(f"  {table:15} {rows:>10}")
        print("demo users and passwords:" if args.demo_password is None else "demo users (password as given):")
        for username, password in report.passwords.items():
            print(f"  {username:12} {password if args.demo_password is None else '(given)'}")
    elif args.command == "create-user":
        import getpass

        from core import security

        password = args.password or getpass.getpass(f"Password for {args.username}: ")
        write(
            engine,
            lambda session: security.create_user(
                session,
                username=args.username,
                display_name=args.name,
                role=args.role,
                password=password,
                email=args.email,
                team=args.team,
            ),
        )
        print(f"user {args.username} created with role {args.role}")
    elif args.command == "rotate-key":
        from core import audit
        from core.secrets import add_pii_key
        from core.store import protect_plaintext

        if os.environ.get("CRM_PII_KEYS") and not args.reencrypt_only:
            raise ConfigError(
                "The keys come from CRM_PII_KEYS: put a new key first in that variable (keep the old "
                "ones after it), then run rotate-key again with --reencrypt-only."
            )
        if not args.reencrypt_only:
            kid = add_pii_key()
            keyring = Keyring.from_secrets(load_secrets())
            print(f"new active key {kid} added to .streamlit/secrets.toml (old keys kept for backups)")
        rewritten = protect_plaintext(engine, keyring, rotate=True)
        write(
            engine,
            lambda session: audit.record(
                session, action="key_rotated", username="cli", details={"active": keyring.active, "rows": rewritten}
            ),
        )
        print(f"{rewritten} customers re-encrypted under key {keyring.active}")
    elif args.command in ("backup", "restore"):
        return _backup_or_restore(args, engine)
    elif args.command == "import":
        return _import(args, engine, keyring)
    elif args.command == "import-folder":
        from pathlib import Path

        from core.ingest.folder import import_folder

        def said(result):  # type: ignore[no-untyped-def]
            print(f"{result.outcome:6} {result.source}/{result.file}: {result.summary}")

        results = import_folder(engine, Path(args.folder or settings.import_folder), keyring, progress=said)
        print(
            f"{len(results)} files: {sum(r.outcome == 'done' for r in results)} done, "
            f"{sum(r.outcome == 'failed' for r in results)} failed"
        )
        return 1 if any(r.outcome == "failed" for r in results) else 0
    elif args.command == "train-churn":
        from sqlalchemy.orm import Session

        from core import churn as churn_model

        with Session(engine) as session:
            frame = churn_model.training_set(session, clock.today(), horizon=args.horizon)
        trained = churn_model.train(frame)
        version = write(engine, lambda s: churn_model.save(s, trained, horizon=args.horizon, username="cli"))
        print(
            f"trained on snapshots {', '.join(map(str, trained.train_snapshots))}; judged on {trained.test_snapshot} "
            f"(churn within {args.horizon} days)"
        )
        print(f"{'model':22} {'ROC-AUC':>8} {'PR-AUC':>8} {'top-10% precision':>18} {'top-10% recall':>15}")
        for name, e in trained.metrics.items():
            print(
                f"{name:22} {e.roc_auc:8.3f} {e.pr_auc:8.3f} {e.top_decile_precision:18.3f} {e.top_decile_recall:15.3f}"
            )
        print(
            f"chosen: {trained.chosen}, grade {trained.grade} against the recency baseline; stored as version {version}"
        )
    elif args.command == "score-churn":
        from core import churn as churn_model

        holdout = settings.retention_holdout_percent
        scored = write(engine, lambda s: churn_model.score(s, as_of=clock.today(), holdout_percent=holdout))
        print(
            f"{scored} active customers scored with the newest churn model; their health, RFM segment, "
            "lifetime value and value tier written beside it"
        )
    elif args.command == "loyalty":
        from core import loyalty

        done = write(engine, lambda s: loyalty.run(s))
        print(f"{done['earned_rows']} orders earned points; {done['expired_points']} points expired")
    elif args.command == "refresh":
        from core import facts, next_offer, quality, service_facts

        def rebuild(session):  # type: ignore[no-untyped-def]
            facts.rebuild_all(session, as_of=args.as_of or clock.today())
            service_facts.rebuild(session)
            quality.snapshot(session)
            next_offer.learn(session, today=args.as_of or clock.today())  # the next best offer, learned again

        write(engine, rebuild)
        print("summary tables rebuilt, next best offer learned again")
    elif args.command == "sla-tick":
        from core import service

        def tick(session):  # type: ignore[no-untyped-def]
            def counts() -> tuple[int, int]:
                fired = session.scalar(select(func.count()).select_from(m.SlaFiring))
                told = session.scalar(select(func.count()).select_from(m.Task).where(m.Task.source == "escalation"))
                return fired, told

            before = counts()
            evaluated = service.tick(session)
            after = counts()
            return evaluated, after[0] - before[0], after[1] - before[1]

        evaluated, fired, told = write(engine, tick)  # beside the app's writers (cron): takes its turn, never refused
        print(f"{evaluated - told} open tickets evaluated, {fired} actions fired, {told} complaints likely to escalate")
    elif args.command == "run-rules":
        from core import rules

        done = write(engine, lambda s: rules.run(s))  # beside the app's writers: takes its turn
        sent = rules.deliver(engine, settings.smtp())
        print(
            f"{done['fired']} rules fired, {done['ended']} episodes ended, "
            f"{sent['sent']} e-mails sent, {sent['failed']} failed"
        )
    elif args.command == "kpis":
        from core import kpi
        from core.access import SYSTEM
        from core.periods import Filters, period_containing

        today = clock.today()
        period = (
            period_containing(date.fromisoformat(args.month + "-01"), "M")
            if args.month
            else kpi.latest_complete_month(today)
        )
        with session_scope(engine) as session:
            result = kpi.cockpit(session, period, Filters(), viewer=SYSTEM, now=clock.now())
        print(
            json.dumps(
                {
                    "period": period.label(),
                    "source": result.source,
                    **{k.key: k.value for k in result.kpis},
                    "revenue_at_risk": result.revenue_at_risk,
                    "open_complaints": result.open_complaints.open,
                },
                ensure_ascii=False,
            )
        )
    engine.dispose()
    return 0
