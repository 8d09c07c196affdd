"""The HTTP API: FastAPI app with one router per workflow, auth and error mapping."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import structlog
from fastapi import FastAPI, Request
from temporalio.client import Client

from api import accounts, health, orders, tasks
from api.errors import install_error_handlers
from db.connection import create_pool
from sopflow.config import Settings
from sopflow.temporal import connect

log = structlog.get_logger()


def create_app(
    settings: Settings,
    *,
    database_url: str,
    pool: asyncpg.Pool | None = None,
    temporal: Client | None = None,
) -> FastAPI:
    """The pool and client are made at startup unless given (tests share theirs)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_pool = pool is None
        app.state.pool = pool or await create_pool(database_url)
        app.state.temporal = temporal or await connect(settings)
        app.state.settings = settings
        try:
            yield
        finally:
            if own_pool:
                await app.state.pool.close()

    app = FastAPI(
        title="sopflow",
        summary="Customer-service SOPs as durable Temporal workflows",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (orders, accounts, tasks, health):
        app.include_router(module.router)

    @app.middleware("http")
    async def request_context(request: Request, call_next):  # type: ignore[no-untyped-def]
        structlog.contextvars.clear_contextvars()
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        structlog.contextvars.bind_contextvars(request_id=request_id, path=request.url.path)
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-Id"] = request_id
        log.info(
            "request",
            method=request.method,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    return app
