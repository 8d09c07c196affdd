"""The reconciler keeps working when a workflow's state is one PostgreSQL
refuses (a NUL in iSeries's answer): its row, behind the workflow, is rewritten
from the workflow's snapshot scrubbed, as the workflow writes it, on the real
dev server."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.contracts.reconcile import ReconcileReport, ReconcileRequest
from activities.reconcile import reconcile
from db import read_model
from domain.order.models import OrderStatus
from sopflow.config import Settings
from tests.conftest import Simulators
from tests.workflow.conftest import eventually, start_order, wait_for_status
from tests.workflow.test_read_model_defects import NulInPickTickets
from workers.main import build_worker

pytestmark = pytest.mark.integration


async def test_a_row_behind_a_refused_state_is_refreshed_scrubbed(
    it_settings: Settings, pool: asyncpg.Pool, dev_server: WorkflowEnvironment, sims: Simulators
) -> None:
    settings = it_settings.model_copy(update={"task_queue": f"nul-{uuid.uuid4().hex[:8]}"})
    client = dev_server.client
    async with build_worker(client, settings, pool, NulInPickTickets()) as worker, worker:
        handle = await start_order(client, settings, f"NR{uuid.uuid4().hex[:6]}")
        await wait_for_status(handle, OrderStatus.RELEASED)

        async def written() -> bool:
            async with pool.acquire() as conn:
                found = await read_model.get_record(conn, handle.id)
            return found is not None and found["status"] == "released"

        await eventually(written, "the scrubbed row", tries=400)
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE workflow_records SET status = 'received' WHERE workflow_id = $1", handle.id
            )
        report = await reconcile(pool, client, ReconcileRequest(workflow_id=handle.id))
        assert report == ReconcileReport(checked=1, refreshed=1)
        async with pool.acquire() as conn:
            fixed = await read_model.get_record(conn, handle.id)
        assert fixed["status"] == "released"
        assert "\ufffd" in fixed["view"]["pick_ticket_id"]
