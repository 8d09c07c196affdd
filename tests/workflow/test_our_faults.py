"""Faults of ours are neither a system's refusal nor its outage: OMS refusing
our credentials (401, from the simulators' fault injection) and an exception in
our own activity code each leave the order waiting, visibly, with an operator's
task that shows the error; no incident is opened against OMS, the order never
fails, and the operator's `retry` (once it is fixed) carries it on."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from db import read_model
from domain.identity import Actor, Role
from domain.incident import STERLING_OMS, configuration_fault_workflow_id, incident_workflow_id
from domain.order.models import OrderStatus
from domain.tasks import TaskDecision
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.workflow.conftest import eventually, start_order, wait_for_status
from workers.main import build_worker
from workflows.kernel import CONFIGURATION_TASK, DEFECT_TASK
from workflows.order import OrderWorkflow

OPERATOR = Actor(person_id="olga.ops", roles=frozenset({Role.OPERATOR}))


class BuggyOmsCreate(httpx.AsyncBaseTransport):
    """Our own code failing as it sends an OMS order (until `fixed`)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.fixed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.fixed and request.method == "POST" and request.url.path.endswith("/oms/orders"):
            raise RuntimeError("'NoneType' object has no attribute 'branch_id'")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def buggy() -> BuggyOmsCreate:
    return BuggyOmsCreate()


@pytest.fixture
async def buggy_client(
    env: WorkflowEnvironment,
    settings: Settings,
    pool: asyncpg.Pool,
    sims: Simulators,
    buggy: BuggyOmsCreate,
) -> AsyncIterator[Client]:
    async with build_worker(env.client, settings, pool, buggy) as worker, worker:
        yield env.client


async def operator_task(pool: asyncpg.Pool, workflow_id: str, kind: str) -> asyncpg.Record:
    async def found() -> asyncpg.Record | None:
        async with pool.acquire() as conn:
            return await conn.fetchrow(
                "SELECT task_id, role, payload FROM human_tasks "
                "WHERE workflow_id = $1 AND kind = $2 AND closed_at IS NULL",
                workflow_id,
                kind,
            )

    return await eventually(found, f"an open {kind} task", tries=400)  # type: ignore[return-value]


async def assert_waiting_not_failed(client: Client, handle: WorkflowHandle) -> None:
    history = await handle.fetch_history()
    kinds = {EventType.Name(e.event_type) for e in history.events}
    assert not kinds & {"EVENT_TYPE_WORKFLOW_TASK_FAILED", "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED"}
    view = await handle.query(OrderWorkflow.view)
    assert view.status == OrderStatus.RECEIVED  # not failed, not refused
    assert view.waiting_on is not None and view.waiting_on.startswith("an operator: ")
    # Not counted as OMS's outage: no incident was opened against it.
    with pytest.raises(RPCError):
        await client.get_workflow_handle(incident_workflow_id(STERLING_OMS)).describe()


async def retry(handle: WorkflowHandle, task_id: str) -> None:
    await handle.execute_update(
        OrderWorkflow.decide, TaskDecision(task_id=task_id, decision="retry", actor=OPERATOR)
    )


async def test_oms_refusing_our_credentials_is_one_operators_task_whose_retry_wakes_them_all(
    client: Client, settings: Settings, pool: asyncpg.Pool, sims: Simulators
) -> None:
    await sims.fault("oms", refuse_with=401)
    fault = client.get_workflow_handle(configuration_fault_workflow_id(STERLING_OMS))
    try:
        orders = [
            await start_order(client, settings, f"CF{uuid.uuid4().hex[:6]}") for _ in range(2)
        ]

        async def both_waiting() -> asyncpg.Record | None:
            async with pool.acquire() as conn:
                tasks = await conn.fetch(
                    "SELECT task_id, workflow_id, role, payload FROM human_tasks "
                    "WHERE kind = $1 AND closed_at IS NULL",
                    CONFIGURATION_TASK,
                )
            waiting = [t for t in tasks if t["payload"].get("waiting") == 2]
            return waiting[0] if len(tasks) == 1 and waiting else None

        # One task for OMS, however many objects it stops.
        task = await eventually(both_waiting, "one task with both orders waiting", tries=400)
        assert task["workflow_id"] == fault.id and task["role"] == Role.OPERATOR.value
        assert "401" in task["payload"]["error"] and task["payload"]["system"] == STERLING_OMS
        for handle in orders:
            await assert_waiting_not_failed(client, handle)
            async with pool.acquire() as conn:
                trail = [r["action"] for r in await read_model.audit_trail(conn, handle.id)]
            assert "waiting on an operator" in trail
    finally:
        await sims.fault("oms")  # the operator fixed the credential
    # The operator's, nobody else's.
    rep = Actor(person_id="maria.lopez", roles=frozenset({Role.ACCOUNT_REP}))
    with pytest.raises(WorkflowUpdateFailedError):
        await fault.execute_update(
            "decide", TaskDecision(task_id=task["task_id"], decision="retry", actor=rep)
        )
    await fault.execute_update(
        "decide", TaskDecision(task_id=task["task_id"], decision="retry", actor=OPERATOR)
    )
    for handle in orders:
        await wait_for_status(handle, OrderStatus.RELEASED)
    await fault.result()
    await record_history(client, orders[0].id, "order-configuration-fault-retried")
    await record_history(client, fault.id, "configuration_fault-retried")


async def test_a_defect_in_our_code_waits_for_an_operators_retry(
    buggy_client: Client, buggy: BuggyOmsCreate, settings: Settings, pool: asyncpg.Pool
) -> None:
    handle = await start_order(buggy_client, settings, f"DF{uuid.uuid4().hex[:6]}")
    task = await operator_task(pool, handle.id, DEFECT_TASK)
    assert "RuntimeError" in task["payload"]["error"]
    await assert_waiting_not_failed(buggy_client, handle)
    buggy.fixed = True  # a fix deployed
    await retry(handle, task["task_id"])
    await wait_for_status(handle, OrderStatus.RELEASED)
