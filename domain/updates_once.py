"""Ids of retried requests and the workflow's bounded memory of those it
applied: the pure rules behind workflows/updates_once.py, shared with the API
that derives the ids (api/temporal_calls.py)."""

from __future__ import annotations

import hashlib

from domain.kernel import AppliedUpdate

PREFIX = "once:"
MAX_ENTRIES = 100
MAX_BYTES = 32 * 1024
MAX_ANSWER = 1024
KEY_REUSED = "IdempotencyKeyReused"
# The Update was applied before, and its answer is in the read model only.
ALREADY_APPLIED = "AlreadyApplied"


def digest(*parts: str | bytes, size: int = 24) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        # Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:size]


def update_id(key_part: str, body_part: str) -> str:
    return f"{PREFIX}{key_part}:{body_part}"


def parse(update_id: str) -> tuple[str, str] | None:
    """(key part, body part) of an id the API derived from an Idempotency-Key."""
    if not update_id.startswith(PREFIX):
        return None
    key, sep, body = update_id[len(PREFIX) :].partition(":")
    return (key, body) if sep and key and body else None


def _size(entry: AppliedUpdate) -> int:
    return len(entry.key) + len(entry.body) + len(entry.answer or "")


def find(memory: list[AppliedUpdate], key: str) -> AppliedUpdate | None:
    return next((e for e in memory if e.key == key), None)


def remember(memory: list[AppliedUpdate], key: str, body: str, answer: str | None) -> None:
    """Keep the answer (a marker instead when it is over MAX_ANSWER); the oldest
    entries go first when the memory is over MAX_ENTRIES or MAX_BYTES."""
    kept = answer if answer is not None and len(answer) <= MAX_ANSWER else None
    memory.append(AppliedUpdate(key=key, body=body, answer=kept))
    while len(memory) > MAX_ENTRIES or sum(map(_size, memory)) > MAX_BYTES:
        memory.pop(0)
