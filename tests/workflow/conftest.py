"""Fixtures for workflow tests: a time-skipping Temporal server per test, a worker
with the real activities against the simulators and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from db.buyer_documents import set_endpoint
from domain.order.models import OrderStatus
from sopflow.config import Settings
from sopflow.converter import DATA_CONVERTER
from sopflow.temporal import register_search_attributes
from tests.conftest import Simulators, venv_binary
from tests.factories import propetro_order, start
from workers.main import build_worker
from workflows.order import OrderWorkflow


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    # A fresh environment per test: a shared one breaks time skipping.
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER,
        test_server_existing_path=venv_binary("temporal-test-server"),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
async def client(
    env: WorkflowEnvironment, settings: Settings, pool: asyncpg.Pool, sims: Simulators
) -> AsyncIterator[Client]:
    async with build_worker(env.client, settings, pool) as worker, worker:
        yield env.client


@pytest.fixture
async def buyer_endpoint(pool: asyncpg.Pool, sims: Simulators) -> AsyncIterator[str]:
    """Propetro's documents go to the network simulator for this test (none after)."""
    url = f"{sims.url}/network/cxml"
    async with pool.acquire() as conn:
        await set_endpoint(conn, "NetworkID", "AN01000401693", url)
    yield url
    async with pool.acquire() as conn:
        await set_endpoint(conn, "NetworkID", "AN01000401693", None)


async def start_order(
    client: Client,
    settings: Settings,
    po: str | None = None,
    policy: dict[str, object] | None = None,
    **changes: object,
) -> WorkflowHandle:
    order = propetro_order(po or f"T{uuid.uuid4().hex[:8]}", **changes)
    return await client.start_workflow(
        OrderWorkflow.run,
        start(order, **(policy or {})),
        id=order.workflow_id,
        task_queue=settings.task_queue,
    )


async def wait_for_status(handle: WorkflowHandle, status: OrderStatus) -> None:
    for _ in range(200):
        view = await handle.query(OrderWorkflow.view)
        if view.status == status:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"order stayed {view.status}, expected {status}")


async def eventually(check, what: str, tries: int = 200) -> object:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def activity_attempted(
    client: Client, handle: WorkflowHandle, activity: str, attempts: int = 1
) -> None:
    """Until the workflow has the activity in flight, tried at least `attempts`
    times: what a test waits for instead of sleeping while a system is slow or down."""

    async def tried() -> bool:
        # The raw description: the SDK's describe() cannot decode the order's
        # datetime search attributes as the time-skipping server returns them.
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace,
                execution=WorkflowExecution(workflow_id=handle.id),
            )
        )
        pending = described.pending_activities
        return any(a.activity_type.name == activity and a.attempt >= attempts for a in pending)

    await eventually(tried, f"{activity} tried {attempts} time(s)")
