"""Readiness: PostgreSQL answers, Temporal answers, and a worker polls our queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

router = APIRouter(tags=["operations"])
CHECK_TIMEOUT = timedelta(seconds=3)
# A polling worker renews its long poll at least once a minute.
POLLER_FRESHNESS = timedelta(minutes=2)


async def _problems(request: Request) -> list[str]:
    problems: list[str] = []
    try:
        async with request.app.state.pool.acquire(timeout=CHECK_TIMEOUT.total_seconds()) as conn:
            await conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT.total_seconds())
    except Exception as exc:  # any failure means "not ready"; say which
        problems.append(f"postgresql: {type(exc).__name__}: {exc}")
    client = request.app.state.temporal
    settings = request.app.state.settings
    try:
        resp = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=settings.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            ),
            timeout=CHECK_TIMEOUT,
        )
        now = datetime.now(UTC)
        fresh = [
            p
            for p in resp.pollers
            if now - p.last_access_time.ToDatetime(tzinfo=UTC) < POLLER_FRESHNESS
        ]
        if not fresh:
            problems.append(f"no worker is polling task queue {settings.task_queue}")
    except Exception as exc:
        problems.append(f"temporal: {type(exc).__name__}: {exc}")
    return problems


@router.get("/health", summary="200 when PostgreSQL, Temporal and a worker are up; 503 otherwise")
async def health(request: Request) -> JSONResponse:
    problems = await _problems(request)
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ok"})
