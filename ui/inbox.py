"""The signed-in user's notifications from automation rules, in the sidebar: the unread count, the latest
ones as plain text (a rule's words are an administrator's typing), and "mark all read"."""

from __future__ import annotations

import streamlit as st

from core import rules
from core.access import Viewer
from ui import data
from ui.context import tr


def sidebar(viewer: Viewer) -> None:
    unread, latest = data.read(lambda session, who: rules.inbox(session, who, limit=10), viewer)
    if latest.empty:
        return
    title = tr("inbox.title", n=unread) if unread else tr("inbox.title_read")
    with st.sidebar.expander(title, icon=":material/notifications:"):
        for row in latest.itertuples():
            mark = "● " if row.read_at is None or row.read_at != row.read_at else ""
            st.text(f"{mark}{row.at:%m-%d %H:%M} {row.title}" + (f"\n{row.object}" if row.object else ""))
        if unread and st.button(tr("inbox.mark_read"), key="inbox_mark_read"):
            data.write(rules.mark_read, viewer)
            st.rerun()
