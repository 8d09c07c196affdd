"""Issue 10's Done-when for account changes, over HTTP against the real dev
server: a RAM's request, the IM's task, a discrepancy that pauses the request
until the IM resolves it, iSeries updated, a CRM check that fails once, the
SSM's "ready for report generation" email and task, the hand-over, and the
request's history on GET /account-changes/{id}."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from sopflow.config import Settings
from tests.conftest import Simulators
from tests.servers import api_server, bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def my_task(api: httpx.AsyncClient, key: str, workflow_id: str, kind: str) -> dict:
    for _ in range(300):
        listed = await api.get(
            "/tasks", params={"workflow_id": workflow_id, "kind": kind}, headers=bearer(key)
        )
        assert listed.status_code == 200, listed.text
        if listed.json()["items"]:
            return listed.json()["items"][0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {kind} task in this person's queue")


async def status_of(api: httpx.AsyncClient, key: str, request_id: str, want: str) -> dict:
    for _ in range(300):
        got = await api.get(f"/account-changes/{request_id}", headers=bearer(key))
        if got.status_code == 200 and got.json()["status"] == want:
            return got.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{request_id} never reached {want}: {got.text}")


async def test_an_account_change_runs_from_the_rams_request_to_the_ssms_hand_over(
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
    simulators_server: Simulators,
    demo_keys: dict[str, str],
) -> None:
    sims = simulators_server
    fast = it_settings.model_copy(
        update={"account_change_crm_check_after": timedelta(milliseconds=200)}
    )
    ram, im, ssm = (demo_keys[r] for r in ("account_manager", "implementation_manager",
                                            "sales_support_manager"))  # fmt: skip
    na = f"NA-{uuid.uuid4().hex[:6]}"
    (await sims.http.put("/crm/accounts-transfer/_lose-next", json={"count": 1})).raise_for_status()
    async with api_server(fast, pool, dev_server.client) as api:
        body = {"kind": "add", "national_account": na, "accounts": ["401693", "404820"],
                "comment": "Propetro's yards join the NA"}  # fmt: skip
        refused = await api.post("/account-changes", json=body, headers=bearer(im))
        assert refused.status_code == 403
        bad = await api.post("/account-changes", json={**body, "accounts": []}, headers=bearer(ram))
        assert bad.status_code == 422
        created = await api.post("/account-changes", json=body, headers=bearer(ram))
        assert created.status_code == 201, created.text
        request_id, wid = created.json()["request_id"], created.json()["workflow_id"]
        assert wid == f"account-change-{request_id}"

        im_task = await my_task(api, im, wid, "im_update_iseries")
        assert im_task["assignee"] == "ian.moore"
        assert im_task["payload"]["routing"]["rule"] in ("primary", "account_contact")

        # A discrepancy pauses the request; the IM's update waits for its resolution.
        found = await api.post(
            f"/account-changes/{request_id}/discrepancies",
            json={"kind": "accounting", "description": "404820 has an open credit memo"},
            headers=bearer(ssm),
        )
        assert found.status_code == 201, found.text
        await status_of(api, ram, request_id, "on_hold")
        held = await api.post(
            f"{im_task['href']}/complete", json={"decision": "update_iseries"}, headers=bearer(im)
        )
        discrepancy = found.json()["discrepancy_id"]
        assert held.status_code == 409 and f"discrepancy {discrepancy}" in held.json()["detail"]
        fix = await my_task(api, im, wid, "im_resolve_discrepancy")
        done = await api.post(
            f"{fix['href']}/complete",
            json={"decision": "resolve", "comment": "credit memo applied"},
            headers=bearer(im),
        )
        assert done.status_code == 200, done.text
        await status_of(api, ram, request_id, "requested")

        updated = await api.post(
            f"{im_task['href']}/complete", json={"decision": "update_iseries"}, headers=bearer(im)
        )
        assert updated.status_code == 200, updated.text
        assert sims.state.iseries_accounts.members[na] == {"401693", "404820"}

        # The first transfer never arrives: checked, sent again, then the SSM is told.
        ready = await status_of(api, ram, request_id, "ready_for_reports")
        assert sims.state.crm_accounts.members[na] == {"401693", "404820"}
        assert len([t for t in sims.state.crm_accounts.transfers.values() if t.national_account == na]) == 2
        for _ in range(200):
            mails = [m for m in await sims.emails() if na in m["subject"]]
            if mails:
                break
            await asyncio.sleep(0.05)
        assert mails and mails[0]["to"] == ["sara.mills@example.com"]
        assert "Data ready for report generation" in mails[0]["subject"]
        assert [t["kind"] for t in ready["open_tasks"]] == ["ssm_handover"]

        ssm_task = await my_task(api, ssm, wid, "ssm_handover")
        accepted = await api.post(
            f"{ssm_task['href']}/complete",
            json={"decision": "accept_handover", "comment": "reports from Monday"},
            headers=bearer(ssm),
        )
        assert accepted.status_code == 200, accepted.text
        final = await status_of(api, ram, request_id, "handed_over")
        actions = [h["action"] for h in final["history"] if h["action"] != "task routed"]
        assert actions == [
            "requested", "discrepancy reported", "discrepancy resolved", "iseries updated",
            "transferred to CRM", "crm check failed", "transferred to CRM", "crm checked",
            "ssm notified", "ssm emailed", "hand-over accepted", "handed over",
        ]  # fmt: skip
        listed = await api.get(
            "/account-changes", params={"national_account": na}, headers=bearer(ram)
        )
        assert [r["request_id"] for r in listed.json()] == [request_id]
        again = await api.post(
            "/account-changes", json={**body, "request_id": request_id}, headers=bearer(ram)
        )
        assert again.status_code == 409
