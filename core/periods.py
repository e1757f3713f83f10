"""Periods and dimension filters: the two arguments every cockpit figure takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from core.errors import ValidationError

GRAINS = ("M", "Q", "Y")


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """A half-open date range [start, end); grain M/Q/Y for calendar periods, 'custom' otherwise."""

    start: date
    end: date
    grain: str = "custom"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValidationError("The period must end after it starts.", key="error.period")
        if self.grain not in (*GRAINS, "custom"):
            raise ValidationError(f"Unknown period grain {self.grain!r}.", key="error.period")

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Period:
        """The period just before: the previous month/quarter/year for calendar periods; for a custom range of
        whole months (Oct 1-31) the same number of months before (September), else the same number of days."""
        if self.grain == "custom":
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            if self.start.day == 1 and self.end.day == 1 and months > 0:
                return Period(_add_months(self.start, -months), self.start, "custom")
            return Period(self.start - timedelta(days=self.days), self.start, "custom")
        return Period(_add_months(self.start, -_MONTHS[self.grain]), self.start, self.grain)

    def label(self) -> str:
        if self.grain == "M":
            return f"{self.start:%Y-%m}"
        if self.grain == "Q":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.grain == "Y":
            return f"{self.start.year}"
        return f"{self.start:%Y-%m-%d} – {self.last_day:%Y-%m-%d}"


_MONTHS = {"M": 1, "Q": 3, "Y": 12}


def period_containing(d: date, grain: str) -> Period:
    """The calendar period of `grain` that contains day `d`."""
    if grain == "M":
        start = date(d.year, d.month, 1)
    elif grain == "Q":
        start = date(d.year, (d.month - 1) // 3 * 3 + 1, 1)
    elif grain == "Y":
        start = date(d.year, 1, 1)
    else:
        raise ValidationError(f"Unknown period grain {grain!r}.", key="error.period")
    return Period(start, _add_months(start, _MONTHS[grain]), grain)


def periods_between(first: date, last: date, grain: str) -> list[Period]:
    """Every calendar period of `grain` from the one containing `first` to the one containing `last`."""
    periods = [period_containing(first, grain)]
    while periods[-1].end <= last:
        periods.append(period_containing(periods[-1].end, grain))
    return periods


def custom_period(start: date, last_day: date) -> Period:
    """A custom period from `start` to `last_day`, both inclusive (as a user picks them)."""
    if last_day < start:
        raise ValidationError("The period's last day is before its first day.", key="error.period")
    return Period(start, last_day + timedelta(days=1), "custom")


@dataclass(frozen=True)
class Filters:
    """Customer dimensions to keep; an empty tuple means 'all'."""

    regions: tuple[str, ...] = ()
    industries: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    owner_ids: tuple[int, ...] = ()
    with_tickets_only: bool = False  # set by the support-agent scope: customers behind a ticket

    def is_empty(self) -> bool:
        return not (self.regions or self.industries or self.kinds or self.owner_ids or self.with_tickets_only)
