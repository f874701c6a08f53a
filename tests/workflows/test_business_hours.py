"""Clocks that run in business hours only: across weekends, holidays and daylight saving."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workflows.business_hours import Calendar, holidays

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = {day: ((9 * 60, 17 * 60),) for day in range(5)}  # Monday to Friday, 09:00-17:00


def berlin(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def test_a_target_reached_over_a_weekend() -> None:
    calendar = Calendar(BERLIN, OFFICE)
    friday = berlin(4, 16)
    assert calendar.add(friday, 2 * 3600) == berlin(7, 10)  # one hour Friday, one Monday
    assert calendar.business_seconds(friday, berlin(7, 10)) == 2 * 3600
    assert not calendar.open_at(berlin(5, 12)) and calendar.open_at(berlin(7, 9))


def test_a_holiday_is_a_closed_day() -> None:
    closed = holidays([date(2026, 12, 7)], BERLIN)
    calendar = Calendar(BERLIN, OFFICE, closed)
    assert calendar.add(berlin(4, 16), 2 * 3600) == berlin(8, 10)
    assert calendar.business_seconds(berlin(4, 16), berlin(8, 10)) == 2 * 3600


def test_mail_that_arrives_at_night_starts_its_clock_in_the_morning() -> None:
    calendar = Calendar(BERLIN, OFFICE)
    assert calendar.add(berlin(8, 22), 30 * 60) == berlin(9, 9, 30)
    assert calendar.add(berlin(8, 7), 0) == berlin(8, 9)


def test_days_that_daylight_saving_shortens_or_lengthens() -> None:
    always = Calendar(NEW_YORK, {day: ((0, 24 * 60),) for day in range(7)})
    spring = datetime(2026, 3, 8, tzinfo=NEW_YORK)  # 02:00 never happens
    assert always.business_seconds(spring, spring + timedelta(days=1)) == 23 * 3600
    autumn = datetime(2026, 11, 1, tzinfo=NEW_YORK)  # 01:00-02:00 happens twice
    assert always.business_seconds(autumn, datetime(2026, 11, 2, tzinfo=NEW_YORK)) == 25 * 3600
    office = Calendar(NEW_YORK, OFFICE)
    friday = datetime(2026, 3, 6, 16, tzinfo=NEW_YORK)
    assert office.add(friday, 2 * 3600) == datetime(2026, 3, 9, 10, tzinfo=NEW_YORK)
    assert office.add(friday, 2 * 3600).astimezone(UTC).hour == 14  # EDT now, not EST


def test_around_the_clock_never_pauses_and_a_closed_calendar_is_refused() -> None:
    always = Calendar.around_the_clock()
    start = datetime(2026, 12, 5, 3, tzinfo=UTC)  # a Saturday night
    assert always.add(start, 7200) == start + timedelta(hours=2)
    assert always.business_seconds(start, start + timedelta(hours=5)) == 5 * 3600
    with pytest.raises(ValueError, match="never opens"):
        Calendar(BERLIN, {}).add(start, 60)
