"""OMS answering 30% of calls with an error and the rest after 2 s: 50 orders
all complete, each created in OMS exactly once."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.conftest import Simulators
from tests.integration.chaos import (
    OrderDriver,
    assert_nothing_lost_nothing_twice,
    po_number,
    seeded,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]
ORDERS = 50


async def oms_attempts(env: WorkflowEnvironment, order_id: str) -> list[int]:
    """The attempt number of each OMS call the order's workflow made."""
    history = await env.client.get_workflow_handle(order_id).fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    return [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and scheduled[e.activity_task_started_event_attributes.scheduled_event_id].startswith("oms.")
    ]


async def test_fifty_orders_complete_through_a_flaky_slow_oms(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    sims: Simulators,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
) -> None:
    rng = seeded("flaky OMS")
    sims.state.rng.seed(rng.randrange(10**9))  # which OMS calls fail
    await sims.fault("oms", error_rate=0.3, latency_ms=2000)
    drivers = [OrderDriver(api, demo_keys, po_number()) for _ in range(ORDERS)]

    try:
        views = await asyncio.gather(*(d.run() for d in drivers))
    finally:
        await sims.fault("oms")  # later tests share the simulators
    await assert_nothing_lost_nothing_twice(sims, pool, dev_server.client, drivers, views)
    # The faults were real: OMS calls failed and were tried again.
    attempts = [a for d in drivers for a in await oms_attempts(dev_server, d.order_id)]
    assert max(attempts) > 1 and len(attempts) >= 2 * ORDERS
