"""Business days: weekends and public holidays (the maintained `holidays`
library, per country and subdivision) plus the company's own configured days
off, counted in the calendar's time zone. Pure; the CSR workflow reaches it
through a local activity, so a deadline it computed is recorded in history and
a newer holiday table never changes a replay."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
from pydantic import BaseModel, Field


class BusinessCalendar(BaseModel):
    """Which days count: from configuration (SOPFLOW_CSR_HOLIDAY_COUNTRY, ...)."""

    country: str = Field(default="US", min_length=2, max_length=3)
    subdivision: str | None = None
    timezone: str = "America/Chicago"
    # Company days off beyond the public holidays (e.g. the day after Thanksgiving).
    extra_holidays: list[date] = []


@functools.lru_cache(maxsize=32)
def _public_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision)


def holiday_name(day: date, calendar: BusinessCalendar) -> str | None:
    """What makes `day` a day off (a holiday's name, "configured day off",
    "weekend"), or None for a business day."""
    if day.weekday() >= 5:
        return "weekend"
    if day in calendar.extra_holidays:
        return "configured day off"
    return _public_holidays(calendar.country, calendar.subdivision).get(day)


def is_business_day(day: date, calendar: BusinessCalendar) -> bool:
    return holiday_name(day, calendar) is None


def add_business_days(start: datetime, days: int, calendar: BusinessCalendar) -> datetime:
    """`days` business days after `start`, at the same local time of day: Friday
    10:00 + 1 is Monday 10:00 (Tuesday when Monday is a holiday). Counted in the
    calendar's time zone, so a deadline falls on a business day there."""
    if days < 0:
        raise ValueError("days must not be negative")
    zone = ZoneInfo(calendar.timezone)
    local = start.astimezone(zone)
    day = local.date()
    left = days
    while left:
        day += timedelta(days=1)
        if is_business_day(day, calendar):
            left -= 1
    naive = datetime.combine(day, local.time().replace(tzinfo=None))
    return naive.replace(tzinfo=zone).astimezone(start.tzinfo or zone)
