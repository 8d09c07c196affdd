"""The weekly review under random interleavings of what can reach it: the
team leads' (and everyone else's) decisions on the one-on-one tasks, with
hostile comments, claims, time passing past the week its one-on-ones stay
open, worker restarts, and decisions retried with the same Update id. Its
only system is PostgreSQL (the week computed in one activity)."""

from __future__ import annotations

import uuid

from hypothesis import strategies as st
from hypothesis.stateful import initialize

from db.demo_week import seed_week
from domain.identity import Actor, Role
from domain.weekly_review import StartWeeklyReview
from tests.fuzz.machine import WorkflowMachine
from workflows.weekly_review import WeeklyReviewWorkflow

LEAD = Actor(person_id="tom.baker", roles=frozenset({Role.TEAM_LEAD}))
OTHER_LEAD = Actor(person_id="adam.d", roles=frozenset({Role.TEAM_LEAD}))
REP = Actor(person_id="maria.lopez", roles=frozenset({Role.ACCOUNT_REP}))
NOBODY = Actor(person_id="mallory", roles=frozenset())


class WeeklyReviewMachine(WorkflowMachine):
    kind = "weekly_review"
    actors = [LEAD, LEAD, OTHER_LEAD, REP, NOBODY]
    # No simulator: its outages are not among its steps.
    systems = ["email"]
    valid_fields = {"done": [{"comment": "went through the week"}]}

    @initialize(orders=st.sampled_from([0, 6]))
    def start_review(self, orders: int) -> None:
        # A week of its own: other tests count the orders of theirs.
        week = "2033-W20"
        if orders:
            async def seed() -> None:
                async with self.fx.pool.acquire() as conn:
                    await seed_week(conn, week, "America/Chicago", orders,
                                    prefix=uuid.uuid4().hex[:6])  # fmt: skip

            self.run(seed())
        self.begin(
            WeeklyReviewWorkflow.run,
            StartWeeklyReview(week=week),
            f"weekly-review-{uuid.uuid4().hex[:6]}",
            (),
        )
