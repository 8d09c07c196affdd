"""A worker killed in the middle of an order: the order still completes, with
exactly one order in OMS."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from sopflow.config import Settings
from tests.conftest import Simulators
from tests.integration.test_order_e2e import cxml_status, post_cxml, sample, wait_for
from tests.servers import api_server, bearer

POD = {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}


def start_worker(settings: Settings) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "TEMPORAL_ADDRESS": settings.temporal_target,
        "SOPFLOW_TASK_QUEUE": settings.task_queue,
        "SOPFLOW_OMS_URL": settings.system_url("oms"),
        "SOPFLOW_ISERIES_URL": settings.system_url("iseries"),
        "SOPFLOW_EMAIL_URL": settings.system_url("email"),
        "SOPFLOW_HELPDESK_URL": settings.system_url("helpdesk"),
    }
    return subprocess.Popen([sys.executable, "-m", "sopflow", "worker"], env=env)


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen]]:
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


async def test_order_survives_a_worker_killed_during_the_oms_call(
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
    sims: Simulators,
    demo_keys: dict[str, str],
    workers: list[subprocess.Popen],
) -> None:
    settings = it_settings.model_copy(
        update={"task_queue": f"crash-{uuid.uuid4().hex[:8]}", "update_wait": timedelta(seconds=1)}
    )
    async with api_server(settings, pool, dev_server.client) as api:
        workers.append(start_worker(settings))
        for _ in range(200):
            if (await api.get("/health")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the worker never started polling")

        # OMS does the work but answers slowly (still within the activity's
        # 3 s timeout): the worker dies waiting for the answer.
        await sims.fault("oms", latency_ms=2000)
        po = f"46{uuid.uuid4().int % 10**8:08d}"
        resp = await post_cxml(api, demo_keys["system"], sample(po))
        order_id = resp.headers["X-Order-Id"]
        assert cxml_status(resp)[0] == 200
        for _ in range(200):
            if await sims.oms_orders(order_id):
                break
            await asyncio.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        # With no worker at all, the order can still be read (from the read model).
        meanwhile = await api.get(f"/orders/{order_id}", headers=bearer(demo_keys["account_rep"]))
        assert meanwhile.status_code == 200 and meanwhile.json()["status"] == "received"
        # A person's move cannot be answered now: a clear "try again", not a hang or a 500.
        stuck = await api.post(
            f"/orders/{order_id}/shipments",
            json={"lines": [{"line_number": 1, "quantity": 1}], "proof_of_delivery": POD},
            headers=bearer(demo_keys["branch_manager"]),
        )
        assert stuck.status_code == 503 and "worker" in stuck.json()["detail"]

        await sims.fault("oms", latency_ms=0)
        workers.append(start_worker(settings))
        await wait_for(api, demo_keys["system"], order_id, "released")
        shipped = await api.post(
            f"/orders/{order_id}/shipments",
            json={
                "lines": [{"line_number": n, "quantity": q} for n, q in ((1, 100), (2, 2), (3, 1))],
                "proof_of_delivery": POD,
            },
            headers=bearer(demo_keys["branch_manager"]),
        )
        assert shipped.status_code == 201, shipped.text
        await wait_for(api, demo_keys["system"], order_id, "completed")

    assert len(await sims.oms_orders(order_id)) == 1
    # The OMS call was made twice, once by the dead worker and once after it;
    # every other activity ran once.
    history = await dev_server.client.get_workflow_handle(order_id).fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    attempts = {
        scheduled[
            e.activity_task_started_event_attributes.scheduled_event_id
        ]: e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
    }
    assert attempts.pop("oms.create_order") == 2
    assert set(attempts.values()) == {1}


async def test_a_worker_killed_while_sending_the_buyer_a_document_sends_no_duplicate(
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
    sims: Simulators,
    demo_keys: dict[str, str],
    workers: list[subprocess.Popen],
    buyer_endpoint: str,
) -> None:
    settings = it_settings.model_copy(update={"task_queue": f"crash-{uuid.uuid4().hex[:8]}"})
    async with api_server(settings, pool, dev_server.client) as api:
        workers.append(start_worker(settings))
        for _ in range(200):
            if (await api.get("/health")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the worker never started polling")

        # The buyer's system takes the confirmation but answers slowly: the
        # worker dies waiting for the answer.
        await sims.fault("network", latency_ms=2500)
        po = f"48{uuid.uuid4().int % 10**8:08d}"
        resp = await post_cxml(api, demo_keys["system"], sample(po))
        order_id = resp.headers["X-Order-Id"]
        for _ in range(300):
            if sims.state.network.documents:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the buyer never received the confirmation")
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()

        await sims.fault("network", latency_ms=0)
        workers.append(start_worker(settings))
        for _ in range(300):
            listed = (
                await api.get(f"/orders/{order_id}/documents", headers=bearer(demo_keys["system"]))
            ).json()["items"]
            sent = [d for d in listed if d["direction"] == "sent"]
            if sent and sent[0]["status"] == "sent":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the confirmation was never sent: {listed}")

    # Posted twice (by the dead worker and after it), taken once: one document.
    [doc] = (await sims.http.get("/network/documents", params={"order_id": po})).json()
    assert (doc["kind"], doc["deliveries"], doc["status_code"]) == ("ConfirmationRequest", 2, 200)
    assert sent[0]["payload_id"] == doc["payload_id"] and sent[0]["answer_code"] == 200
