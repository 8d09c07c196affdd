"""API keys (random tokens shown once, stored as SHA-256 hashes with a role set)
and buyers' PunchOut shared secrets (chosen by people, so stored with scrypt)."""

from __future__ import annotations

import hashlib
import os
import secrets

import asyncpg


def hash_secret(secret: str) -> str:
    # API keys are long random tokens, so a fast hash is enough; it keeps every
    # request's key lookup a single indexed read.
    return hashlib.sha256(secret.encode()).hexdigest()


_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_shared_secret(secret: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def shared_secret_matches(secret: str, stored: str) -> bool:
    scheme, _, rest = stored.partition("$")
    salt, _, digest = rest.partition("$")
    if scheme != "scrypt" or not salt or not digest:
        return False
    candidate = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return secrets.compare_digest(candidate.hex(), digest)


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
