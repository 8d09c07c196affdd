"""The open-order Schedules on the real dev server: the bulk import starts a
workflow for each of the ERP's open orders once (a malformed one or one for an
unknown store is counted, not started), and both Schedules are set up once
and brought to the current settings."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from activities.contracts import erp as contract
from activities.contracts.erp import ImportReport, ImportRequest
from activities.open_orders import ensure_schedules
from sopflow.config import Settings
from tests.conftest import Simulators
from tests.open_orders import PHONES, sales_order
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def erp_order(store: str = "101", **more: object) -> dict:
    return {
        "store_id": store,
        "type": "pickup",
        "guest": {"name": "Sam Ortega", "phones": PHONES[:1], "sms_consent": False},
        "lines": [{"line_number": 1, "sku": "BED-Q", "quantity": 1, "atp_date": "2027-02-01"}],
        "balance_owing": "0",
        **more,
    }


async def run_import(env: WorkflowEnvironment, settings: Settings) -> ImportReport:
    return await env.client.execute_workflow(
        contract.IMPORT_WORKFLOW,
        ImportRequest(),
        id=f"import-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
        result_type=ImportReport,
    )


async def test_the_bulk_import_starts_each_open_order_once(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    sims: Simulators,
    dev_server: WorkflowEnvironment,
    it_settings: Settings,
) -> None:
    good, unknown_store, malformed = sales_order(), sales_order(), sales_order()
    await sims.http.put(f"/erp/open-orders/{good}", json=erp_order())
    await sims.http.put(f"/erp/open-orders/{unknown_store}", json=erp_order(store="999"))
    await sims.http.put(f"/erp/open-orders/{malformed}", json=erp_order(type="teleport"))

    first = await run_import(dev_server, it_settings)
    assert (first.seen, first.started, first.refused) == (3, 1, 2)
    second = await run_import(dev_server, it_settings)
    assert (second.started, second.already_running, second.refused) == (0, 1, 2)

    resp = await api.get(f"/open-orders/open-order-{good}", headers=bearer(demo_keys["oom_agent"]))
    assert resp.status_code == 200, resp.text
    assert resp.json()["audit"][0]["actor"] == "erp-import"
    missing = await api.get(
        f"/open-orders/open-order-{unknown_store}", headers=bearer(demo_keys["oom_agent"])
    )
    assert missing.status_code == 404


async def test_the_schedules_are_made_once_and_follow_the_settings(
    dev_server: WorkflowEnvironment, it_settings: Settings
) -> None:
    client = dev_server.client
    await ensure_schedules(client, it_settings)
    await ensure_schedules(client, it_settings)
    faster = it_settings.model_copy(update={"open_order_import_every": timedelta(minutes=5)})
    await ensure_schedules(client, faster)
    imported = await client.get_schedule_handle(contract.IMPORT_SCHEDULE_ID).describe()
    assert [i.every for i in imported.schedule.spec.intervals] == [timedelta(minutes=5)]
    action = imported.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == contract.IMPORT_WORKFLOW
    listed = await client.get_schedule_handle(contract.CONFIRMATION_SCHEDULE_ID).describe()
    assert listed.schedule.spec.calendars[0].hour[0].start == it_settings.confirmation_list_hour_utc
    for schedule_id in (contract.IMPORT_SCHEDULE_ID, contract.CONFIRMATION_SCHEDULE_ID):
        await client.get_schedule_handle(schedule_id).delete()
