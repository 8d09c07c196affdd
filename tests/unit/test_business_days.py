"""Business days: weekends, public holidays (the `holidays` library) and the
configured days off are skipped, at the same local time of day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.business_days import BusinessCalendar, add_business_days, holiday_name, is_business_day

CHICAGO = ZoneInfo("America/Chicago")
US = BusinessCalendar()


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 11, 18), 1, date(2026, 11, 19)),  # Wed → Thu
        (date(2026, 11, 20), 1, date(2026, 11, 23)),  # Fri → Mon over the weekend
        (date(2026, 11, 21), 1, date(2026, 11, 23)),  # a Saturday counts from Monday
        (date(2026, 11, 25), 1, date(2026, 11, 27)),  # Thanksgiving (Thu 26) skipped
        (date(2026, 12, 24), 1, date(2026, 12, 28)),  # Christmas (Fri 25) and the weekend
        (date(2027, 1, 14), 1, date(2027, 1, 15)),
        (date(2027, 1, 15), 1, date(2027, 1, 19)),  # weekend and MLK Day (Mon 18)
        (date(2026, 12, 21), 5, date(2026, 12, 29)),  # five business days over Christmas
        (date(2026, 11, 18), 0, date(2026, 11, 18)),
    ],
)
def test_business_days_skip_weekends_and_public_holidays(start: date, days: int, due: date) -> None:
    assert add_business_days(at(start), days, US) == at(due)


def test_configured_days_off_are_skipped_too() -> None:
    bridge = BusinessCalendar(extra_holidays=[date(2026, 11, 27)])  # the day after Thanksgiving
    assert add_business_days(at(date(2026, 11, 25)), 1, bridge) == at(date(2026, 11, 30))
    assert holiday_name(date(2026, 11, 27), bridge) == "configured day off"
    assert holiday_name(date(2026, 11, 26), bridge) == "Thanksgiving Day"
    assert holiday_name(date(2026, 11, 28), bridge) == "weekend"
    assert is_business_day(date(2026, 12, 1), bridge)


def test_the_local_time_is_kept_across_a_daylight_saving_change() -> None:
    # DST ends in Chicago on Sunday 1 November 2026: 10:00 local is 15:00 UTC on
    # Friday and 16:00 UTC on Monday.
    start = datetime(2026, 10, 30, 15, tzinfo=UTC)
    due = add_business_days(start, 1, US)
    assert due == datetime(2026, 11, 2, 16, tzinfo=UTC)
    assert due.tzinfo == UTC


def test_another_country_and_subdivision_have_their_own_holidays() -> None:
    bavaria = BusinessCalendar(country="DE", subdivision="BY", timezone="Europe/Berlin")
    # Epiphany (6 January) is a holiday in Bavaria, not in the US.
    assert not is_business_day(date(2027, 1, 6), bavaria)
    assert is_business_day(date(2027, 1, 6), US)
