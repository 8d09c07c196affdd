"""The simulator app over HTTP (in process, no network)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from simulators.app import create_app
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]

HELPDESK_AUTH = ("sim-helpdesk-key", "X")


def order_body(**overrides):
    body = {
        "external_ref": "order-401693-PO1",
        "account_number": "401693",
        "po_number": "PO1",
        "branch_id": "B12",
        "currency": "USD",
        "status": "draft",
        "lines": [
            {
                "line_number": 1,
                "part_id": "P-1",
                "pool_id": "POOL-A",
                "uom": "EA",
                "quantity": "3",
                "unit_price": "1.255",
            },
            {
                "line_number": 2,
                "part_id": "P-2",
                "pool_id": "POOL-A",
                "uom": "BX",
                "quantity": "2",
                "unit_price": "10.00",
            },
        ],
        "test": False,
    }
    body.update(overrides)
    return body


@pytest.fixture
def app():
    return create_app(seed=1)


@pytest.fixture
async def http(app):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        yield client


async def create_order(http, key="k1", **overrides):
    return await http.post(
        "/oms/orders", json=order_body(**overrides), headers={"Idempotency-Key": key}
    )


async def post(http, path, key, json=None):
    return await http.post(path, json=json, headers={"Idempotency-Key": key})


async def test_health(http):
    assert (await http.get("/health")).json() == {"status": "ok"}


async def test_oms_create_is_idempotent_per_key(http):
    first = await create_order(http)
    again = await create_order(http)
    other = await create_order(http, key="k2")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["oms_order_id"] == again.json()["oms_order_id"] == "OMS-000001"
    assert other.json()["oms_order_id"] == "OMS-000002"
    # Money travels as decimal strings, unchanged.
    assert first.json()["lines"][0]["unit_price"] == "1.255"
    listed = (await http.get("/oms/orders", params={"external_ref": "order-401693-PO1"})).json()
    assert len(listed) == 2
    assert (await http.get("/oms/orders", params={"external_ref": "nope"})).json() == []


async def test_oms_key_reused_with_other_body_is_refused(http):
    await create_order(http)
    conflict = await create_order(http, status="confirmed")
    assert conflict.status_code == 409
    assert "different request" in conflict.json()["detail"]
    assert len((await http.get("/oms/orders")).json()) == 1


async def test_oms_create_needs_an_idempotency_key(http):
    response = await http.post("/oms/orders", json=order_body())
    assert response.status_code == 400
    assert (await http.get("/oms/orders")).json() == []


async def test_oms_release_flow_creates_the_iseries_order_once(http):
    oms_id = (await create_order(http)).json()["oms_order_id"]
    refused = await post(http, f"/oms/orders/{oms_id}/release", "release-1")
    assert refused.status_code == 409 and "draft" in refused.json()["detail"]

    for key in ("confirm-1", "confirm-1", "confirm-2"):
        confirmed = await post(http, f"/oms/orders/{oms_id}/confirm", key)
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    # The refused release made nothing, so its key is free for the try that works.
    first = await post(http, f"/oms/orders/{oms_id}/release", "release-1")
    again = await post(http, f"/oms/orders/{oms_id}/release", "release-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["status"] == "released"
    assert first.json()["iseries_order_id"].startswith("ISO-")
    # Another key for an order already released: the same iSeries order, not a second.
    other_key = await post(http, f"/oms/orders/{oms_id}/release", "release-2")
    assert other_key.json() == first.json()

    pushed = (await http.get(f"/iseries/orders/{first.json()['iseries_order_id']}")).json()
    assert pushed["oms_order_id"] == oms_id and pushed["source"] == "oms"
    assert pushed["branch_id"] == "B12" and len(pushed["lines"]) == 2
    assert len((await http.get("/iseries/orders")).json()) == 1
    assert (await http.get(f"/oms/orders/{oms_id}")).json()["status"] == "released"


async def test_oms_cancel_is_idempotent_and_a_cancelled_order_stays_as_it_is(http):
    oms_id = (await create_order(http)).json()["oms_order_id"]
    first = await post(http, f"/oms/orders/{oms_id}/cancel", "cancel-1")
    again = await post(http, f"/oms/orders/{oms_id}/cancel", "cancel-1")
    other_key = await post(http, f"/oms/orders/{oms_id}/cancel", "cancel-2")
    assert first.status_code == again.status_code == other_key.status_code == 200
    assert first.json()["status"] == other_key.json()["status"] == "cancelled"
    assert (await http.post(f"/oms/orders/{oms_id}/cancel")).status_code == 400  # no key
    for path in ("confirm", "release"):
        refused = await post(http, f"/oms/orders/{oms_id}/{path}", f"{path}-1")
        assert refused.status_code == 409 and "cancelled" in refused.json()["detail"]
    patched = await http.patch(f"/oms/orders/{oms_id}", json={"branch_id": "BR-X"})
    assert patched.status_code == 409
    assert (await post(http, "/oms/orders/OMS-999999/cancel", "cancel-3")).status_code == 404


async def test_oms_release_and_confirm_need_an_idempotency_key(http):
    oms_id = (await create_order(http)).json()["oms_order_id"]
    no_key = await http.post(f"/oms/orders/{oms_id}/confirm")
    assert no_key.status_code == 400 and "Idempotency-Key" in no_key.json()["detail"]
    assert (await http.get(f"/oms/orders/{oms_id}")).json()["status"] == "draft"
    await post(http, f"/oms/orders/{oms_id}/confirm", "confirm-1")
    assert (await http.post(f"/oms/orders/{oms_id}/release")).status_code == 400
    assert (await http.get(f"/oms/orders/{oms_id}")).json()["status"] == "confirmed"
    assert (await http.get("/iseries/orders")).json() == []


async def test_oms_release_key_reused_for_another_request_is_refused(http):
    first = (await create_order(http, key="c1", status="confirmed")).json()["oms_order_id"]
    second = (await create_order(http, key="c2", status="confirmed")).json()["oms_order_id"]
    released = await post(http, f"/oms/orders/{first}/release", "release-1")
    assert released.status_code == 200

    # The same key for another order's release, or for another operation.
    for path in (f"/oms/orders/{second}/release", f"/oms/orders/{first}/confirm"):
        reused = await post(http, path, "release-1")
        assert reused.status_code == 409
        assert reused.json()["detail"] == (
            "Idempotency-Key 'release-1' already used with a different request"
        )
    assert (await http.get(f"/oms/orders/{second}")).json()["status"] == "confirmed"
    assert len((await http.get("/iseries/orders")).json()) == 1


async def test_oms_patch_changes_lines_and_reaches_iseries_once_released(http):
    oms_id = (await create_order(http, status="confirmed")).json()["oms_order_id"]
    iso = (await post(http, f"/oms/orders/{oms_id}/release", "r1")).json()["iseries_order_id"]
    new_lines = order_body()["lines"][:1]
    patched = await http.patch(f"/oms/orders/{oms_id}", json={"lines": new_lines})
    assert patched.status_code == 200
    assert len(patched.json()["lines"]) == 1 and patched.json()["branch_id"] == "B12"
    assert len((await http.get(f"/iseries/orders/{iso}")).json()["lines"]) == 1
    assert (await http.patch("/oms/orders/OMS-999999", json={})).status_code == 404


def unresolved_lines():
    # Line 2 as the buyer sent it: their part number, no pool.
    lines = order_body()["lines"]
    lines[1] = {**lines[1], "part_id": "PP-MYSTERY", "pool_id": "", "resolved": False}
    return lines


async def test_oms_keeps_a_draft_with_unresolved_lines_but_never_confirms_one(http):
    created = await create_order(http, lines=unresolved_lines(), branch_id=None)
    assert created.status_code == 201
    draft = created.json()
    assert draft["status"] == "draft"
    assert [(ln["part_id"], ln["resolved"]) for ln in draft["lines"]] == [
        ("P-1", True),
        ("PP-MYSTERY", False),
    ]
    refused = await post(http, f"/oms/orders/{draft['oms_order_id']}/confirm", "c1")
    assert refused.status_code == 409 and "line 2 (PP-MYSTERY)" in refused.json()["detail"]
    assert (await http.get(f"/oms/orders/{draft['oms_order_id']}")).json()["status"] == "draft"
    # Once the line is resolved on the draft, the order confirms.
    fixed = order_body()["lines"]
    patched = await http.patch(f"/oms/orders/{draft['oms_order_id']}", json={"lines": fixed})
    assert patched.status_code == 200
    confirmed = await post(http, f"/oms/orders/{draft['oms_order_id']}/confirm", "c2")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"


async def test_oms_refuses_a_confirmed_order_or_edit_with_unresolved_lines(http):
    refused = await create_order(http, status="confirmed", lines=unresolved_lines())
    assert refused.status_code == 422 and "unresolved" in refused.json()["detail"]
    assert (await http.get("/oms/orders")).json() == []
    oms_id = (await create_order(http, key="k2", status="confirmed")).json()["oms_order_id"]
    edit = await http.patch(f"/oms/orders/{oms_id}", json={"lines": unresolved_lines()})
    assert edit.status_code == 409 and "line 2 (PP-MYSTERY)" in edit.json()["detail"]
    assert all(ln["resolved"] for ln in (await http.get(f"/oms/orders/{oms_id}")).json()["lines"])


async def test_release_without_branch_is_refused(http):
    oms_id = (await create_order(http, status="confirmed", branch_id=None)).json()["oms_order_id"]
    response = await post(http, f"/oms/orders/{oms_id}/release", "r1")
    assert response.status_code == 409 and "branch" in response.json()["detail"]


async def test_iseries_direct_entry_pick_ticket_and_invoices(http):
    body = order_body()
    del body["status"]
    headers = {"Idempotency-Key": "direct-1"}
    created = await http.post("/iseries/orders", json=body, headers=headers)
    assert created.status_code == 201
    iso = created.json()["iseries_order_id"]
    assert (await http.post("/iseries/orders", json=body, headers=headers)).json()[
        "iseries_order_id"
    ] == iso
    assert created.json()["source"] == "direct"

    pick = {"iseries_order_id": iso, "branch_id": "B12"}
    ticket = await post(http, "/iseries/pick-tickets", "pick-1", pick)
    again = await post(http, "/iseries/pick-tickets", "pick-1", pick)
    assert ticket.status_code == 201 and again.status_code == 200
    assert ticket.json() == again.json()
    unknown = await post(
        http, "/iseries/pick-tickets", "pick-2", {"iseries_order_id": "ISO-9", "branch_id": "B12"}
    )
    assert unknown.status_code == 404

    invoice_body = {
        "iseries_order_id": iso,
        "order_ref": "order-401693-PO1",
        "shipment_id": "SH-1",
        "currency": "USD",
        "lines": [
            {"line_number": 1, "quantity": "3", "unit_price": "1.255"},
            {"line_number": 2, "quantity": "2", "unit_price": "10.00"},
        ],
    }
    invoice = await http.post(
        "/iseries/invoices", json=invoice_body, headers={"Idempotency-Key": "inv-1"}
    )
    assert invoice.status_code == 201
    # 3 x 1.255 + 2 x 10.00 = 23.765, rounded half up to cents
    assert invoice.json()["amount"] == "23.77"
    assert invoice.json()["invoice_number"].startswith("INV-")
    replay = await http.post(
        "/iseries/invoices", json=invoice_body, headers={"Idempotency-Key": "inv-1"}
    )
    assert replay.status_code == 200 and replay.json() == invoice.json()
    listed = (await http.get("/iseries/invoices", params={"order_ref": "order-401693-PO1"})).json()
    assert [i["invoice_number"] for i in listed] == [invoice.json()["invoice_number"]]
    bad_order = dict(invoice_body, iseries_order_id="ISO-404")
    assert (
        await http.post("/iseries/invoices", json=bad_order, headers={"Idempotency-Key": "inv-2"})
    ).status_code == 404


async def test_email_outbox_is_idempotent_and_searchable(http):
    message = {
        "to": ["csc@example.com", "rep@example.com"],
        "subject": "Holds",
        "body": "PO1 on hold",
    }
    first = await http.post("/email/messages", json=message, headers={"Idempotency-Key": "m1"})
    again = await http.post("/email/messages", json=message, headers={"Idempotency-Key": "m1"})
    assert first.status_code == 201 and again.json()["message_id"] == first.json()["message_id"]
    assert len((await http.get("/email/messages", params={"to": "rep@example.com"})).json()) == 1
    assert (await http.get("/email/messages", params={"to": "other@example.com"})).json() == []


async def test_helpdesk_requires_the_api_key(http):
    assert (await http.get("/helpdesk/api/v2/agents")).status_code == 401
    assert (await http.get("/helpdesk/api/v2/agents", auth=("wrong", "X"))).status_code == 401
    assert (await http.get("/helpdesk/api/v2/agents", auth=HELPDESK_AUTH)).status_code == 200


async def test_helpdesk_api_key_comes_from_the_constructor():
    app = create_app(helpdesk_api_key="other-key")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as http:
        assert (await http.get("/helpdesk/api/v2/agents", auth=HELPDESK_AUTH)).status_code == 401
        assert (
            await http.get("/helpdesk/api/v2/agents", auth=("other-key", "X"))
        ).status_code == 200


async def test_helpdesk_tickets_and_agents(http):
    api = "/helpdesk/api/v2"
    agent = (
        await http.get(f"{api}/agents", params={"email": "Rep@Example.com"}, auth=HELPDESK_AUTH)
    ).json()
    same = (
        await http.get(f"{api}/agents", params={"email": "rep@example.com"}, auth=HELPDESK_AUTH)
    ).json()
    assert len(agent) == 1 and agent[0]["id"] == same[0]["id"]

    ticket = {
        "subject": "PO1 on hold",
        "description": "PRICE hold on line 1",
        "email": "csc@example.com",
        "priority": 2,
        "status": 2,
        "responder_id": agent[0]["id"],
        "custom_fields": {"cf_sopflow_ref": "order-401693-PO1"},
    }
    created = await http.post(f"{api}/tickets", json=ticket, auth=HELPDESK_AUTH)
    assert created.status_code == 201
    ticket_id = created.json()["id"]
    assert created.json()["created_at"] and created.json()["updated_at"]

    resolved = await http.put(f"{api}/tickets/{ticket_id}", json={"status": 4}, auth=HELPDESK_AUTH)
    assert resolved.json()["status"] == 4
    assert resolved.json()["custom_fields"] == {"cf_sopflow_ref": "order-401693-PO1"}
    assert (await http.get(f"{api}/tickets/{ticket_id}", auth=HELPDESK_AUTH)).json()["status"] == 4
    assert (await http.get(f"{api}/tickets/999", auth=HELPDESK_AUTH)).status_code == 404

    unknown_agent = dict(ticket, responder_id=1)
    assert (
        await http.post(f"{api}/tickets", json=unknown_agent, auth=HELPDESK_AUTH)
    ).status_code == 400
    bad_priority = dict(ticket, priority=9)
    assert (
        await http.post(f"{api}/tickets", json=bad_priority, auth=HELPDESK_AUTH)
    ).status_code == 422


async def test_iseries_pick_ticket_is_printed_once_per_key(http):
    created = await post(http, "/iseries/orders", "direct-1", order_body())
    iso = created.json()["iseries_order_id"]
    pick = {"iseries_order_id": iso, "branch_id": "B12"}
    first = await post(http, "/iseries/pick-tickets", "pick-1", pick)
    retried = await post(http, "/iseries/pick-tickets", "pick-1", pick)
    assert first.status_code == 201 and retried.status_code == 200
    assert retried.json() == first.json()
    printed = (await http.get("/iseries/pick-tickets", params={"iseries_order_id": iso})).json()
    assert [t["pick_ticket_id"] for t in printed] == [first.json()["pick_ticket_id"]]

    other_branch = await post(http, "/iseries/pick-tickets", "pick-1", dict(pick, branch_id="B7"))
    assert other_branch.status_code == 409 and "different request" in other_branch.json()["detail"]
    assert (await http.post("/iseries/pick-tickets", json=pick)).status_code == 400
    # A new key is a new operation: a reprint, asked for on purpose.
    reprint = await post(http, "/iseries/pick-tickets", "pick-2", pick)
    assert reprint.status_code == 201
    assert reprint.json()["pick_ticket_id"] != first.json()["pick_ticket_id"]
    assert len((await http.get("/iseries/pick-tickets")).json()) == 2


def ticket_body(ref, email="csc@example.com", **overrides):
    body = {
        "subject": f"{ref} on hold",
        "description": "PRICE hold",
        "email": email,
        "priority": 2,
        "status": 2,
        "custom_fields": {"cf_sopflow_ref": ref},
    }
    return body | overrides


async def test_helpdesk_lists_a_requesters_tickets_at_once_newest_first(http):
    api = "/helpdesk/api/v2"
    for n in range(5):
        email = "csc@example.com" if n != 2 else "other@example.com"
        created = await http.post(
            f"{api}/tickets", json=ticket_body(f"r{n}", email), auth=HELPDESK_AUTH
        )
        assert created.status_code == 201

    listed = await http.get(
        f"{api}/tickets", params={"email": "CSC@example.com", "per_page": 2}, auth=HELPDESK_AUTH
    )
    assert [t["custom_fields"]["cf_sopflow_ref"] for t in listed.json()] == ["r4", "r3"]
    page_2 = await http.get(
        f"{api}/tickets",
        params={"email": "csc@example.com", "per_page": 2, "page": 2},
        auth=HELPDESK_AUTH,
    )
    assert [t["custom_fields"]["cf_sopflow_ref"] for t in page_2.json()] == ["r1", "r0"]
    oldest_first = await http.get(
        f"{api}/tickets", params={"order_type": "asc", "per_page": 1}, auth=HELPDESK_AUTH
    )
    assert oldest_first.json()[0]["id"] == 1
    assert (
        await http.get(f"{api}/tickets", params={"per_page": 101}, auth=HELPDESK_AUTH)
    ).status_code == 422


async def test_helpdesk_list_window_is_30_days_unless_updated_since(http, app):
    api = "/helpdesk/api/v2"
    await http.post(f"{api}/tickets", json=ticket_body("old"), auth=HELPDESK_AUTH)
    await http.post(f"{api}/tickets", json=ticket_body("new"), auth=HELPDESK_AUTH)
    state = app.state.sim.helpdesk
    long_ago = datetime.now(UTC) - timedelta(days=40)
    state.tickets[1] = state.tickets[1].model_copy(
        update={"created_at": long_ago, "updated_at": long_ago}
    )

    def refs(response):
        return [t["custom_fields"]["cf_sopflow_ref"] for t in response.json()]

    assert refs(await http.get(f"{api}/tickets", auth=HELPDESK_AUTH)) == ["new"]
    since = (datetime.now(UTC) - timedelta(days=50)).strftime("%Y-%m-%dT%H:%M:%SZ")
    everything = await http.get(
        f"{api}/tickets", params={"updated_since": since}, auth=HELPDESK_AUTH
    )
    assert refs(everything) == ["new", "old"]
    recent = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    updated = await http.get(f"{api}/tickets", params={"updated_since": recent}, auth=HELPDESK_AUTH)
    assert refs(updated) == ["new"]


async def test_helpdesk_search_sees_writes_only_after_its_index_lag():
    # A lag long enough that "not yet" holds on a loaded machine.
    app = create_app(helpdesk_search_lag=timedelta(seconds=1))
    api = "/helpdesk/api/v2"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim", auth=HELPDESK_AUTH
    ) as http:

        async def search(ref):
            query = {"query": f"\"cf_sopflow_ref:'{ref}'\""}
            return (await http.get(f"{api}/search/tickets", params=query)).json()

        async def until_searched(ref, seen):
            # The index catches up on its own: poll it, with a bound, not a sleep.
            for _ in range(200):
                found = await search(ref)
                if seen(found):
                    return found
                await asyncio.sleep(0.05)
            raise AssertionError(f"search never caught up: {found}")

        created = (await http.post(f"{api}/tickets", json=ticket_body("order-1"))).json()
        assert (await search("order-1")) == {"results": [], "total": 0}
        # The list sees it at once.
        listed = (await http.get(f"{api}/tickets", params={"email": "csc@example.com"})).json()
        assert [t["id"] for t in listed] == [created["id"]]

        found = await until_searched("order-1", lambda f: f["total"] == 1)
        assert found["results"][0]["status"] == 2
        # An update lags the same way: search still has the ticket as it was.
        await http.put(f"{api}/tickets/{created['id']}", json={"status": 4})
        assert (await search("order-1"))["results"][0]["status"] == 2
        await until_searched("order-1", lambda f: f["results"][0]["status"] == 4)
        assert (await search("order-x"))["total"] == 0
        assert (
            await http.get(f"{api}/search/tickets", params={"query": "status:2"})
        ).status_code == 400


INVOICE = {
    "iseries_order_id": "ISO-000001",
    "order_ref": "order-401693-PO1",
    "shipment_id": "SH-1",
    "lines": [{"line_number": 1, "quantity": "1", "unit_price": "1"}],
}
DIRECT_ORDER = {k: v for k, v in order_body().items() if k != "status"}
PICK = {"iseries_order_id": "ISO-000001", "branch_id": "B12"}
MESSAGE = {"to": ["a@example.com"], "subject": "s", "body": "b"}


@pytest.mark.parametrize(
    ("path", "body", "changed_path", "changed_body", "listing"),
    [
        (
            "/oms/orders",
            order_body(),
            "/oms/orders",
            order_body(po_number="PO2"),
            "/oms/orders",
        ),
        (
            "/oms/orders/OMS-000001/confirm",
            None,
            "/oms/orders/OMS-000002/confirm",
            None,
            None,
        ),
        (
            "/oms/orders/OMS-000001/release",
            None,
            "/oms/orders/OMS-000002/release",
            None,
            "/iseries/orders",
        ),
        (
            "/iseries/orders",
            DIRECT_ORDER,
            "/iseries/orders",
            dict(DIRECT_ORDER, po_number="PO2"),
            "/iseries/orders",
        ),
        (
            "/iseries/pick-tickets",
            PICK,
            "/iseries/pick-tickets",
            dict(PICK, branch_id="B7"),
            "/iseries/pick-tickets",
        ),
        (
            "/iseries/invoices",
            INVOICE,
            "/iseries/invoices",
            dict(INVOICE, shipment_id="SH-2"),
            "/iseries/invoices",
        ),
        (
            "/email/messages",
            MESSAGE,
            "/email/messages",
            dict(MESSAGE, subject="other"),
            "/email/messages",
        ),
    ],
)
async def test_every_operation_that_makes_something_is_idempotent_per_key(
    http, path, body, changed_path, changed_body, listing
):
    # Two confirmed OMS orders and an iSeries order to act on.
    await create_order(http, key="setup-1", status="confirmed")
    await create_order(http, key="setup-2", status="confirmed")
    await post(http, "/iseries/orders", "setup-3", DIRECT_ORDER)

    async def made() -> int:
        return len((await http.get(listing)).json()) if listing else 0

    before = await made()
    missing = await http.post(path, json=body)
    assert missing.status_code == 400
    assert missing.json()["detail"] == "Idempotency-Key header is required"
    assert await made() == before

    first = await post(http, path, "op-1", body)
    retried = await post(http, path, "op-1", body)
    assert first.status_code in (200, 201) and retried.status_code == 200
    assert retried.json() == first.json()
    assert await made() == before + (1 if listing else 0)

    changed = await post(http, changed_path, "op-1", changed_body)
    assert changed.status_code == 409
    assert (
        changed.json()["detail"] == "Idempotency-Key 'op-1' already used with a different request"
    )
    assert await made() == before + (1 if listing else 0)


async def test_fault_down_only_affects_that_system(http):
    put = await http.put("/_faults/oms", json={"down": True, "latency_ms": 0, "error_rate": 0})
    assert put.status_code == 200
    assert (await http.get("/_faults/oms")).json() == {
        "down": True,
        "latency_ms": 0,
        "error_rate": 0.0,
        "refuse_with": None,
    }
    down = await create_order(http)
    assert down.status_code == 503 and "down" in down.json()["detail"]
    assert (await http.get("/iseries/invoices")).status_code == 200
    assert (await http.get("/health")).status_code == 200
    assert (await http.put("/_faults/nosuch", json={"down": True})).status_code == 404
    assert (await http.put("/_faults/oms", json={"error_rate": 2})).status_code == 422

    await http.put("/_faults/oms", json={"down": False})
    assert len((await http.get("/oms/orders")).json()) == 0


async def test_fault_error_rate_fails_before_the_work(http):
    await http.put("/_faults/email", json={"error_rate": 1.0})
    message = {"to": ["a@example.com"], "subject": "s", "body": "b"}
    response = await http.post("/email/messages", json=message, headers={"Idempotency-Key": "m"})
    assert response.status_code == 500
    await http.put("/_faults/email", json={})
    assert (await http.get("/email/messages")).json() == []


async def test_fault_error_rate_is_random_per_request(http):
    await http.put("/_faults/oms", json={"error_rate": 0.5})
    statuses = [(await http.get("/oms/orders")).status_code for _ in range(40)]
    assert 200 in statuses and 500 in statuses


async def test_latency_is_applied_after_the_work_is_done(http):
    await http.put("/_faults/oms", json={"latency_ms": 300})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(create_order(http), timeout=0.1)
    # The caller gave up, but OMS made the order.
    await http.put("/_faults/oms", json={})
    assert [o["oms_order_id"] for o in (await http.get("/oms/orders")).json()] == ["OMS-000001"]

    # A replay is held back the same way (no answer while the latency lasts),
    # then answers with the order already made.
    await http.put("/_faults/oms", json={"latency_ms": 200})
    replaying = asyncio.create_task(create_order(http))
    answered, _ = await asyncio.wait({replaying}, timeout=0.1)
    assert not answered
    replay = await replaying
    assert replay.status_code == 200 and replay.json()["oms_order_id"] == "OMS-000001"
    assert len((await http.get("/oms/orders")).json()) == 1


async def test_reset_clears_state_and_faults(http):
    await create_order(http)
    await http.put("/_faults/iseries", json={"down": True})
    assert (await http.post("/_reset")).status_code == 200
    assert (await http.get("/oms/orders")).json() == []
    assert (await http.get("/_faults/iseries")).json()["down"] is False
    assert (await http.get("/iseries/invoices")).status_code == 200
    # Counters restart too, and the old key is forgotten.
    again = await create_order(http, status="confirmed")
    assert again.status_code == 201 and again.json()["oms_order_id"] == "OMS-000001"


async def test_two_apps_do_not_share_state(http):
    await create_order(http)
    await http.put("/_faults/oms", json={"down": True})
    other = create_app()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://sim"
    ) as http2:
        assert (await http2.get("/oms/orders")).json() == []


async def test_systems_remember_their_records_across_a_restart_but_not_faults(tmp_path):
    state_file = tmp_path / "simulators.sqlite"
    # Never shut down: what a request changed is kept when it answers.
    first = create_app(state_file=state_file)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=first), base_url="http://sim"
    ) as http:
        created = (await create_order(http)).json()
        await http.put("/iseries/tax-rate", json={"rate": "0.0825"})
        await http.put("/network/answers", json={"code": 400, "times": 2})
        erp_order = {"store_id": "101", "type": "pickup", "guest": {}, "lines": [{}]}
        await http.put("/erp/open-orders/SO1", json=erp_order)
        comment = {"actor": "rep", "action": "called", "at": "2026-12-01T10:00:00Z"}
        await post(http, "/erp/open-orders/SO1/comments", "c1", {"comments": [comment]})
        await http.put("/_faults/oms", json={"down": True})

    second = create_app(state_file=state_file)
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
            assert (await http.get("/_faults/oms")).json()["down"] is False
            found = await http.get(f"/oms/orders/{created['oms_order_id']}")
            assert found.status_code == 200 and found.json() == created
            again = await create_order(http)  # the same idempotency key still answers
            assert (
                again.status_code == 200 and again.json()["oms_order_id"] == created["oms_order_id"]
            )
            assert (await create_order(http, key="k2")).json()["oms_order_id"] == "OMS-000002"
            logged = (await http.get("/erp/open-orders/SO1")).json()["comments"]
            assert [c["comment_id"] for c in logged] == ["SO1-C1"]
            # What the tester set up is kept too: the tax rate, the buyer's next answers.
            direct = order_body()
            del direct["status"]
            iso = (await post(http, "/iseries/orders", "d1", direct)).json()["iseries_order_id"]
            invoice = {"iseries_order_id": iso, "order_ref": "R", "shipment_id": "S",
                       "lines": [{"line_number": 1, "quantity": "1", "unit_price": "100"}]}  # fmt: skip
            assert (await post(http, "/iseries/invoices", "i1", invoice)).json()["tax"] == "8.25"
            assert second.state.sim.network.answers.times == 2


async def test_a_killed_simulator_comes_back_with_its_orders_and_without_its_faults(tmp_path):
    """`sopflow simulators` as bin/dev runs it, killed with SIGKILL and started again."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPFLOW_")}
    env |= {"SOPFLOW_SIM_PORT": str(free_port()), "SOPFLOW_DATA_DIR": str(tmp_path)}
    url = f"http://127.0.0.1:{env['SOPFLOW_SIM_PORT']}"

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sopflow", "simulators"], cwd=REPO, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "simulators never came up"
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                time.sleep(0.1)

    proc = start()
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            created = (await create_order(http)).json()
            assert (await http.put("/_faults/oms", json={"down": True})).status_code == 200
        proc.kill()
        proc.wait(10)
        proc = start()
        async with httpx.AsyncClient(base_url=url) as http:
            # OMS answers: the fault it was down with was not kept.
            found = await http.get("/oms/orders", params={"po_number": "PO1"})
            assert found.status_code == 200 and found.json() == [created]
    finally:
        proc.kill()
        proc.wait(10)


async def test_records_of_an_older_version_are_set_aside(tmp_path):
    state_file = tmp_path / "simulators.sqlite"
    state_file.write_bytes(b"the pickle an older version kept")
    app = create_app(state_file=state_file)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sim"
        ) as http:
            assert (await http.get("/oms/orders")).json() == []
            assert (await create_order(http)).status_code == 201
    assert (tmp_path / "simulators.sqlite.old").read_bytes() == b"the pickle an older version kept"
    again = create_app(state_file=state_file)
    async with again.router.lifespan_context(again):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=again), base_url="http://sim"
        ) as http:
            assert len((await http.get("/oms/orders")).json()) == 1


async def test_oms_finds_the_orders_of_a_po_number(http):
    first = await create_order(http, key="k1", external_ref="order-401693-PO7", po_number="PO7")
    await create_order(http, key="k2", po_number="PO8")
    resent = await create_order(
        http, key="k3", external_ref="order-401693-PO7-2", po_number="PO7", status="confirmed"
    )
    oms_id = first.json()["oms_order_id"]
    await post(http, f"/oms/orders/{oms_id}/cancel", "cancel-1")

    found = await http.get("/oms/orders", params={"po_number": "PO7"})
    assert found.status_code == 200
    assert [(o["oms_order_id"], o["status"]) for o in found.json()] == [
        (oms_id, "cancelled"),
        (resent.json()["oms_order_id"], "confirmed"),
    ]
    both = {"po_number": "PO7", "external_ref": "order-401693-PO7-2"}
    assert [o["status"] for o in (await http.get("/oms/orders", params=both)).json()] == [
        "confirmed"
    ]
    assert (await http.get("/oms/orders", params={"po_number": "PO9"})).json() == []


async def test_iseries_finds_the_orders_of_a_po_number_pushed_or_entered(http):
    oms_id = (await create_order(http, po_number="PO7", status="confirmed")).json()["oms_order_id"]
    pushed = (await post(http, f"/oms/orders/{oms_id}/release", "release-1")).json()
    direct = order_body(po_number="PO7", external_ref="order-401693-PO7-direct")
    del direct["status"]
    entered = (await post(http, "/iseries/orders", "direct-1", direct)).json()
    other = order_body(po_number="PO8")
    del other["status"]
    await post(http, "/iseries/orders", "direct-2", other)
    await post(http, f"/iseries/orders/{entered['iseries_order_id']}/cancel", "cancel-1")

    found = await http.get("/iseries/orders", params={"po_number": "PO7"})
    assert found.status_code == 200
    assert [(o["iseries_order_id"], o["source"], o["oms_order_id"]) for o in found.json()] == [
        (pushed["iseries_order_id"], "oms", oms_id),
        (entered["iseries_order_id"], "direct", None),
    ]
    assert [o["cancelled_at"] is not None for o in found.json()] == [False, True]
    assert (await http.get("/iseries/orders", params={"po_number": "PO9"})).json() == []


async def test_iseries_national_account_membership_changes_once_per_key(http):
    body = {"kind": "add", "accounts": ["401693", "402110"], "reference": "AC-1"}
    first = await post(http, "/iseries/national-accounts/NA-1/changes", "c1", body)
    again = await post(http, "/iseries/national-accounts/NA-1/changes", "c1", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["change_id"] == again.json()["change_id"]
    removed = {"kind": "remove", "accounts": ["402110"]}
    await post(http, "/iseries/national-accounts/NA-1/changes", "c2", removed)
    assert (await http.get("/iseries/national-accounts/NA-1")).json()["accounts"] == ["401693"]


async def test_a_crm_transfer_can_be_accepted_and_never_arrive_and_the_crm_can_be_down(http):
    transfer = {"national_account": "NA-2", "kind": "add", "accounts": ["401693"]}
    await http.put("/crm/accounts-transfer/_lose-next", json={"count": 1})
    lost = await post(http, "/crm/accounts-transfer/transfers", "t1", transfer)
    assert lost.status_code == 201 and lost.json()["status"] == "accepted"
    members = "/crm/accounts-transfer/national-accounts/NA-2"
    assert (await http.get(members)).json()["accounts"] == []
    await post(http, "/crm/accounts-transfer/transfers", "t2", transfer)
    assert (await http.get(members)).json()["accounts"] == ["401693"]
    await http.put("/_faults/crm", json={"down": True})
    assert (await http.get(members)).status_code == 503


async def test_crm_knows_the_demo_accounts_and_takes_new_ones(http):
    found = await http.get("/crm/accounts/401693")
    assert found.status_code == 200
    assert found.json()["sap_codes"] == ["SAP-100401693", "SAP-SH-7781"]
    assert (await http.get("/crm/accounts/999999")).status_code == 404
    put = await http.put(
        "/crm/accounts/999999", json={"name": "New Co", "customer_classification": "B - Key"}
    )
    assert put.status_code == 200
    assert (await http.get("/crm/accounts/999999")).json()["name"] == "New Co"
    await http.put("/_faults/crm", json={"down": True})
    assert (await http.get("/crm/accounts/401693")).status_code == 503
    assert (await http.get("/oms/orders")).status_code == 200
