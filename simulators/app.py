"""One FastAPI app with a router per simulated external system, plus fault control."""

from __future__ import annotations

import contextlib
import pickle
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from simulators import (
    crm,
    crm_accounts,
    email,
    erp,
    faults,
    helpdesk,
    iseries,
    iseries_accounts,
    it_portal,
    network,
    oms,
    smsvoice,
    webhooks,
)


class SimState:
    """Everything the simulators remember; one per app so apps never share state."""

    def __init__(
        self,
        helpdesk_api_key: str,
        seed: int | None,
        helpdesk_search_lag: timedelta = helpdesk.DEFAULT_SEARCH_LAG,
    ) -> None:
        self._helpdesk_api_key = helpdesk_api_key
        self._helpdesk_search_lag = helpdesk_search_lag
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        # Mutated in place: the fault middleware holds this object.
        self.rng = random.Random(self._seed)
        self.faults = {system: faults.Faults() for system in faults.SYSTEMS}
        self.oms = oms.OmsState()
        self.iseries = iseries.IseriesState()
        self.email = email.EmailState()
        self.helpdesk = helpdesk.HelpdeskState(self._helpdesk_api_key, self._helpdesk_search_lag)
        self.network = network.NetworkState()
        self.erp = erp.ErpState()
        self.smsvoice = smsvoice.SmsVoiceState()
        # Issue 10: NA/RA membership in iSeries, the account transfer to the CRM.
        self.iseries_accounts = iseries_accounts.IseriesAccountsState()
        self.crm_accounts = crm_accounts.CrmAccountsState()
        self.it_portal = it_portal.ItPortalState()
        self.crm = crm.CrmState()

    # What the systems hold survives a restart of the dev stack (its workflows
    # do too, and would otherwise point at orders the simulators forgot).
    # Injected faults do not.
    _KEPT = (
        "oms", "iseries", "email", "helpdesk", "network", "erp", "smsvoice",
        "crm", "iseries_accounts", "crm_accounts", "it_portal",
    )  # fmt: skip
    # Raised when what is kept changes shape; a file of another version is set aside.
    _VERSION = 5

    def save(self, path: Path) -> None:
        kept = {name: getattr(self, name) for name in self._KEPT}
        # Whole or not at all: a kill mid-write leaves the last file.
        partial = path.with_suffix(path.suffix + ".partial")
        partial.write_bytes(pickle.dumps({"version": self._VERSION, "systems": kept}))
        partial.replace(path)

    def load(self, path: Path) -> None:
        if not path.exists():
            return
        saved = pickle.loads(path.read_bytes())
        if not isinstance(saved, dict) or saved.get("version") != self._VERSION:
            aside = path.with_suffix(path.suffix + ".old")
            path.replace(aside)
            structlog.get_logger().warning(
                "simulator state from an older version set aside; starting empty",
                path=str(aside),
            )
            return
        for name, value in saved["systems"].items():
            setattr(self, name, value)
        # Configuration is the current run's, not the saved one's.
        self.helpdesk.api_key = self._helpdesk_api_key
        self.helpdesk.search_lag = self._helpdesk_search_lag


class SaveAfterChange:
    """Pure ASGI: a request that may have changed something is saved before
    its answer goes out (as a real system commits before it answers)."""

    def __init__(self, app: ASGIApp, sim: SimState, path: Path) -> None:
        self.app = app
        self.sim = sim
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)

        async def save_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.sim.save(self.path)
            await send(message)

        await self.app(scope, receive, save_then_send)


def create_app(
    helpdesk_api_key: str = "sim-helpdesk-key",
    seed: int | None = None,
    state_file: Path | None = None,
    helpdesk_search_lag: timedelta = helpdesk.DEFAULT_SEARCH_LAG,
    webhook_targets: dict[str, webhooks.WebhookTarget] | None = None,
) -> FastAPI:
    """`state_file`: where the systems' state is kept between runs (none: memory only).
    `helpdesk_search_lag`: how long a helpdesk write takes to reach its search index.
    `webhook_targets`: where the ERP and the SMS/voice provider send their events."""
    sim = SimState(helpdesk_api_key, seed, helpdesk_search_lag)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state_file:
            sim.load(state_file)
        yield
        if state_file:
            sim.save(state_file)

    # Swagger UI and ReDoc served by the app itself: /docs works offline.
    app = FastAPIOffline(
        title="sopflow simulators",
        description="Stand-ins for OMS, iSeries, email, helpdesk, the buyers' procurement network, retail ERP, SMS/voice, CRM, IT service portal",
        lifespan=lifespan,
    )
    app.state.sim = sim
    app.state.webhooks = dict(webhook_targets or {})
    if state_file:
        # Saved after each change as well as at shutdown: a simulator killed
        # (bin/dev starts it again) remembers its orders, as a real system would.
        # Inside the fault middleware: saved before an injected latency.
        app.add_middleware(SaveAfterChange, sim=sim, path=state_file)
    app.add_middleware(faults.FaultMiddleware, sim=sim)
    for module in (oms, iseries, email, helpdesk, network, erp, smsvoice, crm, faults):
        app.include_router(module.router)
    for module in (iseries_accounts, crm_accounts):  # issue 10
        app.include_router(module.router)
    app.include_router(it_portal.router)
    app.include_router(faults.probe_router)
    app.include_router(webhooks.router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/_reset")
    async def reset() -> dict[str, str]:
        sim.reset()
        return {"status": "reset"}

    return app
