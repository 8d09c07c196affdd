"""The weekly review's weeks and rows: pure, so the API, the CLI and the
scheduled workflow agree on what a week is and what a row shows."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
# The weeks a review may be asked for: far from the ends of the calendar, so a
# week's bounds (and the week before) are always dates.
FIRST_YEAR, LAST_YEAR = 2000, 2099


def parse_week(week: str) -> tuple[int, int]:
    """`2026-W48` → (2026, 48), for a week from 2000 to 2099; ValueError with a
    reason otherwise."""
    year, number = _iso_week(week)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"week {week!r}: reviews cover {FIRST_YEAR} to {LAST_YEAR}")
    return year, number


def _iso_week(week: str) -> tuple[int, int]:
    m = WEEK.fullmatch(week)
    if not m:
        raise ValueError(f"week {week!r} is not an ISO week like 2026-W48")
    year, number = int(m[1]), int(m[2])
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise ValueError(f"{year} has no week {number}") from None
    return year, number


def week_bounds(week: str, timezone: str) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, in the center's time zone."""
    year, number = _iso_week(week)
    tz = ZoneInfo(timezone)
    monday = date.fromisocalendar(year, number, 1)
    start = datetime.combine(monday, time(0), tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tz)
    return start, end


def week_of(at: datetime, timezone: str) -> str:
    local = at.astimezone(ZoneInfo(timezone)).date()
    year, number, _ = local.isocalendar()
    return f"{year}-W{number:02d}"


def past_week(at: datetime, timezone: str) -> str:
    """The week before the one `at` falls in (a Monday-morning review looks back)."""
    return week_of(at - timedelta(days=7), timezone)


def week_before(week: str) -> str:
    year, number = _iso_week(week)
    y, n, _ = (date.fromisocalendar(year, number, 1) - timedelta(days=7)).isocalendar()
    return f"{y}-W{n:02d}"


class WeeklyRow(BaseModel):
    week: str
    account_number: str
    rep_id: str
    orders: int
    holds_by_code: dict[str, int]
    holds_auto_resolved: int
    holds_manual_resolved: int
    median_minutes_to_confirm: Decimal | None
    p90_minutes_to_confirm: Decimal | None
    sla_breaches: int
    errors_systemic: int
    errors_human: int
    edits_by_root_cause: dict[str, int]
    incident_orders: int
    fallback_orders: int


COLUMNS = list(WeeklyRow.model_fields)


def flat(row: WeeklyRow) -> dict[str, str]:
    """One CSV/table line: the code counts as `PRICE=2 PART=1`."""
    out: dict[str, str] = {}
    for name in COLUMNS:
        value = getattr(row, name)
        if isinstance(value, dict):
            out[name] = " ".join(f"{k}={v}" for k, v in sorted(value.items()))
        elif value is None:
            out[name] = ""
        else:
            out[name] = str(value)
    return out
