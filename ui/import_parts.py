"""The Import page's parts: the uploader in the UI language, the file read once per choice, the history of
imports, and what a checked plan would do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.ingest import batch
from core.ingest.files import Table
from ui.context import tr

UPLOADER = (
    "[data-testid='stFileUploaderDropzone'] button [data-testid='stMarkdownContainer'] p",
    "[data-testid='stFileUploaderDropzoneInstructions'] span",
)


def css_text(text: str) -> str:
    """A catalog string as a CSS string literal (quotes, backslashes, angle brackets and line ends escaped)."""
    return '"' + "".join(f"\\{ord(c):x} " if c in '"\\\n<>' else c for c in text) + '"'


def translate_uploader() -> None:
    """Streamlit's uploader has no way to translate its own button and limit line: our words are drawn over
    them (the selectors are Streamlit's test ids, stable within the pinned version)."""
    words = (tr("import.uploader.button"), tr("import.uploader.limit"))
    rules = [f"{', '.join(UPLOADER)} {{ font-size: 0; }}"]
    rules += [
        f"{where}::after {{ content: {css_text(text)}; font-size: 0.875rem; }}" for where, text in zip(UPLOADER, words)
    ]
    st.html(f"<style>{''.join(rules)}</style>")


def read(content: bytes, digest: str, **how: Any) -> tuple[Table, int]:
    """The file as a table and its row count, read once per file and choice of kind, encoding and sheet:
    every widget on the page reruns the script, and a large file would be decoded and counted each time."""
    key = (digest, *sorted(how.items()))
    kept = st.session_state.get("imp_table")
    if kept is None or kept[0] != key:
        table = batch.read(content, **how)
        kept = (key, table, table.count)
        st.session_state["imp_table"] = kept
    return kept[1], kept[2]


def history(batches: list[dict[str, Any]]) -> None:
    st.subheader(tr("import.history"))
    rows = [
        {
            tr("import.col.at"): b["at"],
            tr("import.col.user"): b["username"],
            tr("import.kind"): tr(f"import.kind.{b['kind']}"),
            tr("import.source"): b["source"],
            tr("import.col.file"): b["file_name"],
            **{tr(f"import.count.{k}"): v for k, v in b["counts"].items()},
        }
        for b in batches
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def plan_outcome(plan: batch.Plan, table: Table, file_name: str, lang: str) -> None:
    """Counts per action, what was fixed, the refused rows with their reasons and their download (built when
    asked for: it walks the file again)."""
    for card, (action, n) in zip(st.columns(len(batch.ACTIONS)), plan.counts.items()):
        card.metric(tr(f"import.count.{action}"), f"{n:,}", border=True, help=tr(f"import.count.{action}.help"))
    if plan.fixed:
        fixed = [
            {tr("import.col.field"): tr(f"import.field.{f}"), tr("import.col.fixed"): tr(k), tr("import.col.rows"): n}
            for (f, k), n in sorted(plan.fixed.items())
        ]
        st.dataframe(pd.DataFrame(fixed), hide_index=True)
    if plan.rejected:
        refused = [
            {tr("import.col.line"): issue.line, tr("import.col.reason"): issue.text(lang)}
            for issue in plan.rejected[:500]
        ]
        st.dataframe(pd.DataFrame(refused), hide_index=True)
        st.download_button(
            tr("import.download_rejected"),
            lambda: batch.rejected_csv(table, plan, lang),
            file_name=f"{Path(file_name).stem}-rejected.csv",
            mime="text/csv",
            key="imp_rejects",
        )
