"""The Automation page's parts (core.rules): a rule, its firings and episodes in words, its panel (switch,
outcome, firings, versions), the editor with its dry run."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core import clock, formatting, rules
from core.access import Viewer
from core.errors import Conflict, CrmError, FieldErrors
from core.i18n import label, t
from ui import data
from ui.context import lang, reason, tr
from ui.forms import Slots


def rule_name(name: str, shipped: str | None) -> str:
    """A shipped rule keeps the name it shipped with in the reader's language until someone renames it."""
    if shipped and name == t(f"rules.shipped.{shipped}", "en"):
        return tr(f"rules.shipped.{shipped}")
    return name


def threshold_text(trigger: str, threshold: float | None) -> str:
    if threshold is None:
        return ""
    if trigger == "churn_risk":
        return tr("rules.threshold.churn_risk", value=f"{100 * threshold:.0f}%")
    if trigger == "order_above":
        return tr("rules.threshold.order_above", value=formatting.value(threshold, "money", lang()))
    return tr(f"rules.threshold.{trigger}", value=f"{threshold:g}")


def when_text(moment: object) -> str:
    return "—" if moment is None or pd.isna(moment) else f"{pd.Timestamp(moment):%Y-%m-%d %H:%M}"  # type: ignore[arg-type]


def episode_text(episode: str) -> str:
    """A firing's episode in words: the SLA clock, the n-th re-open or rating, the last contact's day."""
    head, _, rest = episode.partition(":")
    if episode.startswith("since "):
        return tr("rules.episode.since", day=episode[6:])
    if head in ("reopen", "csat") and rest:
        return tr(f"rules.episode.{head}", n=rest)
    if episode in ("created", "answer", "order", "batch"):
        return tr(f"rules.episode.{episode}")
    if len(episode) == 10 and episode[4] == "-":  # a churn episode: the day it began
        return tr("rules.episode.since_day", day=episode)
    return label("sla.metric", episode, lang())


def done_text(done: str, names: dict[int, str]) -> str:
    """What a firing's actions did, in words ("task: Amy · tag: vip")."""
    parts = []
    for entry in json.loads(done or "[]"):
        for kind, value in entry.items():
            if kind == "demo":
                parts.append(tr("rules.done.demo"))
            elif isinstance(value, list):
                parts.append(f"{tr(f'rules.done.{kind}')}: {', '.join(names.get(v, str(v)) for v in value) or '—'}")
            elif kind in ("assign", "escalate"):
                parts.append(f"{tr(f'rules.done.{kind}')}: {names.get(value, '—') if value is not None else '—'}")
            else:
                shown = (
                    tr("rules.done.already")
                    if value == "already"
                    else tr("rules.done.no_room")
                    if value == "no_room"
                    else value
                )
                parts.append(f"{tr(f'rules.done.{kind}')}: {shown}")
    return " · ".join(parts)


def describe(viewer: Viewer, rule: rules.Rule) -> None:
    """The rule in words: when, for whom, what it does (our words around the administrator's, shown as text)."""
    current = lang()
    when = tr(f"rules.trigger.{rule.trigger}")
    extra = threshold_text(rule.trigger, rule.threshold)
    st.markdown(f"**{tr('rules.when')}** {when}{' · ' + extra if extra else ''}")
    if rule.conditions:
        owners = data.read(lambda session, who: dict(rules.people(session)), viewer)
        parts = []
        for name, values in rule.conditions.items():
            shown = [
                owners.get(v, str(v)) if name == "owner" else v if name == "team" else label(name, v, current)
                for v in values
            ]
            parts.append(f"{tr(f'rules.field.{name}')}: {', '.join(map(str, shown))}")
        st.markdown(f"**{tr('rules.if')}**")
        st.text(" · ".join(parts))
    else:
        st.markdown(f"**{tr('rules.if')}** {tr('rules.any')}")
    st.markdown(f"**{tr('rules.then')}**")
    st.text("\n".join(action_text(a) for a in rule.actions))


def action_text(action: dict[str, Any]) -> str:
    kind = action["type"]
    to = ", ".join(tr(f"rules.to.{r}") for r in action.get("to", ()))
    if kind == "task":
        text = tr("rules.do.task", to=to, days=action.get("due_days", 0))
    elif kind == "notify":
        text = tr("rules.do.notify", to=to) + (f" · {tr('rules.do.email')}" if action.get("email") else "")
    elif kind == "assign":
        text = tr(f"rules.do.assign.{action['mode']}", team=action.get("team") or tr("rules.any_team"))
    elif kind == "tag":
        text = tr("rules.do.tag", tag=action["tag"])
    else:
        text = tr("rules.do.escalate")
    title = action.get("title")
    return f"• {text}" + (f" — {title}" if title else "")


def rule_panel(viewer: Viewer, picked: rules.Rule) -> None:
    """One rule in words, switched on or off here, its outcome against comparable objects, firings and versions."""
    current = lang()
    st.subheader(f"#{picked.number} {formatting.plain(rule_name(picked.name, picked.shipped))} · v{picked.version}")
    left, right = st.columns([3, 2])
    with left:
        describe(viewer, picked)
        toggle = tr("rules.disable") if picked.enabled else tr("rules.enable")
        if st.button(toggle, key=f"toggle_rule_{picked.number}"):
            try:
                data.write(rules.set_enabled, viewer, picked.number, not picked.enabled)
            except CrmError as err:
                st.error(tr("form.refused", reason=reason(err)))
            else:
                st.session_state["flash"] = tr("rules.disabled" if picked.enabled else "rules.enabled")
                st.rerun()
    with right:
        result = data.figures(rules.outcome, viewer, number=picked.number, now=clock.now())  # a replay: cached
        if result is None:
            st.caption(tr("rules.outcome.none"))
        else:
            st.markdown(f"**{tr(f'rules.outcome.{result.measure}', days=rules.OUTCOME_DAYS)}**")
            a, b = st.columns(2)
            a.metric(
                tr("rules.outcome.touched", n=result.touched), formatting.value(result.touched_rate, "percent", current)
            )
            b.metric(
                tr("rules.outcome.before", n=result.before), formatting.value(result.before_rate, "percent", current)
            )
            if result.difference is not None:
                st.caption(
                    tr(
                        "rules.outcome.difference",
                        diff=f"{100 * result.difference:+.1f}",
                        low=f"{100 * result.low:+.1f}",  # type: ignore[operator]
                        high=f"{100 * result.high:+.1f}",  # type: ignore[operator]
                    )
                )
            if result.pending:
                st.caption(tr("rules.outcome.pending", n=result.pending))
            st.caption(tr("rules.outcome.help"))
    history = data.read(rules.firings, viewer, picked.number, limit=50)
    with st.expander(tr("rules.firings", n=len(history))):
        if history.empty:
            st.caption(tr("rules.firings.none"))
        else:
            names = data.read(lambda session, who: dict(rules.people(session, everyone=True)), viewer)
            shown = pd.DataFrame(
                {
                    "at": [when_text(v) for v in history["at"]],
                    "version": [f"v{v}" for v in history["version"]],
                    "object": [
                        tr(f"rules.object.{k}", id=i) for k, i in zip(history["object_kind"], history["object_id"])
                    ],
                    "episode": [episode_text(e) for e in history["episode"]],
                    "ended_at": [when_text(v) if v is not None and not pd.isna(v) else "" for v in history["ended_at"]],
                    "done": [done_text(d, names) for d in history["done"]],
                }
            )
            st.dataframe(
                shown,
                hide_index=True,
                key="rule_firings",
                column_config={
                    "at": tr("rules.col.at"),
                    "version": tr("rules.col.version"),
                    "object": tr("rules.col.object"),
                    "episode": tr("rules.col.episode"),
                    "ended_at": tr("rules.col.ended"),
                    "done": tr("rules.col.done"),
                },
            )
    with st.expander(tr("rules.versions")):
        for version in data.read(rules.versions, viewer, picked.number):
            closed = f"{version.valid_to:%Y-%m-%d %H:%M}" if version.valid_to else tr("rules.in_force")
            st.text(f"v{version.version} · {version.created_at:%Y-%m-%d %H:%M} · {version.created_by} · {closed}")


def _recipients(column: Any, recipients: list[str], had: dict[str, Any], *, key: str) -> list[str]:
    """Whom a task or notification is for: the choices the trigger allows, those the rule had ticked."""
    return column.multiselect(
        tr("rules.to"),
        recipients,
        default=[r for r in had.get("to", ["owner"]) if r in recipients],
        format_func=lambda r: tr(f"rules.to.{r}"),
        key=key,
    )


def editor(viewer: Viewer, rule: rules.Rule | None) -> None:
    """A new rule, or the picked one's next version; Dry run replays the last 90 days, Save checks every field in
    core."""
    current = lang()
    people = data.read(lambda session, who: dict(rules.people(session)), viewer)
    teams = data.read(lambda session, who: sorted(rules.teams(session)), viewer)
    key = f"rule_{rule.number if rule else 'new'}_{st.session_state.get('rule_form', 0)}"
    triggers = list(rules.TRIGGERS)
    trigger = st.selectbox(
        tr("rules.col.trigger"),
        triggers,
        index=triggers.index(rule.trigger) if rule else 0,
        format_func=lambda k: tr(f"rules.trigger.{k}"),
        key=f"{key}_trigger",
    )
    spec = rules.TRIGGERS[str(trigger)]
    on_ticket = spec.object_kind == "ticket"
    with st.form(key):
        slots = Slots()
        slots.top()
        name = st.text_input(
            tr("rules.col.name"), value=rule_name(rule.name, rule.shipped) if rule else "", max_chars=100
        )
        slots("name")
        threshold = None
        if spec.default is not None:
            shown = rule.threshold if rule and rule.trigger == trigger and rule.threshold is not None else spec.default
            percent = trigger == "churn_risk"
            typed = st.number_input(
                tr(f"rules.threshold_field.{trigger}"),
                value=float(shown * 100 if percent else shown),
                help=tr("rules.threshold_help"),
            )
            threshold = None if typed is None else float(typed) / (100 if percent else 1)
            slots("threshold")
        st.markdown(f"**{tr('rules.if')}**")
        fields = rules.CUSTOMER_FIELDS + (rules.TICKET_FIELDS if on_ticket else ())
        conditions: dict[str, list[Any]] = {}
        columns = st.columns(3)
        if spec.object_kind != "import":
            for i, field_name in enumerate(fields):
                if field_name == "owner":
                    options: list[Any] = list(people)
                    show = lambda v: people.get(v, str(v))  # noqa: E731
                elif field_name == "team":
                    options, show = list(teams), str
                else:
                    options = list(rules.FIELD_CHOICES[field_name])
                    show = lambda v, f=field_name: label(f, v, current)  # noqa: E731
                had = [v for v in (rule.conditions.get(field_name, ()) if rule else ()) if v in options]
                conditions[field_name] = columns[i % 3].multiselect(
                    tr(f"rules.field.{field_name}"), options, default=had, format_func=show, placeholder=tr("rules.any")
                )
        else:
            st.caption(tr("rules.no_conditions"))
        slots("conditions")
        st.markdown(f"**{tr('rules.then')}**")
        had_actions = {a["type"]: a for a in (rule.actions if rule else ())}
        recipients = [r for r in rules.RECIPIENTS if on_ticket or r not in ("assignee", "policy")]
        if trigger not in ("ticket_at_risk", "ticket_breached", "sla_met"):
            recipients = [r for r in recipients if r != "policy"]
        actions: list[dict[str, Any]] = []
        task = had_actions.get("task", {})
        a, b, c = st.columns([1, 2, 1])
        use_task = a.checkbox(tr("rules.action.task"), value=bool(task) or rule is None, key=f"{key}_task")
        task_action = {
            "type": "task",
            "to": _recipients(b, recipients, task, key=f"{key}_task_to"),
            "due_days": int(
                c.number_input(tr("rules.due_days"), 0, 365, int(task.get("due_days", 2)), key=f"{key}_task_days")
            ),
            "title": b.text_input(
                tr("rules.task_title"), value=task.get("title", ""), max_chars=120, key=f"{key}_task_title"
            ),
        }
        if use_task:
            actions.append(task_action)
        note = had_actions.get("notify", {})
        a, b, c = st.columns([1, 2, 1])
        use_note = a.checkbox(tr("rules.action.notify"), value=bool(note), key=f"{key}_notify")
        note_action = {
            "type": "notify",
            "to": _recipients(b, recipients, note, key=f"{key}_notify_to"),
            "title": b.text_input(
                tr("rules.message"), value=note.get("title", ""), max_chars=120, key=f"{key}_notify_text"
            ),
            "email": c.checkbox(tr("rules.email"), value=bool(note.get("email")), key=f"{key}_email"),
        }
        if use_note:
            actions.append(note_action)
        tag = had_actions.get("tag", {})
        a, b = st.columns([1, 3])
        use_tag = a.checkbox(tr("rules.action.tag"), value=bool(tag), key=f"{key}_tag")
        tag_text = b.text_input(tr("rules.tag"), value=tag.get("tag", ""), max_chars=32, key=f"{key}_tag_text")
        if use_tag:
            actions.append({"type": "tag", "tag": tag_text})
        if on_ticket:
            assign = had_actions.get("assign", {})
            a, b, c = st.columns([1, 2, 1])
            use_assign = a.checkbox(tr("rules.action.assign"), value=bool(assign), key=f"{key}_assign")
            modes = list(rules.ASSIGN_MODES)
            team_options: list[str | None] = [None, *teams]
            assign_action = {
                "type": "assign",
                "mode": b.radio(
                    tr("rules.assign_mode"),
                    modes,
                    index=modes.index(assign.get("mode", "round_robin")),
                    format_func=lambda k: tr(f"rules.mode.{k}"),
                    horizontal=True,
                    key=f"{key}_mode",
                ),
                "team": c.selectbox(
                    tr("rules.field.team"),
                    team_options,
                    index=team_options.index(assign.get("team")) if assign.get("team") in team_options else 0,
                    format_func=lambda v: v or tr("rules.any_team"),
                    key=f"{key}_team",
                ),
            }
            if use_assign:
                actions.append(assign_action)
            if st.checkbox(tr("rules.action.escalate"), value="escalate" in had_actions, key=f"{key}_escalate"):
                actions.append({"type": "escalate"})
        slots("actions")
        enabled = st.checkbox(tr("rules.col.enabled"), value=rule.enabled if rule else False, key=f"{key}_enabled")
        left, right = st.columns(2)
        dry = left.form_submit_button(tr("rules.dry_run"))
        save = right.form_submit_button(tr("rules.save"), type="primary")
    if not (dry or save):
        return
    change = rules.RuleChange(
        name=str(name),
        trigger=str(trigger),
        threshold=threshold,
        conditions=conditions,
        actions=tuple(actions),
        enabled=enabled,
    )
    try:
        if dry:
            show_dry_run(data.read(rules.dry_run, viewer, change), str(trigger))
            return
        if rule:
            data.write(rules.update_rule, viewer, rule.number, change, version=rule.version)
        else:
            data.write(rules.create_rule, viewer, change)
    except FieldErrors as err:
        slots.show(err.errors)
    except Conflict:
        st.warning(tr("rules.error.conflict"))
    except CrmError as err:
        st.error(tr("form.refused", reason=reason(err)))
    else:
        st.session_state["flash"] = tr("rules.saved")
        st.session_state["rule_form"] = st.session_state.get("rule_form", 0) + 1
        st.rerun()


def show_dry_run(result: rules.DryRun, trigger: str) -> None:
    st.markdown(f"**{tr('rules.dry.title', start=f'{result.start:%Y-%m-%d}', end=f'{result.end:%Y-%m-%d}')}**")
    a, b, c = st.columns(3)
    a.metric(tr("rules.dry.triggered"), f"{result.triggered:,}")
    b.metric(tr("rules.dry.matched"), f"{result.matched:,}")
    c.metric(tr("rules.dry.customers"), f"{result.customers:,}")
    for key, values in result.effects:
        shown = dict(values)
        if "to" in shown:
            shown["to"] = ", ".join(tr(f"rules.to.{r}") for r in str(shown["to"]).split(", ") if r)
        st.text(tr(key, **shown))
    if result.matched:
        rows = result.rows
        kind = rules.TRIGGERS[trigger].object_kind
        st.dataframe(
            pd.DataFrame(
                {
                    "at": [when_text(v) for v in rows["at"]],
                    "object": [tr(f"rules.object.{kind}", id=i) for i in rows["object_id"]],
                    "episode": [episode_text(str(e)) for e in rows["episode"]],
                    "code": [c or "—" for c in rows["code"]],
                    "value": ["" if v is None or pd.isna(v) else f"{v:g}" for v in rows["value"]],
                }
            ),
            hide_index=True,
            key="dry_run_rows",
            column_config={
                "at": tr("rules.col.at"),
                "object": tr("rules.col.object"),
                "episode": tr("rules.col.episode"),
                "code": tr("rules.col.customer"),
                "value": tr("rules.col.value"),
            },
        )
    else:
        st.caption(tr("rules.dry.nothing"))
