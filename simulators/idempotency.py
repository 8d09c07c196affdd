"""Idempotency-Key handling shared by the simulated systems that create things."""

from __future__ import annotations

from fastapi import HTTPException
from pydantic import BaseModel


def require_key(key: str | None) -> str:
    if not key:
        raise HTTPException(400, detail="Idempotency-Key header is required")
    return key


class IdempotencyStore:
    """Remembers, per key, which request body it came with and what it created."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, str]] = {}

    def lookup(self, key: str, body: BaseModel) -> str | None:
        """The id created earlier under this key, or None if the key is new.
        A key reused with a different body is a client bug, never a replay."""
        seen = self._seen.get(key)
        if seen is None:
            return None
        fingerprint, created_id = seen
        if fingerprint != body.model_dump_json():
            raise HTTPException(
                409, detail=f"Idempotency-Key {key!r} was already used with a different request"
            )
        return created_id

    def remember(self, key: str, body: BaseModel, created_id: str) -> None:
        self._seen[key] = (body.model_dump_json(), created_id)
