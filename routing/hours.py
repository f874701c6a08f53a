"""Opening hours of groups, from the policy's optional `hours` section:

    hours:
      timezone: America/New_York        # for every group below
      holidays: [2026-12-25, 2027-01-01]  # closed all day, every group
      holidays_ical: holidays.ics       # more closed days or hours, beside the policy file
      general: {mon-fri: "08:00-18:00", sat: "09:00-13:00"}
      senior: {mon-fri: "08:00-12:00, 13:00-20:00"}

A group without hours is always open. The same hours are the group's business hours: the
clock of a first response pauses outside them (`add`, `business_seconds`). Pure: the time to
judge is passed in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import Node

from routing.yaml_reader import YamlReader

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_A_DAY = 24 * 60
_SEARCH_DAYS = 800  # hours that show no open time within two years never open
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class OpeningHours:
    """A group's business hours: weekly hours in a time zone (ranges of local time per
    weekday) less closed periods (holidays: whole local days, or any interval). Local times are
    turned into instants day by day through the zone, so a day that loses or gains an hour to
    daylight saving has that many business hours. `always_open`: 24/7, never pauses."""

    zone: ZoneInfo
    days: dict[int, tuple[tuple[int, int], ...]]  # weekday (Monday 0) -> [start, end) minutes
    closed: tuple[tuple[datetime, datetime], ...] = ()  # holidays and closures, aware
    always_open: bool = False

    @classmethod
    def around_the_clock(cls) -> OpeningHours:
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
            for low, high in self.days.get(day.weekday(), ()):
                opened = max(_instant(day, low, self.zone), start)
                closed = min(_instant(day, high, self.zone), end)
                yield from self._less_closed(opened, closed)
            day += timedelta(days=1)

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """The business time between two moments (0 when `end` is not after `start`)."""
        return sum((b - a).total_seconds() for a, b in self.intervals(start, end))

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment `seconds` of business time after `start`: a target on a clock that
        pauses outside these hours. Raises ValueError for hours that never open."""
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
        raise ValueError("these hours never open")

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
    """Local `minute` of `day` in `zone` as an instant (24:00 is the next day's midnight)."""
    if minute >= MINUTES_A_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_A_DAY
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


def holidays(days: list[date], zone: ZoneInfo) -> tuple[tuple[datetime, datetime], ...]:
    """Whole local days closed, as instants."""
    return tuple(
        sorted((_instant(day, 0, zone), _instant(day, MINUTES_A_DAY, zone)) for day in days)
    )


def read_hours(reader: YamlReader, node: Node, groups: set[str]) -> dict[str, OpeningHours]:  # type: ignore[type-arg]
    fields = reader.mapping(node, "hours", set())
    zone = ZoneInfo("UTC")
    if "timezone" in fields:
        name = reader.scalar(fields.pop("timezone"), "hours.timezone")
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown time zone {name!r}; e.g. Europe/Berlin"
            raise reader.fail(node, "hours.timezone", message) from None
    closed: list[tuple[datetime, datetime]] = []
    if "holidays" in fields:
        value = fields.pop("holidays")
        days = [
            _day(reader, n, f"hours.holidays[{i}]")
            for i, n in enumerate(reader.sequence(value, "hours.holidays"))
        ]
        closed += holidays(days, zone)
    if "holidays_ical" in fields:
        value = fields.pop("holidays_ical")
        closed += read_ical(reader, value, zone)
    hours = {}
    for group, value in fields.items():
        path = f"hours.{group}"
        if group not in groups:
            raise reader.fail(
                value, path, f"unknown group {group!r}; groups: " + ", ".join(sorted(groups))
            )
        days: dict[int, tuple[tuple[int, int], ...]] = {}
        for spec, ranges in reader.mapping(value, path, set()).items():
            for day in _days(reader, value, f"{path}.{spec}", spec):
                days[day] = days.get(day, ()) + _ranges(reader, ranges, f"{path}.{spec}")
        hours[group] = OpeningHours(zone, days, tuple(sorted(closed)))
    return hours


def _day(reader: YamlReader, node: Node, path: str) -> date:  # type: ignore[type-arg]
    text = reader.scalar(node, path)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise reader.fail(
            node, path, f"a date is YYYY-MM-DD, as in 2026-12-25; not {text!r}"
        ) from None


def read_ical(reader: YamlReader, node: Node, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:  # type: ignore[type-arg]
    """Closed periods from an iCalendar file (its path relative to the policy file): each VEVENT
    is closed from DTSTART to DTEND, a date meaning the whole local day. Recurring events are
    refused (list each year's dates, as public-holiday feeds do)."""
    import icalendar  # only policies that import holidays pay for it

    path = "hours.holidays_ical"
    name = reader.scalar(node, path)
    file = Path(reader.source).parent / name
    try:
        calendar = icalendar.Calendar.from_ical(file.read_bytes())
    except OSError as exc:
        raise reader.fail(node, path, f"{file} cannot be read: {exc.strerror}") from None
    except ValueError as exc:
        raise reader.fail(node, path, f"{file} is not an iCalendar file: {exc}") from None
    found: list[tuple[datetime, datetime]] = []
    for event in calendar.walk("VEVENT"):
        summary = str(event.get("SUMMARY", "an event"))
        if event.get("RRULE") is not None:
            message = f"{summary!r} repeats (RRULE): list each date instead"
            raise reader.fail(node, path, message)
        start = event.decoded("DTSTART", None)
        end = event.decoded("DTEND", None)
        if start is None:
            raise reader.fail(node, path, f"{summary!r} has no DTSTART")
        found.append(_closed(start, end, zone))
    return found


def _closed(
    start: date | datetime, end: date | datetime | None, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    if isinstance(start, datetime):
        first = start if start.tzinfo else start.replace(tzinfo=zone)
        last = end if isinstance(end, datetime) else first + timedelta(hours=1)
        return first.astimezone(UTC), (
            last if last.tzinfo else last.replace(tzinfo=zone)
        ).astimezone(UTC)
    days = (end - start).days if isinstance(end, date) and not isinstance(end, datetime) else 1
    return _instant(start, 0, zone), _instant(start + timedelta(days=max(days, 1)), 0, zone)


def _days(reader: YamlReader, node: Node, path: str, spec: str) -> list[int]:  # type: ignore[type-arg]
    """`mon-fri`, `sat`, `mon,wed,fri`."""
    days: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise reader.fail(node, path, f"days are mon..sun, as in mon-fri or sat; not {spec!r}")
        start, end = DAYS.index(first), DAYS.index(last or first)
        days += list(range(start, end + 1)) if start <= end else [*range(start, 7), *range(end + 1)]
    return days


def _ranges(reader: YamlReader, node: Node, path: str) -> tuple[tuple[int, int], ...]:  # type: ignore[type-arg]
    """`08:00-18:00`, or several: `08:00-12:00, 13:00-17:00`."""
    text = reader.scalar(node, path)
    ranges = []
    for part in text.split(","):
        match = _RANGE.match(part)
        if match is None:
            raise reader.fail(node, path, f"hours are HH:MM-HH:MM, as in 08:00-18:00; not {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if not (0 <= start < end <= 24 * 60) or m1 > 59 or m2 > 59:
            raise reader.fail(node, path, f"{part.strip()} is not a range within one day")
        ranges.append((start, end))
    return tuple(ranges)
