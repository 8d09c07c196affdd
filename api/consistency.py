"""Reads where Temporal wins: a workflow's read-model row, checked against
Temporal before it is answered.

The row is what every state change writes, so it answers without a worker and
after Temporal's retention. But it can lag (a write lost while PostgreSQL was
down) or outlive its workflow (terminated, reset, timed out). So, after reading
the row, the workflow is described (a short deadline):
- ended, but the row still open: the reconciler fixes the row, which is answered;
- running, but in another status or run than the row says: the workflow's own
  view is answered;
- Temporal does not answer in time, or no longer knows the workflow: the row.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
import structlog
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus

from activities.contracts.reconcile import ReconcileRequest
from activities.reconcile import reconcile, row_behind
from db import read_model

log = structlog.get_logger()

# A person waits on these: short, and the row is answered when they run out.
DESCRIBE_TIMEOUT = timedelta(seconds=2)
QUERY_TIMEOUT = timedelta(seconds=5)


async def current_view(
    pool: asyncpg.Pool,
    temporal: Client,
    workflow_id: str,
    *,
    view_query: Any,
) -> Any | None:
    """The workflow's current view: its row's stored view with the audit trail
    (a dict), or the workflow's own `view_query` answer when the row is behind.
    None when there is no row (yet): the caller asks the workflow itself."""
    async with pool.acquire() as conn:
        row = await read_model.get_record(conn, workflow_id)
    if row is None or row["view"] is None:
        return None
    described = await _describe(temporal, workflow_id)
    if described is None:
        return await _row_view(pool, workflow_id)
    if described.status not in (
        WorkflowExecutionStatus.RUNNING,
        WorkflowExecutionStatus.CONTINUED_AS_NEW,
    ):
        if row["closed_at"] is None:
            await reconcile(
                pool,
                temporal,
                ReconcileRequest(workflow_id=workflow_id, min_age=timedelta(0)),
                rpc_timeout=DESCRIBE_TIMEOUT,
            )
        return await _row_view(pool, workflow_id)
    if described.status == WorkflowExecutionStatus.RUNNING and row_behind(row, described):
        try:
            return await temporal.get_workflow_handle(workflow_id).query(
                view_query, rpc_timeout=QUERY_TIMEOUT
            )
        except Exception as exc:  # no worker, a busy Temporal: the row is the best answer
            log.warning(
                "workflow did not answer its view; answering the read model",
                workflow_id=workflow_id,
                error=repr(exc),
            )
    return await _row_view(pool, workflow_id)


async def _describe(temporal: Client, workflow_id: str) -> WorkflowExecutionDescription | None:
    try:
        return await temporal.get_workflow_handle(workflow_id).describe(
            rpc_timeout=DESCRIBE_TIMEOUT
        )
    except Exception as exc:  # not found (retention), not answering: the row stands
        log.info(
            "Temporal did not describe the workflow; answering the read model",
            workflow_id=workflow_id,
            error=repr(exc),
        )
        return None


async def _row_view(pool: asyncpg.Pool, workflow_id: str) -> dict[str, Any] | None:
    async with pool.acquire() as conn:
        view = await read_model.get_view(conn, workflow_id)
        if view is None:
            return None
        trail = await read_model.audit_trail(conn, workflow_id)
    return {**view, "audit": [dict(r) for r in trail]}
