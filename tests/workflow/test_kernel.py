"""What the workflow kernel gives every SOP workflow, shown on orders: tasks that
close, a read model that is closed on cancel and never stalls a workflow, an
outage told from a refusal, notifications that never fail the order,
continue-as-new with the whole state, and keys that make a resend a new order."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from db import read_model
from db.connection import create_pool
from domain.order.models import OrderStatus
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.factories import EVERYTHING, propetro_order, shipment
from tests.workflow.conftest import eventually, start_order, wait_for_status
from workers.main import build_worker
from workflows.order import OrderWorkflow


def priced_wrong() -> dict[str, object]:
    lines = list(propetro_order().lines)
    lines[0] = lines[0].model_copy(update={"unit_price": Decimal("2.10")})
    return {"lines": lines}


async def row(pool: asyncpg.Pool, workflow_id: str) -> asyncpg.Record:
    async with pool.acquire() as conn:
        return await read_model.get_record(conn, workflow_id)


async def tasks(pool: asyncpg.Pool, workflow_id: str) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT task_id, closed_at, outcome FROM human_tasks WHERE workflow_id = $1",
            workflow_id,
        )


async def test_an_on_hold_order_shows_its_ticket_and_every_outbound_step_in_its_trail(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    handle = await start_order(client, settings, **priced_wrong())

    async def ticket_in_read_model() -> bool:
        record = await row(pool, handle.id)
        return bool(record and record["view"]["helpdesk_ticket_id"])

    await eventually(ticket_in_read_model, "the read model shows the helpdesk ticket")
    async with pool.acquire() as conn:
        trail = [r["action"] for r in await read_model.audit_trail(conn, handle.id)]
    assert trail == ["received", "held", "task routed", "csc notified", "ticket opened"]


async def test_a_cancelled_order_leaves_its_row_and_tasks_closed(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    handle = await start_order(client, settings, **priced_wrong())
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    assert [t["closed_at"] for t in await eventually(lambda: tasks(pool, handle.id), "a task")] == [
        None
    ]

    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    await record_history(client, handle.id, "order-cancelled-on-hold")

    record = await row(pool, handle.id)
    assert record["status"] == "cancelled" and record["closed_at"] is not None
    assert [(t["closed_at"] is not None, t["outcome"]) for t in await tasks(pool, handle.id)] == [
        (True, "workflow cancelled")
    ]
    async with pool.acquire() as conn:
        assert (await read_model.audit_trail(conn, handle.id))[-1]["action"] == "cancelled"

    # Sent again, the order waits on hold again, with a task of its own in the queue.
    again = await start_order(
        client, settings, handle.id.removeprefix("order-401693-"), **priced_wrong()
    )
    await wait_for_status(again, OrderStatus.ON_HOLD)

    async def open_again() -> list[asyncpg.Record]:
        return [t for t in await tasks(pool, handle.id) if t["closed_at"] is None]

    assert len(await eventually(open_again, "the new run's task is open")) == 1
    assert len(await tasks(pool, handle.id)) == 2


async def test_an_order_cancelled_while_a_system_is_down_ends_cancelled(
    client: Client, settings: Settings, sims: Simulators, pool: asyncpg.Pool
) -> None:
    await sims.fault("oms", down=True)
    handle = await start_order(client, settings)

    async def oms_tried() -> bool:
        history = await handle.fetch_history()
        return any(e.HasField("activity_task_started_event_attributes") for e in history.events)

    await eventually(oms_tried, "the OMS call is under way")
    await handle.cancel()
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    record = await row(pool, handle.id)
    assert record["status"] == "cancelled" and record["closed_at"] is not None


async def test_a_notification_that_fails_for_good_is_recorded_and_the_order_goes_on(
    env: WorkflowEnvironment, client: Client, settings: Settings, sims: Simulators
) -> None:
    await sims.fault("email", down=True)
    handle = await start_order(client, settings, **priced_wrong())
    await env.sleep(timedelta(minutes=15))  # the email's retries run out

    async def ticket_opened() -> object:
        view = await handle.query(OrderWorkflow.view)
        return view if view.helpdesk_ticket_id else None

    view = await eventually(ticket_opened, "the ticket after the failed email", tries=400)
    assert view.status == OrderStatus.ON_HOLD
    failed = [a for a in view.audit if a.action == "notification failed"]
    assert len(failed) == 1 and "CSC inbox" in failed[0].comment
    await handle.terminate()
    await record_history(client, handle.id, "order-on-hold-email-failed")


async def test_an_outage_is_waited_out_visibly(
    env: WorkflowEnvironment, client: Client, settings: Settings, sims: Simulators
) -> None:
    await sims.fault("oms", down=True)
    handle = await start_order(client, settings, policy={"outage_after": timedelta(seconds=2)})

    async def waiting() -> object:
        view = await handle.query(OrderWorkflow.view)
        return view if view.waiting_on and view.incident_id else None

    view = await eventually(waiting, "the order says it waits on OMS", tries=400)
    # It waits in the OMS's incident (issue 7), and says so.
    assert view.waiting_on == "sterling_oms" and view.status == OrderStatus.WAITING_ON_SYSTEM
    assert view.incident_id and view.incident_id.startswith("incident-sterling_oms-")
    assert [a.action for a in view.audit][-2:] == ["waiting on system", "joined incident"]

    await sims.fault("oms", down=False)
    await env.sleep(timedelta(seconds=35))  # the incident's next probe finds it back
    await wait_for_status(handle, OrderStatus.RELEASED)
    view = await handle.query(OrderWorkflow.view)
    assert view.waiting_on is None
    assert [a.action for a in view.audit].count("system answered") == 1
    assert len(await sims.oms_orders(handle.id)) == 1
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING))
    await handle.result()
    await record_history(client, handle.id, "order-oms-outage-waited-out")


async def test_a_failed_order_resent_with_corrected_content_completes(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    await sims.fault("iseries", down=True)
    handle = await start_order(client, settings)

    async def released_in_oms() -> bool:
        return any(o["status"] == "released" for o in await sims.oms_orders(handle.id))

    await eventually(released_in_oms, "OMS released the order")
    await sims.reset()  # iSeries comes back without the order: a refusal for good
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    await record_history(client, handle.id, "order-failed-refused")

    corrected = propetro_order(handle.id.removeprefix("order-401693-"))
    lines = list(corrected.lines)
    lines[0] = lines[0].model_copy(update={"quantity": Decimal(90)})
    again = await start_order(client, settings, corrected.po_number, lines=lines)
    await wait_for_status(again, OrderStatus.RELEASED)
    await again.execute_update(
        OrderWorkflow.report_shipment, shipment("RUN-1", (1, 90), (2, 2), (3, 1))
    )
    assert (await again.result()).status == OrderStatus.COMPLETED
    await record_history(client, again.id, "order-resent-after-failure")


async def test_continue_as_new_carries_the_whole_order(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    # Past the ~40 events an order makes up to the branch, so it continues as new
    # among the shipments below (and not while the test waits for the release).
    started = await start_order(client, settings, policy={"history_limit": 55})
    # Not pinned to the first run: every call goes to the latest one.
    handle = client.get_workflow_handle_for(OrderWorkflow.run, started.id)
    await wait_for_status(handle, OrderStatus.RELEASED)
    first_run = (await handle.describe()).run_id
    for n, lines in enumerate([((1, 10),), ((1, 20),), ((1, 30),), ((1, 40), (2, 2), (3, 1))]):
        await handle.execute_update(OrderWorkflow.report_shipment, shipment(f"RUN-{n}", *lines))
    result = await handle.result()  # follows the runs continue-as-new made

    assert result.status == OrderStatus.COMPLETED
    assert (await client.get_workflow_handle(handle.id).describe()).run_id != first_run
    assert [i.shipment_id for i in result.invoices] == ["RUN-0", "RUN-1", "RUN-2", "RUN-3"]
    actions = [a.action for a in result.audit]
    assert actions[0] == "received" and "continued as new" in actions
    async with pool.acquire() as conn:
        trail = await read_model.audit_trail(conn, handle.id)
    assert [r["action"] for r in trail] == actions
    await record_history(client, handle.id, "order-continued-as-new-first-run", first_run)
    await record_history(client, handle.id, "order-continued-as-new-last-run")


class PausableProxy:
    """A loopback TCP proxy in front of PostgreSQL that can stop passing bytes,
    the way a paused or partitioned database looks to its clients."""

    def __init__(self, database_url: str) -> None:
        parts = urlsplit(database_url)
        socket_dir = parse_qs(parts.query).get("host", [None])[0]
        self.unix_path = f"{socket_dir}/.s.PGSQL.{parts.port or 5432}" if socket_dir else None
        self.target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self.user = parts.username or "postgres"
        self.database = parts.path.lstrip("/")
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"postgresql://{self.user}@127.0.0.1:{port}/{self.database}"

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.unix_path:
            up_reader, up_writer = await asyncio.open_unix_connection(self.unix_path)
        else:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
        writer.close()

    async def close(self) -> None:
        self.flowing.set()
        if self.server:
            self.server.close()


@pytest.fixture
async def paused_db_client(
    env, settings: Settings, database_url: str, sims: Simulators
) -> AsyncIterator[tuple[Client, PausableProxy]]:  # type: ignore[no-untyped-def]
    proxy = PausableProxy(database_url)
    await proxy.start()
    proxied = await create_pool(proxy.url, max_size=4)
    try:
        async with build_worker(env.client, settings, proxied) as worker, worker:
            yield env.client, proxy
    finally:
        proxy.flowing.set()
        proxied.terminate()
        await proxy.close()


async def test_a_paused_database_does_not_stall_a_persons_update(
    paused_db_client: tuple[Client, PausableProxy], settings: Settings, pool: asyncpg.Pool
) -> None:
    client, proxy = paused_db_client
    handle = await start_order(
        client,
        settings,
        f"PG{uuid.uuid4().hex[:6]}",
        policy={"sync_patience": timedelta(seconds=1), "sync_catch_up_every": timedelta(seconds=1)},
    )
    await wait_for_status(handle, OrderStatus.RELEASED)

    proxy.flowing.clear()
    invoice = await asyncio.wait_for(
        handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", (1, 10))),
        timeout=30,
    )
    assert invoice.amount == Decimal("23.50")
    assert (await row(pool, handle.id))["status"] == "released"  # the read model lags

    proxy.flowing.set()

    async def caught_up() -> bool:
        return (await row(pool, handle.id))["status"] == "partially_shipped"

    await eventually(caught_up, "the read model catches up", tries=600)
    await handle.execute_update(
        OrderWorkflow.report_shipment, shipment("RUN-2", (1, 90), *EVERYTHING[1:])
    )
    await handle.result()

    async def closed() -> bool:
        return (await row(pool, handle.id))["closed_at"] is not None

    await eventually(closed, "the final write")
