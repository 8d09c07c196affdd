"""Reconcile the read model with Temporal, once: started every
SOPFLOW_RECONCILE_EVERY by the `sopflow-reconcile` Schedule (see
activities/reconcile.py for what it fixes and how)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import reconcile as contract
    from activities.contracts.reconcile import ReconcileReport, ReconcileRequest


@workflow.defn(name=contract.WORKFLOW_NAME)
class ReconcileWorkflow:
    @workflow.run
    async def run(self, request: ReconcileRequest) -> ReconcileReport:
        workflow.set_current_details("Comparing the read model with Temporal")
        report = await workflow.execute_activity(
            contract.RECONCILE.name,
            request,
            result_type=ReconcileReport,
            start_to_close_timeout=contract.RECONCILE.start_to_close,
            # Each page of rows heartbeats: a worker lost mid-run is noticed soon.
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=contract.RECONCILE.retry,
            summary="Close rows of ended workflows, refresh rows that disagree",
        )
        workflow.set_current_details(f"Read model reconciled: {report.line()}")
        return report
