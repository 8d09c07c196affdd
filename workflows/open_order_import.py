"""Import the ERP's open orders, once: started every
SOPFLOW_OPEN_ORDER_IMPORT_EVERY by the `sopflow-open-order-import` Schedule."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import erp as contract
    from activities.contracts.erp import ImportReport, ImportRequest


@workflow.defn(name=contract.IMPORT_WORKFLOW)
class OpenOrderImportWorkflow:
    @workflow.run
    async def run(self, request: ImportRequest) -> ImportReport:
        workflow.set_current_details("Importing open orders from the retail ERP")
        report = await workflow.execute_activity(
            contract.IMPORT_OPEN_ORDERS.name,
            request,
            result_type=ImportReport,
            start_to_close_timeout=contract.IMPORT_OPEN_ORDERS.start_to_close,
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=contract.IMPORT_OPEN_ORDERS.retry,
            summary="Start a workflow for every open order the ERP lists",
        )
        workflow.set_current_details(f"Imported: {report.line()}")
        return report
