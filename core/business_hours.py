"""Business-hours calendars: working days, several intervals a day, a time zone, holidays, and make-up working
days (调休: a weekend day worked in exchange for a longer holiday, with the normal hours or its own).

Timestamps reach the engine as naive wall times of the display zone (core.clock: the store keeps UTC and
converts them); a calendar reads them as instants in that zone, converts them to its own zone to decide what
is working time, and does every sum and step on UTC instants, so a day on which the clocks change
has 23 or 25 hours, as it did. All sums are in minutes.
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ValidationError

WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)  # Monday = 0
UTC = ZoneInfo("UTC")
LONGEST_HOLIDAY_DAYS = 366  # the engine looks three years ahead for working time: a longer range is refused
LONGEST_TARGET_MINUTES = 366 * 24 * 60  # an SLA target of more than a year is a typing mistake


def server_zone() -> str:
    """The server's own time-zone name (the `TZ` variable, /etc/timezone or /etc/localtime's link), or UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    with suppress(OSError):
        candidates.append(str(Path("/etc/localtime").resolve()).partition("zoneinfo/")[2])
    for name in candidates:
        if name:
            with suppress(ZoneInfoNotFoundError, ValueError):
                ZoneInfo(name)
                return name
    return "UTC"


def elapsed_minutes(start: datetime, end: datetime, zone: str) -> float:
    """Minutes between two stored timestamps read as instants in `zone` (a DST change counts as it happened)."""
    where = ZoneInfo(zone)
    return (
        end.replace(tzinfo=where).astimezone(UTC) - start.replace(tzinfo=where).astimezone(UTC)
    ).total_seconds() / 60


@dataclass(frozen=True)
class Calendar:
    """When the clock runs. `intervals` are (start, end) times of a working day, in order, not overlapping;
    `holidays` are inclusive (first, last) day ranges; `workdays` are make-up working days, each with its own
    intervals or, when empty, the normal ones: worked whatever the weekday. A calendar with `always` set runs
    around the clock."""

    timezone: str = "UTC"
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)
    intervals: tuple[tuple[time, time], ...] = ((time(9), time(18)),)
    holidays: tuple[tuple[date, date], ...] = ()
    always: bool = False
    workdays: tuple[tuple[date, tuple[tuple[time, time], ...]], ...] = ()
    store_timezone: str = field(default="UTC", compare=False)

    def __post_init__(self) -> None:
        validate(self)

    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _instant(self, moment: datetime) -> datetime:
        """A stored timestamp as a UTC instant (UTC aware datetimes compare and subtract exactly; two in one
        DST zone would compare and subtract as wall-clock times)."""
        return moment.replace(tzinfo=ZoneInfo(self.store_timezone)).astimezone(UTC)

    def _stored(self, instant: datetime) -> datetime:
        return instant.astimezone(ZoneInfo(self.store_timezone)).replace(tzinfo=None)

    def is_holiday(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.holidays)

    def _intervals_of(self, day: date) -> tuple[tuple[time, time], ...]:
        """The day's working intervals: a make-up day's own (or the normal ones), none on a weekend day or a
        holiday, the normal ones otherwise."""
        for workday, own in self.workdays:
            if workday == day:
                return own or self.intervals
        if day.weekday() not in self.working_days or self.is_holiday(day):
            return ()
        return self.intervals

    def _working_spans(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's working intervals as UTC instants (none on days off); an interval ending at 24:00 ends at
        the next midnight, so a 00:00-24:00 day lasts 23 or 25 hours when the clocks change that night."""
        return _spans(self, day)

    def working_minutes(self, start: datetime, end: datetime) -> float:
        """Working minutes between two stored timestamps (0 when end <= start)."""
        a, b = self._instant(start), self._instant(end)
        if b <= a:
            return 0.0
        if self.always:
            return (b - a).total_seconds() / 60
        zone = self._zone()
        total, day, last = 0.0, a.astimezone(zone).date(), b.astimezone(zone).date()
        while day <= last:
            for low, high in self._working_spans(day):
                overlap = (min(high, b) - max(low, a)).total_seconds()
                if overlap > 0:
                    total += overlap / 60
            day += timedelta(days=1)
        return total

    def add_working_minutes(self, start: datetime, minutes: float) -> datetime:
        """The stored timestamp at which `minutes` of working time after `start` have passed."""
        if self.always:
            return self._stored(self._instant(start) + timedelta(minutes=minutes))
        left, cursor = minutes, self._instant(start)
        day = cursor.astimezone(self._zone()).date()
        for _ in range(3 * 366):  # a calendar has working time every year (validated): this always ends
            for low, high in self._working_spans(day):
                if high <= cursor:
                    continue
                begin = max(low, cursor)
                span = (high - begin).total_seconds() / 60
                if left <= span:
                    return self._stored(begin + timedelta(minutes=left))
                left -= span
            day += timedelta(days=1)
        raise ValidationError("The calendar has no working time within three years.", key="error.no_working_time")


def parse_intervals(text: str) -> tuple[tuple[time, time], ...]:
    """'09:00-12:00, 13:30-18:00' -> ((09:00, 12:00), (13:30, 18:00)); a ValidationError says what is wrong."""
    intervals = []
    for part in (p.strip() for p in text.replace("，", ",").split(",") if p.strip()):
        try:
            low, high = (time.fromisoformat(x.strip()) for x in part.split("-"))
        except ValueError:
            raise ValidationError(
                f"{part!r} is not a time interval like 09:00-12:00.", key="error.interval", part=part
            ) from None
        intervals.append((low, high))
    return tuple(intervals)


def validate(calendar: Calendar) -> None:
    """Refuse a calendar without working time, with overlapping intervals or overlapping holidays."""
    try:
        ZoneInfo(calendar.timezone)
        ZoneInfo(calendar.store_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Unknown time zone {calendar.timezone!r}.", key="error.timezone", zone=calendar.timezone
        ) from None
    if calendar.always:
        return
    if not calendar.working_days or any(d not in WEEKDAYS for d in calendar.working_days):
        raise ValidationError(
            "A calendar needs at least one working day (Monday = 0 ... Sunday = 6).", key="error.no_day"
        )
    if not calendar.intervals:
        raise ValidationError("A calendar needs at least one working interval a day.", key="error.no_interval")
    _check_intervals(calendar.intervals)
    seen: set[date] = set()
    for day, own in calendar.workdays:
        _check_intervals(own)
        if day in seen:
            raise ValidationError(
                f"{day} is listed twice as a make-up working day.", key="error.workday_twice", day=day.isoformat()
            )
        seen.add(day)
        if calendar.is_holiday(day):
            raise ValidationError(
                f"{day} is both a holiday and a make-up working day.", key="error.workday_holiday", day=day.isoformat()
            )
    ordered = sorted(calendar.holidays)
    for first, last in ordered:
        if (last - first).days >= LONGEST_HOLIDAY_DAYS:
            raise ValidationError(
                f"The holiday {first} - {last} is longer than a year.",
                key="error.holiday_long",
                span=f"{first} – {last}",
            )
        if last < first:
            raise ValidationError(
                f"The holiday {first} - {last} ends before it starts.",
                key="error.holiday_order",
                span=f"{first} – {last}",
            )
    for (_, last), (first, _) in zip(ordered, ordered[1:]):
        if first <= last:
            raise ValidationError("Holidays overlap; merge them into one range.", key="error.holiday_overlap")


@lru_cache(maxsize=65_536)
def _spans(calendar: Calendar, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """`Calendar._working_spans`, computed once per calendar and day (a rebuild asks for the same days for
    every ticket; the zone arithmetic is most of an SLA evaluation's cost)."""
    zone = ZoneInfo(calendar.timezone)
    return tuple(
        (
            datetime.combine(day, start, zone).astimezone(UTC),
            (
                datetime.combine(day, end, zone)
                if end != time(0)
                else datetime.combine(day + timedelta(days=1), time(0), zone)
            ).astimezone(UTC),
        )
        for start, end in calendar._intervals_of(day)
    )


def _check_intervals(intervals: tuple[tuple[time, time], ...]) -> None:
    previous_end: time | None = None
    for start, end in intervals:
        if not (start < end or end == time(0)):
            raise ValidationError(
                f"The interval {start:%H:%M}-{end:%H:%M} ends before it starts.",
                key="error.interval_order",
                span=f"{start:%H:%M}-{end:%H:%M}",
            )
        if previous_end is not None and (start < previous_end or previous_end == time(0)):
            raise ValidationError(
                "Working intervals must be in order and must not overlap.", key="error.interval_overlap"
            )
        previous_end = end


HOLIDAY_WORDS = {"holiday", "off", "休", "假", "放假", "休息"}
WORKDAY_WORDS = {"workday", "work", "班", "上班", "补班", "调休上班"}


def parse_schedule(text: str) -> tuple[list[tuple[date, date, str | None]], list[tuple[date, str | None]]]:
    """An official holiday schedule typed as CSV, one day a line: `date,kind[,name]`, kind `holiday`/`休` or
    `workday`/`班` (a header line and blank lines are skipped). Consecutive holiday days of one name become one
    range. Returns (holidays, make-up days); a ValidationError names the first bad line."""
    days_off: list[tuple[date, str | None]] = []
    worked: list[tuple[date, str | None]] = []
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        cells = [c.strip() for c in raw.replace("，", ",").split(",")]
        if not any(cells) or (number == 1 and cells[0].lower() in ("date", "日期")):
            continue
        kind = cells[1].lower() if len(cells) > 1 else ""
        name = cells[2] if len(cells) > 2 and cells[2] else None
        try:
            day = date.fromisoformat(cells[0].replace("/", "-"))
        except ValueError:
            day = None
        if day is None or kind not in HOLIDAY_WORDS | WORKDAY_WORDS:
            raise ValidationError(
                f"Line {number} is not like 2026-10-01,holiday,National Day or 2026-09-20,workday.",
                key="error.schedule_line",
                line=number,
            )
        (days_off if kind in HOLIDAY_WORDS else worked).append((day, name))
    ranges: list[tuple[date, date, str | None]] = []
    for day, name in sorted(days_off, key=lambda item: item[0]):
        if ranges and ranges[-1][1] + timedelta(days=1) == day and ranges[-1][2] == name:
            ranges[-1] = (ranges[-1][0], day, name)
        else:
            ranges.append((day, day, name))
    return ranges, sorted(worked, key=lambda item: item[0])


AROUND_THE_CLOCK = Calendar(always=True)
