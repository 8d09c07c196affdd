"""Every call that waits on a workflow answers on its own after SOPFLOW_UPDATE_WAIT
rather than hang: a shipment report that the order took while iSeries is down
answers 202 (resend for the invoice), a refusal answers with its reason (it never
waits for iSeries), and with no worker (or no Temporal) a 503. The answers are
told apart by what they say, not by a stopwatch: iSeries stays down, the worker
and Temporal stay away, so only the bounded wait can produce them (the test's
client would give up after 30 s)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from sopflow.config import Settings
from sopflow.converter import DATA_CONVERTER
from tests.conftest import Simulators
from tests.integration.test_order_e2e import post_cxml, sample, wait_for
from tests.servers import api_server, bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

WAIT = timedelta(seconds=2)
POD = {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}


def shipment(shipment_id: str | None = "RUN-1", line: int = 1, quantity: int = 100) -> dict:
    body: dict = {"lines": [{"line_number": line, "quantity": quantity}], "proof_of_delivery": POD}
    if shipment_id:
        body["shipment_id"] = shipment_id
    return body


async def post(api: httpx.AsyncClient, path: str, body: dict, key: str) -> httpx.Response:
    return await api.post(path, json=body, headers=bearer(key))


async def test_a_shipment_while_iseries_is_down_answers_202_within_the_wait(
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
    sims: Simulators,
    demo_keys: dict[str, str],
) -> None:
    settings = it_settings.model_copy(update={"update_wait": WAIT})
    branch = demo_keys["branch_manager"]
    async with api_server(settings, pool, dev_server.client) as api:
        po = f"SW{uuid.uuid4().int % 10**8:08d}"
        order_id = (await post_cxml(api, demo_keys["system"], sample(po))).headers["X-Order-Id"]
        await wait_for(api, branch, order_id, "released")
        path = f"/orders/{order_id}/shipments"

        await sims.fault("iseries", down=True)
        try:
            # iSeries is still down, so this answer can only be the API giving
            # up waiting, after the configured wait it names.
            taken = await post(api, path, shipment(), branch)
            assert taken.status_code == 202, taken.text
            body = taken.json()
            assert body["status"] == "processing" and body["shipment_id"] == "RUN-1"
            assert body["order_id"] == order_id and body["href"] == f"/orders/{order_id}"
            assert f"no invoice within {WAIT.total_seconds():g} s" in body["detail"]
            assert "same shipment_id" in body["detail"]

            # Refusals do not wait for iSeries: a wait would have ended in a 202.
            too_much = await post(api, path, shipment("RUN-2", quantity=1000), branch)
            assert too_much.status_code == 422, too_much.text
            conflict = await post(api, path, shipment("RUN-1", quantity=5), branch)
            assert conflict.status_code == 409 and "other content" in conflict.json()["detail"]

            # Resending the same report while iSeries is still down: 202 again.
            again = await post(api, path, shipment(), branch)
            assert (
                again.status_code == 202
                and f"within {WAIT.total_seconds():g} s" in again.json()["detail"]
            )
        finally:
            await sims.fault("iseries", down=False)

        # Once iSeries is back, the same report answers with its invoice, once.
        for _ in range(30):
            resent = await api.post(path, json=shipment(), headers=bearer(branch))
            if resent.status_code != 202:
                break
        assert resent.status_code == 201, resent.text
        assert resent.json()["shipment_id"] == "RUN-1"
        view = await wait_for(api, branch, order_id, "partially_shipped")
        assert [i["invoice_number"] for i in view["invoices"]] == [resent.json()["invoice_number"]]


async def test_with_no_worker_a_shipment_answers_503_within_the_wait(
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
    demo_keys: dict[str, str],
) -> None:
    # Orders on a task queue nobody polls: nothing can take the report.
    settings = it_settings.model_copy(
        update={"update_wait": WAIT, "task_queue": f"nobody-{uuid.uuid4().hex[:8]}"}
    )
    async with api_server(settings, pool, dev_server.client) as api:
        po = f"SW{uuid.uuid4().int % 10**8:08d}"
        order_id = (await post_cxml(api, demo_keys["system"], sample(po))).headers["X-Order-Id"]
        stuck = await post(
            api, f"/orders/{order_id}/shipments", shipment(), demo_keys["branch_manager"]
        )
    assert stuck.status_code == 503, stuck.text
    assert "try again" in stuck.json()["detail"]


async def test_with_temporal_not_answering_an_order_answers_503_within_the_wait(
    it_settings: Settings, pool: asyncpg.Pool, demo_keys: dict[str, str]
) -> None:
    # A "Temporal" that takes connections and never says a word.
    held: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    silent = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    nowhere = await Client.connect(
        f"127.0.0.1:{port}", lazy=True, data_converter=DATA_CONVERTER
    )
    settings = it_settings.model_copy(update={"update_wait": WAIT})
    try:
        async with api_server(settings, pool, nowhere) as api:
            resp = await post_cxml(api, demo_keys["system"], sample(f"SW{uuid.uuid4().hex[:8]}"))
    finally:
        for writer in held:
            writer.close()
        silent.close()
    assert resp.status_code == 503 and "try again" in resp.text
