"""The reproductions of issue 20, each its own test: a caller with the right
role but no relation to the object is refused (404, as for an object that
does not exist), and the object is untouched; the caller with the relation
does the same thing successfully. Reassigning goes through the workflow's
own claim rule."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from db.keys import create_api_key
from tests.api.test_csrs import FORM
from tests.api.test_flags_and_edits import FLAG, href, order_in
from tests.api.test_tasks import price_task
from tests.api.test_work_queue_page import cookie
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

POD = {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}


def shipment(shipment_id: str) -> dict:
    return {
        "shipment_id": shipment_id,
        "lines": [{"line_number": 1, "quantity": 10}],
        "proof_of_delivery": POD,
    }


async def key_for(pool: asyncpg.Pool, person: str, role: str, **bound: object) -> dict:
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO people (person_id, name, email) VALUES ($1, $1, $1) ON CONFLICT DO NOTHING",
            person,
        )
        return bearer(await create_api_key(conn, person, [role], label="repro", **bound))  # type: ignore[arg-type]


async def shipments_of(api: httpx.AsyncClient, keys: dict[str, str], order_id: str) -> list:
    resp = await api.get(href(order_id), headers=bearer(keys["operator"]))
    assert resp.status_code == 200, resp.text
    return resp.json()["shipments"]


async def released(api: httpx.AsyncClient, keys: dict[str, str], order_id: str) -> None:
    for _ in range(300):
        got = await api.get(href(order_id), headers=bearer(keys["operator"]))
        if got.json().get("status") == "released":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order_id} never released")


async def test_a_system_key_of_402110_may_not_ship_an_order_of_401693(
    api: httpx.AsyncClient, pool: asyncpg.Pool, demo_keys: dict[str, str]
) -> None:
    order_id = await order_in(api, demo_keys, "released")
    rio_grande = await key_for(pool, "punchout-network", "system", accounts=["402110"])
    refused = await api.post(f"{href(order_id)}/shipments", json=shipment("R1"), headers=rio_grande)
    assert refused.status_code == 404, refused.text
    assert refused.json() == {"detail": f"no order {order_id}", "type": "NotFound"}
    assert await shipments_of(api, demo_keys, order_id) == []
    # The network's key, bound to 401693, ships it.
    network = bearer(demo_keys["system"])
    done = await api.post(f"{href(order_id)}/shipments", json=shipment("R1"), headers=network)
    assert done.status_code == 201, done.text


async def test_the_odessa_branch_manager_may_not_ship_a_houston_order(
    api: httpx.AsyncClient, pool: asyncpg.Pool, demo_keys: dict[str, str]
) -> None:
    po = f"HOU-{uuid.uuid4().int % 10**8:08d}"
    body = {
        "account_number": "402110",
        "po_number": po,
        "ship_to": {"address_id": "RGW-PLANT2"},
        "lines": [{"line_number": 1, "supplier_part_id": "HX-1001", "quantity": "10",
                   "uom": "EA", "unit_price": "2.40"}],
    }  # fmt: skip
    resp = await api.post("/orders", json=body, headers=bearer(demo_keys["system"]))
    assert resp.status_code == 202, resp.text
    order_id = resp.json()["order_id"]
    await released(api, demo_keys, order_id)

    odessa = bearer(demo_keys["branch_manager"])  # bob.ortiz runs BR-ODS
    refused = await api.post(f"{href(order_id)}/shipments", json=shipment("H1"), headers=odessa)
    assert refused.status_code == 404, refused.text
    assert await shipments_of(api, demo_keys, order_id) == []

    houston_manager = f"hou-{uuid.uuid4().hex[:6]}"
    houston = await key_for(pool, houston_manager, "branch_manager")
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO branch_managers VALUES ($1, 'BR-HOU')", houston_manager)
    done = await api.post(f"{href(order_id)}/shipments", json=shipment("H1"), headers=houston)
    assert done.status_code == 201, done.text


async def test_a_rep_of_another_account_may_not_flag_an_order(
    api: httpx.AsyncClient, pool: asyncpg.Pool, demo_keys: dict[str, str]
) -> None:
    order_id, _ = await price_task(api, demo_keys, f"FL-{uuid.uuid4().int % 10**8:08d}")
    james = await key_for(pool, "james.chen", "account_rep")  # the rep of 402110 and 403500
    refused = await api.post(f"{href(order_id)}/flags", json=FLAG, headers=james)
    assert refused.status_code == 404, refused.text
    view = (await api.get(href(order_id), headers=bearer(demo_keys["operator"]))).json()
    assert view["flags"] == []
    maria = bearer(demo_keys["account_rep"])  # 401693's rep
    assert (await api.post(f"{href(order_id)}/flags", json=FLAG, headers=maria)).status_code == 201


async def test_a_team_lead_may_not_give_a_csr_step_to_an_unrelated_sales_rep(
    api: httpx.AsyncClient, demo_keys: dict[str, str], demo_people: dict[str, dict]
) -> None:
    mary = bearer(demo_people["mary.jones"]["key"])
    csr_id = (await api.post("/csrs", json=FORM, headers=mary)).json()["csr_id"]
    task = None
    for _ in range(200):
        listed = await api.get("/tasks", params={"workflow_id": csr_id}, headers=mary)
        if items := listed.json()["items"]:
            task = items[0]
            break
        await asyncio.sleep(0.05)
    assert task is not None and task["assignee"] == "mary.jones"

    lead = bearer(demo_keys["team_lead"])  # tom.baker leads 402110's team
    given = await api.post(f"{task['href']}/claim", json={"assignee": "sandra.cole"}, headers=lead)
    assert given.status_code == 403, given.text
    assert given.json() == {"detail": "this task is offered to mary.jones", "type": "Forbidden"}
    # Still Mary's, who can still act on it; Sandra never sees it.
    mine = await api.get(task["href"], headers=mary)
    assert mine.status_code == 200 and mine.json()["assignee"] == "mary.jones"
    sandra = bearer(demo_people["sandra.cole"]["key"])
    assert (await api.get(task["href"], headers=sandra)).status_code == 404
    moved = await api.patch(f"/csrs/{csr_id}", json={"title": "Lead-free fittings (2)"},
                            headers=mary)  # fmt: skip
    assert moved.status_code == 200, moved.text


async def test_the_work_queue_page_asks_the_same_policy(
    api: httpx.AsyncClient, pool: asyncpg.Pool, demo_keys: dict[str, str]
) -> None:
    _, task = await price_task(api, demo_keys, f"PG-{uuid.uuid4().int % 10**8:08d}")
    page = f"/app/tasks/{quote(task['task_id'], safe='')}"
    maria = await cookie(api, demo_keys["account_rep"])
    assert (await api.get(page, headers=maria)).status_code == 200
    james_key = await create_key(pool, "james.chen", "account_rep")
    james = await cookie(api, james_key)
    refused = await api.get(page, headers=james)
    assert refused.status_code == 404
    assert f"no task {task['task_id']}" in refused.text


async def create_key(pool: asyncpg.Pool, person: str, role: str) -> str:
    async with pool.acquire() as conn:
        return await create_api_key(conn, person, [role], label="repro")
