"""When a schedule fires: cron times, in a time zone, inside the allowed days and hours.

Cron runs on the wall clock of the schedule's time zone, as cron does. Across a
daylight-saving change: a wall time that does not exist (the hour skipped in spring)
fires at the end of the gap, the first instant after it; a wall time that happens
twice (the hour repeated in autumn) fires once, at its first occurrence. The allowed
days and hours are checked on the slot's local date and time; a window whose end is
before its start ("22:00-06:00") runs across midnight.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

__all__ = ["Window", "check_cron", "latest_fire", "next_fire", "to_instant"]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAMES = {*DAY_NAMES, "jan", "feb", "mar", "apr", "may", "jun"}
_NAMES |= {"jul", "aug", "sep", "oct", "nov", "dec"}
_TOKEN = re.compile(r"[,/\-]")
HORIZON = timedelta(days=5 * 366)  # 29 February fires once in four years
MAX_CANDIDATES = 200_000


def check_cron(text: str) -> None:
    """Raise ValueError unless `text` is a plain 5-field cron expression."""
    fields = text.split()
    if len(fields) != 5:
        raise ValueError(f"{text!r}: a cron expression has 5 fields, not {len(fields)}")
    for field in fields:
        for part in _TOKEN.split(field):
            if part != "*" and not part.isdigit() and part.lower() not in _NAMES:
                raise ValueError(f"{text!r}: {part!r} is not plain cron (no L, W, #, ?)")
    if not croniter.is_valid(text):
        raise ValueError(f"{text!r}: not a valid cron expression")


@dataclass(frozen=True)
class Window:
    """The allowed local days (mon..sun) and minutes of the day [start, end)."""

    zone: ZoneInfo
    days: frozenset[str] = frozenset(DAY_NAMES)
    start: int = 0
    end: int = 24 * 60

    def allows(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            in_hours = self.start <= minute < self.end
        else:  # across midnight
            in_hours = minute >= self.start or minute < self.end
        return DAY_NAMES[local.weekday()] in self.days and in_hours

    def describe(self) -> str:
        days = ",".join(d for d in DAY_NAMES if d in self.days)
        hours = (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )
        return f"{days} {hours} {self.zone.key}"


def to_instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant (in UTC) a naive local wall time names: its first occurrence when it
    happens twice; the end of the gap when it does not exist.

    Instants are kept in UTC: Python compares two datetimes of one zone by wall time,
    ignoring `fold`, which is wrong in exactly the repeated hour."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    lo = int(wall.replace(tzinfo=zone, fold=1).timestamp())  # before the gap
    hi = int(first.timestamp())  # after it
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) > wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def next_fire(cron: str, window: Window, after: datetime) -> datetime:
    """The first cron time strictly after `after` inside the window (in UTC)."""
    zone, after = window.zone, after.astimezone(UTC)
    wall = after.astimezone(zone).replace(tzinfo=None)
    it = croniter(cron, wall)
    for _ in range(MAX_CANDIDATES):
        candidate = to_instant(it.get_next(datetime), zone)
        if candidate - after > HORIZON:
            break
        if candidate > after and window.allows(candidate):
            return candidate
    raise ValueError(f"{cron!r} has no time inside the allowed window ({window.describe()})")


def latest_fire(cron: str, zone: ZoneInfo, at: datetime) -> datetime:
    """The last cron time at or before `at` (in UTC)."""
    at = at.astimezone(UTC)
    wall = at.astimezone(zone).replace(tzinfo=None) + timedelta(seconds=1)
    it = croniter(cron, wall)
    for _ in range(4):  # a time in the repeated hour can map after `at`: step back
        candidate = to_instant(it.get_prev(datetime), zone)
        if candidate <= at:
            return candidate
    return candidate
