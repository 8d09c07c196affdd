"""The reconciler: where the read model disagrees with Temporal, Temporal wins.

A workflow that is terminated, reset or timed out (or whose last write was lost
while PostgreSQL was down) leaves a row, and tasks, that the read model still
shows open. `reconcile` walks the rows still open, asks Temporal about each
workflow, and fixes the row:

- the workflow has ended: the row is closed (status, closed_at, the status in
  its stored view), its open tasks are closed, and the reconciler signs an audit
  entry. A workflow that completed or failed is first asked for its own final
  read model (`read_model_snapshot`), which carries the audit entries it could
  not write;
- the workflow runs, but as another run than the row says, or with another
  status: the row, tasks and audit trail are rewritten from its snapshot;
- Temporal no longer knows it (retention expired): left as it is;
- Temporal or PostgreSQL does not answer: logged, counted, tried next time.

The same function serves the scheduled workflow (through `ReconcileActivities`),
`sopflow reconcile`, and `GET /orders/{id}` for one workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
)
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import reconcile as contract
from activities.contracts.reconcile import ReconcileReport, ReconcileRequest
from db import read_model
from domain import search
from domain.open_order import models as open_order
from domain.order import models as order
from domain.records import ReadModelSync, scrubbed

log = structlog.get_logger()

# Each Temporal call's own deadline: a Temporal that does not answer delays a run
# (or a person's read) by this much, not for ever.
RPC_TIMEOUT = timedelta(seconds=5)

STATUS_KEYS = search.STATUS_BY_KIND
# Statuses a workflow of that kind ends in. A workflow that completed or failed
# with one of these in its search attribute keeps it; otherwise the row says how
# it ended in Temporal's words.
FINAL_STATUSES: dict[str, frozenset[str]] = {"order": frozenset(order.FINAL_STATUSES)}
FINAL_STATUSES["open_order"] = frozenset(open_order.FINAL_STATUSES)
ENDED_AS: dict[WorkflowExecutionStatus, str] = {
    WorkflowExecutionStatus.COMPLETED: "completed",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "cancelled",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
}
# Errors that mean PostgreSQL itself is not answering (not one bad row).
DB_DOWN = (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError)


class _Stop(Exception):
    """Temporal or PostgreSQL is not answering: the rest waits for the next run."""


async def reconcile(
    pool: asyncpg.Pool,
    client: Client,
    request: ReconcileRequest | None = None,
    *,
    rpc_timeout: timedelta = RPC_TIMEOUT,
    on_page: Callable[[ReconcileReport], None] | None = None,
) -> ReconcileReport:
    """Compare the read model with Temporal and fix the read model. Never raises
    for an unavailable Temporal or PostgreSQL: the report counts the errors."""
    request = request or ReconcileRequest()
    report = ReconcileReport()
    try:
        if request.workflow_id:
            async with pool.acquire() as conn:
                row = await read_model.get_record(conn, request.workflow_id)
            if row is not None:
                await _check(pool, client, row, report, rpc_timeout)
            return report
        after: tuple[datetime, str] | None = None
        while report.checked < request.max_rows:
            limit = min(request.batch, request.max_rows - report.checked)
            async with pool.acquire() as conn:
                rows = await read_model.unclosed_records(
                    conn, limit=limit, min_age=request.min_age, after=after
                )
            for row in rows:
                await _check(pool, client, row, report, rpc_timeout)
                if on_page:  # each row may wait on Temporal: beat per row
                    on_page(report)
            if len(rows) < limit:
                break
            after = (rows[-1]["updated_at"], rows[-1]["workflow_id"])
    except _Stop:
        report.errors += 1
    except DB_DOWN as exc:
        log.warning("reconcile: PostgreSQL not answering; next run tries again", error=repr(exc))
        report.errors += 1
    log.info("reconciled", **report.model_dump())
    return report


async def _check(
    pool: asyncpg.Pool,
    client: Client,
    row: asyncpg.Record,
    report: ReconcileReport,
    rpc_timeout: timedelta,
) -> None:
    workflow_id = row["workflow_id"]
    report.checked += 1
    try:
        described = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=rpc_timeout)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            log.info(
                "reconcile: not in Temporal (retention expired?); row left", workflow_id=workflow_id
            )
            report.missing += 1
            return
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            log.warning(
                "reconcile: Temporal refused the id", workflow_id=workflow_id, error=exc.message
            )
            report.errors += 1
            return
        log.warning("reconcile: Temporal not answering; next run tries again", error=exc.message)
        raise _Stop from exc
    except Exception as exc:  # connection refused, a lazy client that cannot connect, ...
        log.warning("reconcile: Temporal not answering; next run tries again", error=repr(exc))
        raise _Stop from exc
    try:
        await _fix(pool, client, row, described, report, rpc_timeout)
    except DB_DOWN:
        raise
    except Exception:
        # One row the database refuses (bad data) does not stop the others.
        log.exception("reconcile: could not fix row", workflow_id=workflow_id)
        report.errors += 1


def row_behind(row: asyncpg.Record, described: WorkflowExecutionDescription) -> bool:
    """A running workflow its row no longer describes: another run, or another
    status than the kind's status search attribute says."""
    key = STATUS_KEYS.get(row["kind"])
    status = described.typed_search_attributes.get(key) if key else None
    other_run = row["run_id"] is not None and row["run_id"] != described.run_id
    return other_run or (status is not None and status != row["status"])


async def _fix(
    pool: asyncpg.Pool,
    client: Client,
    row: asyncpg.Record,
    described: WorkflowExecutionDescription,
    report: ReconcileReport,
    rpc_timeout: timedelta,
) -> None:
    workflow_id, kind = row["workflow_id"], row["kind"]
    status = described.status
    key = STATUS_KEYS.get(kind)
    attribute = described.typed_search_attributes.get(key) if key else None

    if status == WorkflowExecutionStatus.RUNNING:
        if not row_behind(row, described):
            return
        snapshot = await _snapshot(client, workflow_id, described.run_id, rpc_timeout)
        if snapshot is None:
            report.errors += 1
            return
        async with pool.acquire() as conn:
            applied = await read_model.apply_snapshot(
                conn, snapshot, stale_task_outcome="no longer open in the workflow"
            )
        if applied:
            report.refreshed += 1
            log.info(
                "reconcile: row refreshed from the workflow",
                workflow_id=workflow_id,
                row_status=row["status"],
                status=snapshot.record.status,
                run_id=described.run_id,
                row_run_id=row["run_id"],
            )
        return

    ended = ENDED_AS.get(status) if status is not None else None
    if ended is None or row["closed_at"] is not None:
        # CONTINUED_AS_NEW as the latest run: the next run is being started. Or
        # the row already says the workflow ended (asked about one workflow).
        return

    if status in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.FAILED):
        # The workflow had its last word; only its write was lost. Its own final
        # read model carries the audit entries and tasks that write held.
        snapshot = await _snapshot(client, workflow_id, described.run_id, rpc_timeout)
        if snapshot is not None and snapshot.record.closed_at is not None:
            async with pool.acquire() as conn:
                applied = await read_model.apply_snapshot(
                    conn, snapshot, stale_task_outcome=f"workflow {ended}"
                )
            if applied:
                report.closed += 1
                log.info(
                    "reconcile: final write restored",
                    workflow_id=workflow_id,
                    status=snapshot.record.status,
                )
                return

    final = _final_status(kind, status, attribute)
    closed_at = described.close_time or datetime.now(UTC)
    async with pool.acquire() as conn:
        before = await read_model.close_ended_record(
            conn,
            workflow_id,
            status=final,
            closed_at=closed_at,
            run_id=described.run_id,
            comment=f"Temporal reports the workflow {status.name} "
            f"at {closed_at:%Y-%m-%d %H:%M:%S} UTC without a last write; "
            "row and open tasks closed",
            task_outcome=f"workflow {ended}",
        )
    if before is not None:
        report.closed += 1
        log.info(
            "reconcile: row closed",
            workflow_id=workflow_id,
            temporal_status=status.name,
            from_status=before,
            status=final,
        )


def _final_status(kind: str, status: WorkflowExecutionStatus, attribute: str | None) -> str:
    """What the row says of a workflow that ended: its own final status when it
    completed or failed with one in its search attribute, else how it ended."""
    if attribute and status in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.FAILED):
        finals = FINAL_STATUSES.get(kind)
        # A kind without a list here: a completed workflow had its last word.
        if (
            attribute in finals
            if finals is not None
            else status == WorkflowExecutionStatus.COMPLETED
        ):
            return attribute
    return ENDED_AS[status]


async def _snapshot(
    client: Client, workflow_id: str, run_id: str, rpc_timeout: timedelta
) -> ReadModelSync | None:
    """The workflow's whole read model, as it has it now; None when it does not
    answer (no worker, a workflow without the query, Temporal busy)."""
    try:
        snapshot = await client.get_workflow_handle(workflow_id, run_id=run_id).query(
            contract.SNAPSHOT_QUERY, result_type=ReadModelSync, rpc_timeout=rpc_timeout
        )
        # A state the read model refused (the workflow's operator task says so)
        # is written as the workflow writes it: scrubbed.
        return scrubbed(snapshot) if snapshot.scrub else snapshot
    except Exception as exc:
        log.warning(
            "reconcile: workflow did not answer its read-model query",
            workflow_id=workflow_id,
            run_id=run_id,
            error=repr(exc),
        )
        return None


class ReconcileActivities:
    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self._pool = pool
        self._client = client

    @activity.defn(name=contract.RECONCILE.name)
    async def run(self, request: ReconcileRequest) -> ReconcileReport:
        return await reconcile(
            self._pool, self._client, request, on_page=lambda report: activity.heartbeat(report)
        )


# ------------------------------------------------------------------ the schedule
def schedule_for(task_queue: str, every: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            contract.WORKFLOW_NAME,
            ReconcileRequest(),
            id=contract.SCHEDULE_ID,
            task_queue=task_queue,
            static_summary="Reconcile the read model with Temporal",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        # A run still going when the next is due is enough; after an outage, one
        # run catches up, not one per missed interval.
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=max(every, timedelta(minutes=1))
        ),
    )


async def ensure_schedule(client: Client, *, task_queue: str, every: timedelta) -> None:
    """Create the reconcile schedule, or bring an existing one to this interval and
    task queue; an operator's pause and notes are kept."""
    wanted = schedule_for(task_queue, every)
    try:
        await client.create_schedule(contract.SCHEDULE_ID, wanted)
        log.info("reconcile schedule created", every=str(every))
        return
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        schedule = current.description.schedule
        action = schedule.action
        if (
            [i.every for i in schedule.spec.intervals] == [every]
            and isinstance(action, ScheduleActionStartWorkflow)
            and action.task_queue == task_queue
            and action.workflow == contract.WORKFLOW_NAME
        ):
            return None
        schedule.action, schedule.spec, schedule.policy = wanted.action, wanted.spec, wanted.policy
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(contract.SCHEDULE_ID).update(update)
