"""Bearer API keys → the acting person and their roles."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request

from api.errors import ApiError
from db.keys import lookup_api_key
from domain.identity import Actor, Role


async def current_actor(request: Request) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "missing bearer API key (Authorization: Bearer <key>)", "Unauthorized")
    async with request.app.state.pool.acquire() as conn:
        row = await lookup_api_key(conn, key.strip())
    if row is None:
        raise ApiError(401, "unknown or revoked API key", "Unauthorized")
    actor = Actor(person_id=row["person_id"], name=row["name"], roles=frozenset(row["roles"]))
    # Which key it was: order intake checks the accounts the key is bound to.
    request.state.api_key_hash = row["key_hash"]
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
