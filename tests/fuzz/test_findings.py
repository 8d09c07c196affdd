"""What the workflow fuzzer found, each kept as a regular test (docs/fuzzing.md)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from domain.order.models import BuyerCancel, OrderStatus
from sopflow.config import Settings
from sopflow.converter import INVALID_START
from tests.conftest import Simulators
from tests.factories import NETWORK, propetro_order, start
from tests.fuzz.harness import Bridge, Fixtures, Stack, history_problems, update
from tests.fuzz.order_machine import MANAGER, OUTAGE_AFTER
from workflows.order import OrderWorkflow


@pytest.fixture
async def stack(settings: Settings, pool: asyncpg.Pool, sims: Simulators) -> Stack:
    stack = Stack(Fixtures(Bridge(asyncio.get_running_loop()), settings, pool, sims))
    await stack.start()
    yield stack
    await stack.stop()


async def until(check, what: str, tries: int = 200):  # type: ignore[no-untyped-def]
    for _ in range(tries):
        if found := await check():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def entered_in_iseries(stack: Stack) -> WorkflowHandle:
    """An order that OMS's outage sent to the branch through iSeries."""
    await stack.fx.sims.fault("oms", down=True)
    order = propetro_order(f"F{uuid.uuid4().hex[:8]}")
    handle = await stack.client.start_workflow(
        OrderWorkflow.run,
        start(order, outage_after=OUTAGE_AFTER),
        id=order.workflow_id,
        task_queue=stack.settings.task_queue,
    )
    await stack.env.sleep(OUTAGE_AFTER + timedelta(seconds=15))

    async def joined() -> object:
        view = await handle.query(OrderWorkflow.view)
        return view if view.incident_id else None

    view = await until(joined, "the order joins the OMS incident")
    incident = stack.client.get_workflow_handle("incident-sterling_oms")
    approve = {"actor": MANAGER, "incident_id": view.incident_id, "orders": [handle.id],
               "comment": "the branch needs it today"}  # fmt: skip
    assert (await update(incident, "approve_fallback", approve, "approve")).accepted
    await stack.env.sleep(OUTAGE_AFTER + timedelta(seconds=15))

    async def released() -> object:
        view = await handle.query(OrderWorkflow.view)
        return view if view.status == OrderStatus.RELEASED else None

    view = await until(released, "entered in iSeries, at the branch")
    assert view.oms_order_id is None and view.iseries_fallback.iseries_order_id
    return handle


async def test_the_buyers_cancel_of_an_order_entered_in_iseries_is_carried_out(
    stack: Stack,
) -> None:
    """SOPFLOW_FUZZ_SEED=17, OrderInIseriesMachine's first example: with the old
    `assert st.oms_order_id` in `cancel_order` the workflow task failed again and
    again and the buyer never had an answer."""
    handle = await entered_in_iseries(stack)
    cancel = BuyerCancel(actor=NETWORK, payload_id="p-cancel-0")
    answer = await update(handle, "cancel_order", cancel, "cancel")
    assert answer.accepted, answer
    assert answer.result["status"] == OrderStatus.CANCELLED
    assert await history_problems(stack.client, handle.id) == []
    (entered,) = [
        o for o in stack.fx.sims.state.iseries.orders.values() if o.external_ref == handle.id
    ]
    assert entered.cancelled_at is not None


async def test_an_order_started_with_text_its_models_refuse_fails_with_the_reason(
    stack: Stack,
) -> None:
    """The edge refuses a NUL in a PO's comments; started straight through
    Temporal (another door, a script, a future importer), the order's start
    input used to fail to decode in its first workflow task, again and again.
    Now the run fails at once, saying which field its model refused."""
    order = propetro_order(f"F{uuid.uuid4().hex[:8]}").model_copy(update={"comments": "a\x00b"})
    handle = await stack.client.start_workflow(
        OrderWorkflow.run, start(order), id=order.workflow_id,
        task_queue=stack.settings.task_queue,
    )  # fmt: skip

    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), timeout=30)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == INVALID_START
    assert "comments" in cause.message and cause.non_retryable
    assert await history_problems(stack.client, handle.id) == []
