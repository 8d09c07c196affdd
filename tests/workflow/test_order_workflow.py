"""The order workflow on the time-skipping test server, with the real activities
against the simulators and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import asyncpg
import pytest
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)

from api.orders import OrderAccepted
from api.orders import start_order as api_start_order
from db import read_model
from domain.order.models import HoldCode, OrderStatus, OrderView
from sopflow.config import Settings
from tests.conftest import Simulators
from tests.factories import EVERYTHING, NETWORK, REP, propetro_order, shipment
from tests.workflow.conftest import activity_attempted, eventually, start_order, wait_for_status
from workflows.order import OrderWorkflow


async def test_valid_order_runs_to_completion_with_one_oms_order_and_an_invoice_per_shipment(
    client: Client, settings: Settings, sims: Simulators, pool: asyncpg.Pool
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)

    first = await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", (1, 60)))
    assert first.amount == Decimal("141.00")
    second = await handle.execute_update(
        OrderWorkflow.report_shipment, shipment("RUN-2", (1, 40), (2, 2), (3, 1))
    )
    assert second.amount == Decimal("94.00") + Decimal("98.40") + Decimal("189.00")

    result = await handle.result()
    assert result.status == OrderStatus.COMPLETED
    assert [i.invoice_number for i in result.invoices] == [
        first.invoice_number,
        second.invoice_number,
    ]
    assert result.pick_ticket_id and result.branch_id == "BR-ODS"
    assert len(await sims.oms_orders(handle.id)) == 1
    # one entry per change: the last shipment takes the order straight to completed
    # (No endpoint for the account in these tests: the order notes no documents went out.)
    assert [
        (a.action, a.to_status) for a in result.audit if a.action != "buyer documents not sent"
    ] == [
        ("received", "received"), ("confirmed", "confirmed"), ("released", "released"),
        ("shipped", "partially_shipped"), ("shipped", "completed"),
    ]  # fmt: skip
    async with pool.acquire() as conn:
        record = await read_model.get_record(conn, handle.id)
        trail = await read_model.audit_trail(conn, handle.id)
    assert record["status"] == "completed"
    assert [r["action"] for r in trail] == [a.action for a in result.audit]


async def test_shipments_that_do_not_fit_the_order_are_refused_without_touching_history(
    client: Client, settings: Settings
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)

    refusals = {
        "InvalidShipment": shipment("RUN-1", (1, 101)),
        "Forbidden": shipment("RUN-1", (1, 1), actor=REP),
    }
    for expected, report in refusals.items():
        with pytest.raises(WorkflowUpdateFailedError) as failed:
            await handle.execute_update(OrderWorkflow.report_shipment, report)
        assert failed.value.cause.type == expected
    unknown_line = shipment("RUN-1", (9, 1))
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(OrderWorkflow.report_shipment, unknown_line)
    assert "line 9 is not on the order" in str(failed.value.cause)

    history = await handle.fetch_history()
    assert not [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]

    # The same report twice gets the same invoice; other content under that id is a conflict.
    invoice = await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", (1, 10)))
    again = await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", (1, 10)))
    assert again == invoice
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", (1, 20)))
    assert failed.value.cause.type == "ShipmentConflict"
    view = await handle.query(OrderWorkflow.view)
    assert view.delivered == {1: Decimal(10)}


async def test_a_shipment_signal_from_a_system_feed_completes_the_order(
    client: Client, settings: Settings
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    await handle.signal(OrderWorkflow.shipment_reported, shipment("FEED-1", (1, 500)))
    await handle.signal(OrderWorkflow.shipment_reported, shipment("FEED-2", *EVERYTHING))
    result = await handle.result()
    assert result.status == OrderStatus.COMPLETED
    assert [s.shipment_id for s in result.shipments] == ["FEED-2"]
    refused = [a for a in result.audit if a.action == "shipment refused"]
    assert len(refused) == 1 and "only 100 remains" in refused[0].comment


async def test_an_order_that_fails_validation_waits_on_hold_with_its_holds_listed(
    client: Client, settings: Settings, sims: Simulators, pool: asyncpg.Pool
) -> None:
    order = propetro_order()
    lines = list(order.lines)
    lines[0] = lines[0].model_copy(update={"unit_price": Decimal("2.10")})
    lines[2] = lines[2].model_copy(update={"supplier_part_id": "NOPE-1"})
    handle = await start_order(client, settings, lines=lines)
    await wait_for_status(handle, OrderStatus.ON_HOLD)

    view = await handle.query(OrderWorkflow.view)
    assert {(h.code, h.line_number) for h in view.holds} == {
        (HoldCode.PRICE, 1),
        (HoldCode.PART, 3),
    }
    oms = await sims.oms_orders(handle.id)
    assert [o["status"] for o in oms] == ["draft"]
    async with pool.acquire() as conn:
        tasks = await conn.fetch(
            "SELECT kind, assignee, due_at FROM human_tasks WHERE workflow_id = $1 ORDER BY kind DESC",
            handle.id,
        )
    assert [(t["kind"], t["assignee"]) for t in tasks] == [
        ("resolve_hold_price", "maria.lopez"),
        ("resolve_hold_part", "maria.lopez"),
    ]
    assert all(t["due_at"] == view.sla_due_at for t in tasks)
    assert view.sla_due_at - view.received_at == timedelta(minutes=120)
    # The CSC inbox hears of it and the rep gets a helpdesk ticket.
    [mail, *_] = await eventually(sims.emails, "an email to the CSC inbox")
    assert "PRICE" in mail["subject"]


async def test_an_oms_outage_delays_the_order_but_loses_nothing(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    await sims.fault("oms", down=True)
    handle = await start_order(client, settings)
    # OMS refused the order and the workflow is trying again: still received.
    await activity_attempted(client, handle, "oms.create_order", attempts=2)
    assert (await handle.query(OrderWorkflow.view)).status == OrderStatus.RECEIVED
    await sims.fault("oms", down=False)
    await wait_for_status(handle, OrderStatus.RELEASED)
    assert len(await sims.oms_orders(handle.id)) == 1


async def test_a_shipment_signal_from_someone_without_the_role_is_refused(
    client: Client, settings: Settings
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    await handle.signal(OrderWorkflow.shipment_reported, shipment("FEED-1", *EVERYTHING, actor=REP))

    async def refused() -> OrderView | None:
        view = await handle.query(OrderWorkflow.view)
        return view if view.audit[-1].action == "shipment refused" else None

    view = await eventually(refused, "the shipment refused in the audit")
    assert view.audit[-1].actor == "maria.lopez" and "branch_manager" in view.audit[-1].comment
    assert view.shipments == [] and view.status == OrderStatus.RELEASED


async def test_concurrent_shipments_are_all_invoiced_and_audited_in_order(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    reports = [
        shipment("RUN-1", (1, 50)),
        shipment("RUN-2", (1, 50), (2, 2)),
        shipment("RUN-3", (3, 1)),
    ]
    invoices = await asyncio.gather(
        *(handle.execute_update(OrderWorkflow.report_shipment, r) for r in reports)
    )
    assert len({i.invoice_number for i in invoices}) == 3
    result = await handle.result()
    assert result.status == OrderStatus.COMPLETED
    async with pool.acquire() as conn:
        trail = await read_model.audit_trail(conn, handle.id)
    assert [(r["action"], r["comment"]) for r in trail] == [
        (a.action, a.comment) for a in result.audit
    ]


async def test_a_shipment_the_invoicing_system_refuses_is_not_counted(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    await sims.reset()  # iSeries forgets the order: invoicing is refused for good
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING))
    assert failed.value.cause.type == "InvoiceRefused"
    view = await handle.query(OrderWorkflow.view)
    assert view.status == OrderStatus.RELEASED and view.shipments == [] and view.delivered == {}
    # (Last but for the note that no buyer documents went out, which may come later.)
    last = [a for a in view.audit if a.action != "buyer documents not sent"][-1]
    assert last.action == "shipment refused"
    # The same report again is refused again rather than waiting forever.
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING))


async def test_an_order_a_system_refuses_for_good_ends_failed_and_says_why(
    client: Client, settings: Settings, sims: Simulators, pool: asyncpg.Pool
) -> None:
    await sims.fault("iseries", down=True)
    handle = await start_order(client, settings)

    async def released_in_oms() -> list[dict]:
        return [o for o in await sims.oms_orders(handle.id) if o["status"] == "released"]

    # OMS has released it; iSeries is down for the pick ticket.
    await eventually(released_in_oms, "the order released in OMS")
    await sims.reset()  # iSeries comes back without the order
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    view = await handle.query(OrderWorkflow.view)
    assert view.status == OrderStatus.FAILED
    assert "not found" in view.audit[-1].comment
    async with pool.acquire() as conn:
        assert (await read_model.get_record(conn, handle.id))["status"] == "failed"

    # Sent again, the failed order starts over and the read model follows the new run.
    again = await start_order_like_the_api(client, settings, handle.id)
    assert again.created
    await wait_for_status(client.get_workflow_handle(handle.id), OrderStatus.RELEASED)

    async def read_model_released() -> bool:
        async with pool.acquire() as conn:
            return (await read_model.get_record(conn, handle.id))["status"] == "released"

    await eventually(read_model_released, "the read model following the new run")


async def start_order_like_the_api(
    client: Client, settings: Settings, order_id: str
) -> OrderAccepted:
    po = order_id.removeprefix("order-401693-")
    return await api_start_order(client, settings, propetro_order(po), NETWORK, "Propetro Services")
