"""Budget windows: ``[start, end)`` between two firings of ``reset_schedule`` (cron) in ``timezone``.

Cron is evaluated on the wall clock of the time zone, then mapped to UTC:
- a wall-clock time that happens twice (the hour when DST ends) fires once, at its first occurrence;
- a wall-clock time that does not exist (the hour skipped when DST starts) fires at the first instant
  after the gap (the moment the clocks jump), as Vixie cron does.
So a daily ``0 0 * * *`` window in Australia/Sydney is 23 or 25 hours long on DST change days.
Everything is deterministic given ``now``; results are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from b00t_pulumi.budget._errors import budget_error

_MARGIN = timedelta(hours=3)  # more than any DST shift: wall-clock fires near `now` are all examined
_MAX_STEPS = 100_000
# The last window computed per (schedule, zone): most calls fall in it, and croniter costs ~1 ms.
_LAST: dict[tuple[str, str], Window] = {}


@dataclass(frozen=True)
class Window:
    """One budget window: spend is counted per window and resets at ``end``."""

    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """The window's ledger key: its start in UTC, ``2026-11-22T13:00:00Z``."""
        return iso_utc(self.start)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    def contains(self, when: datetime) -> bool:
        return self.start <= when < self.end

    def to_dict(self) -> dict[str, str]:
        return {"start": iso_utc(self.start), "end": iso_utc(self.end)}


def iso_utc(when: datetime) -> str:
    """``2026-11-22T13:00:00Z`` (microseconds kept only when present)."""
    return as_utc(when).isoformat().replace("+00:00", "Z")


def as_utc(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise budget_error(f"expected a timezone-aware time, got {when.isoformat()} without a zone")
    return when.astimezone(UTC)


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a zone (``Z`` or ``+10:00``) -> UTC datetime."""
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise budget_error(f"expected an ISO 8601 time such as 2026-11-22T13:00:00Z, got {text!r}") from None
    if when.tzinfo is None:
        raise budget_error(f"time {text!r} has no zone: add Z or an offset such as +10:00")
    return when.astimezone(UTC)


def _zone(timezone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise budget_error(
            f"unknown time zone {timezone!r}: use an IANA name such as UTC or Australia/Sydney"
        ) from None


def _to_instant(wall: datetime, tz: zoneinfo.ZoneInfo) -> datetime:
    """The UTC instant of a naive wall-clock time: first occurrence if repeated, end of gap if skipped."""
    first = wall.replace(tzinfo=tz, fold=0)
    utc = first.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == wall:
        return utc
    # Inside a DST gap: fold=0 maps with the offset before the jump (too late), fold=1 with the offset
    # after (too early). The jump itself lies between them; find it to the second.
    lo = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = utc
    if lo > hi:
        lo, hi = hi, lo
    before = lo.astimezone(tz).utcoffset()
    while (hi - lo) > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0) if hi.microsecond else hi


def _walk(expr: str, tz: zoneinfo.ZoneInfo, wall: datetime, backwards: bool) -> Iterator[datetime]:
    try:
        it = croniter(expr, wall)
        for _ in range(_MAX_STEPS):
            step: datetime = it.get_prev(datetime) if backwards else it.get_next(datetime)
            yield _to_instant(step, tz)
    except (ValueError, KeyError, TypeError) as exc:  # croniter's bad-expression / never-fires errors
        raise budget_error(f"reset_schedule {expr!r}: {exc}") from None
    raise budget_error(f"reset_schedule {expr!r} does not fire near the requested time")


def current_window(reset_schedule: str, timezone: str, now: datetime) -> Window:
    """The window containing ``now``: the last firing at or before ``now`` to the first one after it."""
    key = (reset_schedule, timezone)
    last = _LAST.get(key)
    if last is not None and now.tzinfo is not None and last.contains(now):
        return last
    if not croniter.is_valid(reset_schedule):
        raise budget_error(f'reset_schedule: expected a cron expression such as "0 0 * * *", got {reset_schedule!r}')
    tz = _zone(timezone)
    now = as_utc(now)
    wall = now.astimezone(tz).replace(tzinfo=None)
    start: datetime | None = None
    for instant in _walk(reset_schedule, tz, wall + _MARGIN, backwards=True):
        if instant <= now:
            start = instant
            break
    assert start is not None
    start_wall = start.astimezone(tz).replace(tzinfo=None) - timedelta(seconds=1)
    for instant in _walk(reset_schedule, tz, start_wall, backwards=False):
        if instant > now:
            window = Window(start, instant)
            _LAST[key] = window
            return window
    raise AssertionError("unreachable")  # pragma: no cover


def next_window_start(reset_schedule: str, timezone: str, now: datetime) -> datetime:
    """When the window containing ``now`` ends and spend starts again from zero."""
    return current_window(reset_schedule, timezone, now).end
