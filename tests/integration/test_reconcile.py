"""The read model against Temporal: rows of workflows that ended without a last
write are closed, rows that disagree with a running workflow are rewritten from
it, and `GET /orders/{id}` answers what Temporal says, on the real dev server
with PostgreSQL, a worker and the API."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
import pytest
from temporalio import workflow
from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.contracts import read_model as read_model_contract
from activities.contracts import reconcile as contract
from activities.contracts.reconcile import ReconcileReport, ReconcileRequest
from activities.read_model import ReadModelActivities
from activities.reconcile import ensure_schedule, reconcile
from api.orders import order_href as order_path
from api.orders import start_order as api_start_order
from db import read_model
from domain import search
from domain.identity import Role
from domain.records import HumanTask, ReadModelSync, WorkflowRecord
from sopflow.config import Settings
from sopflow.converter import DATA_CONVERTER
from tests.conftest import free_port, venv_binary
from tests.factories import NETWORK, propetro_order
from tests.servers import api_server, bearer
from workflows.reconcile import ReconcileWorkflow

pytestmark = pytest.mark.usefixtures("worker")
NOW = ReconcileRequest(min_age=timedelta(0))


async def on_hold_order(
    client: Client, settings: Settings, api: httpx.AsyncClient, key: str
) -> str:
    """An order with a PRICE hold on line 1, waiting for its rep."""
    order = propetro_order(f"R{uuid.uuid4().hex[:8]}")
    lines = list(order.lines)
    lines[0] = lines[0].model_copy(update={"unit_price": Decimal("2.10")})
    order = order.model_copy(update={"lines": lines})
    await api_start_order(client, settings, order, NETWORK, "Propetro Services")
    # Settled: the rep's ticket is open and written, nothing more happens until a person acts.
    for _ in range(300):
        resp = await api.get(order_path(order.workflow_id), headers=bearer(key))
        if resp.status_code == 200 and resp.json()["helpdesk_ticket_id"]:
            assert resp.json()["status"] == "on_hold"
            return order.workflow_id
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order.workflow_id} never went on hold: {resp.text[:300]}")


async def open_tasks(pool: asyncpg.Pool, workflow_id: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            """SELECT task_id, kind, closed_at, outcome FROM human_tasks
               WHERE workflow_id = $1 ORDER BY task_id""",
            workflow_id,
        )


async def row(pool: asyncpg.Pool, workflow_id: str) -> asyncpg.Record:
    async with pool.acquire() as conn:
        found = await read_model.get_record(conn, workflow_id)
    assert found is not None
    return found


async def test_a_terminated_order_on_hold_is_closed_with_its_tasks_by_the_reconciler(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    it_settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    client = dev_server.client
    order_id = await on_hold_order(client, it_settings, api, demo_keys["account_rep"])
    assert [t["kind"] for t in await open_tasks(pool, order_id)] == ["resolve_hold_price"]

    handle = client.get_workflow_handle(order_id)
    await handle.terminate(reason="operator: duplicate of a phoned-in order")
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.TERMINATED

    # A row written moments ago is left alone: its workflow may still be writing.
    await reconcile(pool, client, ReconcileRequest(min_age=timedelta(minutes=10)))
    assert (await row(pool, order_id))["closed_at"] is None

    report = await reconcile(pool, client, NOW)
    assert report.closed >= 1 and report.checked >= 1

    closed = await row(pool, order_id)
    assert closed["status"] == "terminated"
    assert closed["closed_at"] == described.close_time
    assert closed["view"]["status"] == "terminated"
    assert closed["assignee"] is None
    tasks = await open_tasks(pool, order_id)
    assert [(t["kind"], t["outcome"]) for t in tasks] == [
        ("resolve_hold_price", "workflow terminated")
    ]
    assert tasks[0]["closed_at"] is not None
    async with pool.acquire() as conn:
        trail = await read_model.audit_trail(conn, order_id)
    last = trail[-1]
    assert (last["actor"], last["action"], last["from_status"], last["to_status"]) == (
        "reconciler",
        "reconciled",
        "on_hold",
        "terminated",
    )
    assert "TERMINATED" in last["comment"]

    # The rep's queue no longer lists it, and a second pass changes nothing.
    queue = await api.get(
        "/tasks", params={"workflow_id": order_id}, headers=bearer(demo_keys["account_rep"])
    )
    assert order_id not in {t["workflow_id"] for t in queue.json()["items"]}
    again = await reconcile(pool, client, ReconcileRequest(workflow_id=order_id))
    assert again == ReconcileReport(checked=1)
    async with pool.acquire() as conn:
        assert len(await read_model.audit_trail(conn, order_id)) == len(trail)


async def test_get_order_shows_a_terminated_order_before_any_scheduled_run(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    it_settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    rep = demo_keys["account_rep"]
    order_id = await on_hold_order(dev_server.client, it_settings, api, rep)
    await dev_server.client.get_workflow_handle(order_id).terminate(reason="operator")

    resp = await api.get(order_path(order_id), headers=bearer(rep))
    assert resp.status_code == 200, resp.text
    view = resp.json()
    assert view["status"] == "terminated"
    assert view["audit"][-1]["actor"] == "reconciler"
    assert [t["outcome"] for t in await open_tasks(pool, order_id)] == ["workflow terminated"]
    listed = await api.get(
        "/orders", params={"account": "401693", "status": "terminated"}, headers=bearer(rep)
    )
    assert order_id in [o["order_id"] for o in listed.json()["items"]]


async def test_sopflow_reconcile_prints_what_it_did(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    it_settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    order_id = await on_hold_order(dev_server.client, it_settings, api, demo_keys["account_rep"])
    await dev_server.client.get_workflow_handle(order_id).terminate(reason="operator")

    proc = await asyncio.create_subprocess_exec(
        venv_binary("sopflow"),
        "reconcile",
        "--workflow-id",
        order_id,
        env={
            **os.environ,
            "DATABASE_URL": it_settings.database_url or "",
            "TEMPORAL_ADDRESS": it_settings.temporal_target,
            "SOPFLOW_LOG_LEVEL": "WARNING",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    assert "reconciled: checked 1, closed 1, refreshed 0" in out.decode()
    assert (await row(pool, order_id))["status"] == "terminated"


async def test_an_unreachable_temporal_leaves_the_read_model_as_it_is(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    it_settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    rep = demo_keys["account_rep"]
    order_id = await on_hold_order(dev_server.client, it_settings, api, rep)
    await dev_server.client.get_workflow_handle(order_id).terminate(reason="operator")
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}", data_converter=DATA_CONVERTER, lazy=True
    )

    report = await asyncio.wait_for(reconcile(pool, nowhere, NOW), timeout=30)
    assert report.errors == 1 and report.closed == 0 and report.refreshed == 0
    assert (await row(pool, order_id))["closed_at"] is None
    assert [t["outcome"] for t in await open_tasks(pool, order_id)] == [None]

    # A reader still gets the row, quickly.
    async with api_server(it_settings, pool, nowhere) as cut_off:
        resp = await asyncio.wait_for(cut_off.get(order_path(order_id), headers=bearer(rep)), 10)
    assert resp.status_code == 200 and resp.json()["status"] == "on_hold"


async def test_a_running_order_whose_row_was_changed_is_answered_and_refreshed_from_temporal(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    it_settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    rep = demo_keys["account_rep"]
    order_id = await on_hold_order(dev_server.client, it_settings, api, rep)
    async with pool.acquire() as conn:
        await conn.execute(
            """UPDATE workflow_records SET status = 'completed',
                   view = jsonb_set(view, '{status}', '"completed"')
               WHERE workflow_id = $1""",
            order_id,
        )
        await conn.execute(
            "UPDATE human_tasks SET closed_at = now(), outcome = 'lost' WHERE workflow_id = $1",
            order_id,
        )

    # The reader gets the workflow's state, not the row's.
    resp = await api.get(order_path(order_id), headers=bearer(rep))
    assert resp.json()["status"] == "on_hold"

    report = await reconcile(pool, dev_server.client, ReconcileRequest(workflow_id=order_id))
    assert report == ReconcileReport(checked=1, refreshed=1)
    fixed = await row(pool, order_id)
    assert (fixed["status"], fixed["view"]["status"], fixed["closed_at"]) == (
        "on_hold",
        "on_hold",
        None,
    )
    assert [(t["kind"], t["outcome"]) for t in await open_tasks(pool, order_id)] == [
        ("resolve_hold_price", None)
    ]
    queue = await api.get("/tasks", params={"workflow_id": order_id}, headers=bearer(rep))
    assert order_id in {t["workflow_id"] for t in queue.json()["items"]}
    await dev_server.client.get_workflow_handle(order_id).terminate(reason="test done")


# A workflow whose read-model writes can be lost on demand, answering the same
# snapshot query as every SOP workflow.
@workflow.defn(name="ReconcileProbe")
class ProbeWorkflow:
    def __init__(self) -> None:
        self.status = "on_hold"
        self.revision = 0
        self.tasks = ["first"]
        self.closed_at: datetime | None = None

    @workflow.run
    async def run(self) -> None:
        self.created_at = workflow.now()
        workflow.upsert_search_attributes([search.ORDER_STATUS.value_set(self.status)])
        await self.sync()
        await workflow.wait_condition(lambda: self.closed_at is not None)

    @workflow.signal
    def move(self, status: str) -> None:
        """A move whose read-model write is lost."""
        self.status, self.tasks = status, ["second"]
        self.revision += 1
        workflow.upsert_search_attributes([search.ORDER_STATUS.value_set(status)])

    @workflow.signal
    def finish(self) -> None:
        """The last move; its write is lost too."""
        self.move("completed")
        self.tasks, self.closed_at = [], workflow.now()

    @workflow.query(name=contract.SNAPSHOT_QUERY)
    def snapshot(self) -> ReadModelSync:
        info = workflow.info()
        return ReadModelSync(
            record=WorkflowRecord(
                workflow_id=info.workflow_id,
                kind="order",
                status=self.status,
                revision=self.revision,
                run_id=info.run_id,
                created_at=self.created_at,
                updated_at=workflow.now(),
                closed_at=self.closed_at,
                view={"status": self.status},
            ),
            open_tasks=[
                HumanTask(
                    task_id=f"{info.workflow_id}:{name}",
                    workflow_id=info.workflow_id,
                    kind=name,
                    role=Role.ACCOUNT_REP,
                    opened_at=self.created_at,
                )
                for name in self.tasks
            ],
        )

    async def sync(self) -> None:
        self.revision += 1
        await workflow.execute_local_activity(
            read_model_contract.SYNC.name,
            self.snapshot(),
            start_to_close_timeout=timedelta(seconds=5),
        )


@pytest.fixture
async def probe(dev_server: WorkflowEnvironment, pool: asyncpg.Pool) -> WorkflowHandle:
    queue = f"probe-{uuid.uuid4().hex[:6]}"
    async with Worker(
        dev_server.client,
        task_queue=queue,
        workflows=[ProbeWorkflow],
        activities=[ReadModelActivities(pool).sync],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await dev_server.client.start_workflow(
            ProbeWorkflow.run, id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        for _ in range(100):
            async with pool.acquire() as conn:
                if await read_model.get_record(conn, handle.id):
                    break
            await asyncio.sleep(0.05)
        yield handle
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate(reason="test done")


async def test_a_move_whose_write_was_lost_is_caught_up_from_the_workflow(
    probe: WorkflowHandle, dev_server: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    await probe.signal(ProbeWorkflow.move, "released")
    for _ in range(100):
        described = await probe.describe()
        if described.typed_search_attributes.get(search.ORDER_STATUS) == "released":
            break
        await asyncio.sleep(0.05)
    assert (await row(pool, probe.id))["status"] == "on_hold"

    report = await reconcile(pool, dev_server.client, ReconcileRequest(workflow_id=probe.id))
    assert report == ReconcileReport(checked=1, refreshed=1)
    fixed = await row(pool, probe.id)
    assert (fixed["status"], fixed["view"], fixed["run_id"]) == (
        "released",
        {"status": "released"},
        described.run_id,
    )
    tasks = await open_tasks(pool, probe.id)
    assert [(t["kind"], t["outcome"]) for t in tasks] == [
        ("first", "no longer open in the workflow"),
        ("second", None),
    ]
    # Agreeing now: nothing more to do.
    again = await reconcile(pool, dev_server.client, ReconcileRequest(workflow_id=probe.id))
    assert again == ReconcileReport(checked=1)


async def test_a_row_of_another_run_is_rewritten_from_the_running_one(
    probe: WorkflowHandle, dev_server: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    # As after a reset: the row describes a run that is no more, with a later stamp.
    async with pool.acquire() as conn:
        await conn.execute(
            """UPDATE workflow_records SET run_id = 'an-old-run', revision = 40,
                   updated_at = updated_at + interval '1 hour'
               WHERE workflow_id = $1""",
            probe.id,
        )
    report = await reconcile(pool, dev_server.client, ReconcileRequest(workflow_id=probe.id))
    assert report == ReconcileReport(checked=1, refreshed=1)
    fixed = await row(pool, probe.id)
    assert fixed["run_id"] == (await probe.describe()).run_id and fixed["revision"] < 40


async def test_the_worker_keeps_one_schedule_at_the_configured_interval(
    dev_server: WorkflowEnvironment, it_settings: Settings
) -> None:
    client = dev_server.client
    await ensure_schedule(client, task_queue=it_settings.task_queue, every=timedelta(minutes=5))
    await ensure_schedule(client, task_queue=it_settings.task_queue, every=timedelta(minutes=5))
    handle = client.get_schedule_handle(contract.SCHEDULE_ID)
    try:
        await handle.pause(note="operator: maintenance")
        await ensure_schedule(client, task_queue=it_settings.task_queue, every=timedelta(minutes=7))
        described = await handle.describe()
        schedule = described.schedule
        assert [i.every for i in schedule.spec.intervals] == [timedelta(minutes=7)]
        assert isinstance(schedule.action, ScheduleActionStartWorkflow)
        assert schedule.action.workflow == contract.WORKFLOW_NAME
        assert schedule.action.task_queue == it_settings.task_queue
        assert schedule.state.paused  # an operator's pause survives a worker start
    finally:
        await handle.delete()


async def test_the_scheduled_workflow_runs_the_reconciler(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    it_settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    order_id = await on_hold_order(dev_server.client, it_settings, api, demo_keys["account_rep"])
    await dev_server.client.get_workflow_handle(order_id).terminate(reason="operator")
    report = await dev_server.client.execute_workflow(
        ReconcileWorkflow.run,
        ReconcileRequest(workflow_id=order_id),
        id=f"reconcile-test-{uuid.uuid4().hex[:6]}",
        task_queue=it_settings.task_queue,
    )
    assert report == ReconcileReport(checked=1, closed=1)
    assert (await row(pool, order_id))["status"] == "terminated"


async def test_a_workflow_that_completed_without_its_last_write_gets_its_own_final_state(
    probe: WorkflowHandle, dev_server: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    await probe.signal(ProbeWorkflow.finish)
    await probe.result()
    described = await probe.describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED
    assert (await row(pool, probe.id))["closed_at"] is None

    report = await reconcile(pool, dev_server.client, NOW)
    assert report.closed >= 1
    fixed = await row(pool, probe.id)
    assert (fixed["status"], fixed["view"]) == ("completed", {"status": "completed"})
    assert fixed["closed_at"] is not None
    assert [t["outcome"] for t in await open_tasks(pool, probe.id)] == ["workflow completed"]
    async with pool.acquire() as conn:
        trail = await read_model.audit_trail(conn, probe.id)
    assert "reconciler" not in {a["actor"] for a in trail}  # the workflow had its last word
