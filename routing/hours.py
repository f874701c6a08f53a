"""Opening hours of groups, from the policy's optional `hours` section:

    hours:
      timezone: America/New_York        # for every group below
      general: {mon-fri: "08:00-18:00", sat: "09:00-13:00"}
      senior: {mon-fri: "08:00-12:00, 13:00-20:00"}

A group without hours is always open. Pure: the time to judge is passed in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.nodes import Node

from routing.yaml_reader import YamlReader

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True, slots=True)
class OpeningHours:
    zone: ZoneInfo
    days: dict[int, tuple[tuple[int, int], ...]]  # weekday (Monday 0) -> [start, end) minutes

    def open_at(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.days.get(local.weekday(), ()))


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
        hours[group] = OpeningHours(zone, days)
    return hours


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
