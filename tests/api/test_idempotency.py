"""A client that retries with the same Idempotency-Key gets the first answer and
the request is recorded once (in the workflow, its audit trail and the read
model); the same key with another body is a 422; no key means no de-duplication."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from db import read_model
from tests.api.test_flags_and_edits import EDIT, href, order_in
from tests.integration.test_account_change_story import status_of
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

FLAG = {"category": "human", "platform": "sterling_oms", "comment": "keyed the wrong price"}


def keyed(key: str, api_key: str) -> dict[str, str]:
    return {**bearer(api_key), "Idempotency-Key": key}


async def flagged(pool: asyncpg.Pool, order_id: str) -> list[str]:
    """The read model's audit entries of flags (what GET /orders/{id} shows)."""
    async with pool.acquire() as conn:
        trail = await read_model.audit_trail(conn, order_id)
    return [r["comment"] for r in trail if r["action"] == "error flagged"]


async def test_a_flag_retried_with_its_key_is_recorded_once(
    api: httpx.AsyncClient, demo_keys: dict[str, str], pool: asyncpg.Pool
) -> None:
    order_id = await order_in(api, demo_keys, "released")
    rep = demo_keys["account_rep"]
    key = f"retry-{uuid.uuid4()}"
    first = await api.post(f"{href(order_id)}/flags", json=FLAG, headers=keyed(key, rep))
    assert first.status_code == 201, first.text
    again = await api.post(f"{href(order_id)}/flags", json=FLAG, headers=keyed(key, rep))
    assert (again.status_code, again.json()) == (201, first.json())

    other = await api.post(
        f"{href(order_id)}/flags", json={**FLAG, "comment": "another"}, headers=keyed(key, rep)
    )
    assert other.status_code == 422, other.text
    assert other.json()["type"] == "IdempotencyKeyReused"

    view = (await api.get(href(order_id), headers=bearer(rep))).json()
    assert [f["flag_id"] for f in view["flags"]] == [first.json()["flag_id"]]
    assert len(await flagged(pool, order_id)) == 1


async def test_flags_without_a_key_are_two_flags(
    api: httpx.AsyncClient, demo_keys: dict[str, str], pool: asyncpg.Pool
) -> None:
    order_id = await order_in(api, demo_keys, "released")
    rep = demo_keys["account_rep"]
    for _ in range(2):
        sent = await api.post(f"{href(order_id)}/flags", json=FLAG, headers=bearer(rep))
        assert sent.status_code == 201, sent.text
    view = (await api.get(href(order_id), headers=bearer(rep))).json()
    assert len(view["flags"]) == 2 and len(await flagged(pool, order_id)) == 2


async def test_a_key_that_is_not_printable_ascii_is_refused(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    order_id = await order_in(api, demo_keys, "released")
    sent = await api.post(
        f"{href(order_id)}/flags", json=FLAG, headers=keyed("two words", demo_keys["account_rep"])
    )
    assert sent.status_code == 422 and "Idempotency-Key" in sent.json()["detail"]


async def test_a_discrepancy_retried_with_its_key_is_reported_once(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    ram, ssm = demo_keys["account_manager"], demo_keys["sales_support_manager"]
    body = {"kind": "add", "national_account": f"NA-{uuid.uuid4().hex[:6]}",
            "accounts": ["401693"], "comment": "Propetro joins the NA"}  # fmt: skip
    created = await api.post("/account-changes", json=body, headers=bearer(ram))
    assert created.status_code == 201, created.text
    request_id = created.json()["request_id"]
    await status_of(api, ram, request_id, "requested")
    report = {"kind": "billing", "description": "401693 bills to the old NA"}
    key = f"retry-{uuid.uuid4()}"
    answers = [
        await api.post(
            f"/account-changes/{request_id}/discrepancies", json=report, headers=keyed(key, ssm)
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201], answers[1].text
    assert answers[0].json() == answers[1].json()
    detail = await status_of(api, ram, request_id, "on_hold")
    assert [d["discrepancy_id"] for d in detail["request"]["discrepancies"]] == [
        answers[0].json()["discrepancy_id"]
    ]
    reported = [e for e in detail["history"] if e["action"] == "discrepancy reported"]
    assert len(reported) == 1


async def test_an_edit_request_retried_with_its_key_is_one_request(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    order_id = await order_in(api, demo_keys, "released")
    branch = demo_keys["branch_manager"]
    key = f"retry-{uuid.uuid4()}"
    answers = [
        await api.post(f"{href(order_id)}/edit-requests", json=EDIT, headers=keyed(key, branch))
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201], answers[1].text
    assert answers[0].json() == answers[1].json()
    view = (await api.get(href(order_id), headers=bearer(branch))).json()
    assert [r["request_id"] for r in view["edit_requests"]] == [answers[0].json()["request_id"]]
    tasks = await api.get(
        "/tasks",
        params={"workflow_id": order_id, "kind": "branch_edit"},
        headers=bearer(demo_keys["account_rep"]),
    )
    assert len(tasks.json()["items"]) == 1
