"""Download buttons that write their audit entry when the user actually downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import db, exports
from core.access import Viewer
from core.periods import Filters
from ui import context
from ui.context import tr


def _record(viewer: Viewer, what: str, rows: int, filters: Filters | None) -> None:
    db.write(
        context.engine(),
        lambda session: exports.record_export(session, viewer=viewer, what=what, rows=rows, filters=filters),
    )


def csv_download(
    frame: pd.DataFrame, *, what: str, file_name: str, viewer: Viewer, filters: Filters | None = None, key: str
) -> None:
    """A CSV (UTF-8 with BOM) download of exactly `frame`, for roles that may export `what`."""
    if not exports.may_export(viewer, what):
        return
    st.download_button(
        tr("export.csv"),
        exports.to_csv(frame),
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click=_record,
        args=(viewer, what, len(frame), filters),
        icon=":material/download:",
    )


def xlsx_download(
    frame: pd.DataFrame, *, what: str, file_name: str, viewer: Viewer, filters: Filters | None = None, key: str
) -> None:
    """The same as csv_download, as an Excel workbook."""
    if not exports.may_export(viewer, what):
        return
    st.download_button(
        tr("export.xlsx"),
        exports.to_xlsx(frame),
        file_name=file_name,
        key=key,
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        on_click=_record,
        args=(viewer, what, len(frame), filters),
        icon=":material/table:",
    )
