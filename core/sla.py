"""SLA targets: the one policy place for response and resolution targets (shown in the UI help).

The seeds ask for complaints to get a first response within 2 hours and a resolution within 48 hours;
priorities tighten that. Clocks run around the clock for now; business-hours calendars, pauses and
editable policies arrive with the service-desk work and will replace this table.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# priority -> (first-response hours, resolution hours)
PRIORITY_TARGETS: dict[str, tuple[float, float]] = {
    "urgent": (1, 8),
    "high": (2, 24),
    "normal": (4, 48),
    "low": (8, 72),
}
COMPLAINT_TARGET: tuple[float, float] = (2, 48)
AT_RISK_SHARE = 0.8  # a running target is "at risk" once this share of its time is used


def targets_hours(kind: str, priority: str) -> tuple[float, float]:
    """Targets for a ticket: the priority's, tightened to the complaint targets for complaints."""
    first, resolution = PRIORITY_TARGETS[priority]
    if kind == "complaint":
        first, resolution = min(first, COMPLAINT_TARGET[0]), min(resolution, COMPLAINT_TARGET[1])
    return first, resolution


def due_times(kind: str, priority: str, created_at: datetime) -> tuple[datetime, datetime]:
    """(first-response due, resolution due) for a ticket created at `created_at`."""
    first, resolution = targets_hours(kind, priority)
    return created_at + timedelta(hours=first), created_at + timedelta(hours=resolution)
