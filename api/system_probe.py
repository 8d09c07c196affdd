"""GET /health's look at the external systems: one cheap probe of each
(`GET {system url}/health`), all at once, with a short timeout, and the answer
kept a few seconds so a busy health check does not load them."""

from __future__ import annotations

import asyncio
import time

import httpx
import structlog

from domain.systems import SystemState, system_state
from sopflow.config import Settings

log = structlog.get_logger()


def external_systems(settings: Settings) -> dict[str, str]:
    """Every system the service calls, by name: each `<name>_url` setting but
    those that are not a system it calls (its database, its own public address,
    the Temporal UI it links to)."""
    not_systems = {"database_url", "public_url", "temporal_ui_url"}
    names = [
        name.removesuffix("_url")
        for name in type(settings).model_fields
        if name.endswith("_url") and name not in not_systems
    ]
    return {name: settings.system_url(name) for name in names}


class SystemProbe:
    def __init__(self, settings: Settings) -> None:
        self.urls = external_systems(settings)
        self.timeout = settings.health_probe_timeout.total_seconds()
        self.slow_after = settings.health_probe_slow_after.total_seconds()
        self.keep_for = settings.health_probe_cache.total_seconds()
        self._states: dict[str, SystemState] = {}
        self._at: float | None = None
        self._lock = asyncio.Lock()

    async def states(self) -> dict[str, SystemState]:
        async with self._lock:  # concurrent health checks share one round of probes
            if self._at is None or time.monotonic() - self._at >= self.keep_for:
                async with httpx.AsyncClient(timeout=self.timeout) as http:
                    found = await asyncio.gather(
                        *(self._probe(http, name, url) for name, url in self.urls.items())
                    )
                self._states = dict(zip(self.urls, found, strict=True))
                self._at = time.monotonic()
        return self._states

    async def _probe(self, http: httpx.AsyncClient, name: str, url: str) -> SystemState:
        started = time.perf_counter()
        code: int | None = None
        said: str | None = None
        why = ""
        try:
            resp = await http.get(f"{url}/health")
            code = resp.status_code
            try:
                body = resp.json()
                said = body.get("status") if isinstance(body, dict) else None
            except ValueError:
                pass
            why = f"HTTP {code}"
        except httpx.HTTPError as exc:
            why = f"{type(exc).__name__}: {exc}"
        seconds = time.perf_counter() - started
        state = system_state(code, seconds, said, self.slow_after)
        before = self._states.get(name)
        if state != before and (state != "up" or before is not None):
            # Said once per change, with what the operator needs to look further.
            (log.warning if state != "up" else log.info)(
                "health: external system " + state,
                system=name,
                url=url,
                answer=why,
                seconds=round(seconds, 2),
            )
        return state
