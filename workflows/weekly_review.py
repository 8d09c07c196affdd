"""The weekly review (order SOP): computed for the past week per account and
rep (SQL over the audit log and the read model, in one activity), then a
one-on-one task per rep for their team lead, carrying the rep's figures and
the week before beside them. Started by the `sopflow-weekly-review` Schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow

from workflows.kernel import SopWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import reports
    from activities.contracts.reports import ComputeWeek
    from domain.identity import Role
    from domain.records import HumanTask, RecordFields
    from domain.tasks import TaskDecision
    from domain.weekly_review import StartWeeklyReview, WeeklyReviewState


@workflow.defn
class WeeklyReviewWorkflow(SopWorkflow):
    kind = "weekly_review"
    state: WeeklyReviewState

    @workflow.init
    def __init__(self, start: StartWeeklyReview) -> None:
        self.start = start
        self.init_kernel(start.state or self.new_state(WeeklyReviewState), start.policy)

    @workflow.run
    async def run(self, start: StartWeeklyReview) -> str:
        await self.run_to_end(self._process)
        return self.state.week or ""

    async def _process(self) -> None:
        st = self.state
        if st.week is None:
            computed = await self.call(
                reports.COMPUTE_WEEK,
                ComputeWeek(
                    week=self.start.week, as_of=workflow.now(), timezone=self.start.timezone
                ),
                summary="Compute the weekly review in PostgreSQL",
            )
            st.week = computed.week
            self.begin("sopflow", "computed", f"{computed.week}: {len(computed.rows)} rows")
            by_rep: dict[str, list[dict[str, Any]]] = {}
            for row in computed.rows:
                by_rep.setdefault(row.rep_id, []).append(row.model_dump(mode="json"))
            before: dict[str, list[dict[str, Any]]] = {}
            for row in computed.previous:
                before.setdefault(row.rep_id, []).append(row.model_dump(mode="json"))
            for rep, rows in sorted(by_rep.items()):
                if rep == "-":
                    continue
                st.reps.append(rep)
                self.open_task(
                    f"one-on-one:{rep}",
                    kind="one_on_one",
                    role=Role.TEAM_LEAD,
                    assignee=computed.leads.get(rep),
                    due_at=workflow.now() + timedelta(days=5),
                    payload={
                        "week": computed.week,
                        "rep_id": rep,
                        "orders": sum(r["orders"] for r in rows),
                        "rows": rows,
                        "week_before": before.get(rep, []),
                    },
                )
            self.move("one_on_ones", "one-on-ones opened", f"{len(st.reps)} reps")
            await self.sync()
        policy = self.start.policy
        try:
            await workflow.wait_condition(
                lambda: not self.state.open_tasks,
                timeout=policy.one_on_ones_for,
                timeout_summary="One-on-ones open until next week's review",
            )
        except TimeoutError:
            pass
        await self.finish("completed", "review closed", f"{st.week}")

    async def on_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        self.close_task(task.task_id, f"done by {d.actor}")
        self.note(d.actor, "one-on-one held", f"{task.payload.get('rep_id')}: {fields.comment}")
        await self.sync()

    def record_fields(self) -> RecordFields:
        st = self.state
        return RecordFields(
            business_key=st.week,
            summary=f"Weekly review {st.week or '(computing)'}",
            view={"week": st.week, "reps": st.reps, "status": st.status},
        )

    def details(self) -> str:
        st = self.state
        waiting = [t.payload.get("rep_id") for t in st.open_tasks]
        return f"**{st.status}** · weekly review {st.week or ''}\n" + (
            f"One-on-ones still to hold: {', '.join(map(str, waiting))}" if waiting else ""
        )

    def carry_over(self) -> StartWeeklyReview:
        return self.start.model_copy(update={"state": self.state})
