"""Issue 8's "Done when", over HTTP alone with the demo people's keys on the real
dev server: Mary registers and submits a CSR, John pre-approves, Frank requests
feedback, collects it, concludes and submits for approval, Peter approves, Frank
completes the implementation tasks, Mary records satisfaction and later
deactivates it. Every step lands on the right person's queue and in the
history; every wrong move is refused with a reason; the case reads in the
Temporal UI (search attributes, summary, details)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain import search
from tests.conftest import Simulators
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

FORM = {
    "account_number": "401693",
    "business_unit": "Oil & Gas",
    "title": "Sour-service gaskets only",
    "description": "Propetro requires NACE MR0175 certified gaskets on every shipment.",
    "main_shipping_site": "PP-ODESSA",
    "additional_shipping_sites": ["PP-HQ"],
    "related_products": [],
    "account_associations": ["401693"],
    "case_team": [{"person_id": "maria.lopez", "role": "Account rep"}],
}


async def tasks(api: httpx.AsyncClient, key: str, csr_id: str, kind: str) -> list[dict]:
    resp = await api.get(
        "/tasks", params={"workflow_id": csr_id, "kind": kind}, headers=bearer(key)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def my_task(api: httpx.AsyncClient, key: str, csr_id: str, kind: str) -> dict:
    # A move answers once the workflow took it; its next task reaches the read
    # model a moment later.
    for _ in range(200):
        if found := await tasks(api, key, csr_id, kind):
            (task,) = found
            return task
        await asyncio.sleep(0.05)
    raise AssertionError(f"{csr_id}: no {kind} task for this person")


async def move(api: httpx.AsyncClient, key: str, csr_id: str, **body: Any) -> httpx.Response:
    return await api.post(f"/csrs/{csr_id}/moves", json=body, headers=bearer(key))


async def ok(resp: httpx.Response, status: str) -> dict:
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == status, body
    return body


def refusal(resp: httpx.Response, status: int, *words: str) -> None:
    assert resp.status_code == status, resp.text
    detail = resp.json()["detail"]
    for word in words:
        assert word in detail, detail


async def test_the_seeds_csr_story_over_http_with_the_demo_people(
    api: httpx.AsyncClient,
    demo_people: dict[str, dict],
    sims: Simulators,
    dev_server: WorkflowEnvironment,
) -> None:
    mary, john, frank, peter = (
        demo_people[p]["key"] for p in ("mary.jones", "john.smith", "frank.miller", "peter.wright")
    )
    # Who does what in Propetro's business unit.
    rules = await api.get(
        "/csr-approver-rules", params={"business_unit": "Oil & Gas"}, headers=bearer(mary)
    )
    assert rules.status_code == 200, rules.text
    steps = {s: [p["person_id"] for p in people] for s, people in rules.json()[0]["steps"].items()}
    assert steps == {
        "assessment": ["frank.miller"],
        "final_approval": ["peter.wright"],
        "implementation": ["frank.miller"],
        "pre_approval": ["john.smith"],
        "sales_manager": ["sandra.cole"],
    }

    # Mary registers (only a sales rep may).
    refusal(await api.post("/csrs", json=FORM, headers=bearer(john)), 403, "sales_rep")
    created = await api.post("/csrs", json=FORM, headers=bearer(mary))
    assert created.status_code == 201, created.text
    csr_id = created.json()["csr_id"]
    assert created.headers["location"] == f"/csrs/{csr_id}"
    for _ in range(200):  # the CRM's details arrive just after registration
        case = (await api.get(f"/csrs/{csr_id}", headers=bearer(mary))).json()
        if case["account"]:
            break
        await asyncio.sleep(0.05)
    assert case["status"] == "registration" and case["owner"] == "mary.jones"
    assert case["account"]["sap_codes"] == ["SAP-100401693", "SAP-SH-7781"]
    assert (await my_task(api, mary, csr_id, "csr_registration"))["assignee"] == "mary.jones"

    # No related product yet; John, not on the case yet, may neither submit nor
    # edit Mary's case: to him it is not there.
    refusal(await move(api, mary, csr_id, move="submit"), 422, "related product")
    refusal(await move(api, john, csr_id, move="submit"), 404, f"no case {csr_id}")
    patch = {"related_products": ["GS-2040", "FL-7007"]}
    refusal(await api.patch(f"/csrs/{csr_id}", json=patch, headers=bearer(john)), 404, "no case")
    edited = await api.patch(f"/csrs/{csr_id}", json=patch, headers=bearer(mary))
    assert edited.status_code == 200, edited.text
    assert edited.json()["related_products_count"] == 2

    submitted = await ok(await move(api, mary, csr_id, move="submit"), "pending_pre_approval")
    assert submitted["current_step"]["people"] == ["john.smith"]
    refusal(await api.patch(f"/csrs/{csr_id}", json=patch, headers=bearer(mary)), 409, "locked")
    # In the Temporal UI: who holds it and by when, and the phase in its details.
    pending = await dev_server.client.get_workflow_handle(csr_id).describe()
    assert pending.typed_search_attributes.get(search.ASSIGNEE) == "john.smith"
    assert pending.typed_search_attributes.get(search.DUE_AT) is not None
    assert pending.typed_search_attributes.get(search.CSR_STATUS) == "pending_pre_approval"
    details = await pending.static_details()
    assert "Registered by: mary.jones" in details

    # John's queue; Frank (wrong role) and Peter (not this unit's pre-approver) are refused.
    pre = await my_task(api, john, csr_id, "csr_pre_approval")
    assert pre["assignee"] == "john.smith" and pre["due_at"]
    assert [d["name"] for d in pre["decisions"]] == ["pre_approve", "reject"]
    assert await tasks(api, frank, csr_id, "csr_pre_approval") == []
    # Frank and Peter are not on the case (its pre-approval is John's alone).
    refusal(await move(api, frank, csr_id, move="pre_approve"), 404, "no case")
    refusal(await move(api, peter, csr_id, move="pre_approve"), 404, "no case")
    refusal(await move(api, john, csr_id, move="approve"), 409, "pending_pre_approval")
    refusal(await move(api, john, csr_id, move="reject"), 422, "comment")
    completed = await api.post(
        f"{pre['href']}/complete",
        json={"decision": "pre_approve", "comment": "fits our quality plan"},
        headers=bearer(john),
    )
    assert (await ok(completed, "under_assessment"))["workflow_id"] == csr_id

    # Frank's assessment: feedback from John and Peter, each on their queue.
    assessment = await my_task(api, frank, csr_id, "csr_assessment")
    assert assessment["assignee"] == "frank.miller"
    asked = await move(
        api, frank, csr_id, move="request_feedback",
        parties=["john.smith", "peter.wright"], comment="can we source and margin it?",
    )  # fmt: skip
    await ok(asked, "under_assessment")
    refusal(await move(api, mary, csr_id, move="give_feedback", feasible=True), 403, "feedback")
    johns = await my_task(api, john, csr_id, "csr_feedback")
    answered = await api.post(
        f"{johns['href']}/complete",
        json={"decision": "give_feedback", "feasible": True, "comment": "two suppliers"},
        headers=bearer(john),
    )
    await ok(answered, "under_assessment")
    await ok(
        await move(api, peter, csr_id, move="give_feedback", feasible=True, comment="margin ok"),
        "under_assessment",
    )
    refusal(await move(api, frank, csr_id, move="submit_for_approval"), 422, "conclusion")
    refusal(await move(api, frank, csr_id, move="conclude"), 422, "conclusion")
    await ok(
        await move(api, frank, csr_id, move="conclude", conclusion="Feasible, two suppliers."),
        "under_assessment",
    )
    await ok(await move(api, frank, csr_id, move="submit_for_approval"), "approval_pending")

    # Peter's final approval, through his task.
    final = await my_task(api, peter, csr_id, "csr_final_approval")
    refusal(await move(api, john, csr_id, move="approve"), 403, "peter.wright")
    approved = await api.post(
        f"{final['href']}/complete", json={"decision": "approve"}, headers=bearer(peter)
    )
    await ok(approved, "under_implementation")

    # Frank implements: implemented only once every task is done.
    assert (await my_task(api, frank, csr_id, "csr_implementation"))["assignee"] == "frank.miller"
    for title in ("Flag the account in OMS", "Brief the Odessa branch"):
        await ok(
            await move(api, frank, csr_id, move="add_implementation_task", title=title),
            "under_implementation",
        )
    refusal(await move(api, frank, csr_id, move="complete_implementation"), 422, "still open")
    for number in (1, 2):
        await ok(
            await move(api, frank, csr_id, move="complete_implementation_task", task_number=number),
            "under_implementation",
        )
    await ok(await move(api, frank, csr_id, move="complete_implementation"), "implemented")

    # Live: Mary records satisfaction and later deactivates it.
    live = await my_task(api, mary, csr_id, "csr_live")
    refusal(await move(api, mary, csr_id, move="record_satisfaction", score=9), 422, "score")
    refusal(await move(api, mary, csr_id, move="reject", comment="no"), 409, "implemented")
    await ok(
        await move(api, mary, csr_id, move="record_satisfaction", score=5, comment="happy"),
        "implemented",
    )
    done = await api.post(
        f"{live['href']}/complete",
        json={"decision": "deactivate", "comment": "requirement withdrawn"},
        headers=bearer(mary),
    )
    await ok(done, "inactive")

    # Every step in the history, with its person.
    for _ in range(200):  # the last write lands as the workflow closes
        history = (await api.get(f"/csrs/{csr_id}/history", headers=bearer(peter))).json()
        if len(history["approval_history"]) == 6:
            break
        await asyncio.sleep(0.05)
    assert [(a["approver"], a["decision"]) for a in history["approval_history"]] == [
        ("mary.jones", "submitted for pre-approval"),
        ("john.smith", "pre-approved"),
        ("frank.miller", "submitted for final approval"),
        ("peter.wright", "approved"),
        ("frank.miller", "implemented"),
        ("mary.jones", "deactivated"),
    ]
    changes = {(c["actor"], c["field"]) for c in history["case_history"]}
    # Feedback requests are named from the request that asked for them.
    feedback = {c["actor"] for c in history["case_history"] if c["field"].startswith("feedback F-")}
    assert feedback == {"john.smith", "peter.wright"}
    assert {
        ("mary.jones", "related_products"),
        ("frank.miller", "conclusion"),
        ("frank.miller", "implementation task 2"),
        ("mary.jones", "customer_satisfaction"),
    } <= changes
    for key in (mary, john, frank, peter):
        assert (
            await api.get("/tasks", params={"workflow_id": csr_id}, headers=bearer(key))
        ).json()["items"] == []
    listed = await api.get(
        "/csrs",
        params={"business_unit": "Oil & Gas", "status": "inactive", "account": "401693"},
        headers=bearer(mary),
    )
    assert csr_id in [c["csr_id"] for c in listed.json()["items"]]

    # Readable in the Temporal UI: search attributes, summary, details.
    described = await dev_server.client.get_workflow_handle(csr_id).describe()
    attributes = described.typed_search_attributes
    assert attributes.get(search.CSR_STATUS) == "inactive"
    assert attributes.get(search.BUSINESS_UNIT) == "Oil & Gas"
    assert attributes.get(search.ACCOUNT_NUMBER) == "401693"
    assert (await described.static_summary()).startswith(f"CSR {csr_id.removeprefix('csr-')}")
    # Each assignment emailed its person a link to the case.
    emails = await sims.emails()
    for person in ("john.smith", "frank.miller", "peter.wright"):
        assert any(
            f"{person}@example.com" in m["to"] and f"/csrs/{csr_id}" in m["body"] for m in emails
        ), person
