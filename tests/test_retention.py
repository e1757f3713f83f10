"""Retention actions: the holdout draw is random and stable, actions are refused for the holdout and kept
one per customer, kind and reason, each role may or may not act in its scope, closing an action closes its
task, and the effect compares the groups with the right counts and intervals."""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from core import models as m
from core.access import SYSTEM, Viewer
from core.churn import retention
from core.db import session_scope, write
from core.errors import Conflict, FieldErrors, NotFound, PermissionDenied, ValidationError
from core.periods import Filters
from tests import factories as f

NOW = datetime(2026, 6, 1, 10)


def _viewer(user: m.User) -> Viewer:
    return Viewer(user.id, user.username, user.display_name, user.role)


def test_the_holdout_draw_is_random_and_stable() -> None:
    draws = [retention.draw("salt-a", i) for i in range(20_000)]
    assert draws == [retention.draw("salt-a", i) for i in range(20_000)]  # the same customer, the same draw
    held = sum(d < 0.10 for d in draws) / len(draws)
    assert 0.09 < held < 0.11 and 0.49 < statistics.mean(draws) < 0.51
    other = [retention.draw("salt-b", i) < 0.10 for i in range(20_000)]
    assert sum(a != (d < 0.10) for a, d in zip(other, draws)) > 2000  # another store draws other customers
    runs = sum((a < 0.10) != (b < 0.10) for a, b in zip(draws, draws[1:]))
    assert runs > 0.15 * len(draws)  # not blocks of consecutive ids


def test_customers_enter_the_cohort_once_with_their_draw(engine: Engine) -> None:
    with session_scope(engine) as s:
        ids = [f.customer(s, became=date(2025, 1, 1)).id for _ in range(60)]
    scores = pd.DataFrame({"customer_id": ids, "band": ["high", "medium", "low"] * 20, "risk": [0.5, 0.2, 0.01] * 20})
    assert write(engine, lambda s: retention.enrol(s, scores, as_of=date(2026, 3, 1), holdout_percent=50)) == 40
    assert write(engine, lambda s: retention.enrol(s, scores, as_of=date(2026, 6, 1), holdout_percent=50)) == 0
    with Session(engine) as s:
        rows = s.execute(select(m.RetentionCohort)).scalars().all()
        salt = s.scalar(select(m.AppMeta.value).where(m.AppMeta.key == "retention_salt"))
    assert {r.warned_on for r in rows} == {date(2026, 3, 1)}  # the first warning's day is kept
    assert all(r.held_out == (retention.draw(salt, r.customer_id) < 0.5) for r in rows)
    assert 0 < sum(r.held_out for r in rows) < 40


def _world(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as s:
        mine, theirs = f.user(s, "am_one"), f.user(s, "am_two")
        ids = {
            "open": f.customer(s, owner=mine, became=date(2025, 1, 1)).id,
            "held": f.customer(s, owner=mine, became=date(2025, 1, 1)).id,
            "other": f.customer(s, owner=theirs, became=date(2025, 1, 1)).id,
        }
        for name, held in (("open", False), ("held", True), ("other", False)):
            s.add(
                m.RetentionCohort(
                    customer_id=ids[name], warned_on=date(2026, 5, 1), band="high", risk=0.4, held_out=held
                )
            )
    return {**ids, "mine": mine.id, "theirs": theirs.id}


def test_actions_are_kept_one_per_reason_refused_for_the_holdout_and_scoped(engine: Engine) -> None:
    world = _world(engine)
    with Session(engine) as s:
        manager = _viewer(s.get(m.User, world["mine"]))
    call = retention.ActionForm("call", "orders", date(2026, 6, 8), "ask about the new budget")
    action = write(engine, lambda s: retention.create_action(s, manager, world["open"], call, now=NOW))
    with pytest.raises(Conflict):  # the same call for the same reason is already open
        write(engine, lambda s: retention.create_action(s, manager, world["open"], call, now=NOW))
    other_reason = retention.ActionForm("call", "sentiment", date(2026, 6, 8))
    write(engine, lambda s: retention.create_action(s, manager, world["open"], other_reason, now=NOW))
    with pytest.raises(ValidationError) as held:
        write(engine, lambda s: retention.create_action(s, manager, world["held"], call, now=NOW))
    assert held.value.key == "retention.error.held_out"
    with pytest.raises(NotFound):  # another manager's customer is not in this one's scope
        write(engine, lambda s: retention.create_action(s, manager, world["other"], call, now=NOW))
    executive = Viewer(None, "exec", "Exec", "executive")
    with pytest.raises(PermissionDenied):
        write(engine, lambda s: retention.create_action(s, executive, world["open"], call, now=NOW))
    with pytest.raises(FieldErrors) as bad:
        late = retention.ActionForm("fax", "orders", date(2026, 12, 1))
        write(engine, lambda s: retention.create_action(s, manager, world["open"], late, now=NOW))
    assert set(bad.value.errors) == {"kind", "due_date"}

    with Session(engine) as s:
        task = (
            s.execute(select(m.Task).where(m.Task.customer_id == world["open"]).order_by(m.Task.id)).scalars().first()
        )
    assert task.source == "retention" and task.owner_id == world["mine"] and task.due_date == date(2026, 6, 8)
    with pytest.raises(FieldErrors):  # done needs its outcome
        write(engine, lambda s: retention.update_action(s, manager, action, steps_done=3, status="done", outcome=None))
    later = NOW + timedelta(days=3)
    write(
        engine,
        lambda s: retention.update_action(s, manager, action, steps_done=3, status="done", outcome="stays", now=later),
    )
    with pytest.raises(Conflict):
        write(
            engine,
            lambda s: retention.update_action(s, manager, action, steps_done=3, status="cancelled", outcome=None),
        )
    with Session(engine) as s:
        task = s.get(m.Task, task.id)
        row = s.get(m.RetentionAction, action)
        listed = retention.actions(s, Filters(), viewer=manager)
        audit = s.execute(select(m.AuditLog.action).where(m.AuditLog.action.like("retention%"))).scalars().all()
    assert task.done_at == later and row.outcome == "stays" and row.closed_at == later
    assert len(listed) == 2 and set(listed["customer_id"]) == {world["open"]}
    assert sorted(audit) == ["retention_action", "retention_action", "retention_update"]

    # a selection: the held-out customer and the open duplicate are skipped and counted
    batch = write(
        engine,
        lambda s: retention.create_for_selection(
            s, SYSTEM, [world["open"], world["held"], world["other"]], other_reason, now=NOW
        ),
    )
    assert batch == retention.Batch(created=1, held_out=1, already_open=1)


def test_the_effect_compares_the_groups_with_intervals(engine: Engine) -> None:
    warned = date(2026, 1, 1)
    with session_scope(engine) as s:
        groups = {"treated": (10, 2), "untreated": (10, 4), "held_out": (10, 6)}  # customers, churned
        for group, (n, churned) in groups.items():
            for k in range(n):
                gone = date(2026, 3, 1) if k < churned else None
                who = f.customer(s, became=date(2025, 1, 1), churned=gone)
                f.order(s, who, date(2025, 12, 1), 1000)  # before the warning: not counted
                f.order(s, who, date(2026, 2, 1), 100)
                s.add(
                    m.RetentionCohort(
                        customer_id=who.id, warned_on=warned, band="high", risk=0.3, held_out=group == "held_out"
                    )
                )
                s.flush()
                if group == "treated":
                    s.add(
                        m.RetentionAction(
                            customer_id=who.id,
                            kind="call",
                            reason="orders",
                            due_date=warned,
                            status="done",
                            outcome="stays",
                            steps_done=3,
                            created_at=NOW,
                        )
                    )
    with Session(engine) as s:
        found = retention.effect(s, Filters(), viewer=SYSTEM)
    assert (found.treated.customers, found.treated.churned) == (10, 2)
    assert (found.untreated.customers, found.untreated.churned) == (10, 4)
    assert (found.held_out.customers, found.held_out.churned) == (10, 6)
    assert found.treated.revenue_per_customer == pytest.approx(100)
    low, high = found.held_out.interval
    assert low == pytest.approx(0.3127, abs=1e-3) and high == pytest.approx(0.8318, abs=1e-3)  # Wilson, 6 of 10
    difference, below, above = found.difference()
    assert difference == pytest.approx(0.6 - 0.3) and below < difference < above
    assert retention.wilson(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-3))
