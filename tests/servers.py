"""The real Temporal dev server, a worker and the API on loopback ports: the
fixtures of the integration and API tests (one of each per test session)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from domain import search
from sopflow.config import Settings
from sopflow.converter import DATA_CONVERTER
from sopflow.devstack import DYNAMIC_CONFIG
from tests.conftest import free_port, serve, venv_binary
from workers.main import build_worker


@pytest.fixture(scope="session")
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    extra: list[str] = []
    for value in DYNAMIC_CONFIG:
        extra += ["--dynamic-config-value", value]
    env = await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=venv_binary("temporal"),
        search_attributes=search.ALL,
        dev_server_extra_args=extra,
        # It writes to the test run's terminal: its start-up warnings would land
        # in the middle of pytest's progress line.
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def it_settings(settings: Settings, dev_server: WorkflowEnvironment) -> Settings:
    # A short activity timeout: after a worker dies, its activity is retried elsewhere quickly.
    return settings.model_copy(
        update={
            "temporal_address": dev_server.client.service_client.config.target_host,
            "activity_timeout": settings.activity_timeout.__class__(seconds=3),
        }
    )


@contextlib.asynccontextmanager
async def api_server(
    settings: Settings, pool: asyncpg.Pool, client: Client
) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    app = create_app(settings, database_url=settings.database_url or "", pool=pool, temporal=client)
    server, task = await serve(app, port)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        yield http
    server.should_exit = True
    await task


@pytest.fixture(scope="session")
async def api(
    it_settings: Settings, pool: asyncpg.Pool, dev_server: WorkflowEnvironment
) -> AsyncIterator[httpx.AsyncClient]:
    async with api_server(it_settings, pool, dev_server.client) as http:
        yield http


@pytest.fixture(scope="session")
async def worker(
    it_settings: Settings, pool: asyncpg.Pool, dev_server: WorkflowEnvironment
) -> AsyncIterator[None]:
    async with build_worker(dev_server.client, it_settings, pool) as w, w:
        yield


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
