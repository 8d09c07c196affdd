"""A read-model write PostgreSQL refuses for its content (a NUL in a system's
answer, which no text type at our edge sees) is our defect, not the business's:
the order goes on, an operator's task and a log line name it, the state is
written with the NUL replaced, and the operator's `retry` writes it again."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from db import read_model
from domain.identity import Actor, Role
from domain.order.models import OrderStatus
from domain.tasks import TaskDecision
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.factories import EVERYTHING, shipment
from tests.workflow.conftest import eventually, start_order, wait_for_status
from workers.main import build_worker
from workflows.kernel import READ_MODEL_TASK
from workflows.order import OrderWorkflow

OPERATOR = Actor(person_id="olga.ops", roles=frozenset({Role.OPERATOR}))


class NulInPickTickets(httpx.AsyncBaseTransport):
    """iSeries answers with a pick ticket number that holds a NUL."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and request.url.path.endswith("/pick-tickets"):
            body = json.loads(await response.aread())
            if response.status_code < 300:
                body["pick_ticket_id"] += "\x00"
            return httpx.Response(response.status_code, json=body)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def nul_client(
    env: WorkflowEnvironment, settings: Settings, pool: asyncpg.Pool, sims: Simulators
) -> AsyncIterator[Client]:
    async with build_worker(env.client, settings, pool, NulInPickTickets()) as worker, worker:
        yield env.client


async def open_tasks(pool: asyncpg.Pool, workflow_id: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT task_id, kind, role, payload, closed_at, outcome FROM human_tasks "
            "WHERE workflow_id = $1 AND kind = $2 ORDER BY opened_at",
            workflow_id,
            READ_MODEL_TASK,
        )


async def test_a_write_refused_for_its_content_is_an_operators_task_and_the_order_goes_on(
    nul_client: Client, settings: Settings, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    handle = await start_order(nul_client, settings, f"NUL{uuid.uuid4().hex[:6]}")
    await wait_for_status(handle, OrderStatus.RELEASED)

    async def task_opened() -> list[asyncpg.Record]:
        return [t for t in await open_tasks(pool, handle.id) if t["closed_at"] is None]

    [task] = await eventually(task_opened, "the operator's task in the read model")
    assert task["role"] == Role.OPERATOR.value
    assert "cannot be converted to text" in task["payload"]["error"]
    async with pool.acquire() as conn:
        row = await read_model.get_record(conn, handle.id)
        trail = [r["action"] for r in await read_model.audit_trail(conn, handle.id)]
    # Written with the NUL replaced: the row shows where the order is.
    assert row["status"] == "released"
    assert "\ufffd" in json.dumps(row["view"], ensure_ascii=False)
    assert "released" in trail and "read model refused" in trail
    assert any(
        handle.id in r.getMessage() and "read model refused" in r.getMessage()
        for r in caplog.records
    ), "no log line names the workflow"
    history = await handle.fetch_history()
    kinds = {EventType.Name(e.event_type) for e in history.events}
    assert not kinds & {"EVENT_TYPE_WORKFLOW_TASK_FAILED", "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED"}

    # The business goes on: a shipment is answered (no refusal of an applied Update).
    invoice = await handle.execute_update(OrderWorkflow.report_shipment, shipment("D-1", (1, 10)))
    assert invoice.shipment_id == "D-1"

    # The operator retries: the clean write is refused again (the answer still
    # holds the NUL), so that task closes and a new one says so.
    await handle.execute_update(
        OrderWorkflow.decide,
        TaskDecision(task_id=task["task_id"], decision="retry", actor=OPERATOR),
    )

    async def retried() -> bool:
        found = await open_tasks(pool, handle.id)
        return (
            len(found) == 2 and found[0]["closed_at"] is not None and found[1]["closed_at"] is None
        )

    await eventually(retried, "the first task closed, a new one open", tries=400)
    await record_history(nul_client, handle.id, "order-read-model-defect")

    await handle.execute_update(
        OrderWorkflow.report_shipment, shipment("D-2", (1, 90), *EVERYTHING[1:])
    )
    view = await handle.result()
    assert view.status == OrderStatus.COMPLETED
