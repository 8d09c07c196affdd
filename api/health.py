"""Readiness: PostgreSQL answers, Temporal answers, and a worker polls our queue.

Unauthenticated, so the answer names only what is missing; what went wrong
(exception text, addresses) goes to the log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from api.system_probe import SystemProbe
from db.incidents import open_incidents
from domain.systems import SystemState

router = APIRouter(tags=["operations"])
log = structlog.get_logger()
CHECK_TIMEOUT = timedelta(seconds=3)
# A polling worker renews its long poll at least once a minute.
POLLER_FRESHNESS = timedelta(minutes=2)


class OpenIncident(BaseModel):
    incident_id: str
    platform: str
    status: str
    opened_at: datetime


class Health(BaseModel):
    status: str
    problems: list[str] = []
    # Issue 7: platform outages still open, so an operator sees them here too.
    incidents: list[OpenIncident] = []
    # Each external system: up, degraded or down. Not part of readiness: orders
    # wait out an outage, and the operator sees it here.
    systems: dict[str, SystemState] = {}


# ---------------------------------------------------- external systems (issue 7)
async def _systems(request: Request) -> dict[str, SystemState]:
    probe = getattr(request.app.state, "system_probe", None)
    if probe is None:
        probe = request.app.state.system_probe = SystemProbe(request.app.state.settings)
    return await probe.states()


async def _problems(request: Request) -> list[str]:
    problems: list[str] = []
    try:
        async with request.app.state.pool.acquire(timeout=CHECK_TIMEOUT.total_seconds()) as conn:
            await conn.fetchval("SELECT 1", timeout=CHECK_TIMEOUT.total_seconds())
    except Exception as exc:  # any failure means "not ready"
        log.warning("health: postgresql unavailable", error=f"{type(exc).__name__}: {exc}")
        problems.append("postgresql unavailable")
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
    except Exception as exc:
        log.warning("health: temporal unavailable", error=f"{type(exc).__name__}: {exc}")
        problems.append("temporal unavailable")
        return problems
    now = datetime.now(UTC)
    fresh = [
        p
        for p in resp.pollers
        if now - p.last_access_time.ToDatetime(tzinfo=UTC) < POLLER_FRESHNESS
    ]
    if not fresh:
        log.warning("health: no worker polling", task_queue=settings.task_queue)
        problems.append(f"no worker polling task queue {settings.task_queue}")
    return problems


@router.get(
    "/health",
    response_model=Health,
    summary="200 when PostgreSQL, Temporal and a worker are up; 503 with what is missing. "
    "Either way, each external system's state (up, degraded, down)",
    responses={503: {"model": Health, "description": "what is missing, in a few words"}},
)
async def health(request: Request) -> JSONResponse:
    problems, systems = await asyncio.gather(_problems(request), _systems(request))
    incidents = [] if "postgresql unavailable" in problems else await _open_incidents(request)
    seen = {"systems": systems, "incidents": incidents}
    if problems:
        return JSONResponse(
            {"status": "unavailable", "problems": problems, **seen}, status_code=503
        )
    return JSONResponse({"status": "ok", **seen})


async def _open_incidents(request: Request) -> list[dict]:
    """Issue 7: the open outages, from the read model (none when it does not answer)."""
    try:
        async with request.app.state.pool.acquire(timeout=CHECK_TIMEOUT.total_seconds()) as conn:
            rows = await open_incidents(conn)
    except Exception as exc:  # PostgreSQL is already named among the problems
        log.warning("health: open incidents not read", error=f"{type(exc).__name__}: {exc}")
        return []
    return [
        OpenIncident(
            incident_id=r["workflow_id"],
            platform=r["business_key"],
            status=r["status"],
            opened_at=r["created_at"],
        ).model_dump(mode="json")
        for r in rows
    ]
