"""/health answers anyone, so it names what is missing in a few words; what went
wrong (exception text, addresses) is in the log only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
import structlog
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.system_probe import external_systems
from db.connection import create_pool
from sopflow.config import Settings
from tests.conftest import Simulators, free_port
from tests.servers import api_server

pytestmark = pytest.mark.integration
# Every system the service calls (each `<name>_url` setting), all answering.
UP = {name: "up" for name in external_systems(Settings())}


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
        "systems": UP,
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
    assert resp.json() == {"status": "ok", "systems": UP, "incidents": []}


@pytest.fixture
async def faulty_sims(sims: Simulators) -> AsyncIterator[Simulators]:
    """The simulators, put back to normal after the test (later tests share them)."""
    yield sims
    await sims.reset()


async def healthy(http: httpx.AsyncClient) -> dict:
    for _ in range(100):
        resp = await http.get("/health")
        if resp.status_code == 200:
            return resp.json()
        await asyncio.sleep(0.1)
    raise AssertionError(resp.text)


async def test_health_lists_each_external_system_down_degraded_or_up(
    it_settings: Settings, pool: asyncpg.Pool, dev_server: WorkflowEnvironment,
    worker: None, faulty_sims: Simulators,
) -> None:  # fmt: skip
    sims = faulty_sims
    # The helpdesk points where nothing listens; probes are not kept between checks.
    settings = it_settings.model_copy(
        update={
            "helpdesk_url": f"http://127.0.0.1:{free_port()}/helpdesk",
            "health_probe_cache": timedelta(0),
        }
    )
    await sims.fault("oms", down=True)
    await sims.fault("iseries", latency_ms=1500)
    await sims.fault("email", error_rate=1.0)
    with structlog.testing.capture_logs() as logs:
        async with api_server(settings, pool, dev_server.client) as http:
            # An outage of a system is not the service being unready: orders wait it out.
            seen = await healthy(http)
            assert seen["systems"] == {
                **UP, "oms": "down", "iseries": "degraded", "email": "degraded", "helpdesk": "down",
            }  # fmt: skip
            assert "127.0.0.1" not in str(seen)

            await sims.fault("oms", down=False)
            await sims.fault("email", error_rate=0.3)  # answers, and says it is degraded
            await sims.fault("iseries", latency_ms=0)
            after = await healthy(http)
    assert after["systems"] == {**UP, "email": "degraded", "helpdesk": "down"}
    # Each change once in the log, with where to look.
    changes = [(e["system"], e["event"]) for e in logs if e["event"].startswith("health: external")]
    assert changes.count(("oms", "health: external system down")) == 1
    assert ("oms", "health: external system up") in changes
    [unreachable] = [e for e in logs if e.get("system") == "helpdesk"]
    assert unreachable["url"] == settings.helpdesk_url and "ConnectError" in unreachable["answer"]


async def test_a_round_of_probes_is_kept_a_few_seconds(
    it_settings: Settings, pool: asyncpg.Pool, dev_server: WorkflowEnvironment,
    worker: None, faulty_sims: Simulators,
) -> None:  # fmt: skip
    sims = faulty_sims
    # Kept long enough that the second check surely falls within it.
    settings = it_settings.model_copy(update={"health_probe_cache": timedelta(seconds=3)})
    async with api_server(settings, pool, dev_server.client) as http:
        assert (await healthy(http))["systems"]["oms"] == "up"
        await sims.fault("oms", down=True)
        # The kept answer; the systems are not probed on every request.
        assert (await healthy(http))["systems"]["oms"] == "up"
        # Once it runs out, the next round of probes finds OMS down.
        for _ in range(100):
            if (await healthy(http))["systems"]["oms"] == "down":
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the kept answer never ran out")
