"""/health answers anyone, so it names what is missing in a few words; what went
wrong (exception text, addresses) is in the log only."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import structlog
from temporalio.client import Client

from db.connection import create_pool
from sopflow.config import Settings
from tests.conftest import free_port
from tests.servers import api_server

pytestmark = pytest.mark.integration


async def test_health_names_each_missing_service_and_logs_the_details(
    it_settings: Settings,
) -> None:
    # Nothing listens on these ports: PostgreSQL and Temporal are both down.
    pg_port, temporal_port = free_port(), free_port()
    dead_pool = await create_pool(
        f"postgresql://sopflow:hunter2@127.0.0.1:{pg_port}/sopflow", min_size=0
    )
    dead_temporal = await Client.connect(f"127.0.0.1:{temporal_port}", lazy=True)
    try:
        with structlog.testing.capture_logs() as logs:
            async with api_server(it_settings, dead_pool, dead_temporal) as http:
                resp = await http.get("/health")
    finally:
        await dead_pool.close()
    assert resp.status_code == 503
    assert resp.json() == {
        "status": "unavailable",
        "problems": ["postgresql unavailable", "temporal unavailable"],
        "incidents": [],
    }
    for secret in (str(pg_port), str(temporal_port), "hunter2", "127.0.0.1", "rror"):
        assert secret not in resp.text
    details = {e["event"]: e.get("error", "") for e in logs}
    assert "health: postgresql unavailable" in details
    assert "health: temporal unavailable" in details
    assert details["health: postgresql unavailable"]  # the exception, for the operator
    assert details["health: temporal unavailable"]


async def test_health_is_green_with_a_worker(api: httpx.AsyncClient, worker: None) -> None:
    for _ in range(100):  # a worker that has just started has not polled yet
        resp = await api.get("/health")
        if resp.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "ok"
    assert isinstance(resp.json()["incidents"], list)  # the open outages (issue 7)
