"""Scheduled feeds: a watched folder with one sub-folder per source (data/feeds/erp/, data/feeds/shop/...).

`python -m core import-folder` (from cron, every few minutes) imports each file found there: its kind from
its name (customers/客户, orders/订单 or nps/问卷; customers first, so the rest find them), its mapping the one saved
as "<source>-<kind>" when there is one, else the one proposed from the header. Each file is one transaction;
it then moves to done/ (rows refused inside it are listed in its report and a rejected CSV) or to failed/
(unreadable, or a mapping that misses a required field: nothing written), with a report beside it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from core import clock
from core.access import SYSTEM
from core.db import session_scope, write
from core.errors import CrmError
from core.i18n import error_text, t
from core.ingest import batch
from core.ingest.fields import KINDS, propose
from core.pii import Keyring

KIND_WORDS = {
    "customers": ("customer", "客户"),
    "orders": ("order", "订单"),
    "nps": ("nps", "survey", "问卷"),
    "interactions": ("interaction", "activit", "跟进", "互动"),
    "leads": ("lead", "线索"),
    "tickets": ("ticket", "工单"),
    "csat": ("csat", "满意度"),
}
SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xls")


@dataclass(frozen=True)
class FileResult:
    source: str
    file: str
    kind: str | None
    outcome: str  # done, failed
    summary: str


def kind_of(name: str) -> str | None:
    lowered = name.lower()
    found = [kind for kind, words in KIND_WORDS.items() if any(w in lowered for w in words)]
    return found[0] if len(found) == 1 else None


def _waiting(folder: Path) -> list[tuple[str, Path]]:
    """(source, file) for every file waiting, customers before orders, then by name."""
    files = [
        (source.name, path)
        for source in sorted(folder.iterdir())
        if source.is_dir()
        for path in sorted(source.iterdir())
        if path.is_file() and path.suffix.lower() in SUFFIXES
    ]
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(files, key=lambda item: (order.get(kind_of(item[1].name) or "", 99), item[0], item[1].name))


def _report(plan: batch.Plan | None, problem: str | None) -> str:
    """The text kept beside a processed file: when, the counts (second line), fixes and refusals."""
    lines = [f"at: {clock.now():%Y-%m-%d %H:%M:%S}"]
    if problem:
        lines.append(f"not imported: {problem}")
    if plan is not None:
        lines.append(", ".join(f"{k} {v}" for k, v in plan.counts.items()))
        lines += [f"fixed {n} x {name}: {t(key, 'en')}" for (name, key), n in sorted(plan.fixed.items())]
        lines += [f"line {issue.line}: {issue.text('en')}" for issue in plan.rejected[:1000]]
    return "\n".join(lines) + "\n"


def _move(path: Path, to: str, report: str, rejected: bytes | None) -> None:
    target = path.parent / to
    target.mkdir(exist_ok=True)
    stamp = clock.now().strftime("%Y%m%d-%H%M%S")
    moved = target / f"{path.stem}-{stamp}{path.suffix}"
    shutil.move(str(path), moved)
    moved.with_suffix(".report.txt").write_text(report, encoding="utf-8")
    if rejected:
        moved.with_suffix(".rejected.csv").write_bytes(rejected)


def _import_one(engine: Engine, source: str, path: Path, keyring: Keyring) -> tuple[str | None, bytes | None, str]:
    """One file in its own transaction: (kind, refused rows as CSV, report); raises CrmError when not imported."""
    kind = kind_of(path.name)
    if kind is None:
        raise CrmError(
            "The file name names no kind of import (customers/客户, orders/订单, nps/问卷, interactions/互动, "
            "leads/线索, tickets/工单, csat/满意度).",
            key="import.error.kind_from_name",
        )
    data = path.read_bytes()
    table = batch.read(data, kind=kind, file_name=path.name)
    with session_scope(engine) as session:
        saved = batch.mappings(session, SYSTEM, kind=kind).get(f"{source}-{kind}")
    mapping = saved or propose(kind, table.header)
    problems = batch.check(kind, table, mapping)
    if problems:
        raise CrmError("; ".join(t(key, "en", **values) for key, values in problems))
    plan = write(
        engine,
        lambda s: batch.run(
            s,
            SYSTEM,
            kind=kind,
            table=table,
            mapping=mapping,
            source=source,
            keyring=keyring,
            file_name=path.name,
            data=data,
        ),
    )
    rejected = batch.rejected_csv(table, plan, "en") if plan.rejected else None
    return kind, rejected, _report(plan, None)


def import_folder(
    engine: Engine, folder: Path, keyring: Keyring, *, progress: Callable[[FileResult], None] | None = None
) -> list[FileResult]:
    """Import every waiting file of every source sub-folder; returns what happened to each."""
    if not folder.is_dir():
        raise CrmError(
            f"The watched folder {folder} does not exist; create one sub-folder per source in it.",
            key="import.error.folder",
            folder=str(folder),
        )
    results = []
    for source, path in _waiting(folder):
        try:
            kind, rejected, report = _import_one(engine, source, path, keyring)
            outcome, summary = "done", report.splitlines()[1]
        except CrmError as err:
            kind, rejected, summary = kind_of(path.name), None, error_text(err, "en")
            outcome, report = "failed", _report(None, summary)
        _move(path, outcome, report, rejected)
        result = FileResult(source, path.name, kind, outcome, summary)
        results.append(result)
        if progress:
            progress(result)
    return results
