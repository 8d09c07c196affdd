"""The HTTP API: FastAPI app with one router per workflow, auth and error mapping."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import structlog
from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api import (
    account_changes,
    accounts,
    csrs,
    health,
    incidents,
    metrics,
    open_orders,
    order_documents,
    orders,
    reports,
    tasks,
    webhooks,
)
from api import directory as directory_api  # issue 10
from api.auth import KnownKeys
from api.edge import Edge
from api.errors import ERROR_RESPONSES, install_error_handlers
from api.policy import authorize
from api.web import pages as web
from db.connection import create_pool
from sopflow.config import Settings
from sopflow.temporal import connect
from sopflow.tracing import instrument_app

log = structlog.get_logger()
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestContext:
    """Binds a request id (and, once authenticated, the actor) to every log line of
    a request and logs one line when it ends. Plain ASGI, because
    BaseHTTPMiddleware runs every request through an extra task and stream."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("ascii", errors="replace")
        # A caller's id is kept when it is a plain token; anything else gets ours.
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, path=scope["path"])
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )


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
        app.state.known_keys = KnownKeys(settings.api_key_memory)
        try:
            yield
        finally:
            if own_pool:
                await app.state.pool.close()

    # Swagger UI and ReDoc with their assets served by the app itself (under
    # /static-offline-docs), so /docs works on a machine without internet access.
    app = FastAPIOffline(
        title="sopflow",
        summary="Customer-service SOPs as durable Temporal workflows",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    # Inside RequestContext (whose log line counts its refusals too): the caller
    # is identified, and the body limited, before any route reads the body.
    app.add_middleware(Edge)
    app.add_middleware(RequestContext)
    # On every router, so a new route without a policy entry is refused, not
    # open (api/policy.py).
    policy = [Depends(authorize)]
    # order_documents before orders: its routes are more specific than /orders/{id}.
    for router in (
        order_documents.router,
        orders.router,
        accounts.router,
        tasks.router,
        open_orders.router,
        webhooks.router,
        directory_api.router,
        account_changes.router,
        reports.router,
        incidents.router,
        csrs.router,
        csrs.rules_router,
    ):
        app.include_router(router, responses=ERROR_RESPONSES, dependencies=policy)
    # Public (their policy entries): no error bodies of ours to document.
    for router in (health.router, metrics.router):
        app.include_router(router, dependencies=policy)
    # The work-queue page (/app): people's queue and tasks in a browser.
    web.install(app, dependencies=policy)
    # Outermost, around the edge: a refused request has its trace too.
    instrument_app(app)

    return app
