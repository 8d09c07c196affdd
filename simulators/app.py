"""One FastAPI app with a router per simulated external system, plus fault control."""

from __future__ import annotations

import random

from fastapi import FastAPI

from simulators import email, faults, helpdesk, iseries, oms


class SimState:
    """Everything the simulators remember; one per app so apps never share state."""

    def __init__(self, helpdesk_api_key: str, seed: int | None) -> None:
        self._helpdesk_api_key = helpdesk_api_key
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        # Mutated in place: the fault middleware holds this object.
        self.rng = random.Random(self._seed)
        self.faults = {system: faults.Faults() for system in faults.SYSTEMS}
        self.oms = oms.OmsState()
        self.iseries = iseries.IseriesState()
        self.email = email.EmailState()
        self.helpdesk = helpdesk.HelpdeskState(self._helpdesk_api_key)


def create_app(helpdesk_api_key: str = "sim-helpdesk-key", seed: int | None = None) -> FastAPI:
    app = FastAPI(title="sopflow simulators", description="Stand-ins for OMS, iSeries, email, helpdesk")
    sim = SimState(helpdesk_api_key, seed)
    app.state.sim = sim
    app.add_middleware(faults.FaultMiddleware, sim=sim)
    for module in (oms, iseries, email, helpdesk, faults):
        app.include_router(module.router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/_reset")
    async def reset() -> dict[str, str]:
        sim.reset()
        return {"status": "reset"}

    return app
