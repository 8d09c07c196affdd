"""The reconciler: compares the read model with Temporal and fixes the read model
where they disagree (Temporal wins). Run by a Temporal Schedule, from the CLI
(`sopflow reconcile`) and, for one workflow, by `GET /orders/{id}`."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio.common import RetryPolicy

from activities.contracts import ActivityContract

SCHEDULE_ID = "sopflow-reconcile"
WORKFLOW_NAME = "ReconcileWorkflow"
# The query every SOP workflow answers with its whole read model (workflows/kernel.py).
SNAPSHOT_QUERY = "read_model_snapshot"


class ReconcileRequest(BaseModel):
    # Only this workflow (any age), instead of every row still open.
    workflow_id: str | None = None
    # Rows are read in pages of `batch`, oldest update first, at most `max_rows` a run.
    batch: int = Field(default=200, ge=1, le=1000)
    max_rows: int = Field(default=5000, ge=1)
    # Rows written this recently are left alone: their workflow may be writing.
    min_age: timedelta = timedelta(seconds=10)


class ReconcileReport(BaseModel):
    checked: int = 0
    # Rows whose workflow had ended: closed, with their tasks.
    closed: int = 0
    # Rows of running workflows rewritten from the workflow's own snapshot.
    refreshed: int = 0
    # Workflows Temporal no longer knows (retention expired): left as they are.
    missing: int = 0
    # Temporal or PostgreSQL did not answer, or a snapshot query failed: next time.
    errors: int = 0

    def line(self) -> str:
        return (
            f"checked {self.checked}, closed {self.closed}, refreshed {self.refreshed}, "
            f"not in Temporal {self.missing}, errors {self.errors}"
        )


RECONCILE = ActivityContract(
    name="reconcile.run",
    input=ReconcileRequest,
    output=ReconcileReport,
    system="temporal",
    # A run walks at most max_rows rows; each Temporal call has its own short deadline.
    start_to_close=timedelta(minutes=10),
    # Failures are counted in the report, not raised: the next scheduled run retries.
    retry=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=2),
)
