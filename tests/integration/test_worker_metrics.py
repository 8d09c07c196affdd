"""`sopflow worker` as an operator runs it against a cluster: connected by a
temporal.toml profile (no TEMPORAL_ADDRESS, no sopflow setting), serving the
SDK's metrics where Prometheus scrapes them, under the names the dashboard and
the alert rules use."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.testing import WorkflowEnvironment

from sopflow.config import Settings
from tests.conftest import free_port


async def pollers(http: httpx.AsyncClient, queue: str) -> dict[str, float]:
    try:
        text = (await http.get("/metrics")).text
    except httpx.HTTPError:
        return {}  # not listening yet
    return {
        s.labels["poller_type"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "temporal_num_pollers" and s.labels.get("task_queue") == queue
    }


async def test_a_worker_connected_by_a_profile_serves_the_sdk_metrics(
    it_settings: Settings, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text(
        f'[profile.cluster]\naddress = "{it_settings.temporal_target}"\nnamespace = "default"\n'
    )
    queue = f"sopflow-metrics-{uuid.uuid4().hex[:6]}"
    port = free_port()
    env = {
        **os.environ,
        "TEMPORAL_CONFIG_FILE": str(config),
        "TEMPORAL_PROFILE": "cluster",
        "DATABASE_URL": it_settings.database_url or "",
        "SOPFLOW_TASK_QUEUE": queue,
        "SOPFLOW_METRICS_PORT": str(port),
        "SOPFLOW_TEMPORAL_PORT": str(free_port()),  # nothing there: the profile must win
    }
    worker = subprocess.Popen([sys.executable, "-m", "sopflow", "worker"], env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            found: dict[str, float] = {}
            for _ in range(300):
                found = await pollers(http, queue)
                if found.get("workflow_task", 0) > 0:
                    break
                assert worker.poll() is None, "the worker exited"
                await asyncio.sleep(0.1)
            assert found.get("workflow_task", 0) > 0, found
            assert found.get("activity_task", 0) > 0, found
            text = (await http.get("/metrics")).text
        assert "temporal_worker_task_slots_available" in text
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
