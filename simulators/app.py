"""One FastAPI app with a router per simulated external system, plus fault control."""

from __future__ import annotations

import contextlib
import pickle
import random
from collections.abc import AsyncIterator
from pathlib import Path

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

    # What the systems hold survives a restart of the dev stack (its workflows
    # do too, and would otherwise point at orders the simulators forgot).
    # Injected faults do not.
    _KEPT = ("oms", "iseries", "email", "helpdesk")

    def save(self, path: Path) -> None:
        path.write_bytes(pickle.dumps({name: getattr(self, name) for name in self._KEPT}))

    def load(self, path: Path) -> None:
        if path.exists():
            for name, value in pickle.loads(path.read_bytes()).items():
                setattr(self, name, value)


def create_app(
    helpdesk_api_key: str = "sim-helpdesk-key",
    seed: int | None = None,
    state_file: Path | None = None,
) -> FastAPI:
    """`state_file`: where the systems' state is kept between runs (none: memory only)."""
    sim = SimState(helpdesk_api_key, seed)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if state_file:
            sim.load(state_file)
        yield
        if state_file:
            sim.save(state_file)

    app = FastAPI(
        title="sopflow simulators",
        description="Stand-ins for OMS, iSeries, email, helpdesk",
        lifespan=lifespan,
    )
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
