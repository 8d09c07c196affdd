"""A PunchOut order from the buyer's cXML to the last invoice, over HTTP, on the
real dev server with PostgreSQL, the simulators, a worker and the API."""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain import search
from domain.order.cxml import sample_order_request
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.servers import api_server, bearer

pytestmark = pytest.mark.usefixtures("worker")


def sample(po: str, **replace: str) -> bytes:
    doc = sample_order_request().decode().replace('orderID="4500123"', f'orderID="{po}"')
    for old, new in replace.items():
        doc = doc.replace(old, new)
    return doc.encode()


def cxml_status(resp: httpx.Response) -> tuple[int, str]:
    status = ET.fromstring(resp.content).find("Response/Status")
    assert status is not None, resp.text
    return int(status.get("code", "0")), (status.text or "").strip()


async def post_cxml(api: httpx.AsyncClient, key: str, body: bytes) -> httpx.Response:
    return await api.post(
        "/orders", content=body, headers={**bearer(key), "Content-Type": "text/xml"}
    )


async def wait_for(api: httpx.AsyncClient, key: str, order_id: str, status: str) -> dict:
    for _ in range(300):
        resp = await api.get(f"/orders/{order_id}", headers=bearer(key))
        if resp.status_code == 200 and resp.json()["status"] == status:
            return resp.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order_id} never reached {status}: {resp.status_code} {resp.text[:300]}")


def po_number() -> str:
    return f"45{uuid.uuid4().int % 10**8:08d}"


async def test_cxml_order_from_intake_to_last_invoice(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    sims: Simulators,
) -> None:
    po = po_number()
    resp = await post_cxml(api, demo_keys["system"], sample(po))
    assert resp.status_code == 200
    assert cxml_status(resp) == (200, f"Accepted: order-401693-{po}")
    order_id = resp.headers["X-Order-Id"]
    assert order_id == f"order-401693-{po}"

    released = await wait_for(api, demo_keys["account_rep"], order_id, "released")
    assert released["branch_id"] == "BR-ODS" and released["pick_ticket_id"]
    assert [(l["part_id"], l["pool_id"]) for l in released["lines"]] == [
        ("HX-1001", "ODS-MAIN"), ("GS-2040", "ODS-MAIN"), ("PV-3300", "ODS-VALVES"),
    ]  # fmt: skip

    # What an operator sees in the Temporal UI.
    handle = dev_server.client.get_workflow_handle(order_id)
    described = await handle.describe()
    assert await described.static_summary() == f"PO {po} · Propetro Services (401693) · 3 lines"
    attrs = described.typed_search_attributes
    assert attrs.get(search.ACCOUNT_NUMBER) == "401693"
    assert attrs.get(search.PO_NUMBER) == po
    assert attrs.get(search.ORDER_STATUS) == "released"
    metadata = await handle.query("__temporal_workflow_metadata")
    assert "**released**" in metadata.current_details
    history = await handle.fetch_history()
    scheduled = [
        e for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled and all(e.user_metadata.HasField("summary") for e in scheduled)

    branch = bearer(demo_keys["branch_manager"])
    pod = {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}
    first = await api.post(
        f"/orders/{order_id}/shipments",
        json={
            "shipment_id": "RUN-1",
            "lines": [{"line_number": 1, "quantity": 60}],
            "proof_of_delivery": pod,
        },
        headers=branch,
    )
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == "141.00"
    rest = await api.post(
        f"/orders/{order_id}/shipments",
        json={
            "lines": [
                {"line_number": 1, "quantity": 40},
                {"line_number": 2, "quantity": 2},
                {"line_number": 3, "quantity": 1},
            ],
            "proof_of_delivery": pod,
        },
        headers=branch,
    )
    assert rest.status_code == 201, rest.text

    done = await wait_for(api, demo_keys["account_rep"], order_id, "completed")
    assert [i["invoice_number"] for i in done["invoices"]] == [
        first.json()["invoice_number"],
        rest.json()["invoice_number"],
    ]
    assert done["audit"][0]["actor"] == "punchout-network"
    assert {"bob.ortiz"} == {a["actor"] for a in done["audit"] if a["action"] == "shipped"}
    assert len(await sims.oms_orders(order_id)) == 1
    assert (await handle.describe()).typed_search_attributes.get(search.ORDER_STATUS) == "completed"
    await record_history(dev_server.client, order_id, "order-completed-two-shipments")

    listed = await api.get(
        "/orders", params={"account": "401693", "status": "completed"}, headers=branch
    )
    assert order_id in [o["order_id"] for o in listed.json()["items"]]

    late = await api.post(
        f"/orders/{order_id}/shipments",
        json={"lines": [{"line_number": 1, "quantity": 1}], "proof_of_delivery": pod},
        headers=branch,
    )
    assert late.status_code == 409, late.text


async def test_intake_answers_every_caller_mistake_with_a_reason(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    system = demo_keys["system"]
    po = po_number()
    first = await post_cxml(api, system, sample(po))
    assert cxml_status(first)[0] == 200
    again = await post_cxml(api, system, sample(po, **{"20261120093005": "20261121000000"}))
    assert cxml_status(again) == (200, f"Already received: order-401693-{po}")

    changed = await post_cxml(api, system, sample(po, **{'quantity="100"': 'quantity="150"'}))
    assert changed.status_code == 409
    assert cxml_status(changed)[0] == 409
    assert "different content" in cxml_status(changed)[1]

    wrong_secret = await post_cxml(
        api, system, sample(po_number(), **{"propetro-demo-secret": "guess"})
    )
    stranger = await post_cxml(
        api, system, sample(po_number(), **{"AN01000401693": "AN09999999999"})
    )
    # The same answer either way: it tells nobody which credentials exist.
    assert (
        cxml_status(wrong_secret)
        == cxml_status(stranger)
        == (
            401,
            "buyer credential or shared secret not recognised",
        )
    )

    no_key = await api.post(
        "/orders", content=sample(po_number()), headers={"Content-Type": "text/xml"}
    )
    assert no_key.status_code == 401 and cxml_status(no_key)[0] == 401
    rep = await post_cxml(api, demo_keys["account_rep"], sample(po_number()))
    assert rep.status_code == 403 and cxml_status(rep)[0] == 403

    broken = await post_cxml(api, system, b"<cXML><Header>")
    code, text = cxml_status(broken)
    assert code == 400 and "malformed XML" in text

    test_doc = sample(po_number(), **{'deploymentMode="production"': 'deploymentMode="test"'})
    test_resp = await post_cxml(api, system, test_doc)
    test_order = await api.get(f"/orders/{test_resp.headers['X-Order-Id']}", headers=bearer(system))
    assert test_order.json()["order"]["test"] is True

    missing = await api.get("/orders/order-401693-NOPE", headers=bearer(system))
    assert missing.status_code == 404
    not_an_order = await api.get("/orders/csr-1", headers=bearer(system))
    assert not_an_order.status_code == 404


async def test_json_orders_and_their_validation_errors(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    headers = bearer(demo_keys["system"])
    po = po_number()
    order = {
        "account_number": "401693",
        "po_number": po,
        "ship_to": {"address_id": "PP-ODESSA"},
        "lines": [
            {
                "line_number": 1,
                "supplier_part_id": "HX-1001",
                "quantity": "10",
                "uom": "EA",
                "unit_price": "2.35",
            }
        ],
    }
    created = await api.post("/orders", json=order, headers=headers)
    assert created.status_code == 202
    order_id = f"order-401693-{po}"
    href = f"/orders/{order_id}"
    assert created.json() == {"order_id": order_id, "created": True, "href": href}
    assert created.headers["Location"] == href
    assert (await api.post("/orders", json=order, headers=headers)).json()["created"] is False

    bad = await api.post(
        "/orders", json={**order, "lines": [{"line_number": 1, "uom": "EA"}]}, headers=headers
    )
    assert bad.status_code == 422
    assert "quantity" in bad.json()["detail"]
    weird = await api.post(
        "/orders", content=b"po=1", headers={**headers, "Content-Type": "text/plain"}
    )
    assert weird.status_code == 415


async def test_onboarding_a_buyer_needs_only_its_credential(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    credential = {"domain": "DUNS", "identity": "0987654321", "shared_secret": "rio-grande-2026"}

    async def register(account: str, role: str) -> httpx.Response:
        return await api.post(
            f"/accounts/{account}/punchout-credentials",
            json=credential,
            headers=bearer(demo_keys[role]),
        )

    assert (await register("402110", "account_rep")).status_code == 403
    assert (await register("999999", "operator")).status_code == 404
    assert (await register("402110", "operator")).status_code == 201
    taken = await register("401693", "operator")
    assert taken.status_code == 409 and "another account" in taken.json()["detail"]

    po = po_number()
    doc = sample(
        po,
        **{
            "AN01000401693": "0987654321",
            'domain="NetworkID"': 'domain="DUNS"',
            "propetro-demo-secret": "rio-grande-2026",
        },
    )
    resp = await post_cxml(api, demo_keys["system"], doc)
    assert cxml_status(resp) == (200, f"Accepted: order-402110-{po}")


async def test_health_reports_what_is_missing(
    api: httpx.AsyncClient,
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
) -> None:
    resp = await api.get("/health", headers={"X-Request-Id": "probe-1"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "ok" and "problems" not in resp.json()
    assert {"oms", "iseries", "email", "helpdesk"} <= set(resp.json()["systems"])
    assert resp.headers["X-Request-Id"] == "probe-1"  # the id its log lines carry

    unserved = it_settings.model_copy(update={"task_queue": "nobody-polls-this"})
    async with api_server(unserved, pool, dev_server.client) as lonely:
        resp = await lonely.get("/health")
    assert resp.status_code == 503
    assert resp.json()["problems"] == ["no worker polling task queue nobody-polls-this"]


async def test_an_order_failing_validation_waits_on_hold_with_a_task_for_the_rep(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    sims: Simulators,
) -> None:
    po = po_number()
    doc = sample(po, **{'<Money currency="USD">2.35</Money>': '<Money currency="USD">2.10</Money>'})
    order_id = (await post_cxml(api, demo_keys["system"], doc)).headers["X-Order-Id"]
    held = await wait_for(api, demo_keys["account_rep"], order_id, "on_hold")
    assert [(h["code"], h["line_number"]) for h in held["holds"]] == [("PRICE", 1)]
    assert "2.10" in held["holds"][0]["reason"] and "2.35" in held["holds"][0]["reason"]

    # The rep (Maria, Propetro's account rep) sees it in her queue with its due time.
    for _ in range(100):
        tasks = (
            await api.get(
                "/tasks",
                params={"workflow_id": order_id},
                headers=bearer(demo_keys["account_rep"]),
            )
        ).json()["items"]
        mine = [t for t in tasks if t["workflow_id"] == order_id]
        if mine:
            break
        await asyncio.sleep(0.05)
    assert [(t["kind"], t["assignee"]) for t in mine] == [("resolve_hold_price", "maria.lopez")]
    assert mine[0]["due_at"] == held["sla_due_at"]
    assert mine[0]["payload"]["code"] == "PRICE" and mine[0]["payload"]["line_number"] == 1
    branch_tasks = (
        await api.get(
            "/tasks", params={"workflow_id": order_id}, headers=bearer(demo_keys["branch_manager"])
        )
    ).json()["items"]
    assert order_id not in [t["workflow_id"] for t in branch_tasks]

    listed = await api.get(
        "/orders",
        params={"status": "on_hold", "account": "401693"},
        headers=bearer(demo_keys["account_rep"]),
    )
    row = next(o for o in listed.json()["items"] if o["order_id"] == order_id)
    assert row["assignee"] == "maria.lopez" and row["due_at"]

    refused = await api.post(
        f"/orders/{order_id}/shipments",
        json={
            "lines": [{"line_number": 1, "quantity": 1}],
            "proof_of_delivery": {"signed_by": "x", "signed_at": "2026-11-26T15:00:00Z"},
        },
        headers=bearer(demo_keys["branch_manager"]),
    )
    assert refused.status_code == 409 and "on_hold" in refused.json()["detail"]
    for _ in range(100):
        if (await handle_pending_activities(dev_server, order_id)) == 0:
            break
        await asyncio.sleep(0.05)
    await record_history(dev_server.client, order_id, "order-on-hold-price")


async def handle_pending_activities(dev_server: WorkflowEnvironment, order_id: str) -> int:
    described = await dev_server.client.get_workflow_handle(order_id).describe()
    return len(described.raw_description.pending_activities)
