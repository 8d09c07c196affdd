"""A configuration fault of ours: a system refuses our credentials, address or
method (a 401, 403, 404 or 405 its contract does not declare a refusal).

Opened by the first business object that meets it (signal-with-start, workflow
id `configuration-{system}`; every object that meets it joins the open one) →
one operator's task, "sterling_oms refuses our configuration", showing the
system's answer and how many objects wait → the operator fixes the setting and
decides `retry` → every waiting object is told to try again → closed. An object
also tries again on its own every `fault_recheck`, so one that joins as the
fault closes is never left waiting.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from workflows.kernel import CONFIGURATION_TASK, SOPFLOW, SopWorkflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import incidents
    from activities.contracts.incidents import NotifyOrders
    from domain.identity import Role
    from domain.incident import (
        ConfigurationFaultState,
        IncidentNotice,
        JoinFault,
        StartConfigurationFault,
    )
    from domain.records import HumanTask, RecordFields

TASK = "retry"


@workflow.defn
class ConfigurationFaultWorkflow(SopWorkflow):
    kind = "configuration_fault"
    state: ConfigurationFaultState

    @workflow.init
    def __init__(self, start: StartConfigurationFault) -> None:
        self.start = start
        st = start.state or self.new_state(ConfigurationFaultState, system=start.system)
        self.init_kernel(st, start.policy)
        self._joined: list[JoinFault] = list(start.joins)
        self._retried = False

    @workflow.run
    async def run(self, start: StartConfigurationFault) -> None:
        await self.run_to_end(self._process)
        await workflow.wait_condition(workflow.all_handlers_finished)

    async def _process(self) -> None:
        st = self.state
        if not st.audit:
            self.begin(SOPFLOW, "opened", f"{st.system} refuses our configuration")
        while not self._retried:
            if self._joined:
                self._take()
                await self.sync()
            await self.wait_until(lambda: bool(self._joined) or self._retried)
        if self._joined:
            self._take()
        await workflow.execute_activity(
            incidents.NOTIFY_ORDERS.name,
            NotifyOrders(
                order_ids=st.waiting,
                signal="configuration_retry",
                notice=IncidentNotice(
                    incident_id=self.record_id(),
                    incident_workflow_id=workflow.info().workflow_id,
                    platform=st.system,
                    event="retry",
                ),
            ),
            result_type=int,
            start_to_close_timeout=incidents.NOTIFY_ORDERS.start_to_close,
            retry_policy=incidents.NOTIFY_ORDERS.retry,
            summary=f"Tell {len(st.waiting)} waiting object(s) to try {st.system} again",
        )
        await self.finish(
            "closed", "closed", f"{len(st.waiting)} waiting object(s) told to try again"
        )

    def _take(self) -> None:
        st = self.state
        joined, self._joined = self._joined, []
        new = [j for j in joined if j.workflow_id not in st.waiting]
        st.waiting += [j.workflow_id for j in new]
        st.reason = joined[-1].reason or st.reason
        if new:
            self.note(SOPFLOW, "waiting", ", ".join(j.workflow_id for j in new[:20]))
        payload = {"system": st.system, "error": st.reason[:2000], "waiting": len(st.waiting)}
        task = self.task(f"{self.task_prefix()}{TASK}")
        if task is None:
            self.open_task(TASK, kind=CONFIGURATION_TASK, role=Role.OPERATOR, payload=payload)
        else:
            task.payload = payload
        self.refresh_details()

    @workflow.signal
    def join(self, join: JoinFault) -> None:
        self._joined.append(join)

    async def on_operator_retry(self, task: HumanTask) -> None:
        self._retried = True

    # ------------------------------------------------------- kernel hooks
    def record_id(self) -> str:
        return f"{workflow.info().workflow_id}-{self.state.created_at:%Y%m%dT%H%M%S}"

    def record_fields(self) -> RecordFields:
        st = self.state
        return RecordFields(
            business_key=st.system,
            summary=self._summary(),
            view={"system": st.system, "reason": st.reason, "waiting": st.waiting},
        )

    def _summary(self) -> str:
        st = self.state
        return f"{st.system} refuses our configuration · {len(st.waiting)} waiting · {st.status}"

    def details(self) -> str:
        st = self.state
        lines = [f"**{st.status}** · {self._summary()}"]
        if st.reason:
            lines.append(f"Its answer: {st.reason}")
        return "\n".join(lines)

    def carry_over(self) -> Any:
        return self.start.model_copy(update={"state": self.state, "joins": self._joined})
