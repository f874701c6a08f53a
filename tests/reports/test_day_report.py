"""The day so far: where a day begins, service level hour by hour, and the chart drawn from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contactcenter.reports.day_report import day_start, hourly, hours_in_day
from contactcenter.reports.sl_chart import render
from contactcenter.reports.stats import Row
from routing.policy import load_policy

START = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


def test_a_day_begins_at_midnight_where_the_contact_center_is() -> None:
    now = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)
    assert day_start(now, "America/New_York").isoformat() == "2026-12-01T00:00:00-05:00"
    assert day_start(now, "Asia/Shanghai").isoformat() == "2026-12-02T00:00:00+08:00"
    spring = day_start(datetime(2026, 3, 29, 12, tzinfo=UTC), "Europe/Berlin")
    assert (hours_in_day(START), hours_in_day(spring)) == (24, 23)


def test_hourly_service_level_per_tier_leaves_out_work_not_yet_decided() -> None:
    # Transactional chat: 80% within 120 s in the default policy.
    rows = [
        Row(
            "transactional",
            "chat",
            "closed",
            at(9.1),
            at(9.1) + timedelta(seconds=30),
            None,
            at(9.3),
        ),
        Row("transactional", "chat", "abandoned", at(9.5), None, None, at(9.6)),
        Row(
            "transactional",
            "chat",
            "closed",
            at(10.2),
            at(10.2) + timedelta(seconds=60),
            None,
            at(10.4),
        ),
        Row("transactional", "chat", "queued", at(10.99), None, None, None),  # 36 s in: pending
        Row("key_account", "email", "closed", at(10.5), at(10.5), at(10.6), at(10.7)),
    ]
    now = at(11)
    series = hourly(rows, load_policy(), START, now)
    hours = [(p.hour, p.offered, p.within) for p in series["transactional"]]
    assert hours == [(9, 2, 1), (10, 1, 1)]
    assert [p.service_level for p in series["transactional"]] == [0.5, 1.0]
    assert [(p.hour, p.service_level) for p in series["key_account"]] == [(10, 1.0)]
    svg = render(series, 24, {"transactional": 0.8}, "2026-12-02")
    assert svg.startswith("<svg") and "<polyline" in svg  # two hours of transactional: a line
    assert "Transactional 09:00 — 50% of 2" in svg
    assert "Key account: 100% of 1 today; Transactional: 67% of 3 today" in svg
    assert 'stroke-dasharray="4 4"' in svg  # the target


def test_a_day_without_work_says_so() -> None:
    svg = render({}, 24, {}, "2026-12-02")
    assert "No work with a service-level target yet today." in svg and "<polyline" not in svg
