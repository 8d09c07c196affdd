"""Issue 7 over HTTP on the real dev server: orders wait visibly while OMS is
down; GET /incidents and GET /incidents/{id} for the roles that follow outages;
POST /incidents/{id}/fallback for the CSC manager only; OMS back, the incident
closes and the order entered in iSeries is reconciled into OMS once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from sopflow.config import Settings
from tests.conftest import Simulators
from tests.factories import propetro_order
from tests.servers import api_server, bearer
from workers.main import build_worker

pytestmark = pytest.mark.integration

EVERYTHING = [
    {"line_number": 1, "quantity": 100},
    {"line_number": 2, "quantity": 2},
    {"line_number": 3, "quantity": 1},
]
POD = {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}


@pytest.fixture
async def quick(
    it_settings: Settings, pool: asyncpg.Pool, dev_server: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    """An API and a worker of their own (own task queue) where an outage is
    told after 1 s and the incident probes every second."""
    settings = it_settings.model_copy(
        update={
            "task_queue": f"sopflow-incidents-{uuid.uuid4().hex[:6]}",
            "outage_detect_after": timedelta(seconds=1),
            "outage_probe_every": timedelta(seconds=1),
        }
    )
    async with (
        build_worker(dev_server.client, settings, pool) as worker,
        worker,
        api_server(settings, pool, dev_server.client) as http,
    ):
        yield http


def href(order_id: str) -> str:
    return f"/orders/{quote(order_id, safe='')}"


async def until(check, what: str, tries: int = 300):  # type: ignore[no-untyped-def]
    for _ in range(tries):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


async def test_incidents_api_fallback_by_the_csc_manager_only_and_reconciliation(
    quick: httpx.AsyncClient, demo_keys: dict[str, str], sims: Simulators
) -> None:
    api, keys = quick, demo_keys
    await sims.fault("oms", down=True)
    order_ids = []
    for _ in range(2):
        body = propetro_order(f"INC-{uuid.uuid4().int % 10**8:08d}").model_dump(
            mode="json", exclude_none=True
        )
        resp = await api.post("/orders", json=body, headers=bearer(keys["system"]))
        assert resp.status_code == 202, resp.text
        order_ids.append(resp.json()["order_id"])
    entered, waits = order_ids

    async def waiting(order_id: str) -> dict | None:
        view = (await api.get(href(order_id), headers=bearer(keys["account_rep"]))).json()
        return view if view["status"] == "waiting_on_system" and view["incident_id"] else None

    views = [await until(lambda o=o: waiting(o), f"{o} waits in an incident") for o in order_ids]
    incident_id = views[0]["incident_id"]
    assert views[1]["incident_id"] == incident_id and views[0]["waiting_on"] == "sterling_oms"

    # Who may read incidents.
    for role in ("team_lead", "csc_manager", "it_support", "operator"):
        listed = await api.get("/incidents", headers=bearer(keys[role]))
        assert listed.status_code == 200, (role, listed.text)
    assert (await api.get("/incidents", headers=bearer(keys["account_rep"]))).status_code == 403
    listed = await api.get(
        "/incidents", params={"platform": "sterling_oms"}, headers=bearer(keys["it_support"])
    )
    (item,) = [i for i in listed.json()["items"] if i["incident_id"] == incident_id]
    assert (item["status"], item["platform"], item["href"]) == (
        "open",
        "sterling_oms",
        f"/incidents/{incident_id}",
    )
    other = await api.get(
        "/incidents", params={"platform": "iseries"}, headers=bearer(keys["it_support"])
    )
    assert incident_id not in {i["incident_id"] for i in other.json()["items"]}

    async def ticketed() -> dict | None:
        got = await api.get(f"/incidents/{incident_id}", headers=bearer(keys["team_lead"]))
        view = got.json()
        return view if len(view["affected_orders"]) == 2 and view["it_portal_ticket"] else None

    view = await until(ticketed, "both orders and the IT portal ticket in the incident")
    assert view["affected_accounts"] == ["401693"] and view["fallbacks"] == []
    assert {o["order_id"] for o in view["affected_orders"]} == set(order_ids)
    assert view["audit"][0]["action"] == "opened"
    health = (await api.get("/health")).json()
    assert incident_id in {i["incident_id"] for i in health["incidents"]}
    missing = await api.get("/incidents/incident-sterling_oms-20200101T000000",
                            headers=bearer(keys["operator"]))  # fmt: skip
    assert missing.status_code == 404

    # The CSC manager's queue has the call to make.
    queue = await api.get("/tasks", params={"kind": "outage_fallback",
                          "workflow_id": "incident-sterling_oms"}, headers=bearer(keys["csc_manager"]))  # fmt: skip
    (task,) = [t for t in queue.json()["items"] if t["payload"]["incident_id"] == incident_id]
    assert [d["name"] for d in task["decisions"]] == ["approve_fallback", "decline_fallback"]

    # Only the CSC manager approves manual entry in iSeries, with a comment, for
    # orders that wait in this incident.
    fallback = f"/incidents/{incident_id}/fallback"
    approve = {"comment": "branch needs it today", "orders": [entered]}
    for role in ("team_lead", "operator", "account_rep"):
        refused = await api.post(fallback, json=approve, headers=bearer(keys[role]))
        assert refused.status_code == 403, (role, refused.text)
        assert "csc_manager" in refused.json()["detail"]
    manager = bearer(keys["csc_manager"])
    no_comment = await api.post(
        fallback, json={"comment": " ", "orders": [entered]}, headers=manager
    )
    assert no_comment.status_code == 422
    stranger = await api.post(fallback, json={**approve, "orders": ["order-401693-NOPE"]},
                              headers=manager)  # fmt: skip
    assert stranger.status_code == 422 and "order-401693-NOPE" in stranger.json()["detail"]
    approved = await api.post(fallback, json=approve, headers=manager)
    assert approved.status_code == 200, approved.text
    decision = approved.json()["fallbacks"][0]
    assert (decision["decided_by"], decision["orders"]) == ("carol.nguyen", [entered])

    async def released(order_id: str) -> dict | None:
        view = (await api.get(href(order_id), headers=bearer(keys["account_rep"]))).json()
        return view if view["status"] == "released" else None

    view = await until(lambda: released(entered), "the approved order at the branch")
    assert view["oms_order_id"] is None
    assert view["iseries_fallback"]["approved_by"] == "carol.nguyen"
    assert view["iseries_fallback"]["iseries_order_id"]
    assert (await waiting(waits))["status"] == "waiting_on_system"

    # OMS back: the incident probes, the waiting order goes on through OMS, the
    # order entered in iSeries is reconciled, the incident closes.
    await sims.fault("oms", down=False)

    async def closed() -> dict | None:
        got = await api.get(f"/incidents/{incident_id}", headers=bearer(keys["csc_manager"]))
        return got.json() if got.json()["status"] == "closed" else None

    view = await until(closed, "the incident closes")
    assert view["duration_seconds"] > 0
    assert view["reconciliation"] == {"entered_in_iseries": 1, "reconciled": 1}
    assert view["fallbacks"][0]["decided_by"] == "carol.nguyen"
    again = await api.post(fallback, json=approve, headers=manager)
    assert again.status_code == 409
    await until(lambda: released(waits), "the waiting order at the branch through OMS")
    for order_id in order_ids:
        resp = await api.post(
            f"{href(order_id)}/shipments",
            json={"shipment_id": "RUN-1", "lines": EVERYTHING, "proof_of_delivery": POD},
            headers=bearer(keys["branch_manager"]),
        )
        assert resp.status_code == 201, resp.text
        assert len(await sims.oms_orders(order_id)) == 1
    view = (await api.get(href(entered), headers=bearer(keys["account_rep"]))).json()
    assert [a["action"] for a in view["audit"]].count("reconciled") == 1
    assert view["iseries_fallback"]["reconciled_oms_order_id"] == view["oms_order_id"]
