"""Fault injection: make a simulated system down, slow or flaky, by path prefix."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from simulators.app import SimState

SYSTEMS = (
    "oms", "iseries", "email", "helpdesk", "network", "erp", "smsvoice", "crm", "it_portal",
)  # fmt: skip


class Faults(BaseModel):
    down: bool = False
    latency_ms: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    # Every call answered with this 4xx, as a system that refuses the caller's
    # credentials (401, 403) or does not know the path (404, 405) would.
    refuse_with: int | None = Field(default=None, ge=400, le=499)


class FaultMiddleware:
    """Pure ASGI so the latency can be put between the handler finishing and the
    response going out: the system did the work, the caller just doesn't hear back."""

    def __init__(self, app: ASGIApp, sim: SimState) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        system = scope["path"].split("/")[1]
        faults = self.sim.faults.get(system)
        if faults is None:
            return await self.app(scope, receive, send)
        if faults.down:
            response = JSONResponse({"detail": f"{system} is down (injected fault)"}, 503)
            return await response(scope, receive, send)
        if faults.refuse_with:
            response = JSONResponse(
                {"detail": f"{system} refuses the call with {faults.refuse_with} (injected fault)"},
                faults.refuse_with,
            )
            return await response(scope, receive, send)
        if faults.error_rate and self.sim.rng.random() < faults.error_rate:
            response = JSONResponse({"detail": f"{system} internal error (injected fault)"}, 500)
            return await response(scope, receive, send)
        if not faults.latency_ms:
            return await self.app(scope, receive, send)

        delay = faults.latency_ms / 1000

        async def delayed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                await asyncio.sleep(delay)
            await send(message)

        await self.app(scope, receive, delayed_send)


router = APIRouter(prefix="/_faults", tags=["faults"])


def _system(system: str) -> str:
    if system not in SYSTEMS:
        raise HTTPException(404, detail=f"unknown system {system!r}; one of {', '.join(SYSTEMS)}")
    return system


@router.get("")
async def all_faults(request: Request) -> dict[str, Faults]:
    """Every system's injected faults (none: all default values)."""
    return dict(request.app.state.sim.faults)


@router.delete("")
async def clear_faults(request: Request) -> dict[str, Faults]:
    """Every system answering normally again; what the systems hold is kept."""
    sim = request.app.state.sim
    for system in sim.faults:
        sim.faults[system] = Faults()
    return dict(sim.faults)


@router.get("/{system}")
async def get_faults(system: str, request: Request) -> Faults:
    return request.app.state.sim.faults[_system(system)]


@router.put("/{system}")
async def put_faults(system: str, faults: Faults, request: Request) -> Faults:
    request.app.state.sim.faults[_system(system)] = faults
    return faults


# A cheap probe per system (`GET /{system}/health`), behind the same faults as
# the system itself: down answers 503, flaky errs or is slow. Like many real
# health endpoints it also says when it knows it is degraded.
probe_router = APIRouter(tags=["faults"])


@probe_router.get("/{system}/health")
async def system_health(system: str, request: Request) -> dict[str, str]:
    faults = request.app.state.sim.faults[_system(system)]
    if faults.error_rate or faults.latency_ms:
        return {"status": "degraded"}
    return {"status": "ok"}
