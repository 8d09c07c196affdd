"""POST /orders/{id}/flags (a rep flags an error) and POST /orders/{id}/edit-requests
(a branch manager asks for an edit once the pick ticket printed): who may, when,
what the answer is, and the outcome on GET /orders/{id}."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import quote

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.test_task_complete import history_length
from tests.api.test_tasks import held_order, price_task
from tests.factories import propetro_order
from tests.servers import bearer
from tests.workflow.conftest import eventually

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

FLAG = {"category": "systemic", "platform": "conexiom", "comment": "Conexiom dropped line 2"}
EDIT = {
    "lines": [
        {"line_number": 1, "quantity": "120"},
        {"supplier_part_id": "PV-3300", "quantity": "2", "uom": "EA", "unit_price": "189.00"},
    ],
    "reason": "foreman wants more",
}


def po() -> str:
    return f"FE-{uuid.uuid4().int % 10**8:08d}/A"


def href(order_id: str) -> str:
    return f"/orders/{quote(order_id, safe='')}"


async def order_in(api: httpx.AsyncClient, keys: dict[str, str], status: str) -> str:
    """A clean order posted through the API, once it has reached `status`."""
    body = propetro_order(po()).model_dump(mode="json", exclude_none=True)
    resp = await api.post("/orders", json=body, headers=bearer(keys["system"]))
    assert resp.status_code == 202, resp.text
    order_id = resp.json()["order_id"]
    for _ in range(200):
        got = await api.get(href(order_id), headers=bearer(keys["account_rep"]))
        if got.json()["status"] == status:
            return order_id
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order_id} never reached {status}")


async def test_a_rep_flags_a_systemic_error_and_the_team_lead_gets_the_task(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    order_id, _ = await price_task(api, demo_keys, po())
    resp = await api.post(
        f"{href(order_id)}/flags", json=FLAG, headers=bearer(demo_keys["account_rep"])
    )
    assert resp.status_code == 201, resp.text
    flag = resp.json()
    # Named from the request (its Update id), not counted: a retry names it the same.
    assert flag["flag_id"].startswith("F-")
    assert (flag["category"], flag["platform"], flag["flagged_by"]) == (
        "systemic",
        "conexiom",
        "maria.lopez",
    )
    listed = await api.get(
        "/tasks",
        params={"workflow_id": order_id, "kind": "systemic_error"},
        headers=bearer(demo_keys["team_lead"]),
    )
    (task,) = listed.json()["items"]
    assert task["payload"]["flag_id"] == flag["flag_id"]
    assert [d["name"] for d in task["decisions"]] == ["acknowledge"]
    done = await api.post(
        f"{task['href']}/complete",
        json={"decision": "acknowledge", "comment": "IT ticket opened"},
        headers=bearer(demo_keys["team_lead"]),
    )
    assert done.status_code == 200, done.text

    async def acknowledged() -> dict | None:
        view = (await api.get(href(order_id), headers=bearer(demo_keys["account_rep"]))).json()
        return view if view["flags"][0]["acknowledged_by"] else None

    view = await eventually(acknowledged, "the flag acknowledged in the read model")
    assert view["flags"][0]["acknowledged_by"] == "tom.baker"


async def test_flag_refusals(
    api: httpx.AsyncClient, demo_keys: dict[str, str], dev_server: WorkflowEnvironment
) -> None:
    order_id, _ = await price_task(api, demo_keys, po())
    url = f"{href(order_id)}/flags"
    before = await history_length(dev_server, order_id)
    assert (await api.post(url, json=FLAG)).status_code == 401
    for role in ("branch_manager", "team_lead", "system"):
        resp = await api.post(url, json=FLAG, headers=bearer(demo_keys[role]))
        assert resp.status_code == 403, resp.text
    rep = bearer(demo_keys["account_rep"])
    for body in ({**FLAG, "comment": "  "}, {**FLAG, "category": "cosmic"}, {"category": "human"}):
        resp = await api.post(url, json=body, headers=rep)
        assert resp.status_code == 422, resp.text
    assert await history_length(dev_server, order_id) == before
    resp = await api.post("/orders/order-401693-NOPE-1/flags", json=FLAG, headers=rep)
    assert resp.status_code == 404, resp.text
    assert (await api.post("/orders/nope/flags", json=FLAG, headers=rep)).status_code == 404


async def test_a_branch_edit_round_trip_through_the_api(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    order_id = await order_in(api, demo_keys, "released")
    resp = await api.post(
        f"{href(order_id)}/edit-requests", json=EDIT, headers=bearer(demo_keys["branch_manager"])
    )
    assert resp.status_code == 201, resp.text
    asked = resp.json()
    assert asked["request_id"].startswith("E-") and asked["status"] == "requested"
    assert asked["new_lines"][0]["line_number"] == 4

    listed = await api.get(
        "/tasks",
        params={"workflow_id": order_id, "kind": "branch_edit"},
        headers=bearer(demo_keys["account_rep"]),
    )
    (task,) = listed.json()["items"]
    assert [d["name"] for d in task["decisions"]] == ["apply_edit", "reject_edit"]
    done = await api.post(
        f"{task['href']}/complete",
        json={"decision": "apply_edit", "root_cause": "human", "comment": "keyed 100"},
        headers=bearer(demo_keys["account_rep"]),
    )
    assert done.status_code == 200, done.text

    async def decided() -> dict | None:
        # The read model follows the decision's answer by a moment.
        view = (await api.get(href(order_id), headers=bearer(demo_keys["branch_manager"]))).json()
        return view if view["edit_requests"][0]["status"] != "requested" else None

    view = await eventually(decided, "the edit request decided in the read model")
    (edit,) = view["edit_requests"]
    assert (edit["status"], edit["root_cause"]) == ("applied", "human")
    assert edit["outcome"] == f"applied; pick ticket {view['pick_ticket_id']} printed at BR-ODS"
    assert len(view["lines"]) == 4


async def test_edit_request_refusals(
    api: httpx.AsyncClient, demo_keys: dict[str, str], dev_server: WorkflowEnvironment
) -> None:
    manager = bearer(demo_keys["branch_manager"])
    held = await api.post("/orders", json=held_order(po()), headers=bearer(demo_keys["system"]))
    held_id = held.json()["order_id"]
    await price_task(api, demo_keys, held_id.split("-", 2)[2])  # on hold, with its task
    resp = await api.post(f"{href(held_id)}/edit-requests", json=EDIT, headers=manager)
    assert resp.status_code == 409, resp.text
    assert resp.json() == {"detail": "cannot request edit: it is on_hold", "type": "InvalidState"}

    order_id = await order_in(api, demo_keys, "released")
    url = f"{href(order_id)}/edit-requests"
    before = await history_length(dev_server, order_id)
    assert (await api.post(url, json=EDIT)).status_code == 401
    for role in ("account_rep", "team_lead", "system"):
        resp = await api.post(url, json=EDIT, headers=bearer(demo_keys[role]))
        assert resp.status_code == 403, resp.text
    for body, detail in [
        ({**EDIT, "reason": " "}, None),
        ({**EDIT, "lines": []}, None),
        ({**EDIT, "lines": [{"line_number": 1, "quantity": "5", "uom": "CS"}]}, None),
        ({**EDIT, "lines": [{"quantity": "5", "uom": "EA", "unit_price": "1"}]}, None),
        ({**EDIT, "lines": [{"line_number": 9, "quantity": "5"}]}, "line 9 is not on the order"),
    ]:
        resp = await api.post(url, json=body, headers=manager)
        assert resp.status_code == 422, resp.text
        if detail:
            assert resp.json() == {"detail": detail, "type": "InvalidEdit"}
    assert await history_length(dev_server, order_id) == before
    resp = await api.post("/orders/order-401693-NOPE-2/edit-requests", json=EDIT, headers=manager)
    assert resp.status_code == 404, resp.text
