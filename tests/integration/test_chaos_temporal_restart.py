"""The Temporal dev server killed with SIGKILL while orders are in flight and
started again on its SQLite file: no workflow lost, every order completes, each
once in OMS and iSeries."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from sopflow.config import Settings
from sopflow.devstack import temporal_dev_server_args
from sopflow.temporal import connect
from tests.conftest import Simulators, free_port
from tests.integration.chaos import (
    OrderDriver,
    assert_nothing_lost_nothing_twice,
    po_number,
    seeded,
)
from tests.servers import api_server
from workers.main import build_worker

pytestmark = pytest.mark.integration
ORDERS = 30


class DevServer:
    """`temporal server start-dev` as bin/dev runs it, on a file of its own."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.args = temporal_dev_server_args(settings, folder / "temporal.db")
        self.log = folder / "temporal.log"
        self.settings = settings
        self.proc: subprocess.Popen | None = None

    async def start(self) -> Client:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=out)
        for _ in range(240):
            assert self.proc.poll() is None, self.log.read_text()[-2000:]
            try:
                return await connect(self.settings)
            except Exception:  # not listening yet
                await asyncio.sleep(0.25)
        raise AssertionError(f"dev server did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


async def test_orders_survive_the_dev_server_killed_and_started_again(
    settings: Settings,
    pool: asyncpg.Pool,
    sims: Simulators,
    demo_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    rng = seeded("temporal restart")
    s = settings.model_copy(
        update={
            "temporal_port": free_port(),
            "ui_port": free_port(),
            "temporal_address": None,
            "task_queue": f"restart-{uuid.uuid4().hex[:8]}",
            "activity_timeout": timedelta(seconds=3),
            "update_wait": timedelta(seconds=3),
        }
    )
    server = DevServer(s, tmp_path)
    client = await server.start()
    # OMS takes a moment: orders are mid-call when the server dies.
    await sims.fault("oms", latency_ms=800)
    try:
        async with build_worker(client, s, pool) as worker, worker:
            async with api_server(s, pool, client) as api:
                drivers = [OrderDriver(api, demo_keys, po_number()) for _ in range(ORDERS)]
                starts = sorted(rng.uniform(0, 6) for _ in drivers)
                pauses = [rng.uniform(0, 2) for _ in drivers]
                down_for = rng.uniform(0.5, 3)

                async def order(driver: OrderDriver, start: float, pause: float) -> dict:
                    await asyncio.sleep(start)
                    return await driver.run(pause)

                running = [
                    asyncio.create_task(order(d, st, p))
                    for d, st, p in zip(drivers, starts, pauses, strict=True)
                ]
                # Mid-flight: some orders in OMS, most not yet at the branch.
                for _ in range(600):
                    if len(sims.state.oms.orders) >= ORDERS // 3:
                        break
                    await asyncio.sleep(0.05)
                created = len(sims.state.oms.orders)
                server.kill()
                print(f"killed the dev server with {created} orders in OMS; down {down_for:.1f} s")
                await asyncio.sleep(down_for)
                await server.start()  # the same file, the same port
                views = await asyncio.gather(*running)

        for driver in drivers:
            described = await client.get_workflow_handle(driver.order_id).describe()
            assert described.status == WorkflowExecutionStatus.COMPLETED, driver.order_id
        assert created < ORDERS  # the kill came with orders still to create
        await assert_nothing_lost_nothing_twice(sims, pool, client, drivers, views)
    finally:
        await sims.fault("oms")
        server.stop()
