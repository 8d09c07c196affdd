"""The Schedules the worker (and so `sopflow dev`) registers for issue 10: the
weekly review on Monday 06:00 in the center's time zone, and the daily list of
open account-change requests, each with a note an operator reads in the UI."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from activities.contracts import reports as contract
from sopflow.config import Settings
from workers.main import run_worker

pytestmark = pytest.mark.integration


async def test_the_worker_registers_the_weekly_review_and_the_daily_digest(
    it_settings: Settings, pool: asyncpg.Pool, dev_server: WorkflowEnvironment
) -> None:
    client = dev_server.client
    settings = it_settings.model_copy(
        update={"task_queue": f"sched-{uuid.uuid4().hex[:6]}", "center_timezone": "Europe/Paris"}
    )
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(settings, client, pool, stop))
    try:
        for _ in range(200):
            try:
                weekly = await client.get_schedule_handle(contract.SCHEDULE_ID).describe()
                digest = await client.get_schedule_handle(contract.DIGEST_SCHEDULE_ID).describe()
            except RPCError:
                await asyncio.sleep(0.05)
                continue
            if weekly.schedule.spec.time_zone_name == "Europe/Paris":
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await worker
    spec = weekly.schedule.spec
    assert spec.time_zone_name == "Europe/Paris"
    calendar = spec.calendars[0]
    assert [r.start for r in calendar.day_of_week] == [1]  # Monday
    assert ([r.start for r in calendar.hour], [r.start for r in calendar.minute]) == ([6], [0])
    action = weekly.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == contract.WORKFLOW_NAME and action.task_queue == settings.task_queue
    assert "Weekly review" in (weekly.schedule.state.note or "")
    assert [r.start for r in digest.schedule.spec.calendars[0].hour] == [7]
    assert "open requests" in (digest.schedule.state.note or "")
