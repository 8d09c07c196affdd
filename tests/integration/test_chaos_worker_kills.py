"""The worker killed with SIGKILL at random moments, ten times, while 50 orders
are in flight: every order completes with one OMS order, one iSeries order and
one invoice per shipment, and an audit trail without gaps or repeats."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import WorkflowEnvironment

from sopflow.config import Settings
from tests.conftest import Simulators
from tests.integration.chaos import (
    OrderDriver,
    assert_nothing_lost_nothing_twice,
    po_number,
    seeded,
)
from tests.servers import api_server

pytestmark = pytest.mark.integration
ORDERS = 50
KILLS = 10


class Workers:
    """`sopflow worker` processes, one at a time, each started again at once
    after it is killed (as bin/dev does)."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.database_url or "",
            "TEMPORAL_ADDRESS": settings.temporal_target,
            "SOPFLOW_TASK_QUEUE": settings.task_queue,
            "SOPFLOW_LOG_FORMAT": "json",
            **{f"SOPFLOW_{s.upper()}_URL": settings.system_url(s)
               for s in ("oms", "iseries", "email", "helpdesk")},
        }  # fmt: skip
        self.logs = logs
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def start(self) -> None:
        log = self.logs / f"worker-{len(self.started)}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sopflow", "worker"], env=self.env, stdout=out, stderr=out
            )
        self.started.append((proc, log))

    async def polling(self) -> None:
        """Until the current worker says it has started."""
        proc, log = self.started[-1]
        for _ in range(600):
            assert proc.poll() is None, log.read_text()[-2000:]
            if "worker started" in log.read_text(errors="replace"):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"worker never started: {log.read_text()[-2000:]}")

    def kill(self) -> None:
        proc, _ = self.started[-1]
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop_all(self) -> None:
        for proc, _ in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


async def test_fifty_orders_survive_the_worker_killed_ten_times(
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
    sims: Simulators,
    demo_keys: dict[str, str],
    tmp_path: Path,
) -> None:
    rng = seeded("worker kills")
    settings = it_settings.model_copy(
        update={"task_queue": f"chaos-{uuid.uuid4().hex[:8]}", "update_wait": timedelta(seconds=3)}
    )
    # Calls that take a moment: a kill often lands while OMS or iSeries is
    # doing the work and before the worker hears back.
    await sims.fault("oms", latency_ms=300)
    await sims.fault("iseries", latency_ms=300)
    workers = Workers(settings, tmp_path)
    try:
        async with api_server(settings, pool, dev_server.client) as api:
            workers.start()
            await workers.polling()
            drivers = [OrderDriver(api, demo_keys, po_number()) for _ in range(ORDERS)]
            # All drawn up front, so a seed replays the same schedule.
            starts = sorted(rng.uniform(0, 20) for _ in drivers)
            pauses = [rng.uniform(0, 4) for _ in drivers]
            kills = [rng.uniform(0.3, 2.5) for _ in range(KILLS)]
            done: list[dict] = []

            async def order(driver: OrderDriver, start: float, pause: float) -> dict:
                await asyncio.sleep(start)
                view = await driver.run(pause)
                done.append(view)
                return view

            async def killer() -> list[int]:
                in_flight = []
                began = time.monotonic()
                for n, after in enumerate(kills, 1):
                    await asyncio.sleep(after)  # into the new worker's work
                    workers.kill()
                    in_flight.append(ORDERS - len(done))
                    print(f"kill {n} at {time.monotonic() - began:.1f} s, {in_flight[-1]} in flight")
                    workers.start()
                    await workers.polling()
                return in_flight

            *views, in_flight = await asyncio.gather(
                *(order(d, s, p) for d, s, p in zip(drivers, starts, pauses, strict=True)),
                killer(),
            )
    finally:
        workers.stop_all()
        await sims.fault("oms")
        await sims.fault("iseries")

    assert len(workers.started) == KILLS + 1
    assert all(n > 0 for n in in_flight), in_flight  # every kill hit orders in flight
    await assert_nothing_lost_nothing_twice(sims, pool, dev_server.client, drivers, views)
