"""Business-hours arithmetic: when a clock that runs only in business hours reaches a target,
and how much business time lies between two moments. Pure: calendars come from the policy, the
times are passed in.

A calendar is weekly hours in a time zone (ranges of local time per weekday) less closed
periods (holidays: whole local days, or any interval). Local times are turned into instants
day by day through the zone, so a day that loses or gains an hour to daylight saving has that
many business hours. A 24/7 calendar never pauses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_A_DAY = 24 * 60
_SEARCH_DAYS = (
    800  # a clock that finds no open time within two years has a calendar that never opens
)


@dataclass(frozen=True, slots=True)
class Calendar:
    zone: ZoneInfo
    weekly: dict[int, tuple[tuple[int, int], ...]]  # weekday (Monday 0) → [start, end) minutes
    closed: tuple[tuple[datetime, datetime], ...] = ()  # holidays and closures, aware
    always_open: bool = False

    @classmethod
    def around_the_clock(cls) -> Calendar:
        return cls(ZoneInfo("UTC"), {}, (), always_open=True)

    def open_at(self, at: datetime) -> bool:
        return any(start <= at < end for start, end in self.intervals(at, at + timedelta(0, 1)))

    def intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open periods within [start, end), in order, as aware UTC instants."""
        if end <= start:
            return
        if self.always_open:
            yield start.astimezone(UTC), end.astimezone(UTC)
            return
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date()
        while day <= last:
            for low, high in self.weekly.get(day.weekday(), ()):
                opened = max(_instant(day, low, self.zone), start)
                closed = min(_instant(day, high, self.zone), end)
                yield from self._less_closed(opened, closed)
            day += timedelta(days=1)

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """The business time between two moments (0 when `end` is not after `start`)."""
        return sum((b - a).total_seconds() for a, b in self.intervals(start, end))

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of business time after `start`: a target on a clock that
        pauses outside the calendar. Raises ValueError for a calendar that never opens."""
        if self.always_open:
            return start + timedelta(seconds=seconds)
        left = seconds
        window_start = start
        for _ in range(_SEARCH_DAYS // 7 + 1):
            window_end = window_start + timedelta(days=7)
            for low, high in self.intervals(window_start, window_end):
                length = (high - low).total_seconds()
                if left <= length:
                    return low + timedelta(seconds=left)
                left -= length
            window_start = window_end
        raise ValueError("the calendar never opens")

    def _less_closed(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        if end <= start:
            return
        pieces = [(start, end)]
        for closed_start, closed_end in self.closed:
            if closed_end <= start or closed_start >= end:
                continue
            pieces = [
                part
                for a, b in pieces
                for part in ((a, min(b, closed_start)), (max(a, closed_end), b))
                if part[0] < part[1]
            ]
        for a, b in pieces:
            yield a.astimezone(UTC), b.astimezone(UTC)


def _instant(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """Local `minute` of `day` in `zone` as an instant (24:00 is the next day's midnight); a
    wall time skipped by daylight saving is read as the zone's fold rules say."""
    if minute >= MINUTES_A_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_A_DAY
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


def holidays(days: list[date], zone: ZoneInfo) -> tuple[tuple[datetime, datetime], ...]:
    """Whole local days closed, as instants."""
    return tuple(
        sorted((_instant(day, 0, zone), _instant(day, MINUTES_A_DAY, zone)) for day in days)
    )
