"""Bearer API keys → the acting person and their roles."""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request

from api.errors import ApiError
from db.keys import lookup_api_key
from domain.identity import Actor, Role


class KnownKeys:
    """Keys seen in the last `ttl`, with their actor, so a person's clicks do not
    each wait for PostgreSQL. A revoked key stops working within `ttl`."""

    _MAX = 10_000

    def __init__(self, ttl: timedelta) -> None:
        self.ttl = ttl.total_seconds()
        self._seen: dict[str, tuple[float, Actor, str]] = {}

    def get(self, key: str) -> tuple[Actor, str] | None:
        hit = self._seen.get(key)
        if hit is None or time.monotonic() - hit[0] > self.ttl:
            return None
        return hit[1], hit[2]

    def put(self, key: str, actor: Actor, key_hash: str) -> None:
        if self.ttl <= 0:
            return
        if len(self._seen) >= self._MAX:
            self._seen.clear()
        self._seen[key] = (time.monotonic(), actor, key_hash)


async def current_actor(request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, "missing bearer API key (Authorization: Bearer <key>)", "Unauthorized")
    actor = await actor_for_key(request, key)
    if actor is None:
        raise ApiError(401, "unknown or revoked API key", "Unauthorized")
    return actor


async def actor_for_key(request: Request, key: str) -> Actor | None:
    """The person behind an API key (a bearer header's, or the work-queue page's
    session cookie's); None for an unknown or revoked key."""
    known: KnownKeys = request.app.state.known_keys
    if hit := known.get(key):
        actor, key_hash = hit
    else:
        async with request.app.state.pool.acquire() as conn:
            row = await lookup_api_key(conn, key)
        if row is None:
            return None
        actor = Actor(person_id=row["person_id"], name=row["name"], roles=frozenset(row["roles"]))
        key_hash = row["key_hash"]
        known.put(key, actor, key_hash)
    # Which key it was: order intake checks the accounts the key is bound to.
    request.state.api_key_hash = key_hash
    structlog.contextvars.bind_contextvars(actor=actor.person_id)
    return actor


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Actor]]:
    """A dependency that admits only actors holding one of `roles`."""

    async def dependency(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if not actor.has_any(*roles):
            allowed = ", ".join(r.value for r in roles)
            raise ApiError(403, f"this call needs one of the roles: {allowed}", "Forbidden")
        return actor

    return dependency
