"""The open-order API around the workflow: intake refusals, the work lists'
filters, moves refused by the API before the workflow, tasks completed
through the shared task API."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.integration.test_open_order_e2e import order_body, record, tasks_of
from tests.open_orders import sales_order
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def post_order(api: httpx.AsyncClient, key: str, **body: object) -> str:
    so = sales_order()
    resp = await api.post("/open-orders", json={**order_body(so, atp="2026-01-05"), **body},
                          headers=bearer(key))  # fmt: skip
    assert resp.status_code == 201, resp.text
    return resp.json()["open_order_id"]


async def listed(api: httpx.AsyncClient, key: str, **params: object) -> list[str]:
    resp = await api.get("/open-orders", params={**params, "limit": 200}, headers=bearer(key))
    assert resp.status_code == 200, resp.text
    return [i["open_order_id"] for i in resp.json()["items"]]


async def test_intake_refuses_an_unknown_store_and_a_malformed_order(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    key = demo_keys["system"]
    unknown = await api.post("/open-orders", json=order_body(sales_order(), atp="2026-01-05")
                             | {"store_id": "999"}, headers=bearer(key))  # fmt: skip
    assert (unknown.status_code, unknown.json()["detail"]) == (422, "unknown store 999")
    body = order_body(sales_order(), atp="2026-01-05")
    body["guest"]["phones"] = ["2145550101", "2145550101"]
    twice = await api.post("/open-orders", json=body, headers=bearer(key))
    assert twice.status_code == 422 and "listed twice" in twice.json()["detail"]
    bad_id = await api.get("/open-orders/order-401693-1", headers=bearer(key))
    assert bad_id.status_code == 404
    nobody = await api.get("/open-orders/open-order-NOPE123", headers=bearer(key))
    assert nobody.status_code == 404


async def test_the_work_lists_filter_by_status_store_code_contact_date_and_ship_date(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    system, agent = demo_keys["system"], demo_keys["oom_agent"]
    plain = await post_order(api, system)
    held = await post_order(api, system, code="HOLD")
    waiting = await post_order(api, system, lines=[
        {"line_number": 1, "sku": "X", "quantity": 1, "atp_date": "2099-01-01"}])  # fmt: skip
    for oid in (plain, held):
        await record(api, agent, oid, lambda r: r["status"] == "scheduling", "available")
    await record(api, agent, waiting, lambda r: r["audit"], "received")

    now = datetime.now(UTC)
    due = await api.post(f"/open-orders/{plain}/contacts", json={
        "channel": "chat", "outcome": "reached", "at": (now - timedelta(hours=1)).isoformat(),
        "contact_status": "CB", "next_contact_date": (now - timedelta(minutes=5)).isoformat(),
        "comment": "guest will call back"}, headers=bearer(agent))  # fmt: skip
    assert due.status_code == 200, due.text
    for _ in range(600):
        if plain in await listed(api, agent, contact_due_today="true"):
            break
        await asyncio.sleep(0.05)
    assert plain in await listed(api, agent, contact_due_today="true")
    assert held not in await listed(api, agent, contact_due_today="true")
    assert held in await listed(api, agent, code="HOLD")
    assert plain not in await listed(api, agent, code="HOLD")
    past_due = await listed(api, agent, past_due_ship_date="true")
    assert plain in past_due and waiting not in past_due
    scheduling = await listed(api, agent, contact_status="scheduling", store="101")
    assert {plain, held} <= set(scheduling) and waiting not in scheduling
    assert plain not in await listed(api, agent, store="205")
    mixed = await api.get("/open-orders", params={"cwc": "true", "contact_status": "booked"},
                          headers=bearer(agent))  # fmt: skip
    assert mixed.status_code == 422


async def test_a_hold_task_cleared_through_the_task_api_with_its_comment(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    system, agent, store = demo_keys["system"], demo_keys["oom_agent"], demo_keys["store_manager"]
    oid = await post_order(api, system, code="HOLD")
    [task] = await tasks_of(api, agent, oid, "hold_contact")
    assert [d["name"] for d in task["decisions"]] == ["log_contact", "clear_code"]
    fields = {f["name"]: f["type"] for f in task["decisions"][0]["fields"]}
    assert fields["at"] == "datetime" and fields["channel"] == "string"
    by_store = await api.post(f"{task['href']}/complete",
                              json={"decision": "clear_code", "comment": "x"},
                              headers=bearer(store))  # fmt: skip
    assert by_store.status_code == 404  # the OOM agent's task, not the store manager's
    bare = await api.post(f"{task['href']}/complete", json={"decision": "clear_code"},
                          headers=bearer(agent))  # fmt: skip
    assert bare.status_code == 422
    cleared = await api.post(f"{task['href']}/complete",
                             json={"decision": "clear_code", "comment": "guest reached by email"},
                             headers=bearer(agent))  # fmt: skip
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["status"] == "scheduling"
    [scheduling] = await tasks_of(api, agent, oid, "schedule_contact")
    assert scheduling["task_id"] != task["task_id"]
    again = await api.post(f"/open-orders/{oid}/codes", json={"code": None, "comment": "again"},
                           headers=bearer(agent))  # fmt: skip
    assert (again.status_code, again.json()["detail"]) == (409, "the order has no code")
    coded = await api.post(f"/open-orders/{oid}/codes",
                                        json={"code": "SVC", "comment": "inspection needed"},
                                        headers=bearer(agent))  # fmt: skip
    assert coded.status_code == 200
    start = datetime.now(UTC) + timedelta(days=6)
    refused = await api.post(f"/open-orders/{oid}/appointments", json={
        "kind": "delivery", "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(), "comment": "x"},
        headers=bearer(agent))  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["detail"] == "the order is coded SVC: clear the code before booking"
