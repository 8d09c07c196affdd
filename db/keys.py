"""API keys: random tokens shown once, stored as SHA-256 hashes with a role set."""

from __future__ import annotations

import hashlib
import secrets

import asyncpg


def hash_secret(secret: str) -> str:
    # Keys and shared secrets are long random tokens, so a fast hash is enough;
    # it keeps every request's lookup a single indexed read.
    return hashlib.sha256(secret.encode()).hexdigest()


def secrets_match(secret: str, stored_hash: str) -> bool:
    return secrets.compare_digest(hash_secret(secret), stored_hash)


async def create_api_key(
    conn: asyncpg.Connection, person_id: str, roles: list[str], label: str = ""
) -> str:
    key = "sfk_" + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO api_keys (key_hash, person_id, roles, label) VALUES ($1, $2, $3, $4)",
        hash_secret(key),
        person_id,
        roles,
        label,
    )
    return key


async def lookup_api_key(conn: asyncpg.Connection, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT k.person_id, p.name, k.roles FROM api_keys k JOIN people p USING (person_id)
           WHERE k.key_hash = $1 AND k.revoked_at IS NULL""",
        hash_secret(key),
    )
