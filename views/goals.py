"""Goals: every KPI target against the chosen period with its status and the trend toward it; administrators
set, edit and remove targets here (core.targets decides who may and checks what is typed)."""

from datetime import date

import pandas as pd
import streamlit as st

from core import access, charts, clock, formatting, models as m, targets
from core.errors import Conflict, CrmError, FieldErrors
from core.i18n import label
from core.periods import period_containing
from ui import data
from ui.context import lang, page_guard, reason, tr
from ui.filters import period_selector
from ui.forms import Slots, flash
from ui.targets import change_text, goal_value, status_text

viewer = page_guard("goals")
current = lang()
period = period_selector()
st.title(tr("goals.title"))
st.caption(tr("goals.caption", period=period.label()))
with st.expander(tr("goals.rule")):
    st.markdown(tr("goals.rule_text"))
flash()

COLOURS = {"met": "#2e7d32", "on_track": "#2e7d32", "at_risk": "#e65100", "missed": "#c62828", "no_data": "#78909c"}
standings = data.goals(viewer, period)


def scope_text(target: targets.Target) -> str:
    if target.region:
        return label("region", target.region, current)
    if target.team:
        return tr("goals.team", team=target.team)
    return tr("goals.company")


def in_force_text(target: targets.Target) -> str:
    last = f"{target.effective_to:%Y-%m-%d}" if target.effective_to else tr("goals.open_ended")
    grain = f" · {tr(f'period.grain.{target.grain}')}" if target.grain else ""
    return f"{target.effective_from:%Y-%m-%d} – {last}{grain}"


if not standings:
    st.info(tr("goals.empty"))
    picked_target = None
else:
    table = pd.DataFrame(
        {
            "kpi": [tr(f"kpi.{s.target.kpi}") for s in standings],
            "scope": [scope_text(s.target) for s in standings],
            "target": [goal_value(s.target, s.goal) for s in standings],
            "baseline": [change_text(s.target, s.baseline) for s in standings],
            "value": [formatting.value(s.value, s.target.measure.unit, current) for s in standings],
            "status": [tr(f"targets.status.{s.status}") for s in standings],
            "owner": [s.target.owner or "—" for s in standings],
            "in_force": [in_force_text(s.target) for s in standings],
            "note": [s.target.note or "" for s in standings],
        }
    )
    counts = pd.Series([s.status for s in standings]).value_counts()
    st.caption(" · ".join(f"{status_text(k)}: {int(counts[k])}" for k in targets.STATUSES if k in counts))
    colour = dict(zip(table["status"], (COLOURS[s.status] for s in standings)))
    picked = st.dataframe(
        table.style.map(lambda v: f"color: {colour.get(v, 'inherit')}; font-weight: 600", subset=["status"]),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="goals_table",
        column_config={
            "kpi": tr("goals.col.kpi"),
            "scope": tr("goals.col.scope"),
            "target": tr("goals.col.target"),
            "baseline": tr("goals.col.baseline"),
            "value": tr("goals.col.value", period=period.label()),
            "status": tr("goals.col.status"),
            "owner": tr("goals.col.owner"),
            "in_force": tr("goals.col.in_force"),
            "note": tr("goals.col.note"),
        },
    )
    rows = picked.selection.rows if picked else []
    picked_target = standings[rows[0]].target if rows else None
    shown = picked_target or standings[0].target
    st.subheader(tr("goals.trend", kpi=tr(f"kpi.{shown.kpi}"), scope=formatting.plain(scope_text(shown))))
    if shown.measure.point_in_time:
        st.caption(tr("goals.point_in_time"))
    else:
        last_month = period_containing(min(period.last_day, clock.today()), "M")
        trend = data.goal_trend(viewer, shown, last_month)
        st.plotly_chart(
            charts.target_trend(
                trend, current, title=tr(f"kpi.{shown.kpi}"), unit="percent" if shown.measure.unit == "percent" else ""
            ),
            key="goal_trend",
        )
    if not rows:
        st.caption(tr("goals.pick"))


def in_percent(kind: str, unit: str) -> bool:
    """The form takes rates and changes in % (95, -50) and stores fractions; NPS points and amounts as typed."""
    return (kind == "absolute" and unit == "percent") or (kind == "change" and unit != "score")


def target_form(target: targets.Target | None) -> None:
    """New target, or the one picked in the table: every field checked in core, each message under its field."""
    owners = data.read(lambda session, who: targets.owners(session, viewer=who), viewer)
    key = f"target_{target.id if target else 'new'}_{st.session_state.get('target_form', 0)}"
    with st.form(key):
        slots = Slots()
        slots.top()
        keys = list(targets.MEASURES)
        a, b = st.columns(2)
        kpi = a.selectbox(
            tr("goals.col.kpi"),
            keys,
            index=keys.index(target.kpi) if target else 0,
            format_func=lambda k: tr(f"kpi.{k}"),
        )
        with a:
            slots("kpi")
        kind = b.radio(
            tr("goals.kind"),
            targets.KINDS,
            index=targets.KINDS.index(target.kind) if target else 0,
            format_func=lambda k: tr(f"goals.kind.{k}"),
            horizontal=True,
        )
        with b:
            slots("kind")
        unit = targets.MEASURES[str(kpi)].unit
        shown_value = None if target is None else target.value * (100 if in_percent(target.kind, unit) else 1)
        c, d = st.columns(2)
        value = c.number_input(tr("goals.value"), value=shown_value, help=tr("goals.value.help"))
        with c:
            slots("value")
        grains = [None, "M", "Q", "Y"]
        grain = d.selectbox(
            tr("goals.grain"),
            grains,
            index=grains.index(target.grain) if target else 0,
            format_func=lambda g: tr(f"period.grain.{g}") if g else "—",
            help=tr("goals.grain.help"),
        )
        with d:
            slots("grain")
        e, f = st.columns(2)
        effective_from = e.date_input(
            tr("goals.effective_from"), value=target.effective_from if target else clock.today()
        )
        with e:
            slots("effective_from")
        effective_to = f.date_input(
            tr("goals.effective_to"), value=target.effective_to if target else None, help=tr("goals.effective_to.help")
        )
        with f:
            slots("effective_to")
        first, last = targets.last_half_year(clock.today())
        baseline = st.date_input(
            tr("goals.baseline"),
            value=(target.baseline_start, target.baseline_end)
            if target and target.baseline_start and target.baseline_end
            else (first, last),
            help=tr("goals.baseline.help"),
        )
        slots("baseline")
        g, h, i = st.columns(3)
        regions: list[str | None] = [None, *m.REGIONS]
        region = g.selectbox(
            tr("goals.region"),
            regions,
            index=regions.index(target.region) if target and target.region in regions else 0,
            format_func=lambda r: label("region", r, current) if r else tr("goals.company"),
        )
        with g:
            slots("region")
        team = h.text_input(tr("goals.team_field"), value=target.team or "" if target else "", max_chars=64)
        with h:
            slots("team")
        people: list[int | None] = [None, *owners]
        owner = i.selectbox(
            tr("goals.col.owner"),
            people,
            index=people.index(target.owner_id) if target and target.owner_id in people else 0,
            format_func=lambda p: owners[p] if p is not None else "—",
        )
        with i:
            slots("owner")
        note = st.text_input(tr("goals.col.note"), value=target.note or "" if target else "", max_chars=200)
        slots("note")
        if not st.form_submit_button(tr("goals.save"), type="primary"):
            return
    number = None if value is None else float(value)
    if number is not None and in_percent(str(kind), targets.MEASURES[str(kpi)].unit):
        number /= 100
    span = baseline if isinstance(baseline, tuple) and len(baseline) == 2 else (None, None)
    change = targets.TargetChange(
        kpi=str(kpi),
        kind=str(kind),
        value=number,
        effective_from=effective_from if isinstance(effective_from, date) else None,
        effective_to=effective_to if isinstance(effective_to, date) else None,
        grain=grain,
        baseline_start=span[0],
        baseline_end=span[1],
        region=region,
        team=team or None,
        owner_id=owner,
        note=note or None,
    )
    try:
        if target:
            data.write(targets.update_target, viewer, target.id, change, version=target.version)
        else:
            data.write(targets.create_target, viewer, change)
    except FieldErrors as err:
        slots.show(err.errors)
    except Conflict:
        st.warning(tr("targets.error.conflict"))
    except CrmError as err:
        st.error(tr("form.refused", reason=reason(err)))
    else:
        st.session_state["flash"] = tr("goals.saved")
        st.session_state["target_form"] = st.session_state.get("target_form", 0) + 1
        st.rerun()


if access.allowed(viewer, "targets:edit"):
    st.subheader(tr("goals.edit") if picked_target else tr("goals.new"))
    target_form(picked_target)
    if picked_target is not None and st.button(tr("goals.delete"), key=f"delete_target_{picked_target.id}"):
        try:
            data.write(targets.delete_target, viewer, picked_target.id)
        except CrmError as err:
            st.error(tr("form.refused", reason=reason(err)))
        else:
            st.session_state["flash"] = tr("goals.deleted")
            st.rerun()
