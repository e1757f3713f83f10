"""Automation: the rules that act when something happens (core.rules): each one's fire count and what the
objects it touched became against comparable ones before it; administrators write, edit, switch on or off
and dry-run rules here (core checks every field and who may)."""

import pandas as pd
import streamlit as st

from core import rules
from ui import data
from ui.automation_parts import editor, rule_name, rule_panel, when_text
from ui.context import page_guard, tr
from ui.forms import flash

viewer = page_guard("automation")
st.title(tr("rules.title"))
st.caption(tr("rules.caption"))
flash()

overview = data.read(rules.overview, viewer)
picked_number: int | None = None
if overview.empty:
    st.info(tr("rules.empty"))
else:
    table = pd.DataFrame(
        {
            "number": overview["number"],
            "name": [rule_name(n, s) for n, s in zip(overview["name"], overview["shipped"])],
            "trigger": [tr(f"rules.trigger.{k}") for k in overview["trigger"]],
            "enabled": overview["enabled"],
            "version": overview["version"],
            "fires": overview["fires"],
            "last_fired": [when_text(v) for v in overview["last_fired"]],
        }
    )
    chosen = st.dataframe(
        table,
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="rules_table",
        column_config={
            "number": st.column_config.NumberColumn("#", format="%d"),
            "name": tr("rules.col.name"),
            "trigger": tr("rules.col.trigger"),
            "enabled": st.column_config.CheckboxColumn(tr("rules.col.enabled")),
            "version": st.column_config.NumberColumn(tr("rules.col.version"), format="v%d"),
            "fires": st.column_config.NumberColumn(tr("rules.col.fires"), format="%d"),
            "last_fired": tr("rules.col.last_fired"),
        },
    )
    rows = chosen.selection.rows if chosen else []
    asked = str(st.query_params.get("rule", ""))  # a link to one rule: /automation?rule=6
    numbers = [int(n) for n in overview["number"]]
    picked_number = numbers[rows[0]] if rows else int(asked) if asked.isdigit() and int(asked) in numbers else None
    if picked_number is None:
        st.caption(tr("rules.pick"))


picked = data.read(lambda session, who: rules.get(session, picked_number), viewer) if picked_number else None
if picked is not None:
    rule_panel(viewer, picked)
st.subheader(tr("rules.edit", number=picked.number) if picked else tr("rules.new"))
editor(viewer, picked)
