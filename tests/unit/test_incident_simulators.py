"""The IT service portal stand-in, and the OMS stand-in's part in reconciling an
order entered in iSeries during an outage (over HTTP, in process)."""

from __future__ import annotations

import httpx
import pytest

from simulators.app import create_app
from tests.unit.test_simulators import create_order, post


@pytest.fixture
async def http():
    app = create_app(seed=1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        yield client


TICKET = {"platform": "sterling_oms", "short_description": "OMS is not answering"}


async def test_a_portal_ticket_is_opened_once_per_key_noted_and_resolved(http):
    first = await post(http, "/it_portal/tickets", "inc-1:ticket", TICKET)
    again = await post(http, "/it_portal/tickets", "inc-1:ticket", TICKET)
    assert first.status_code == 201 and again.status_code == 200
    number = first.json()["number"]
    assert again.json()["number"] == number and first.json()["state"] == "new"
    noted = await post(http, f"/it_portal/tickets/{number}/notes", "inc-1:note",
                       {"text": "escalated", "urgency": 1})  # fmt: skip
    assert (noted.json()["state"], noted.json()["urgency"]) == ("in_progress", 1)
    resolved = await post(http, f"/it_portal/tickets/{number}/resolve", "inc-1:resolve",
                          {"resolution": "OMS answers again"})  # fmt: skip
    assert resolved.json()["state"] == "resolved"
    listed = (await http.get("/it_portal/tickets", params={"platform": "sterling_oms"})).json()
    assert [t["number"] for t in listed] == [number]
    missing = await post(http, "/it_portal/tickets/INC404/notes", "k", {"text": "x"})
    assert missing.status_code == 404


async def test_the_portal_has_the_same_fault_injection(http):
    (await http.put("/_faults/it_portal", json={"down": True})).raise_for_status()
    assert (await post(http, "/it_portal/tickets", "k", TICKET)).status_code == 503


async def test_oms_takes_an_order_entered_in_iseries_released_and_never_pushes_it_again(http):
    created = await create_order(http, status="released", iseries_order_id="ISO-000042")
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["status"], order["iseries_order_id"]) == ("released", "ISO-000042")
    release = await post(http, f"/oms/orders/{order['oms_order_id']}/release", "rel-1")
    assert release.json()["iseries_order_id"] == "ISO-000042"
    assert (await http.get("/iseries/orders")).json() == []
    # Released exactly when it names its iSeries order.
    assert (await create_order(http, key="k2", status="released")).status_code == 422
    assert (await create_order(http, key="k3", iseries_order_id="ISO-1")).status_code == 422


async def test_an_oms_order_found_later_is_linked_to_its_iseries_order_once(http):
    draft = (await create_order(http, status="confirmed")).json()
    path = f"/oms/orders/{draft['oms_order_id']}/link-iseries"
    linked = await post(http, path, "link-1", {"iseries_order_id": "ISO-7"})
    assert (linked.json()["status"], linked.json()["iseries_order_id"]) == ("released", "ISO-7")
    other = await post(http, path, "link-2", {"iseries_order_id": "ISO-8"})
    assert other.status_code == 409
    again = await post(http, path, "link-1", {"iseries_order_id": "ISO-7"})
    assert again.json()["iseries_order_id"] == "ISO-7"  # a retry answers the same
