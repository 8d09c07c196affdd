"""The raw decision a decision through the API is measured against: a bare
workflow that waits for one Update, whose validator checks the caller and whose
handler answers at once (no activities, no read model, no audit).

A module of its own that imports only the SDK and pure modules the production
sandbox passes through, as `benchmarks/floor.py` does."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.identity import Role
    from domain.tasks import DecisionResult, TaskDecision


@workflow.defn
class BareWorkflow:
    def __init__(self) -> None:
        self.decided = False

    @workflow.run
    async def run(self) -> str:
        await workflow.wait_condition(lambda: self.decided)
        return "decided"

    @workflow.query
    def is_waiting(self) -> bool:
        return not self.decided

    @workflow.update(name="decide")
    async def decide(self, d: TaskDecision) -> DecisionResult:
        self.decided = True
        return DecisionResult(
            task_id=d.task_id, workflow_id=workflow.info().workflow_id, status="decided"
        )

    @decide.validator
    def _validate(self, d: TaskDecision) -> None:
        if self.decided:
            raise ApplicationError("already decided", type="InvalidState")
        if not d.actor.has_any(Role.TEAM_LEAD):
            raise ApplicationError("this task is for the role team_lead", type="Forbidden")
