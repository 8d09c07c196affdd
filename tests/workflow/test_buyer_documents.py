"""What the buyer hears from the order (workflows/order_documents.py), on the
time-skipping server with the real activities and the network simulator: a
`detail` confirmation when people changed a price, a `reject` when the order is
cancelled or refused, and a document the buyer's system never takes within the
order's patience becoming the rep's task (resent once the buyer is back)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from lxml import etree
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from domain.order.cxml_out import dtd_path
from domain.order.models import BuyerCancel, BuyerDocumentView, OrderStatus
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.factories import EVERYTHING, NETWORK, shipment
from tests.workflow.conftest import eventually, start_order, wait_for_status
from tests.workflow.test_holds import LEAD, decide, open_tasks, task_of, with_lines
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.usefixtures("buyer_endpoint")


def received(sims: Simulators, po: str) -> list[tuple[str, etree._Element]]:
    """(kind, the document validated against the DTD) for each the buyer took."""
    dtd = etree.DTD(str(dtd_path()))
    found = []
    for doc in sims.state.network.documents.values():
        if doc.order_id == po:
            root = etree.fromstring(doc.xml.encode(), etree.XMLParser(no_network=True))
            assert dtd.validate(root), dtd.error_log.filter_from_errors()
            found.append((doc.kind, root))
    return found


def confirmation_types(sims: Simulators, po: str) -> list[str]:
    return [
        root.find(".//ConfirmationHeader").get("type")
        for kind, root in received(sims, po)
        if kind == "ConfirmationRequest"
    ]


async def test_a_price_the_team_lead_set_is_confirmed_in_detail(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(
        client, settings, **with_lines(line1={"unit_price": Decimal("2.10")})
    )
    po = handle.id.removeprefix("order-401693-")
    await decide(handle, await task_of(handle, "resolve_hold_price"), "escalate", comment="2.10?")
    lead_task = await task_of(handle, "price_escalation")
    await decide(handle, lead_task, "set_price", actor=LEAD, unit_price="2.20", comment="split")
    await wait_for_status(handle, OrderStatus.RELEASED)

    async def confirmed() -> list:
        return received(sims, po)

    [(kind, root)] = await eventually(confirmed, "the confirmation at the buyer")
    header = root.find(".//ConfirmationHeader")
    assert (kind, header.get("type")) == ("ConfirmationRequest", "detail")
    [item] = root.findall(".//ConfirmationItem")
    assert item.get("lineNumber") == "1"
    assert item.find("ConfirmationStatus/UnitPrice/Money").text == "2.20"
    # The total confirmed: line 1 at the team lead's price, the rest as ordered.
    assert Decimal(header.find("Total/Money").text) == Decimal("220.00") + Decimal("98.40") + 189
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING))
    await handle.result()
    assert sorted(k for k, _ in received(sims, po)) == [
        "ConfirmationRequest", "InvoiceDetailRequest", "ShipNoticeRequest",
    ]  # fmt: skip
    await record_history(client, handle.id, "order-buyer-documents-detail")


async def test_a_cancelled_order_is_rejected_to_the_buyer(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings)
    po = handle.id.removeprefix("order-401693-")
    await wait_for_status(handle, OrderStatus.RELEASED)
    await handle.execute_update(
        OrderWorkflow.cancel_order, BuyerCancel(actor=NETWORK, payload_id="p-del-1")
    )
    view = await handle.result()
    assert view.status == OrderStatus.CANCELLED
    assert confirmation_types(sims, po) == ["accept", "reject"]
    reject = [r for k, r in received(sims, po) if k == "ConfirmationRequest"][1]
    assert reject.find(".//ConfirmationHeader/Comments").text == "cancelled by the buyer"
    await record_history(client, handle.id, "order-buyer-documents-cancelled")


async def test_an_order_refused_for_good_is_rejected_to_the_buyer(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    await sims.fault("iseries", down=True)
    handle = await start_order(client, settings)
    po = handle.id.removeprefix("order-401693-")

    async def released_in_oms() -> bool:
        return any(o["status"] == "released" for o in await sims.oms_orders(handle.id))

    await eventually(released_in_oms, "OMS released the order")
    documents = dict(sims.state.network.documents)
    await sims.reset()  # iSeries comes back without the order: a refusal for good
    sims.state.network.documents.update(documents)  # the buyer keeps what it had
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    assert confirmation_types(sims, po) == ["accept", "reject"]
    reject = [r for k, r in received(sims, po) if k == "ConfirmationRequest"][1]
    assert "iseries refused the order" in reject.find(".//ConfirmationHeader/Comments").text
    await record_history(client, handle.id, "order-buyer-documents-refused-order")


async def test_an_undelivered_document_is_the_reps_task_and_resent(
    env: WorkflowEnvironment, client: Client, settings: Settings, sims: Simulators
) -> None:
    await sims.fault("network", down=True)
    handle = await start_order(
        client, settings, policy={"buyer_document_patience": timedelta(minutes=10)}
    )
    po = handle.id.removeprefix("order-401693-")
    await wait_for_status(handle, OrderStatus.RELEASED)
    await env.sleep(timedelta(minutes=11))
    task = await task_of(handle, "buyer_document_undelivered")
    assert task.role == "account_rep" and task.due_at is not None
    assert task.payload["kind"] == "ConfirmationRequest"
    assert "no answer within 0:10:00" in task.payload["answer"]
    view = await handle.query(OrderWorkflow.view)
    assert [(d.kind, d.status) for d in view.buyer_documents] == [
        ("ConfirmationRequest", "undelivered")
    ]
    assert received(sims, po) == []

    # Shipped meanwhile (the buyer's system is back): the order does not end
    # while the rep has not decided on the undelivered confirmation.
    await sims.fault("network", down=False)
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING))

    # Both sent before the rep decides.
    await eventually(lambda: _is_invoiced(sims, po), "the invoice at the buyer")
    assert (await handle.describe()).status.name == "RUNNING"
    await decide(handle, task, "resend", comment="their endpoint is back")
    view = await handle.result()
    assert [(d.kind, d.status) for d in view.buyer_documents] == [
        ("ConfirmationRequest", "sent"),
        ("ShipNoticeRequest", "sent"),
        ("InvoiceDetailRequest", "sent"),
    ]
    assert await open_tasks(handle) == []
    assert [k for k, _ in received(sims, po)] == [
        "ShipNoticeRequest", "InvoiceDetailRequest", "ConfirmationRequest",
    ]  # fmt: skip
    await record_history(client, handle.id, "order-buyer-document-undelivered-resent")


async def _is_invoiced(sims: Simulators, po: str) -> bool:
    return any(k == "InvoiceDetailRequest" for k, _ in received(sims, po))


async def test_a_refused_document_resent_is_a_new_document_the_buyer_takes(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    # The buyer says no to the next two documents, then yes: the rep resends
    # twice, and each resend goes under a payloadID of its own (a buyer answers
    # a payloadID it has seen with its first answer, so the same one never could).
    answers = {"code": 403, "text": "Unknown PO", "times": 2}
    (await sims.http.put("/network/answers", json=answers)).raise_for_status()
    handle = await start_order(client, settings)
    po = handle.id.removeprefix("order-401693-")
    first = await task_of(handle, "buyer_document_refused")
    await decide(handle, first, "resend", comment="buyer set the PO up")
    second = await eventually(
        lambda: _refused_task_other_than(handle, first.task_id), "the resend refused too"
    )
    assert second.payload["payload_id"] != first.payload["payload_id"]
    assert second.payload["answer"].endswith("Unknown PO")
    await decide(handle, second, "resend", comment="buyer fixed it now")

    async def sent() -> BuyerDocumentView | None:
        [confirmation] = (await handle.query(OrderWorkflow.view)).buyer_documents
        return confirmation if confirmation.status == "sent" else None

    confirmation = await eventually(sent, "the order's confirmation sent")
    assert confirmation.kind == "ConfirmationRequest"
    taken = sorted(
        (d.status_code, d.deliveries, d.payload_id)
        for d in sims.state.network.documents.values()
        if d.order_id == po
    )
    assert [(code, deliveries) for code, deliveries, _ in taken] == [(200, 1), (403, 1), (403, 1)]
    assert len({payload for *_, payload in taken}) == 3
    assert confirmation.payload_id == next(p for code, _, p in taken if code == 200)
    assert await open_tasks(handle) == []
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING))
    await handle.result()
    await record_history(client, handle.id, "order-buyer-document-refused-resent-as-new")


async def _refused_task_other_than(handle, task_id: str):  # type: ignore[no-untyped-def]
    return next(
        (t for t in await open_tasks(handle)
         if t.kind == "buyer_document_refused" and t.task_id != task_id),
        None,
    )  # fmt: skip
