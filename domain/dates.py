"""Dates and moments at the edge: what a date or time field accepts, so every
comparison a rule makes is between like and like, in one time zone, and no
value is so far off that turning it into another zone overflows.

- `Moment`: a date and time with its UTC offset (`2026-12-07T15:00:00-06:00`,
  or `Z`). A time without an offset is refused: whose clock would it be?
- `BusinessDate`: a calendar day (`2026-12-07`).
- `DateOrMoment`: either; a rule that takes a day reads it in the store's or
  branch's own time zone (e.g. the store's opening time that day).
Each lies between 2000-01-01 and 2099-12-31."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

EARLIEST = date(2000, 1, 1)
LATEST = date(2099, 12, 31)
_RANGE = f"between {EARLIEST} and {LATEST}"


def _day_in_range(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise PydanticCustomError("date_range", f"must be a day {_RANGE}")
    return day


def _moment_in_range(at: datetime) -> datetime:
    # Compared in UTC; the edges themselves are a day inside what a datetime holds.
    if not datetime.combine(EARLIEST, time(), UTC) <= at <= datetime.combine(LATEST, time(), UTC):
        raise PydanticCustomError("date_range", f"must be a moment {_RANGE}")
    return at


BusinessDate = Annotated[date, AfterValidator(_day_in_range)]
Moment = Annotated[AwareDatetime, AfterValidator(_moment_in_range)]

_DAY = TypeAdapter(BusinessDate)
_MOMENT = TypeAdapter(Moment)


def _date_or_moment(value: Any) -> date | datetime:
    """A day (`2026-12-07`) or a moment with its offset; a datetime object
    (a workflow's own, from history) is a moment, a date object a day."""
    is_day = isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(value, str) and len(value.strip()) == 10:
        value, is_day = value.strip(), True
    elif not isinstance(value, str | date):
        raise PydanticCustomError(
            "date_or_moment", "must be a day (2026-12-07) or a time with its UTC offset"
        )
    try:
        return (_DAY if is_day else _MOMENT).validate_python(value)
    except ValidationError as err:
        first = err.errors()[0]
        if first["type"] == "timezone_aware":
            raise PydanticCustomError(
                "date_or_moment",
                "a time needs its UTC offset (e.g. 2026-12-07T15:00:00-06:00), "
                "or give the day alone (2026-12-07)",
            ) from None
        raise PydanticCustomError("date_or_moment", first["msg"]) from None


DateOrMoment = Annotated[
    date | datetime,
    PlainValidator(_date_or_moment),
    PlainSerializer(lambda value: value.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "description": "a day, or a time with its UTC offset",
        }
    ),
]
