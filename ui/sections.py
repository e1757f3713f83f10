"""Tabs that know which one is open: `st.tabs` runs every tab's code on every rerun, so a page with a slow tab
paid for it wherever the user looked. A page draws only the open tab's content (`Sections.shows`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ui.context import lang


@dataclass(frozen=True)
class Sections:
    key: str
    labels: dict[str, str]
    tabs: dict[str, Any]

    def shows(self, name: str) -> bool:
        """Whether the tab is open (a tab the viewer may not see is never open)."""
        return name in self.tabs and self.tabs[name].open is not False

    def select(self, name: str) -> None:
        """Open a tab on the next run (from a callback, or before the tabs are drawn)."""
        st.session_state[self.key] = self.labels[name]


def sections(names: Sequence[str], *, key: str, label: Callable[[str], str]) -> Sections:
    """Tabs keyed per language (the state holds the open tab's label, which differs by language); switching
    tabs reruns the page, which then computes only the tab that is open."""
    labels = {name: label(name) for name in names}
    made = st.tabs(list(labels.values()), key=state_key(key), on_change="rerun")
    return Sections(state_key(key), labels, dict(zip(names, made)))


def state_key(key: str) -> str:
    """The session-state key of `sections(..., key=key)` in the current language: set it to a tab's label
    before the tabs are drawn to open that tab (a link that opens a ticket, say)."""
    return f"{key}_{lang()}"
