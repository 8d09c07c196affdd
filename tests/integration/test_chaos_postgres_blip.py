"""PostgreSQL killed twice under the worker while orders are in flight, some
already at the branch: no order fails, the business steps go on while the read
model is down (invoices are issued), and once PostgreSQL is back every order
completes with its whole audit trail in the read model."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from db.connection import create_pool
from sopflow.config import Settings
from tests.conftest import Simulators
from tests.integration.chaos import (
    PATIENCE,
    SHIPMENTS,
    OrderDriver,
    assert_nothing_lost_nothing_twice,
    po_number,
    seeded,
)
from tests.integration.pg_proxy import PostgresProxy
from tests.servers import api_server
from workers.main import build_worker

pytestmark = pytest.mark.integration
ORDERS = 8
BLIPS = len(SHIPMENTS)


async def poll(condition, what: str, watch: asyncio.Task[None], patience: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + patience
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        if watch.done():
            watch.result()
        await asyncio.sleep(0.1)


async def none_failed(env: WorkflowEnvironment, drivers: list[OrderDriver]) -> None:
    """Fails the test as soon as an order's workflow fails, saying why."""
    while True:
        for driver in drivers:
            handle = env.client.get_workflow_handle(driver.order_id)
            try:
                described = await handle.describe()
            except Exception:  # not started yet
                continue
            if described.status == WorkflowExecutionStatus.FAILED:
                history = await handle.fetch_history()
                failed = [
                    e.workflow_execution_failed_event_attributes.failure
                    for e in history.events
                    if e.HasField("workflow_execution_failed_event_attributes")
                ]
                raise AssertionError(f"{driver.order_id} failed: {failed}")
        await asyncio.sleep(0.5)


async def unless_failed(work, watch: asyncio.Task[None]):  # type: ignore[no-untyped-def]
    """`work`'s result, or the watcher's failure as soon as an order fails."""
    task = asyncio.ensure_future(work)
    await asyncio.wait([task, watch], return_when=asyncio.FIRST_COMPLETED)
    if watch.done():
        task.cancel()
        watch.result()
    return task.result()


async def test_orders_at_the_branch_survive_postgres_killed_twice(
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
    sims: Simulators,
    demo_keys: dict[str, str],
) -> None:
    rng = seeded("postgres blip")
    settings = it_settings.model_copy(
        update={
            "task_queue": f"pgblip-{uuid.uuid4().hex[:8]}",
            "update_wait": timedelta(seconds=3),
            "read_model_patience": timedelta(seconds=1),
            "read_model_catch_up_every": timedelta(seconds=1),
            "outage_detect_after": timedelta(seconds=4),
        }
    )
    proxy = PostgresProxy(settings.database_url or "")
    await proxy.up()
    worker_pool = await create_pool(proxy.url, min_size=1, max_size=10)
    try:
        async with (
            api_server(settings, pool, dev_server.client) as api,
            build_worker(dev_server.client, settings, worker_pool) as worker,
            worker,
        ):
            answers: list[tuple[str, int]] = []

            async def keep(response: httpx.Response) -> None:
                answers.append((response.request.url.path, response.status_code))

            api.event_hooks["response"].append(keep)
            drivers = [OrderDriver(api, demo_keys, po_number()) for _ in range(ORDERS)]
            watch = asyncio.create_task(none_failed(dev_server, drivers))
            try:
                deadline = time.monotonic() + PATIENCE
                await unless_failed(asyncio.gather(*(d._post(deadline) for d in drivers)), watch)
                # Every order at the branch: released, its pick ticket printed.
                await poll(lambda: len(sims.state.iseries.orders) >= ORDERS, "at the branch", watch)
                for n, lines in enumerate(SHIPMENTS):
                    # PostgreSQL dies; the branch ships meanwhile: each shipment
                    # is answered and invoiced while the read model is down.
                    await proxy.down()
                    shipped = [
                        d._ship(deadline, d.shipment_ids[n], lines)
                        for d in rng.sample(drivers, len(drivers))
                    ]
                    await unless_failed(asyncio.gather(*shipped), watch)
                    assert len(sims.state.iseries.invoices) == (n + 1) * ORDERS
                    await proxy.up()
                completed = (
                    d._until(deadline, lambda o: o["status"] == "completed") for d in drivers
                )
                views = await unless_failed(asyncio.gather(*completed), watch)
                client = dev_server.client
                for driver in drivers:
                    handle = client.get_workflow_handle(driver.order_id)
                    await asyncio.wait_for(handle.result(), 30)  # raises had it failed
                    described = await handle.describe()
                    assert described.status == WorkflowExecutionStatus.COMPLETED, driver.order_id
            finally:
                watch.cancel()
    finally:
        await worker_pool.close()
        await proxy.close()

    assert proxy.blips == BLIPS
    # An Update the workflow applied was never answered with an error meanwhile.
    shipments = [status for path, status in answers if path.endswith("/shipments")]
    assert shipments and not [s for s in shipments if s >= 500], shipments
    await assert_nothing_lost_nothing_twice(sims, pool, client, drivers, views)
