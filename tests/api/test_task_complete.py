"""Completing a task through the API: the body is checked against the decision's
model before the workflow is asked (so a malformed one leaves no trace in its
history), then the `decide` Update answers with the workflow's status or its
reason for refusing."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.api.test_tasks import new_person, price_task
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def po() -> str:
    return f"TD-{uuid.uuid4().int % 10**8:08d}"


async def history_length(env: WorkflowEnvironment, workflow_id: str) -> int:
    """The length of the workflow's history once it waits (the task is listed a
    moment before the order has finished opening its helpdesk ticket)."""
    handle = env.client.get_workflow_handle(workflow_id)
    last = -1
    for _ in range(200):
        described = await handle.describe()
        length = described.history_length
        raw = described.raw_description
        # Not while an activity or a workflow task (and the local activities it
        # runs, such as the read-model write) is still under way.
        if (
            length == last
            and not raw.pending_activities
            and not raw.HasField("pending_workflow_task")
        ):
            return length
        last = length
        await asyncio.sleep(0.05)
    raise AssertionError(f"{workflow_id} did not settle")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"decision": "approve_po_price", "comment": "ok"},
         "resolve_hold_price does not take 'approve_po_price' "
         "(it takes correct_price, escalate, recheck)"),
        ({"decision": "correct_price"}, "correct_price: unit_price: Field required"),
        ({"decision": "correct_price", "unit_price": "0"},
         "correct_price: unit_price: Input should be greater than 0"),
        ({"decision": "correct_price", "unit_price": "two"},
         "correct_price: unit_price: Input should be a valid decimal"),
        ({"decision": "correct_price", "unit_price": "2.35", "pool_id": "P1"},
         "correct_price: pool_id: not a field of this decision"),
        # escalate's own model has `comment`: the body's comment is that field.
        ({"decision": "escalate"}, "escalate: comment: Field required"),
        ({"decision": "escalate", "comment": "   "},
         "escalate: comment: String should have at least 1 character"),
        ({"decision": "recheck", "fields": {}}, "recheck: fields: not a field of this decision"),
    ],
)  # fmt: skip
async def test_an_unknown_decision_or_bad_fields_is_a_422_that_never_reaches_the_workflow(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    body: dict,
    detail: str,
) -> None:
    order_id, task = await price_task(api, demo_keys, po())
    before = await history_length(dev_server, order_id)
    resp = await api.post(
        f"{task['href']}/complete", json=body, headers=bearer(demo_keys["account_rep"])
    )
    assert resp.status_code == 422, resp.text
    assert resp.json() == {"detail": detail, "type": "InvalidDecision"}
    assert await history_length(dev_server, order_id) == before


async def test_a_body_without_a_decision_is_a_422(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    _, task = await price_task(api, demo_keys, po())
    for body in ({"unit_price": "2.35"}, {"decision": "", "unit_price": "2.35"}):
        resp = await api.post(
            f"{task['href']}/complete", json=body, headers=bearer(demo_keys["account_rep"])
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["type"] == "ValidationError"
        assert resp.json()["detail"].startswith("decision:")


async def test_a_role_or_person_that_may_not_decide_is_refused_without_touching_history(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    dev_server: WorkflowEnvironment,
    pool: asyncpg.Pool,
) -> None:
    order_id, task = await price_task(api, demo_keys, po())
    before = await history_length(dev_server, order_id)
    body = {"decision": "correct_price", "unit_price": "2.35"}
    # The account's team lead reaches the task but holds another role.
    resp = await api.post(
        f"{task['href']}/complete", json=body, headers=bearer(demo_keys["team_lead"])
    )
    assert resp.status_code == 403, resp.text
    assert resp.json() == {"detail": "this task is for the role account_rep", "type": "Forbidden"}
    # The branch manager, and a rep of another account, do not reach it at all.
    _, other_key = await new_person(pool, "account_rep")
    for key in (demo_keys["branch_manager"], other_key):
        resp = await api.post(f"{task['href']}/complete", json=body, headers=bearer(key))
        assert resp.status_code == 404, resp.text
        assert resp.json() == {"detail": f"no task {task['task_id']}", "type": "NotFound"}
    assert await history_length(dev_server, order_id) == before


async def test_recheck_on_a_price_still_wrong_is_refused_with_the_reason(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    order_id, task = await price_task(api, demo_keys, po())
    rep = bearer(demo_keys["account_rep"])
    resp = await api.post(f"{task['href']}/complete", json={"decision": "recheck"}, headers=rep)
    assert resp.status_code == 422, resp.text
    assert "price" in resp.json()["detail"].lower(), resp.json()
    again = await api.get(task["href"], headers=rep)
    assert again.json()["status"] == "open"


async def test_a_decision_that_cures_the_hold_answers_with_the_workflow_status(
    api: httpx.AsyncClient, demo_keys: dict[str, str], dev_server: WorkflowEnvironment
) -> None:
    order_id, task = await price_task(api, demo_keys, po())
    rep = bearer(demo_keys["account_rep"])
    # A JSON number works as well as a string; the comment is the general one.
    body = {"decision": "correct_price", "unit_price": 2.35, "comment": "buyer agreed"}
    resp = await api.post(f"{task['href']}/complete", json=body, headers=rep)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    # Answered as soon as the order took it: still on hold, on its way to OMS.
    assert answer == {
        "task_id": task["task_id"],
        "workflow_id": order_id,
        "status": "on_hold",
        "next_step": "every hold is resolved: confirming the order in OMS",
    }
    # The read model follows a moment later: the task closed, the order confirmed.
    for _ in range(100):
        done = await api.get(task["href"], headers=rep)
        order = await api.get(f"/orders/{order_id}", headers=rep)
        if done.json()["status"] == "closed" and order.json()["status"] != "on_hold":
            break
        await asyncio.sleep(0.05)
    assert done.json()["status"] == "closed"
    assert order.json()["status"] in {"confirmed", "released"}
    # The API told the order to carry the decision out once it had answered, so
    # the order's own timer (a second) never had to.
    history = dev_server.client.get_workflow_handle(order_id).fetch_history_events()
    events = [e async for e in history]
    signals = [e.workflow_execution_signaled_event_attributes.signal_name for e in events
               if e.HasField("workflow_execution_signaled_event_attributes")]  # fmt: skip
    assert signals == ["carry_out"]
    assert not any(e.HasField("timer_fired_event_attributes") for e in events)
    resp = await api.post(f"{task['href']}/complete", json=body, headers=rep)
    assert resp.status_code == 409, resp.text
