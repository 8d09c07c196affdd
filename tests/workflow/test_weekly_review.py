"""The scheduled weekly review: computed for the week, then a one-on-one task
per rep for their team lead carrying the rep's figures and the week before."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from db.demo_week import seed_week
from domain.identity import Actor, Role
from domain.records import ReadModelSync
from domain.tasks import DecisionResult, TaskDecision
from domain.weekly_review import StartWeeklyReview
from sopflow.config import Settings
from tests.conftest import record_history
from tests.workflow.conftest import eventually
from workflows.weekly_review import WeeklyReviewWorkflow

LEAD = Actor(person_id="tom.baker", roles=frozenset({Role.TEAM_LEAD}))
OTHER_LEAD = Actor(person_id="adam.d", roles=frozenset({Role.TEAM_LEAD}))


async def test_the_review_opens_a_one_on_one_per_rep_for_their_team_lead(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        await seed_week(conn, "2031-W20", "America/Chicago", 6, prefix=uuid.uuid4().hex[:6])
    handle = await client.start_workflow(
        WeeklyReviewWorkflow.run,
        StartWeeklyReview(week="2031-W20"),
        id=f"weekly-review-{uuid.uuid4().hex[:6]}",
        task_queue=settings.task_queue,
    )

    async def one_on_ones() -> list:
        snapshot = await handle.query("read_model_snapshot", result_type=ReadModelSync)
        return [t for t in snapshot.open_tasks if t.kind == "one_on_one"]

    tasks = await eventually(one_on_ones, "the one-on-one tasks")
    by_rep = {t.payload["rep_id"]: t for t in tasks}  # type: ignore[attr-defined]
    assert set(by_rep) == {"maria.lopez", "james.chen"}
    maria = by_rep["maria.lopez"]
    assert maria.assignee == "tom.baker" and maria.due_at is not None
    assert maria.payload["orders"] == 4 and maria.payload["week"] == "2031-W20"
    assert {r["account_number"] for r in maria.payload["rows"]} == {"401693", "404820"}

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            "decide",
            TaskDecision(task_id=maria.task_id, decision="done", fields={"comment": "x"},
                         actor=OTHER_LEAD),
            result_type=DecisionResult,
        )  # fmt: skip
    assert refused.value.cause.type == "Forbidden"
    for task in by_rep.values():
        await handle.execute_update(
            "decide",
            TaskDecision(task_id=task.task_id, decision="done",
                         fields={"comment": "went through the holds"}, actor=LEAD),
            result_type=DecisionResult,
        )  # fmt: skip
    assert await handle.result() == "2031-W20"
    await record_history(client, handle.id, "weekly-review-one-on-ones")
