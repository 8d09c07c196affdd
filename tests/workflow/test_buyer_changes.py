"""The buyer changes a PO on hold (its lines replaced, re-validated, holds and
tasks following, OMS's draft updated) or withdraws it (cancelled in OMS, tasks
closed, ticket resolved, the order ends cancelled); neither once it has shipped."""

from __future__ import annotations

from decimal import Decimal

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from domain.order.models import (
    BuyerCancel,
    BuyerChange,
    HoldCode,
    OrderLine,
    OrderStatus,
    PurchaseOrder,
)
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.factories import NETWORK, REP, shipment
from tests.workflow.conftest import start_order, wait_for_status
from tests.workflow.test_holds import decide, open_tasks, task_of, with_lines
from workflows.order import OrderWorkflow


def changed(order: PurchaseOrder, payload_id: str, *lines: OrderLine) -> BuyerChange:
    return BuyerChange(
        actor=NETWORK,
        order=order.model_copy(update={"lines": list(lines), "payload_id": payload_id}),
    )


async def test_a_change_replaces_the_lines_keeps_fixes_of_unchanged_lines_and_moves_tasks(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(
        client,
        settings,
        **with_lines(line1={"unit_price": Decimal("2.10")}, line3={"supplier_part_id": "NOPE-1"}),
    )
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    # The rep maps line 3's part; line 1's price still holds the order.
    await decide(handle, await task_of(handle, "resolve_hold_part"), "map_part", part_id="PV-3300")
    sent = (await handle.query(OrderWorkflow.view)).order
    line1, line2, line3 = sent.lines

    # The buyer corrects line 1's price and adds a line with an unknown part.
    line4 = OrderLine(
        line_number=4, supplier_part_id="NOPE-9", quantity=Decimal(5), uom="EA", unit_price=1
    )
    change = changed(
        sent,
        "p-change-1",
        line1.model_copy(update={"unit_price": Decimal("2.35")}),
        line2,
        line3,
        line4,
    )
    result = await handle.execute_update(OrderWorkflow.change_order, change)
    assert result.applied and result.status == OrderStatus.ON_HOLD
    # Line 3 was sent again unchanged: the rep's mapping stands.
    assert [(h.code, h.line_number) for h in result.holds] == [(HoldCode.PART, 4)]

    tasks = await open_tasks(handle)
    assert [(t.kind, t.payload["line_number"]) for t in tasks] == [("resolve_hold_part", 4)]
    oms = (await sims.oms_orders(handle.id))[0]
    assert oms["status"] == "draft"
    assert [(ln["line_number"], ln["part_id"], ln["unit_price"]) for ln in oms["lines"]] == [
        (1, "HX-1001", "2.35"), (2, "GS-2040", "49.20"), (3, "PV-3300", "189.00"),
        (4, "NOPE-9", "1"),
    ]  # fmt: skip
    view = await handle.query(OrderWorkflow.view)
    assert len(view.order.lines) == 4 and view.order.payload_id == "p-change-1"
    audit = [a for a in view.audit if a.action == "order changed"]
    assert len(audit) == 1 and audit[0].actor == NETWORK.person_id
    assert "payload p-change-1" in audit[0].comment and "line 1 changed" in audit[0].comment

    # The same document again: answered, not applied twice.
    again = await handle.execute_update(OrderWorkflow.change_order, change)
    assert not again.applied and again.holds == result.holds
    view = await handle.query(OrderWorkflow.view)
    assert [a.action for a in view.audit].count("order changed") == 1

    # A second change drops line 4: no hold is left and the order goes on.
    fixed = changed(view.order, "p-change-2", *view.order.lines[:3])
    result = await handle.execute_update(OrderWorkflow.change_order, fixed)
    assert result.holds == []
    await wait_for_status(handle, OrderStatus.RELEASED)
    assert [o["status"] for o in await sims.oms_orders(handle.id)] == ["released"]
    assert await open_tasks(handle) == []

    # Released: the branch has the pick ticket; a change is refused.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            OrderWorkflow.change_order, changed(view.order, "p-change-3", line1)
        )
    assert refused.value.cause.type == "InvalidState"
    assert "released to branch BR-ODS" in refused.value.cause.message
    await record_history(client, handle.id, "order-changed-by-buyer")


async def test_a_change_with_new_holds_reopens_tasks_and_keeps_the_order_on_hold(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(
        client, settings, **with_lines(line1={"unit_price": Decimal("2.10")})
    )
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    await decide(handle, await task_of(handle, "resolve_hold_price"), "escalate", comment="?")
    await task_of(handle, "price_escalation")
    sent = (await handle.query(OrderWorkflow.view)).order
    line1, line2, line3 = sent.lines
    # Line 1 changes (its escalation goes with it), line 3 gets a unit it is not sold in.
    change = changed(
        sent,
        "p-change-1",
        line1.model_copy(update={"quantity": Decimal(200)}),
        line2,
        line3.model_copy(update={"uom": "ZZ"}),
    )
    result = await handle.execute_update(OrderWorkflow.change_order, change)
    assert result.status == OrderStatus.ON_HOLD
    assert {(h.code, h.line_number) for h in result.holds} == {
        (HoldCode.PRICE, 1), (HoldCode.UOM, 3),
    }  # fmt: skip
    kinds = sorted(t.kind for t in await open_tasks(handle))
    assert kinds == ["resolve_hold_price", "resolve_hold_uom"]  # the rep's again


async def test_a_cancel_on_hold_cancels_in_oms_closes_tasks_and_resolves_the_ticket(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(
        client, settings, **with_lines(line1={"unit_price": Decimal("2.10")})
    )
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    await task_of(handle, "resolve_hold_price")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            OrderWorkflow.cancel_order, BuyerCancel(actor=REP, payload_id="p-del-1")
        )
    assert refused.value.cause.type == "Forbidden"

    result = await handle.execute_update(
        OrderWorkflow.cancel_order, BuyerCancel(actor=NETWORK, payload_id="p-del-1")
    )
    assert result.status == OrderStatus.CANCELLED
    view = await handle.result()
    assert view.status == OrderStatus.CANCELLED and view.holds == []
    assert [o["status"] for o in await sims.oms_orders(handle.id)] == ["cancelled"]
    assert sims.state.helpdesk.tickets[view.helpdesk_ticket_id].status == 4  # Resolved
    assert await open_tasks(handle) == []
    # (Then the buyer's confirmation, telling it so: workflows/order_documents.py.)
    cancelled = next(e for e in view.audit if e.action == "cancelled")
    assert (cancelled.actor, cancelled.to_status) == (NETWORK.person_id, "cancelled")
    assert "payload p-del-1" in cancelled.comment
    await record_history(client, handle.id, "order-cancelled-by-buyer-on-hold")


async def test_a_released_order_may_be_cancelled_until_it_ships(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    result = await handle.execute_update(
        OrderWorkflow.cancel_order, BuyerCancel(actor=NETWORK, payload_id="p-del-1")
    )
    assert result.status == OrderStatus.CANCELLED
    assert (await handle.result()).status == OrderStatus.CANCELLED
    assert [o["status"] for o in await sims.oms_orders(handle.id)] == ["cancelled"]
    await record_history(client, handle.id, "order-cancelled-by-buyer-released")


async def test_nothing_changes_or_cancels_once_shipped(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", (1, 60)))
    sent = (await handle.query(OrderWorkflow.view)).order

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            OrderWorkflow.cancel_order, BuyerCancel(actor=NETWORK, payload_id="p-del-1")
        )
    assert refused.value.cause.type == "InvalidState"
    assert refused.value.cause.message.startswith("already shipped")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            OrderWorkflow.change_order, changed(sent, "p-change-1", sent.lines[0])
        )
    assert refused.value.cause.message.startswith("already shipped")
    assert [o["status"] for o in await sims.oms_orders(handle.id)] == ["released"]
    view = await handle.query(OrderWorkflow.view)
    assert view.status == OrderStatus.PARTIALLY_SHIPPED and len(view.order.lines) == 3
