"""API keys (random tokens shown once, stored as SHA-256 hashes with a role set and
the accounts they may submit orders for) and buyers' PunchOut shared secrets
(chosen by people, so stored with scrypt)."""

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


# Compared against when no credential matched, so an unknown buyer costs the same
# time as a known one with a wrong secret (the answer tells nobody which exist).
UNKNOWN_SECRET_HASH = "scrypt$" + "00" * 16 + "$" + "00" * 64


def shared_secret_matches(secret: str, stored: str) -> bool:
    """CPU-bound for tens of milliseconds: call it off the event loop."""
    scheme, _, rest = stored.partition("$")
    salt, _, digest = rest.partition("$")
    if scheme != "scrypt" or not salt or not digest:
        return False
    candidate = hashlib.scrypt(secret.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return secrets.compare_digest(candidate.hex(), digest)


async def create_api_key(
    conn: asyncpg.Connection,
    person_id: str,
    roles: list[str],
    label: str = "",
    *,
    integration_id: str | None = None,
    accounts: list[str] | tuple[str, ...] = (),
) -> str:
    """A new key, shown once. A system key may submit orders only for `accounts`
    and for the accounts of its `integration_id`."""
    key = "sfk_" + secrets.token_urlsafe(32)
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO api_keys (key_hash, person_id, roles, label, integration_id)
               VALUES ($1, $2, $3, $4, $5)""",
            hash_secret(key),
            person_id,
            roles,
            label,
            integration_id,
        )
        await bind_api_key(conn, key, accounts=accounts)
    return key


async def bind_api_key(
    conn: asyncpg.Connection,
    key: str,
    *,
    integration_id: str | None = None,
    accounts: list[str] | tuple[str, ...] = (),
) -> None:
    """Let an existing key submit for `accounts` too, and (when given) put it in an
    integration. Binding twice is harmless."""
    key_hash = hash_secret(key)
    if integration_id is not None:
        await conn.execute(
            "UPDATE api_keys SET integration_id = $2 WHERE key_hash = $1", key_hash, integration_id
        )
    await conn.executemany(
        """INSERT INTO api_key_accounts (key_hash, account_number) VALUES ($1, $2)
           ON CONFLICT DO NOTHING""",
        [(key_hash, account) for account in accounts],
    )


async def integration_exists(conn: asyncpg.Connection, integration_id: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM integrations WHERE integration_id = $1)", integration_id
        )
    )


async def add_integration_account(
    conn: asyncpg.Connection, integration_id: str, account_number: str
) -> None:
    """Every key of the integration may now submit orders for the account."""
    await conn.execute(
        """INSERT INTO integration_accounts (integration_id, account_number) VALUES ($1, $2)
           ON CONFLICT DO NOTHING""",
        integration_id,
        account_number,
    )


async def lookup_api_key(conn: asyncpg.Connection, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT k.key_hash, k.person_id, p.name, k.roles, k.integration_id
           FROM api_keys k JOIN people p USING (person_id)
           WHERE k.key_hash = $1 AND k.revoked_at IS NULL""",
        hash_secret(key),
    )


async def key_may_submit_for(conn: asyncpg.Connection, key_hash: str, account_number: str) -> bool:
    """Whether the key is bound to the account, itself or through its integration."""
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (
                   SELECT 1 FROM api_key_accounts WHERE key_hash = $1 AND account_number = $2
                   UNION ALL
                   SELECT 1 FROM api_keys k JOIN integration_accounts i USING (integration_id)
                    WHERE k.key_hash = $1 AND i.account_number = $2)""",
            key_hash,
            account_number,
        )
    )


async def person_holds_role(conn: asyncpg.Connection, person_id: str, role: str) -> bool:
    """Whether `person_id` holds `role` through a key that is not revoked."""
    return bool(
        await conn.fetchval(
            """SELECT EXISTS (SELECT 1 FROM api_keys WHERE person_id = $1
                   AND revoked_at IS NULL AND $2 = ANY(roles))""",
            person_id,
            role,
        )
    )
