"""One FastAPI app with a router per simulated external system, plus fault control."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

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
from simulators.store import Store


class SimState:
    """Everything the simulators remember; one per app so apps never share state.

    What the systems hold is in `store` and survives a restart of the dev
    stack (its workflows do too, and would otherwise point at orders the
    simulators forgot). Injected faults are in memory and do not."""

    def __init__(
        self,
        helpdesk_api_key: str,
        seed: int | None,
        helpdesk_search_lag: timedelta = helpdesk.DEFAULT_SEARCH_LAG,
        state_file: Path | None = None,
    ) -> None:
        self._helpdesk_api_key = helpdesk_api_key
        self._helpdesk_search_lag = helpdesk_search_lag
        self._seed = seed
        self.store = Store(state_file)
        self._open()

    def _open(self) -> None:
        # Mutated in place: the fault middleware holds this object.
        self.rng = random.Random(self._seed)
        self.faults = {system: faults.Faults() for system in faults.SYSTEMS}
        store = self.store
        self.oms = oms.OmsState(store.records("oms"))
        self.iseries = iseries.IseriesState(store.records("iseries"))
        self.email = email.EmailState(store.records("email"))
        self.helpdesk = helpdesk.HelpdeskState(
            store.records("helpdesk"), self._helpdesk_api_key, self._helpdesk_search_lag
        )
        self.network = network.NetworkState(store.records("network"))
        self.erp = erp.ErpState(store.records("erp"))
        self.smsvoice = smsvoice.SmsVoiceState(store.records("smsvoice"))
        # Issue 10: NA/RA membership in iSeries, the account transfer to the CRM.
        self.iseries_accounts = iseries_accounts.IseriesAccountsState(
            store.records("iseries_accounts")
        )
        self.crm_accounts = crm_accounts.CrmAccountsState(store.records("crm_accounts"))
        self.it_portal = it_portal.ItPortalState(store.records("it_portal"))
        self.crm = crm.CrmState(store.records("crm"))

    def reset(self) -> None:
        self.store.clear()
        self._open()


def create_app(
    helpdesk_api_key: str = "sim-helpdesk-key",
    seed: int | None = None,
    state_file: Path | None = None,
    helpdesk_search_lag: timedelta = helpdesk.DEFAULT_SEARCH_LAG,
    webhook_targets: dict[str, webhooks.WebhookTarget] | None = None,
) -> FastAPI:
    """`state_file`: the SQLite file the systems' records are kept in between
    runs (none: memory only); each request commits what it changed.
    `helpdesk_search_lag`: how long a helpdesk write takes to reach its search index.
    `webhook_targets`: where the ERP and the SMS/voice provider send their events."""
    sim = SimState(helpdesk_api_key, seed, helpdesk_search_lag, state_file)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if state_file:  # a memory store is all there is: kept for whoever still reads it
            sim.store.close()

    # Swagger UI and ReDoc served by the app itself: /docs works offline.
    app = FastAPIOffline(
        title="sopflow simulators",
        description="Stand-ins for OMS, iSeries, email, helpdesk, the buyers' procurement network, retail ERP, SMS/voice, CRM, IT service portal",
        lifespan=lifespan,
    )
    app.state.sim = sim
    app.state.webhooks = dict(webhook_targets or {})
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
