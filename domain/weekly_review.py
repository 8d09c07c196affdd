"""The scheduled weekly review's input and state."""

from __future__ import annotations

from datetime import timedelta

from domain.kernel import KernelPolicy, KernelState, StartInput


class WeeklyReviewPolicy(KernelPolicy):
    # The one-on-ones left open when the next review starts close then.
    one_on_ones_for: timedelta = timedelta(days=7)


class WeeklyReviewState(KernelState):
    status: str = "computing"
    week: str | None = None
    reps: list[str] = []


class StartWeeklyReview(StartInput):
    week: str | None = None  # none: the week before the run's start
    timezone: str = "America/Chicago"
    policy: WeeklyReviewPolicy = WeeklyReviewPolicy()
    state: WeeklyReviewState | None = None
