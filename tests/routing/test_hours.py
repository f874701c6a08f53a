"""Business hours: clocks that run in them only, across weekends, holidays and daylight saving."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from routing.hours import OpeningHours, holidays

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
OFFICE = {day: ((9 * 60, 17 * 60),) for day in range(5)}  # Monday to Friday, 09:00-17:00


def berlin(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=BERLIN)


def test_a_target_reached_over_a_weekend() -> None:
    calendar = OpeningHours(BERLIN, OFFICE)
    friday = berlin(4, 16)
    assert calendar.add(friday, 2 * 3600) == berlin(7, 10)  # one hour Friday, one Monday
    assert calendar.business_seconds(friday, berlin(7, 10)) == 2 * 3600
    assert not calendar.open_at(berlin(5, 12)) and calendar.open_at(berlin(7, 9))


def test_a_holiday_is_a_closed_day() -> None:
    closed = holidays([date(2026, 12, 7)], BERLIN)
    calendar = OpeningHours(BERLIN, OFFICE, closed)
    assert calendar.add(berlin(4, 16), 2 * 3600) == berlin(8, 10)
    assert calendar.business_seconds(berlin(4, 16), berlin(8, 10)) == 2 * 3600


def test_mail_that_arrives_at_night_starts_its_clock_in_the_morning() -> None:
    calendar = OpeningHours(BERLIN, OFFICE)
    assert calendar.add(berlin(8, 22), 30 * 60) == berlin(9, 9, 30)
    assert calendar.add(berlin(8, 7), 0) == berlin(8, 9)


def test_days_that_daylight_saving_shortens_or_lengthens() -> None:
    always = OpeningHours(NEW_YORK, {day: ((0, 24 * 60),) for day in range(7)})
    spring = datetime(2026, 3, 8, tzinfo=NEW_YORK)  # 02:00 never happens
    assert always.business_seconds(spring, spring + timedelta(days=1)) == 23 * 3600
    autumn = datetime(2026, 11, 1, tzinfo=NEW_YORK)  # 01:00-02:00 happens twice
    assert always.business_seconds(autumn, datetime(2026, 11, 2, tzinfo=NEW_YORK)) == 25 * 3600
    office = OpeningHours(NEW_YORK, OFFICE)
    friday = datetime(2026, 3, 6, 16, tzinfo=NEW_YORK)
    assert office.add(friday, 2 * 3600) == datetime(2026, 3, 9, 10, tzinfo=NEW_YORK)
    assert office.add(friday, 2 * 3600).astimezone(UTC).hour == 14  # EDT now, not EST


def test_around_the_clock_never_pauses_and_a_closed_calendar_is_refused() -> None:
    always = OpeningHours.around_the_clock()
    start = datetime(2026, 12, 5, 3, tzinfo=UTC)  # a Saturday night
    assert always.add(start, 7200) == start + timedelta(hours=2)
    assert always.business_seconds(start, start + timedelta(hours=5)) == 5 * 3600
    with pytest.raises(ValueError, match="never open"):
        OpeningHours(BERLIN, {}).add(start, 60)


ICAL = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//contactcenter tests//EN
BEGIN:VEVENT
UID:eve@example.com
SUMMARY:Christmas Eve
DTSTART;VALUE=DATE:20261224
DTEND;VALUE=DATE:20261225
END:VEVENT
BEGIN:VEVENT
UID:party@example.com
SUMMARY:Staff party
DTSTART;TZID=Europe/Berlin:20261218T150000
DTEND;TZID=Europe/Berlin:20261218T170000
END:VEVENT
END:VCALENDAR
"""


def _policy(tmp_path, hours: str, ical: str = ICAL):  # type: ignore[no-untyped-def]
    from routing.policy import DEFAULT_POLICY, load_policy

    (tmp_path / "holidays.ics").write_text(ical, encoding="utf-8")
    text = DEFAULT_POLICY.read_text(encoding="utf-8") + "\nhours:\n" + hours
    (tmp_path / "policy.yaml").write_text(text, encoding="utf-8")
    return load_policy(tmp_path / "policy.yaml")


def test_holidays_listed_and_imported_from_an_icalendar_file_close_every_group(tmp_path) -> None:  # type: ignore[no-untyped-def]
    policy = _policy(
        tmp_path,
        "  timezone: Europe/Berlin\n"
        "  holidays: [2026-12-25]\n"
        "  holidays_ical: holidays.ics\n"
        '  general: {mon-fri: "09:00-17:00"}\n',
    )
    general = policy.hours["general"]
    assert not general.open_at(berlin(24, 10)) and not general.open_at(berlin(25, 10))
    assert not general.open_at(berlin(18, 16)) and general.open_at(berlin(18, 14))
    assert general.open_at(berlin(23, 10))
    # An email in at Wednesday the 23rd at 16:00 with four business hours to its answer:
    # one that day, none on the 24th (eve), 25th (holiday) or the weekend, three on Monday.
    assert general.add(berlin(23, 16), 4 * 3600) == berlin(28, 12)


def test_a_wrong_holiday_names_the_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from routing.policy import PolicyError

    with pytest.raises(PolicyError, match=r"hours.holidays\[0\]: a date is YYYY-MM-DD"):
        _policy(tmp_path, "  holidays: [25.12.2026]\n")
    repeating = ICAL.replace(
        "DTEND;VALUE=DATE:20261225", "DTEND;VALUE=DATE:20261225\nRRULE:FREQ=YEARLY"
    )
    with pytest.raises(PolicyError, match="'Christmas Eve' repeats"):
        _policy(tmp_path, "  holidays_ical: holidays.ics\n", repeating)
    with pytest.raises(PolicyError, match="is not an iCalendar file"):
        _policy(tmp_path, "  holidays_ical: holidays.ics\n", "hello")
