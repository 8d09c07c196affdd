"""The daily confirmation call list, once: started every day by the
`sopflow-confirmation-list` Schedule. Each booked order due for confirmation
by the end of the next day is signalled; its workflow places the automated
calls and opens the agent's confirmation task."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import erp as contract
    from activities.contracts.erp import ConfirmationListReport, ConfirmationListRequest


@workflow.defn(name=contract.CONFIRMATION_WORKFLOW)
class ConfirmationListWorkflow:
    @workflow.run
    async def run(self, request: ConfirmationListRequest) -> ConfirmationListReport:
        workflow.set_current_details("Making the confirmation call list")
        report = await workflow.execute_activity(
            contract.CONFIRMATION_LIST.name,
            request,
            result_type=ConfirmationListReport,
            start_to_close_timeout=contract.CONFIRMATION_LIST.start_to_close,
            retry_policy=contract.CONFIRMATION_LIST.retry,
            summary="Signal each booked order due for its confirmation call",
        )
        workflow.set_current_details(f"Confirmation list: {report.line()}")
        return report
