"""A PO sent again after its workflow failed (here: ended from Temporal after
the orders were made, as a database blip used to fail them) never makes a
second live order: the same content carries on from the OMS and iSeries orders
that exist, other content changes the OMS draft or is refused once OMS has
confirmed it, and a cancelled OMS order leaves room for a new one."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle

from domain.order.models import OrderStatus, OrderView
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.workflow.conftest import start_order, wait_for_status
from tests.workflow.test_holds import with_lines
from workflows.order import OrderWorkflow


def new_po() -> str:
    return f"R{uuid.uuid4().hex[:8]}"


async def failed_at(handle: WorkflowHandle, status: OrderStatus) -> OrderView:
    """The order once it reached `status`, then ended for good without finishing."""
    await wait_for_status(handle, status)
    view = await handle.query(OrderWorkflow.view)
    await handle.terminate("failed (a PostgreSQL blip, before issue 17)")
    return view


async def iseries_orders(sims: Simulators, po: str) -> list[str]:
    found = await sims.http.get("/iseries/orders", params={"po_number": po})
    return [o["iseries_order_id"] for o in found.raise_for_status().json()]


async def pick_tickets(sims: Simulators, iseries_order_id: str) -> list[str]:
    found = await sims.http.get(
        "/iseries/pick-tickets", params={"iseries_order_id": iseries_order_id}
    )
    return [t["pick_ticket_id"] for t in found.raise_for_status().json()]


async def test_the_same_po_resent_carries_on_from_the_orders_that_exist(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    po = new_po()
    before = await failed_at(await start_order(client, settings, po), OrderStatus.RELEASED)
    (iseries_order,) = await iseries_orders(sims, po)

    again = await start_order(client, settings, po)
    await wait_for_status(again, OrderStatus.RELEASED)
    view = await again.query(OrderWorkflow.view)
    assert view.oms_order_id == before.oms_order_id
    assert [o["oms_order_id"] for o in await sims.oms_orders(again.id)] == [before.oms_order_id]
    assert await iseries_orders(sims, po) == [iseries_order]
    assert (
        await pick_tickets(sims, iseries_order) == [before.pick_ticket_id] == [view.pick_ticket_id]
    )
    assert "found in oms" in [a.action for a in view.audit]
    await record_history(client, again.id, "order-resent-found-in-oms")


async def test_a_resent_po_with_other_content_changes_the_oms_draft(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    po = new_po()
    held = with_lines(line1={"unit_price": Decimal("2.10")})  # a PRICE hold: OMS keeps a draft
    before = await failed_at(await start_order(client, settings, po, **held), OrderStatus.ON_HOLD)

    again = await start_order(client, settings, po)  # the buyer's price corrected
    await wait_for_status(again, OrderStatus.RELEASED)
    (oms_order,) = await sims.oms_orders(again.id)
    assert oms_order["oms_order_id"] == before.oms_order_id
    assert oms_order["status"] == "released"
    assert Decimal(oms_order["lines"][0]["unit_price"]) == Decimal("2.35")
    assert len(await iseries_orders(sims, po)) == 1


async def test_a_resent_po_with_other_content_once_released_is_refused(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    po = new_po()
    await failed_at(await start_order(client, settings, po), OrderStatus.RELEASED)

    again = await start_order(client, settings, po, **with_lines(line1={"quantity": Decimal(90)}))
    with pytest.raises(WorkflowFailureError):
        await again.result()
    view = await again.query(OrderWorkflow.view)
    assert view.status == OrderStatus.FAILED
    assert "customer service center" in view.audit[-1].comment
    assert len(await sims.oms_orders(again.id)) == 1 and len(await iseries_orders(sims, po)) == 1


async def test_a_resent_po_whose_oms_order_was_cancelled_is_a_new_order(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    po = new_po()
    before = await failed_at(await start_order(client, settings, po), OrderStatus.RELEASED)
    assert before.oms_order_id
    # The CSC cancelled it in OMS.
    cancelled = await sims.http.post(
        f"/oms/orders/{before.oms_order_id}/cancel", headers={"Idempotency-Key": po}
    )
    cancelled.raise_for_status()

    again = await start_order(client, settings, po)
    await wait_for_status(again, OrderStatus.RELEASED)
    view = await again.query(OrderWorkflow.view)
    assert view.oms_order_id != before.oms_order_id
    live = [o for o in await sims.oms_orders(again.id) if o["status"] != "cancelled"]
    assert [o["oms_order_id"] for o in live] == [view.oms_order_id]
