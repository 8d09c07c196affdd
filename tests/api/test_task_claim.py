"""Claiming a task through the API: the `claim_task` Update of its workflow. The
rep takes it; a rep of another account, and the branch manager, do not even
see it (404, api/policy.py); a team lead gives it to someone; a closed task is
a 409."""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.test_tasks import new_person, price_task
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def po() -> str:
    return f"TC-{uuid.uuid4().int % 10**8:08d}"


async def audit(api: httpx.AsyncClient, keys: dict[str, str], order_id: str) -> list[tuple]:
    resp = await api.get(f"/orders/{quote(order_id, safe='')}", headers=bearer(keys["system"]))
    assert resp.status_code == 200, resp.text
    return [(e["actor"], e["action"], e["comment"]) for e in resp.json()["audit"]]


async def test_the_rep_claims_another_rep_cannot_a_team_lead_reassigns_a_branch_manager_may_not(
    api: httpx.AsyncClient, demo_keys: dict[str, str], pool: asyncpg.Pool
) -> None:
    order_id, task = await price_task(api, demo_keys, po())
    claim = f"{task['href']}/claim"
    rep = bearer(demo_keys["account_rep"])
    other_rep, other_key = await new_person(pool, "account_rep")

    # The rep takes it (it is on her queue already): the task as GET shows it, audited.
    resp = await api.post(claim, headers=rep)
    assert resp.status_code == 200, resp.text
    assert resp.json()["assignee"] == "maria.lopez"
    assert resp.json() == (await api.get(task["href"], headers=rep)).json()
    assert ("maria.lopez", "task claimed", "resolve_hold_price → maria.lopez") in await audit(
        api, demo_keys, order_id
    )

    # A rep of no relation to the account does not see it, let alone take it.
    resp = await api.post(claim, headers=bearer(other_key))
    assert resp.status_code == 404, resp.text
    assert resp.json() == {"detail": f"no task {task['task_id']}", "type": "NotFound"}

    # Nor does the branch manager (the order's branch, but a rep's task).
    branch = bearer(demo_keys["branch_manager"])
    for body in (None, {"assignee": "demo-branch-manager"}):
        resp = await api.post(claim, json=body, headers=branch)
        assert resp.status_code == 404, resp.text

    # A team lead gives it to the other rep, who now sees it as theirs.
    lead = bearer(demo_keys["team_lead"])
    resp = await api.post(claim, json={"assignee": other_rep}, headers=lead)
    assert resp.status_code == 200, resp.text
    assert resp.json()["assignee"] == other_rep
    mine = await api.get(task["href"], headers=bearer(other_key))
    assert mine.status_code == 200 and mine.json() == resp.json()
    trail = await audit(api, demo_keys, order_id)
    assert any(
        action == "task reassigned" and comment == f"resolve_hold_price → {other_rep}"
        for _, action, comment in trail
    ), trail
    # ... and now it is out of her sight.
    resp = await api.post(claim, headers=rep)
    assert resp.status_code == 404, resp.text

    # Only to someone who holds the task's role; a body with other fields is a 422.
    resp = await api.post(claim, json={"assignee": "demo-branch-manager"}, headers=lead)
    assert resp.status_code == 422, resp.text
    assert resp.json() == {
        "detail": "demo-branch-manager does not hold the role account_rep this task needs",
        "type": "InvalidAssignee",
    }
    resp = await api.post(claim, json={"assignee": other_rep, "note": "x"}, headers=lead)
    assert resp.status_code == 422 and resp.json()["type"] == "ValidationError"
    resp = await api.get(task["href"], headers=bearer(other_key))
    assert resp.json()["assignee"] == other_rep

    # An operator gives tasks too: back to the rep, who sees it as hers again.
    operator = bearer(demo_keys["operator"])
    resp = await api.post(claim, json={"assignee": "maria.lopez"}, headers=operator)
    assert resp.status_code == 200, resp.text
    assert (await api.get(task["href"], headers=rep)).json()["assignee"] == "maria.lopez"


async def test_an_unknown_task_is_a_404(api: httpx.AsyncClient, demo_keys: dict[str, str]) -> None:
    for task_id in ("order-401693-nothing:run:hold:1", "a\x01b"):
        resp = await api.post(
            f"/tasks/{quote(task_id, safe='')}/claim", headers=bearer(demo_keys["account_rep"])
        )
        assert resp.status_code == 404, resp.text
        assert resp.json()["type"] == "NotFound"


async def test_a_closed_task_is_a_409_for_claim_and_complete(
    api: httpx.AsyncClient, demo_keys: dict[str, str], dev_server: WorkflowEnvironment
) -> None:
    order_id, task = await price_task(api, demo_keys, po())
    rep = bearer(demo_keys["account_rep"])
    await dev_server.client.get_workflow_handle(order_id).cancel()
    for _ in range(200):
        if (await api.get(task["href"], headers=rep)).json()["status"] == "closed":
            break
        await asyncio.sleep(0.05)

    resp = await api.post(f"{task['href']}/claim", headers=rep)
    assert resp.status_code == 409, resp.text
    assert resp.json() == {
        "detail": f"task {task['task_id']} is closed (workflow cancelled)",
        "type": "InvalidState",
    }
    resp = await api.post(
        f"{task['href']}/complete",
        json={"decision": "correct_price", "unit_price": "2.35"},
        headers=rep,
    )
    assert resp.status_code == 409, resp.text
    assert resp.json()["type"] == "InvalidState"
