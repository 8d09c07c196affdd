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


BEARER_MISSING = "missing bearer API key (Authorization: Bearer <key>)"
KEY_UNKNOWN = "unknown or revoked API key"
# Our keys are 47 characters; anything much longer is not one (and is not hashed).
MAX_KEY = 200


def bearer_key(header: str) -> str | None:
    """The key in an `Authorization: Bearer <key>` header; None for any other."""
    scheme, _, key = header.partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and 0 < len(key) <= MAX_KEY else None


async def identify(state: Any, key: str) -> tuple[Actor, str] | None:
    """The person behind an API key and the key's hash, from memory or
    PostgreSQL (`state`: the app's); None for an unknown, revoked or expired key."""
    known: KnownKeys = state.known_keys
    if hit := known.get(key):
        return hit
    async with state.pool.acquire() as conn:
        row = await lookup_api_key(conn, key)
    if row is None:
        return None
    actor = Actor(person_id=row["person_id"], name=row["name"], roles=frozenset(row["roles"]))
    known.put(key, actor, row["key_hash"])
    return actor, row["key_hash"]


async def current_actor(request: Request) -> Actor:
    """The caller the edge (api/edge.py) identified before reading the body; a
    request that came past it some other way is identified here."""
    if (actor := getattr(request.state, "actor", None)) is not None:
        return actor
    key = bearer_key(request.headers.get("authorization", ""))
    if key is None:
        raise ApiError(401, BEARER_MISSING, "Unauthorized")
    actor = await actor_for_key(request, key)
    if actor is None:
        raise ApiError(401, KEY_UNKNOWN, "Unauthorized")
    return actor


async def actor_for_key(request: Request, key: str) -> Actor | None:
    """The person behind an API key (a bearer header's, or the one pasted into
    the page's sign-in form); None for an unknown or revoked key."""
    found = await identify(request.app.state, key)
    if found is None:
        return None
    actor, key_hash = found
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
