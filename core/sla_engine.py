"""The SLA engine: a ticket's clocks and their states, computed from its events alone (pure functions).

Metrics (each with a target in working minutes of the policy's calendar):
- first_response: from creation to the first agent action (accept or a reply);
- next_response: from each customer message after the first response to the next agent reply (the
  clock restarts on every customer message; the worst cycle decides the state);
- accept: creation to accept; analyse: accept to analysis done; resolution: creation to resolve,
  stopped while waiting on the customer and between resolve and re-open; feedback: resolve to feedback.
Beside them: the customer's total wait (creation to resolution, wall-clock minutes, pauses excluded)
and the agents' working time (working minutes the ticket spent with agents, pauses excluded).

States: running, paused, at_risk (a share or an offset of the target used, per policy), met, breached.
A clock that passes its target is breached at that moment; exactly at the target is still met.
Pause time is never counted, whatever policy the ticket moves to: every figure is derived from the
events, so a policy change recomputes elapsed time from the same history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.business_hours import Calendar, elapsed_minutes

METRICS = ("first_response", "next_response", "accept", "analyse", "resolution", "feedback")
AGENT_RESPONSES = ("accept", "agent_reply", "analyse", "resolve")  # an agent acting counts as a response
PAUSES = ("wait",)
RESUMES = ("customer_reply",)
CUSTOMER_MESSAGES = ("customer_message", "customer_reply")
# the action that led to each status: for events written before the action was recorded (migration 0006, demo)
STATUS_ACTIONS = {
    "new": "created",
    "accepted": "accept",
    "analysing": "analyse",
    "resolved": "resolve",
    "closed": "close",
}


def action_of(action: str | None, to_status: str) -> str:
    return action or STATUS_ACTIONS.get(to_status, to_status)


@dataclass(frozen=True)
class Targets:
    """Working minutes per metric (None: no target for it), and when a running clock is 'at risk'."""

    minutes: dict[str, float | None]
    warn_share: float = 0.8
    warn_offset_minutes: float | None = None  # if set: at risk this long before the target, instead of the share

    def warn_at(self, target: float) -> float:
        if self.warn_offset_minutes is not None:
            return max(0.0, target - self.warn_offset_minutes)
        return target * self.warn_share


@dataclass(frozen=True)
class Event:
    at: datetime
    action: str  # created, accept, analyse, resolve, feedback, close, wait, customer_reply, customer_message,
    #              agent_reply, reopen, assign, policy_change, sla_* (ignored by the clocks)


@dataclass
class MetricResult:
    metric: str
    target_minutes: float
    elapsed_minutes: float
    state: str
    due_at: datetime | None  # when a running clock reaches its target (None when done or paused)
    completed_at: datetime | None = None
    breached_at: datetime | None = None
    warn_at: datetime | None = None  # when a running clock will turn "at risk" (the tick looks for these)

    @property
    def left_minutes(self) -> float:
        return self.target_minutes - self.elapsed_minutes


@dataclass
class TicketSla:
    metrics: dict[str, MetricResult] = field(default_factory=dict)
    customer_wait_minutes: float = 0.0
    agent_minutes: float = 0.0
    paused: bool = False
    reopened: int = 0


def _running_spans(
    events: Sequence[Event],
    start_actions: tuple[str, ...],
    stop_actions: tuple[str, ...],
    now: datetime,
    *,
    pausable: bool,
    restart_actions: tuple[str, ...] = (),
) -> tuple[list[tuple[datetime, datetime]], datetime | None, bool]:
    """Spans during which a clock runs, the time it was completed (None if still open), and whether it is
    paused now. The clock starts at the first start action; stops at a stop action; with `pausable` it
    halts on a pause and goes on at a resume; a restart action (re-open) sets it running again."""
    spans: list[tuple[datetime, datetime]] = []
    running_since: datetime | None = None
    started = done = paused = False
    completed: datetime | None = None
    for event in events:
        if not started and event.action in start_actions:
            started, running_since = True, event.at
            continue
        if not started:
            continue
        if done:
            if event.action in restart_actions:
                done, completed, running_since = False, None, event.at
            continue
        if event.action in stop_actions:
            if running_since is not None:
                spans.append((running_since, event.at))
            done, completed, running_since, paused = True, event.at, None, False
        elif pausable and event.action in PAUSES and running_since is not None:
            spans.append((running_since, event.at))
            running_since, paused = None, True
        elif pausable and event.action in RESUMES and paused:
            running_since, paused = event.at, False
    if running_since is not None and not done:
        spans.append((running_since, max(now, running_since)))
    return spans, completed, paused and not done


def _result(
    metric: str,
    spans: list[tuple[datetime, datetime]],
    completed: datetime | None,
    paused: bool,
    target: float,
    targets: Targets,
    calendar: Calendar,
    now: datetime,
) -> MetricResult:
    elapsed, breached_at = 0.0, None
    for low, high in spans:
        minutes = calendar.working_minutes(low, high)
        if breached_at is None and elapsed + minutes > target:
            breached_at = calendar.add_working_minutes(low, target - elapsed)
        elapsed += minutes
    if completed is not None:
        state = "met" if elapsed <= target else "breached"
        return MetricResult(metric, target, elapsed, state, None, completed, breached_at)
    if elapsed > target:
        return MetricResult(metric, target, elapsed, "breached", None, None, breached_at)
    if paused:
        return MetricResult(metric, target, elapsed, "paused", None)
    due = calendar.add_working_minutes(now, target - elapsed) if spans else None
    warn = targets.warn_at(target)
    if elapsed >= warn:
        return MetricResult(metric, target, elapsed, "at_risk", due)
    return MetricResult(
        metric,
        target,
        elapsed,
        "running",
        due,
        warn_at=calendar.add_working_minutes(now, warn - elapsed) if spans else None,
    )


def _next_response(
    events: Sequence[Event], target: float, targets: Targets, calendar: Calendar, now: datetime
) -> MetricResult | None:
    """Each customer message after the first response opens a cycle that the next agent reply closes;
    the result is the open cycle's if it is running, else the worst closed cycle's."""
    first_done = False
    cycles: list[MetricResult] = []
    opened: datetime | None = None
    for event in events:
        if not first_done:
            first_done = event.action in AGENT_RESPONSES
            continue
        if event.action in CUSTOMER_MESSAGES and opened is None:
            opened = event.at
        elif event.action in (*AGENT_RESPONSES, "wait") and opened is not None:
            cycles.append(
                _result("next_response", [(opened, event.at)], event.at, False, target, targets, calendar, now)
            )
            opened = None
    if opened is not None:
        current = _result("next_response", [(opened, now)], None, False, target, targets, calendar, now)
        if current.state == "breached" or not any(c.state == "breached" for c in cycles):
            return current
    if not cycles:
        return None
    return max(cycles, key=lambda c: (c.state == "breached", c.elapsed_minutes - c.target_minutes))


def evaluate(events: Sequence[Event], targets: Targets, calendar: Calendar, now: datetime) -> TicketSla:
    """Every metric of one ticket as of `now`, from its events in time order (the first is `created`)."""
    events = sorted((e for e in events if e.at <= now), key=lambda e: e.at)
    result = TicketSla(reopened=sum(1 for e in events if e.action == "reopen"))
    plans = {  # metric -> (start actions, stop actions, pausable, restart actions)
        "first_response": (("created",), AGENT_RESPONSES, False, ()),
        "accept": (("created",), ("accept",), False, ()),
        "analyse": (("accept",), ("resolve", "analyse"), True, ()),
        "resolution": (("created",), ("resolve",), True, ("reopen",)),
        "feedback": (("resolve",), ("feedback", "close"), False, ("resolve",)),  # closing ends the loop too
    }
    for metric, (start, stop, pausable, restart) in plans.items():
        target = targets.minutes.get(metric)
        if target is None:
            continue
        spans, completed, paused = _running_spans(events, start, stop, now, pausable=pausable, restart_actions=restart)
        if not spans and completed is None and not paused:
            continue  # never started (no accept yet for analyse, no resolve yet for feedback)
        result.metrics[metric] = _result(metric, spans, completed, paused, target, targets, calendar, now)
        if metric == "resolution":
            result.paused = paused
            result.customer_wait_minutes = sum(elapsed_minutes(a, b, calendar.store_timezone) for a, b in spans)
            result.agent_minutes = sum(calendar.working_minutes(a, b) for a, b in spans)
    target = targets.minutes.get("next_response")
    if target is not None:
        found = _next_response(events, target, targets, calendar, now)
        if found is not None:
            result.metrics["next_response"] = found
    return result
