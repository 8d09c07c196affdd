"""The order talks back to the buyer (issue 11), over HTTP on the real dev server
with PostgreSQL, the simulators (the procurement network among them), a worker
and the API: a confirmation, a ship notice and an invoice per shipment, each
valid against the DTD, delivered once, with 4xx and 5xx handled as cXML says."""

from __future__ import annotations

import asyncio
import uuid
from decimal import ROUND_HALF_UP, Decimal

import httpx
import pytest
from lxml import etree
from temporalio.testing import WorkflowEnvironment

from domain.order.cxml_out import dtd_path
from tests.conftest import Simulators, record_history
from tests.integration.test_hold_story import complete, queue, task_in_queue
from tests.integration.test_order_e2e import post_cxml, sample, wait_for
from tests.servers import bearer
from tests.workflow.conftest import eventually

pytestmark = pytest.mark.usefixtures("worker")

POD = {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}


def po_number() -> str:
    return f"47{uuid.uuid4().int % 10**8:08d}"


async def received(sims: Simulators, po: str, count: int) -> list[dict]:
    """What the buyer's network received for the PO, once it has `count` documents."""
    for _ in range(400):
        docs = (await sims.http.get("/network/documents", params={"order_id": po})).json()
        if len(docs) >= count:
            return docs
        await asyncio.sleep(0.05)
    raise AssertionError(f"the network received {len(docs)} documents for {po}, not {count}")


def valid(xml: str) -> etree._Element:
    root = etree.fromstring(
        xml.encode(), etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)
    )
    dtd = etree.DTD(str(dtd_path()))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    return root


async def ship(api: httpx.AsyncClient, key: str, order_id: str, shipment_id: str,
               lines: list[tuple[int, int]], **extra: str) -> dict:  # fmt: skip
    resp = await api.post(
        f"/orders/{order_id}/shipments",
        json={
            "shipment_id": shipment_id,
            "lines": [{"line_number": n, "quantity": q} for n, q in lines],
            "proof_of_delivery": POD,
            **extra,
        },
        headers=bearer(key),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def documents(api: httpx.AsyncClient, key: str, order_id: str) -> list[dict]:
    resp = await api.get(f"/orders/{order_id}/documents", headers=bearer(key))
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def test_sample_order_confirmed_shipped_twice_invoiced_twice_leaves_five_documents(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    sims: Simulators,
    buyer_endpoint: str,
) -> None:
    """The issue's "Done when"."""
    (await sims.http.put("/iseries/tax-rate", json={"rate": "0.0825"})).raise_for_status()
    po = po_number()
    resp = await post_cxml(api, demo_keys["system"], sample(po))
    order_id = resp.headers["X-Order-Id"]
    await wait_for(api, demo_keys["system"], order_id, "released")
    branch = demo_keys["branch_manager"]
    first = await ship(api, branch, order_id, "RUN-1", [(1, 60), (3, 1)],
                       carrier="UPS", tracking_number="1Z999AA10123456784")  # fmt: skip
    second = await ship(api, branch, order_id, "RUN-2", [(1, 40), (2, 2)], carrier="Own truck")
    await dev_server.client.get_workflow_handle(order_id).result()  # every document delivered

    docs = await received(sims, po, 5)
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == [
        "ConfirmationRequest", "InvoiceDetailRequest", "InvoiceDetailRequest",
        "ShipNoticeRequest", "ShipNoticeRequest",
    ]  # fmt: skip
    assert all(d["deliveries"] == 1 and d["status_code"] == 200 for d in docs)
    roots = {d["payload_id"]: valid(d["xml"]) for d in docs}
    assert all(r.find("Request").get("deploymentMode") == "production" for r in roots.values())

    confirmation = next(r for r in roots.values() if r.find(".//ConfirmationHeader") is not None)
    assert confirmation.find(".//ConfirmationHeader").get("type") == "accept"
    assert confirmation.find(".//OrderReference").get("orderID") == po
    assert confirmation.find(".//OrderReference/DocumentReference").get("payloadID") == (
        "20261120093005.4500123.1@propetro.coupahost.com"
    )
    notices = {
        r.find(".//ShipNoticeHeader").get("shipmentID"): r
        for r in roots.values()
        if r.find(".//ShipNoticeHeader") is not None
    }
    assert notices["RUN-1"].find(".//ShipControl/ShipmentIdentifier").text == "1Z999AA10123456784"
    assert notices["RUN-1"].find(".//ShipNoticeHeader").get("fulfillmentType") == "partial"
    assert notices["RUN-2"].find(".//ShipNoticeHeader").get("fulfillmentType") == "complete"
    assert [
        (i.get("lineNumber"), i.get("quantity"))
        for i in notices["RUN-2"].findall(".//ShipNoticeItem")
    ] == [("1", "40"), ("2", "2")]

    # Amounts reconcile: the invoices bill the whole order at its prices, plus
    # the tax iSeries added, and each says what iSeries's invoice says.
    invoices = {
        r.find(".//InvoiceDetailRequestHeader").get("invoiceID"): r
        for r in roots.values()
        if r.find(".//InvoiceDetailRequestHeader") is not None
    }
    assert set(invoices) == {first["invoice_number"], second["invoice_number"]}
    subtotals = Decimal(0)
    for number, root in invoices.items():
        issued = first if number == first["invoice_number"] else second
        summary = root.find(".//InvoiceDetailSummary")
        subtotal = Decimal(summary.find("SubtotalAmount/Money").text)
        tax = Decimal(summary.find("Tax/Money").text)
        total = Decimal(summary.find("NetAmount/Money").text)
        assert tax == (subtotal * Decimal("0.0825")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert subtotal + tax == total == Decimal(issued["amount"])
        items = root.findall(".//InvoiceDetailItem")
        assert sum(Decimal(i.find("SubtotalAmount/Money").text) for i in items) == subtotal
        subtotals += subtotal
    assert subtotals == Decimal("522.40")  # the PO's Total

    # The order lists what it received and sent, with the buyer's answers.
    listed = await documents(api, demo_keys["account_rep"], order_id)
    assert [(d["direction"], d["kind"]) for d in listed][0] == ("received", "OrderRequest")
    sent = [d for d in listed if d["direction"] == "sent"]
    assert sorted(d["kind"] for d in sent) == kinds
    assert all((d["status"], d["answer_code"]) == ("sent", 200) for d in sent)
    one = await api.get(sent[0]["href"], headers=bearer(demo_keys["account_rep"]))
    assert one.status_code == 200 and one.headers["content-type"].startswith("text/xml")
    assert one.text == next(d["xml"] for d in docs if d["payload_id"] == sent[0]["payload_id"])
    order_request = await api.get(listed[0]["href"], headers=bearer(demo_keys["account_rep"]))
    assert "<SharedSecret>***</SharedSecret>" in order_request.text
    missing = await api.get(
        f"/orders/{order_id}/documents/nope@x", headers=bearer(demo_keys["system"])
    )
    assert missing.status_code == 404

    view = (await api.get(f"/orders/{order_id}", headers=bearer(demo_keys["system"]))).json()
    assert [d["status"] for d in view["buyer_documents"]] == ["sent"] * 5
    assert sum(1 for e in view["audit"] if e["action"] == "sent to buyer") == 5
    await record_history(dev_server.client, order_id, "order-buyer-documents-sent")


async def test_a_refused_document_is_the_reps_task_and_a_failing_buyer_is_retried(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    sims: Simulators,
    buyer_endpoint: str,
) -> None:
    # The buyer's system refuses the confirmation (and the next document it
    # gets): not retried, the rep's task.
    await sims.http.put("/network/answers", json={"code": 403, "text": "Unknown PO", "times": 2})
    po = po_number()
    resp = await post_cxml(api, demo_keys["system"], sample(po))
    order_id = resp.headers["X-Order-Id"]
    rep = demo_keys["account_rep"]
    task = await task_in_queue(api, rep, order_id, "buyer_document_refused")
    assert "Unknown PO" in task["payload"]["answer"]
    assert task["payload"]["kind"] == "ConfirmationRequest"
    assert {d["name"] for d in task["decisions"]} == {"resend", "acknowledge"}
    [refused] = await received(sims, po, 1)
    assert (refused["status_code"], refused["deliveries"]) == (403, 1)
    listed = await documents(api, rep, order_id)
    confirmation = next(d for d in listed if d["kind"] == "ConfirmationRequest")
    assert (confirmation["status"], confirmation["answer_code"], confirmation["attempts"]) == (
        "refused", 403, 1,
    )  # fmt: skip

    # The rep sends it again: a new document under a payloadID of its own (the
    # buyer answers one it has seen as it did the first time); refused too.
    done = await complete(api, rep, task, decision="resend", comment="buyer says try again")
    assert done.status_code == 200, done.text
    async def next_task() -> dict | None:
        # The read model follows the decision's answer by a moment.
        found = await queue(api, rep, order_id, "buyer_document_refused")
        return found[0] if found and found[0]["task_id"] != task["task_id"] else None

    again = await eventually(next_task, "a new task for the document refused again")
    resent = next(d for d in await received(sims, po, 2) if d["payload_id"] != refused["payload_id"])
    assert again["payload"]["payload_id"] == resent["payload_id"]
    assert (resent["kind"], resent["status_code"], resent["deliveries"]) == (
        "ConfirmationRequest", 403, 1,
    )  # fmt: skip
    done = await complete(api, rep, again, decision="acknowledge", comment="called the buyer")
    assert done.status_code == 200, done.text
    listed = await documents(api, rep, order_id)
    confirmations = [d for d in listed if d["kind"] == "ConfirmationRequest"]
    assert sorted((d["payload_id"], d["status"], d["attempts"]) for d in confirmations) == sorted(
        [(refused["payload_id"], "refused", 1), (resent["payload_id"], "refused", 1)]
    )

    # Shipments go on; the buyer's system fails twice (5xx), then takes it.
    await wait_for(api, rep, order_id, "released")
    await sims.http.put("/network/answers", json={"code": 500, "text": "Busy", "times": 2})
    await ship(api, demo_keys["branch_manager"], order_id, "ALL", [(1, 100), (2, 2), (3, 1)])
    await dev_server.client.get_workflow_handle(order_id).result()
    docs = await received(sims, po, 4)
    notice = next(d for d in docs if d["kind"] == "ShipNoticeRequest")
    assert (notice["status_code"], notice["deliveries"]) == (200, 1)
    listed = await documents(api, rep, order_id)
    sent = {d["kind"]: d for d in listed if d["direction"] == "sent"}
    assert (sent["ShipNoticeRequest"]["status"], sent["ShipNoticeRequest"]["attempts"]) == (
        "sent", 3,
    )  # fmt: skip
    view = (await api.get(f"/orders/{order_id}", headers=bearer(rep))).json()
    assert [(d["kind"], d["status"]) for d in view["buyer_documents"]] == [
        ("ConfirmationRequest", "refused"),
        ("ShipNoticeRequest", "sent"),
        ("InvoiceDetailRequest", "sent"),
    ]
    actions = [e["action"] for e in view["audit"]]
    assert actions.count("buyer document refused") == 2
    assert "buyer document resent" in actions and "buyer document acknowledged" in actions
    await record_history(dev_server.client, order_id, "order-buyer-document-refused")


async def test_test_orders_get_test_documents_and_no_endpoint_gets_none(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    sims: Simulators,
    dev_server: WorkflowEnvironment,
) -> None:
    # No endpoint registered for the account: nothing is sent, and the order says so.
    po = po_number()
    resp = await post_cxml(api, demo_keys["system"], sample(po))
    order_id = resp.headers["X-Order-Id"]
    await wait_for(api, demo_keys["system"], order_id, "released")
    for _ in range(200):
        view = (await api.get(f"/orders/{order_id}", headers=bearer(demo_keys["system"]))).json()
        if view["buyer_documents"] and view["buyer_documents"][0]["status"] != "pending":
            break
        await asyncio.sleep(0.05)
    assert [(d["kind"], d["status"]) for d in view["buyer_documents"]] == [
        ("ConfirmationRequest", "not_sent")
    ]
    note = next(e for e in view["audit"] if e["action"] == "buyer documents not sent")
    assert "401693 has no endpoint" in note["comment"]
    assert (await sims.http.get("/network/documents", params={"order_id": po})).json() == []


async def test_a_test_order_gets_test_mode_documents(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    sims: Simulators,
    buyer_endpoint: str,
) -> None:
    po = po_number()
    body = sample(po, **{'deploymentMode="production"': 'deploymentMode="test"'})
    resp = await post_cxml(api, demo_keys["system"], body)
    order_id = resp.headers["X-Order-Id"]
    [doc] = await received(sims, po, 1)
    assert doc["deployment_mode"] == "test"
    assert valid(doc["xml"]).find("Request").get("deploymentMode") == "test"
    listed = await documents(api, demo_keys["system"], order_id)
    assert [(d["direction"], d["test"]) for d in listed] == [("received", True), ("sent", True)]
