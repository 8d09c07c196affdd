"""The procurement-network simulator (the buyer's side of the documents we send)
and the client that posts to it: what is taken, what is answered, what is a
refusal and what is worth retrying."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.network import NetworkClient
from domain.order import buyer_documents as bd
from domain.order.buyer_documents import BuyerDocument, DocumentKind
from domain.order.cxml import parse_order_request, sample_order_request
from domain.order.cxml_out import Parties, Party, render
from simulators.app import create_app

PARTIES = Parties(
    supplier=Party(domain="DUNS", identity="123456789"),
    buyer=Party(domain="NetworkID", identity="AN01000401693"),
)


def confirmation(event: str = "confirmation") -> str:
    po = parse_order_request(sample_order_request()).to_purchase_order("401693")
    doc = BuyerDocument(
        payload_id=bd.payload_id(f"order-401693-4500123:run:{event}"),
        kind=DocumentKind.CONFIRMATION,
        event=event,
        order_id=po.workflow_id,
        account_number="401693",
        po_number=po.po_number,
        order_payload_id=po.payload_id,
        currency="USD",
        created_at=datetime(2026, 11, 20, tzinfo=UTC),
        confirmation=bd.confirmation(po, po),
    )
    return render(doc, PARTIES)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        yield client


async def post(http: httpx.AsyncClient, xml: str) -> tuple[int, int, str]:
    """(HTTP status, cXML Status code, text)."""
    resp = await http.post("/network/cxml", content=xml, headers={"Content-Type": "text/xml"})
    status = resp.text.split('<Status code="')[1]
    return resp.status_code, int(status[:3]), status.split('text="')[1].split('"')[0]


async def documents(http: httpx.AsyncClient, **params: str) -> list[dict]:
    return (await http.get("/network/documents", params=params)).json()


async def test_a_document_is_taken_once_and_a_resend_answered_the_same(http) -> None:
    xml = confirmation()
    assert await post(http, xml) == (200, 200, "OK")
    assert await post(http, xml) == (200, 200, "OK")
    [doc] = await documents(http, order_id="4500123")
    assert (doc["kind"], doc["deliveries"], doc["deployment_mode"]) == (
        "ConfirmationRequest", 2, "production",
    )  # fmt: skip
    assert await documents(http, order_id="other") == []


async def test_told_answers_4xx_then_5xx_then_ok(http) -> None:
    await http.put("/network/answers", json={"code": 403, "text": "Unknown PO", "times": 1})
    refused = confirmation("a")
    assert await post(http, refused) == (200, 403, "Unknown PO")
    # A resend of the refused document is answered as it was: refused.
    assert await post(http, refused) == (200, 403, "Unknown PO")

    await http.put("/network/answers", json={"code": 503, "times": 2})
    busy = confirmation("b")
    assert (await post(http, busy))[:2] == (500, 503)
    assert (await post(http, busy))[:2] == (500, 503)
    assert await post(http, busy) == (200, 200, "OK")  # taken on the third try, once
    docs = {d["payload_id"]: d for d in await documents(http)}
    assert [d["status_code"] for d in docs.values()] == [403, 200]


async def test_a_document_invalid_against_the_dtd_is_not_acceptable(http) -> None:
    invalid = confirmation().replace("<OrderReference", "<OrderRef").replace(
        "</OrderReference>", "</OrderRef>"
    )
    code = await post(http, invalid)
    assert code[:2] == (200, 406)
    assert (await post(http, "<cXML"))[:2] == (200, 406)
    assert await documents(http) == []


async def test_fault_injection_applies_to_the_network(http) -> None:
    await http.put("/_faults/network", json={"down": True})
    resp = await http.post("/network/cxml", content=confirmation())
    assert resp.status_code == 503


async def test_the_client_reads_cxml_answers_and_retries_what_is_not_one(http) -> None:
    transport = http._transport  # the simulator, in process
    client = NetworkClient("http://sim/network", transport=transport)
    assert await client.post_cxml("http://sim/network/cxml", confirmation()) == (200, "OK")
    await http.put("/network/answers", json={"code": 401, "text": "Who?", "times": 1})
    assert await client.post_cxml("http://sim/network/cxml", confirmation("x")) == (401, "Who?")
    # An answer that is not cXML (a fault page, a 404 from the wrong URL) is a
    # transport error: retryable, never taken as the buyer's "no".
    await http.put("/_faults/network", json={"down": True})
    with pytest.raises(ApplicationError) as err:
        await client.post_cxml("http://sim/network/cxml", confirmation("y"))
    assert not err.value.non_retryable and err.value.type == "SystemUnavailable"
    await http.put("/_faults/network", json={"down": False})
    with pytest.raises(ApplicationError) as err:
        await client.post_cxml("http://sim/nowhere", confirmation("y"))
    assert not err.value.non_retryable
    await client.close()


def test_a_document_the_order_gave_up_on_is_listed_undelivered() -> None:
    assert bd.listed_status("retrying", "undelivered") == "undelivered"
    assert bd.listed_status("pending", "undelivered") == "undelivered"
    # The buyer's last word stands otherwise (a late 2xx, a 4xx, nothing decided yet).
    assert bd.listed_status("sent", "undelivered") == "sent"
    assert bd.listed_status("refused", "refused") == "refused"
    assert bd.listed_status("retrying", None) == "retrying"
