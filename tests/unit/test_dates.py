"""Dates at the edge (domain/dates.py): a moment needs its offset, a day is a
day, either may be given where a field's name invites both, and nothing lies so
far off that another time zone overflows; the weekly review's weeks likewise."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from domain.dates import BusinessDate, DateOrMoment, Moment
from domain.reports import parse_week, week_before, week_bounds


class Fields(BaseModel):
    at: Moment | None = None
    day: BusinessDate | None = None
    either: DateOrMoment | None = None


def refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as raised:
        Fields(**values)
    (err,) = raised.value.errors()
    return err["msg"]


def test_a_day_or_a_moment_with_its_offset() -> None:
    assert Fields(either="2026-12-07").either == date(2026, 12, 7)
    moment = Fields(either="2026-12-07T15:00:00-06:00").either
    assert moment == datetime(2026, 12, 7, 21, tzinfo=UTC)
    assert Fields(either=datetime(2026, 12, 7, tzinfo=UTC)).either.tzinfo is not None
    # JSON round trip keeps each as what it was (a workflow's history reads it back).
    again = Fields.model_validate_json(Fields(either="2026-12-07").model_dump_json())
    assert again.either == date(2026, 12, 7)
    assert refusal(either="2026-12-07T15:00:00").startswith("a time needs its UTC offset")
    assert refusal(at="2026-12-07T15:00:00") == "Input should have timezone info"


@pytest.mark.parametrize(
    "values",
    [
        {"at": "9999-12-31T23:59:59-12:00"},  # in UTC: the year 10000
        {"at": "0001-01-01T00:00:00+14:00"},  # in UTC: before the year 1
        {"day": "9999-12-31"},
        {"day": "1999-12-31"},
        {"either": "2100-01-01"},
        {"either": "0001-01-01T00:00:00Z"},
    ],
)
def test_nothing_outside_2000_to_2099(values: dict) -> None:
    assert "between 2000-01-01 and 2099-12-31" in refusal(**values)


def test_the_edges_convert_to_any_zone() -> None:
    for value in ("2000-01-01T00:00:00Z", "2099-12-31T00:00:00Z"):
        at = Fields(at=value).at
        for hours in (-12, 14):
            assert at.astimezone(timezone(timedelta(hours=hours))) == at


@pytest.mark.parametrize("week", ["9999-W52", "0001-W01", "1999-W52", "2100-W01"])
def test_a_week_asked_for_lies_in_2000_to_2099(week: str) -> None:
    with pytest.raises(ValueError, match="reviews cover 2000 to 2099"):
        parse_week(week)


def test_the_first_and_last_weeks_and_the_week_before_them() -> None:
    assert parse_week("2000-W01") == (2000, 1)
    assert week_before("2000-W01") == "1999-W52"  # the team view's other column
    start, end = week_bounds("1999-W52", "America/Chicago")
    assert end - start == timedelta(days=7)
    start, end = week_bounds("2099-W52", "Pacific/Kiritimati")
    assert end.year == 2099 and end - start == timedelta(days=7)
