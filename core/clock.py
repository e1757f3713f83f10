"""The one clock: what time it is where the users are, and the conversion between that and what is stored.

The store keeps every timestamp as an unambiguous UTC instant (naive, UTC by convention: SQLite and MariaDB
have no zone-aware type). Python code sees naive wall times in the display zone (`CRM_TIMEZONE`, by default
the server's own zone): `core.models.UtcDateTime` converts on the way in and out, so a ticket opened at 09:00
in Shanghai is stored as 01:00 and read back as 09:00, and the engine (core.business_hours) turns wall times
back into instants before any sum. A wall time repeated when the clocks go back keeps which of the two it is
in `datetime.fold`, as Python does.

The zone is read from the environment when an engine is made and whenever `now()` is asked, so a process that
changes `CRM_TIMEZONE` (a test) sees the change; the per-value conversions only read the cached state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

UTC = ZoneInfo("UTC")
_EPOCH = datetime(1970, 1, 1)
_HORIZON = datetime(2100, 1, 1)
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Zone:
    """A display zone with what the conversions need precomputed: its UTC offset changes (instants, UTC) and
    the offset after each, so both directions and the SQL that buckets by local month are exact."""

    name: str
    info: ZoneInfo
    changes: tuple[datetime, ...]  # UTC instants at which the offset changes, ascending, 1970-2100
    offsets: tuple[timedelta, ...]  # offsets[i]: in force before changes[i] (i < len(changes)) or after the last

    @property
    def is_utc(self) -> bool:
        """No offset, ever: stored values need no conversion."""
        return not self.changes and not self.offsets[0]

    def ranges(self) -> list[tuple[datetime | None, datetime | None, timedelta]]:
        """The UTC ranges [low, high) between the offset changes (None: open) and the offset in force in each."""
        bounds: list[datetime | None] = [None, *self.changes, None]
        return list(zip(bounds, bounds[1:], self.offsets))

    def to_utc(self, local: datetime) -> datetime:
        if self.is_utc:
            return local
        if not self.changes or local >= self.changes[-1] + _DAY:  # settled (Shanghai since 1991): one offset
            return local - self.offsets[-1]
        return local.replace(tzinfo=self.info).astimezone(UTC).replace(tzinfo=None)

    def to_local(self, utc: datetime) -> datetime:
        if not self.changes or utc >= self.changes[-1]:  # settled: one offset (none for UTC)
            return utc + self.offsets[-1]
        return utc.replace(tzinfo=UTC).astimezone(self.info).replace(tzinfo=None)  # fold kept


def _offset(info: ZoneInfo, utc: datetime) -> timedelta:
    return utc.replace(tzinfo=UTC).astimezone(info).utcoffset() or timedelta(0)


def _build(name: str) -> Zone:
    info = ZoneInfo(name)
    changes: list[datetime] = []
    offsets = [_offset(info, _EPOCH)]
    step, moment = timedelta(days=7), _EPOCH  # no zone changes its offset twice within a week
    while moment < _HORIZON:
        after = moment + step
        if _offset(info, after) != offsets[-1]:
            low, high = moment, after  # bisect to the second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if _offset(info, middle) == offsets[-1]:
                    low = middle
                else:
                    high = middle
            changes.append(high.replace(microsecond=0))
            offsets.append(_offset(info, after))
        moment = after
    return Zone(name, info, tuple(changes), tuple(offsets))


_built: dict[str, Zone] = {}  # zones by name, each built once
_current_key: tuple[str, str] | None = None
_zone: Zone | None = None  # the display zone as last read from the environment
_utc = True  # the display zone is UTC: stored values need no conversion at all (the per-value fast path)


def _key() -> tuple[str, str]:
    return os.environ.get("CRM_TIMEZONE", ""), os.environ.get("TZ", "")


def refresh() -> Zone:
    """The display zone, rebuilt when `CRM_TIMEZONE` or `TZ` changed since it was last read."""
    global _current_key, _zone, _utc
    key = _key()
    if _zone is None or key != _current_key:
        from core.business_hours import server_zone

        _current_key, _zone = key, named(key[0] or server_zone())
        _utc = _zone.is_utc
    return _zone


def named(name: str) -> Zone:
    """The zone of an IANA name with its offset changes (each built once, about 20 ms)."""
    if name not in _built:
        _built[name] = _build(name)
    return _built[name]


def _current() -> Zone:
    return _zone if _zone is not None else refresh()


def zone() -> Zone:
    return refresh()


def zone_name() -> str:
    return refresh().name


def now() -> datetime:
    """The wall time in the display zone, naive, to the microsecond (whatever zone the server's clock is in)."""
    where = refresh()
    return where.to_local(datetime.now(UTC).replace(tzinfo=None))


def today() -> date:
    return now().date()


def to_utc(value: datetime | date) -> datetime:
    """A display-zone wall time (a date: its midnight) as the UTC instant the store keeps."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is not None:  # an aware value says its own zone
        return value.astimezone(UTC).replace(tzinfo=None)
    return _current().to_utc(value)


def to_local(value: datetime) -> datetime:
    """A stored UTC instant as the display zone's wall time (called for every stored value read: kept lean)."""
    if _utc and _zone is not None:
        return value
    return _current().to_local(value)


def epoch(local: datetime) -> float:
    """A display-zone wall time as Unix seconds (a naive datetime's own .timestamp() reads the server's zone)."""
    return to_utc(local).replace(tzinfo=UTC).timestamp()


def from_epoch(seconds: float) -> datetime:
    """Unix seconds as the display zone's wall time (a cookie's expiry, a file's time)."""
    return to_local(datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None))
