"""ISO weeks in the center's time zone, as the weekly review reads them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.reports import parse_week, past_week, week_before, week_bounds

TZ = "America/Chicago"


def test_a_week_runs_monday_to_monday_in_the_centers_time_zone() -> None:
    start, end = week_bounds("2026-W48", TZ)
    assert start.isoformat() == "2026-11-23T00:00:00-06:00"
    assert (end - start).days == 7


def test_monday_morning_reviews_the_week_before() -> None:
    # Monday 30 Nov 2026, 06:00 in Chicago (12:00 UTC): W49 began, W48 is reviewed.
    assert past_week(datetime(2026, 11, 30, 12, tzinfo=UTC), TZ) == "2026-W48"
    assert week_before("2026-W01") == "2025-W52"


@pytest.mark.parametrize("bad", ["2026-48", "2026-W54", "W48", "2026-W00", ""])
def test_a_malformed_week_is_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(ValueError, match="week"):
        parse_week(bad)
