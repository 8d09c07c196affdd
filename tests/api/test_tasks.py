"""The task API's reads over the read model: a person's queue (theirs and their
roles', open or closed, filtered, soonest due first, paged) and one task with
the decisions it accepts; who may see which task."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from db.keys import create_api_key
from tests.factories import propetro_order
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

PRICE_DECISIONS = [
    {"name": "correct_price", "fields": [{"name": "unit_price", "type": "decimal", "required": True}]},
    {"name": "escalate", "fields": [{"name": "comment", "type": "string", "required": True}]},
    {"name": "recheck", "fields": []},
]  # fmt: skip


def held_order(po: str) -> dict:
    """Propetro's order with line 1 at 2.10 (the contract says 2.35): a PRICE hold."""
    order = propetro_order(po)
    first = order.lines[0].model_copy(update={"unit_price": Decimal("2.10")})
    order = order.model_copy(update={"lines": [first, *order.lines[1:]]})
    return order.model_dump(mode="json", exclude_none=True)


async def price_task(api: httpx.AsyncClient, keys: dict[str, str], po: str) -> tuple[str, dict]:
    """Post a held order through the API; its line-1 price task, as the rep lists it."""
    resp = await api.post("/orders", json=held_order(po), headers=bearer(keys["system"]))
    assert resp.status_code == 202, resp.text
    order_id = resp.json()["order_id"]
    for _ in range(200):
        listed = await api.get(
            "/tasks",
            params={"workflow_id": order_id, "kind": "resolve_hold_price"},
            headers=bearer(keys["account_rep"]),
        )
        assert listed.status_code == 200, listed.text
        found = [t for t in listed.json()["items"] if t["payload"].get("line_number") == 1]
        if found:
            return order_id, found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order_id}: no price task in the rep's queue")


async def new_person(pool: asyncpg.Pool, *roles: str) -> tuple[str, str]:
    person = f"tasks-{uuid.uuid4().hex[:10]}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO people (person_id, name, email) VALUES ($1, $2, $3)",
            person,
            "Task tester",
            f"{person}@example.com",
        )
        return person, await create_api_key(conn, person, list(roles), label="task api test")


async def test_an_on_hold_order_shows_its_task_to_the_rep_with_payload_and_decisions(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    # A PO number with "/" and "#": the task id holds it, and ":" besides.
    po = f"TK-{uuid.uuid4().int % 10**8:08d}/A#1"
    order_id, task = await price_task(api, demo_keys, po)
    assert task["task_id"].startswith(f"{order_id}:") and task["workflow_id"] == order_id
    assert (task["kind"], task["role"], task["assignee"], task["queue"]) == (
        "resolve_hold_price",
        "account_rep",
        "maria.lopez",
        None,
    )
    assert (task["status"], task["closed_at"], task["outcome"]) == ("open", None, None)
    assert task["due_at"] and task["opened_at"]
    assert task["payload"]["code"] == "PRICE" and "2.10" in task["payload"]["reason"]
    assert task["decisions"] == PRICE_DECISIONS
    assert task["href"] == f"/tasks/{quote(task['task_id'], safe='')}"

    # One task, by its href (the id percent-encoded whole): the same task.
    one = await api.get(task["href"], headers=bearer(demo_keys["account_rep"]))
    assert one.status_code == 200, one.text
    assert one.json() == task
    # The due time is the order's SLA.
    order = await api.get(
        f"/orders/{quote(order_id, safe='')}", headers=bearer(demo_keys["system"])
    )
    assert task["due_at"] == order.json()["sla_due_at"]


async def test_another_role_neither_lists_nor_reads_the_task_but_the_team_lead_and_an_operator_do(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    order_id, task = await price_task(api, demo_keys, f"TK-{uuid.uuid4().int % 10**8:08d}")
    # The order's branch manager: a rep's task is not theirs (and reads like none).
    branch = bearer(demo_keys["branch_manager"])
    listed = await api.get("/tasks", params={"workflow_id": order_id}, headers=branch)
    assert listed.json() == {"items": [], "next_offset": None}
    one = await api.get(task["href"], headers=branch)
    assert one.status_code == 404
    assert one.json() == {"detail": f"no task {task['task_id']}", "type": "NotFound"}

    # The account's team lead hands out its work: they see it.
    lead = bearer(demo_keys["team_lead"])
    listed = await api.get("/tasks", params={"workflow_id": order_id}, headers=lead)
    assert task["task_id"] in [t["task_id"] for t in listed.json()["items"]]
    assert (await api.get(task["href"], headers=lead)).status_code == 200

    listed = await api.get(
        "/tasks", params={"workflow_id": order_id}, headers=bearer(demo_keys["operator"])
    )
    assert task["task_id"] in [t["task_id"] for t in listed.json()["items"]]
    one = await api.get(task["href"], headers=bearer(demo_keys["operator"]))
    assert one.status_code == 200 and one.json()["task_id"] == task["task_id"]


async def test_filters_narrow_the_queue(api: httpx.AsyncClient, demo_keys: dict[str, str]) -> None:
    order_id, task = await price_task(api, demo_keys, f"TK-{uuid.uuid4().int % 10**8:08d}")
    rep = bearer(demo_keys["account_rep"])

    async def ids(**params: str) -> list[str]:
        resp = await api.get("/tasks", params={"limit": 200, **params}, headers=rep)
        assert resp.status_code == 200, resp.text
        return [t["task_id"] for t in resp.json()["items"]]

    me = task["task_id"]
    assert me in await ids(workflow_id=order_id)
    assert me in await ids(workflow_id=order_id, status="open", assignee="maria.lopez")
    assert me not in await ids(workflow_id=order_id, kind="resolve_hold_part")
    assert me not in await ids(workflow_id=order_id, assignee="someone.else")
    assert me not in await ids(workflow_id=order_id, status="closed")
    assert me not in await ids(workflow_id=f"{order_id}-other")
    # By account: its workflow's, with the workflow's summary beside it.
    assert me in await ids(workflow_id=order_id, account="401693")
    assert me not in await ids(workflow_id=order_id, account="402110")
    assert (task["account_number"], task["summary"].split(" · ")[1]) == (
        "401693",
        "Propetro Services (401693)",
    )

    bad = await api.get("/tasks", params={"status": "done"}, headers=rep)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("query.status")
    bad = await api.get("/tasks", params={"kind": "a\x00b"}, headers=rep)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("query.kind")
    bad = await api.get("/tasks", params={"account": "401 693"}, headers=rep)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("query.account")


async def test_a_cancelled_order_shows_its_task_closed_with_its_outcome(
    api: httpx.AsyncClient, demo_keys: dict[str, str], dev_server: WorkflowEnvironment
) -> None:
    order_id, task = await price_task(api, demo_keys, f"TK-{uuid.uuid4().int % 10**8:08d}")
    rep = bearer(demo_keys["account_rep"])
    await dev_server.client.get_workflow_handle(order_id).cancel()
    for _ in range(200):
        closed = (await api.get(task["href"], headers=rep)).json()
        if closed["status"] == "closed":
            break
        await asyncio.sleep(0.05)
    assert (closed["status"], closed["outcome"]) == ("closed", "workflow cancelled")
    assert closed["closed_at"] >= closed["opened_at"]
    # Still the decisions of its kind (what it accepted), now refused by the workflow.
    assert closed["decisions"] == PRICE_DECISIONS

    listed = await api.get(
        "/tasks", params={"workflow_id": order_id, "status": "closed"}, headers=rep
    )
    assert [t["task_id"] for t in listed.json()["items"] if t["task_id"] == task["task_id"]] == [
        task["task_id"]
    ]
    still_open = await api.get("/tasks", params={"workflow_id": order_id}, headers=rep)
    assert task["task_id"] not in [t["task_id"] for t in still_open.json()["items"]]


@pytest.mark.parametrize(
    "task_id",
    ["order-401693-nothing:run:hold:1", "no/such:task", "x" * 2000, "a\x01b"],
)
async def test_an_unknown_task_is_a_404_with_a_reason(
    api: httpx.AsyncClient, demo_keys: dict[str, str], task_id: str
) -> None:
    resp = await api.get(
        f"/tasks/{quote(task_id, safe='')}", headers=bearer(demo_keys["account_rep"])
    )
    assert resp.status_code == 404, resp.text
    assert resp.json()["type"] == "NotFound" and resp.json()["detail"].startswith("no task")


# ----------------------------------------------- ordering and paging, on rows of our own


async def insert_tasks(pool: asyncpg.Pool, rows: list[dict]) -> None:
    async with pool.acquire() as conn:
        await conn.executemany(
            """INSERT INTO human_tasks (task_id, workflow_id, kind, assignee, queue, role,
                   due_at, payload, opened_at, closed_at, outcome)
               VALUES ($1, $2, $3, $4, NULL, $5, $6, '{}', $7, $8, $9)""",
            [
                (
                    r["task_id"], r["workflow_id"], r.get("kind", "probe"), r.get("assignee"),
                    r["role"], r.get("due_at"), r["opened_at"], r.get("closed_at"),
                    r.get("outcome"),
                )
                for r in rows
            ],
        )  # fmt: skip


async def test_soonest_due_first_then_oldest_and_paged(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    person, key = await new_person(pool, "csr_implementer")
    other, _ = await new_person(pool, "csr_implementer")
    wf = f"probe-{uuid.uuid4().hex[:8]}"
    t0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
    hour = timedelta(hours=1)
    await insert_tasks(
        pool,
        [
            # Mine; unassigned for my role; someone else's (not mine to see).
            {"task_id": f"{wf}:a", "workflow_id": wf, "assignee": person, "role": "team_lead",
             "due_at": t0 + 3 * hour, "opened_at": t0},
            {"task_id": f"{wf}:b", "workflow_id": wf, "role": "csr_implementer",
             "due_at": t0 + hour, "opened_at": t0 + hour},
            {"task_id": f"{wf}:c", "workflow_id": wf, "role": "csr_implementer",
             "due_at": t0 + hour, "opened_at": t0},
            {"task_id": f"{wf}:d", "workflow_id": wf, "assignee": person, "role": "team_lead",
             "opened_at": t0 - hour},
            {"task_id": f"{wf}:e", "workflow_id": wf, "assignee": other, "role": "csr_implementer",
             "due_at": t0, "opened_at": t0},
            {"task_id": f"{wf}:f", "workflow_id": wf, "role": "csr_implementer", "kind": "other",
             "due_at": t0 + 2 * hour, "opened_at": t0, "closed_at": t0 + hour, "outcome": "done"},
            {"task_id": f"{wf}:g", "workflow_id": wf, "role": "sales_rep",
             "due_at": t0, "opened_at": t0},
        ],
    )  # fmt: skip

    async def page(limit: int, offset: int, **params: str) -> dict:
        resp = await api.get(
            "/tasks",
            params={"workflow_id": wf, "limit": limit, "offset": offset, **params},
            headers=bearer(key),
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    whole = await page(50, 0)
    # Due first (c before b: same due time, opened earlier), no due time last.
    assert [t["task_id"] for t in whole["items"]] == [f"{wf}:c", f"{wf}:b", f"{wf}:a", f"{wf}:d"]
    assert whole["next_offset"] is None
    assert {t["decisions"] == [] and t["status"] == "open" for t in whole["items"]} == {True}

    seen, offset = [], 0
    while offset is not None:
        got = await page(3, offset)
        assert len(got["items"]) <= 3
        seen += [t["task_id"] for t in got["items"]]
        offset = got["next_offset"]
    assert seen == [t["task_id"] for t in whole["items"]]
    assert (await page(3, 0))["next_offset"] == 3
    assert (await page(2, 2))["next_offset"] is None

    closed = await page(50, 0, status="closed")
    assert [(t["task_id"], t["status"], t["outcome"]) for t in closed["items"]] == [
        (f"{wf}:f", "closed", "done")
    ]
    assert [t["task_id"] for t in (await page(50, 0, kind="probe", assignee=person))["items"]] == [
        f"{wf}:a",
        f"{wf}:d",
    ]

    # Someone else's task and another role's: as if there were none.
    resp = await api.get(f"/tasks/{quote(f'{wf}:e', safe='')}", headers=bearer(key))
    assert resp.status_code == 404 and resp.json()["detail"] == f"no task {wf}:e"
    resp = await api.get(f"/tasks/{quote(f'{wf}:g', safe='')}", headers=bearer(key))
    assert resp.status_code == 404 and resp.json()["detail"] == f"no task {wf}:g"
    # A closed task of my role reads like an open one.
    resp = await api.get(f"/tasks/{wf}:f", headers=bearer(key))
    assert resp.status_code == 200
    assert datetime.fromisoformat(resp.json()["closed_at"]) == t0 + hour
