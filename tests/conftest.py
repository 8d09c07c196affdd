"""Shared fixtures: a real PostgreSQL database, the simulators on a loopback port,
and settings that point the activities at them."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
from temporalio.client import Client
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from db.connection import create_pool, embedded_database_url
from db.demo import ensure_demo_keys, ensure_demo_people, load_demo_data
from db.migrate import migrate
from simulators.app import create_app as create_simulators
from sopflow.config import Settings

# The live-server fixtures, shared by every test directory (one dev server per run).
pytest_plugins = ["tests.servers"]

# The SDK's core writes its warnings (the time-skipping server is "older than
# 1.16") straight to the terminal, into pytest's progress line. Sent to Python
# logging instead, they are kept with the test they belong to, shown if it fails.
Runtime.set_default(
    Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            )
        )
    ),
    error_if_already_set=False,
)


@pytest.fixture(scope="session", autouse=True)
def loopback_temporal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests talk to loopback only: the TEMPORAL_* variables and the temporal.toml
    profile of whoever runs them (a Cloud API key, a cluster's address) are not
    theirs, neither here nor in the processes they start."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith("TEMPORAL_")]:
            patch.delenv(name)
        # Nor do their traces go to the runner's collector (or trace file).
        for name in [n for n in os.environ if n.startswith(("OTEL_", "SOPFLOW_TRACE_"))]:
            patch.delenv(name)
        # A file that does not exist: no profile at all.
        missing = tmp_path_factory.mktemp("temporal-config") / "none.toml"
        patch.setenv("TEMPORAL_CONFIG_FILE", str(missing))
        yield


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv_binary(name: str) -> str:
    import shutil
    import sys

    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} not installed (pip install -e '.[test]')"
    return found


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh database for this run: on DATABASE_URL's server when set, else on
    an embedded PostgreSQL."""
    server_url = os.environ.get("DATABASE_URL") or embedded_database_url(
        tmp_path_factory.mktemp("pg")
    )
    name = f"sopflow_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        conn = await asyncpg.connect(server_url)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    base, _, query = server_url.partition("?")
    base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    url = f"{base}/{name}" + (f"?{query}" if query else "")
    yield url

    async def drop() -> None:
        conn = await asyncpg.connect(server_url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, max_size=20)
    async with pool.acquire() as conn:
        await migrate(conn)
        await load_demo_data(conn)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def demo_keys(pool: asyncpg.Pool) -> dict[str, str]:
    async with pool.acquire() as conn:
        return await ensure_demo_keys(conn, {})


@pytest.fixture(scope="session")
async def demo_people(pool: asyncpg.Pool, demo_keys: dict[str, str]) -> dict[str, dict]:
    """`{person_id: {"key", "roles"}}`, as `sopflow dev` writes demo-people.json."""
    async with pool.acquire() as conn:
        return await ensure_demo_people(conn, {}, demo_keys)


class Simulators:
    def __init__(self, url: str, app) -> None:  # type: ignore[no-untyped-def]
        self.url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=10)
        # The simulators' own memory, read past any injected fault.
        self.state = app.state.sim

    async def reset(self) -> None:
        (await self.http.post("/_reset")).raise_for_status()

    async def fault(self, system: str, **fault: object) -> None:
        (await self.http.put(f"/_faults/{system}", json=fault)).raise_for_status()

    async def oms_orders(self, external_ref: str) -> list[dict]:
        return [
            o.model_dump(mode="json")
            for o in self.state.oms.orders.values()
            if o.external_ref == external_ref
        ]

    async def emails(self) -> list[dict]:
        return (await self.http.get("/email/messages")).json()


async def serve(app, port: int) -> tuple[uvicorn.Server, asyncio.Task]:  # type: ignore[no-untyped-def]
    # A long keep-alive: on a loaded machine the event loop can stall past the
    # 5 s default, and the server then closes a connection the test's client is
    # just sending on (httpx.ReadError), which says nothing about the product.
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, lifespan="on",
            timeout_keep_alive=60,
        )
    )  # fmt: skip
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task


@pytest.fixture(scope="session")
async def simulators_server() -> AsyncIterator[Simulators]:
    port = free_port()
    app = create_simulators()
    server, task = await serve(app, port)
    sims = Simulators(f"http://127.0.0.1:{port}", app)
    yield sims
    await sims.http.aclose()
    server.should_exit = True
    await task


@pytest.fixture
async def sims(simulators_server: Simulators) -> Simulators:
    await simulators_server.reset()
    return simulators_server


@pytest.fixture(scope="session")
def settings(simulators_server: Simulators, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        oms_url=f"{simulators_server.url}/oms",
        iseries_url=f"{simulators_server.url}/iseries",
        email_url=f"{simulators_server.url}/email",
        helpdesk_url=f"{simulators_server.url}/helpdesk",
        network_url=f"{simulators_server.url}/network",
        erp_url=f"{simulators_server.url}/erp",
        smsvoice_url=f"{simulators_server.url}/smsvoice",
        crm_url=f"{simulators_server.url}/crm",
        it_portal_url=f"{simulators_server.url}/it_portal",
        task_queue=f"sopflow-test-{uuid.uuid4().hex[:6]}",
        log_format="console",
    )


async def record_history(
    client: Client, workflow_id: str, name: str, run_id: str | None = None
) -> None:
    """Keep this run's history for the replay tests when asked to: with
    SOPFLOW_RECORD_HISTORIES=<folder> set (see CONTRIBUTING.md)."""
    folder = os.environ.get("SOPFLOW_RECORD_HISTORIES")
    if folder:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        history = json.loads((await handle.fetch_history()).to_json())
        # The events do not name their workflow; a replay needs its real id.
        Path(folder, f"{name}.json").write_text(json.dumps({"workflowId": workflow_id, **history}))
