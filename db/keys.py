"""API keys (random tokens shown once, stored as SHA-256 hashes with a role set and
the accounts they may submit orders for) and buyers' PunchOut shared secrets
(chosen by people, so stored with scrypt)."""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import timedelta

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


# A key that works: not revoked, and (a rotated one) not past its grace period.
LIVE_KEY = "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())"


async def lookup_api_key(conn: asyncpg.Connection, key: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"""SELECT k.key_hash, k.person_id, p.name, k.roles, k.integration_id
           FROM api_keys k JOIN people p USING (person_id)
           WHERE k.key_hash = $1 AND {LIVE_KEY}""",
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


async def person_roles(conn: asyncpg.Connection, person_id: str) -> set[str]:
    """Every role `person_id` holds through a key that works."""
    rows = await conn.fetch(
        f"SELECT DISTINCT unnest(k.roles) AS role FROM api_keys k WHERE k.person_id = $1 AND {LIVE_KEY}",
        person_id,
    )
    return {r["role"] for r in rows}


# ------------------------------------------------------------ sopflow keys
# A key is named by the first characters of its hash: the key itself is shown
# once, when it is made, and kept nowhere.
KEY_ID_LENGTH = 12


def key_id(key_hash: str) -> str:
    return key_hash[:KEY_ID_LENGTH]


class AmbiguousKeyId(ValueError):
    pass


_KEY_COLUMNS = f"""k.key_hash, k.person_id, p.name, k.roles, k.label, k.integration_id,
       k.created_at, k.revoked_at, k.expires_at, k.replaced_by, ({LIVE_KEY}) AS live,
       ARRAY(SELECT account_number FROM api_key_accounts a
             WHERE a.key_hash = k.key_hash ORDER BY account_number) AS accounts"""


async def list_api_keys(conn: asyncpg.Connection, *, every: bool = False) -> list[asyncpg.Record]:
    """The keys that work (`every`: revoked and expired ones too), oldest first."""
    return await conn.fetch(
        f"""SELECT {_KEY_COLUMNS} FROM api_keys k JOIN people p USING (person_id)
           WHERE $1 OR ({LIVE_KEY}) ORDER BY k.created_at, k.key_hash""",
        every,
    )


async def find_api_key(conn: asyncpg.Connection, given: str) -> asyncpg.Record | None:
    """A key by its id (at least 8 characters of its hash) or by the key itself;
    `AmbiguousKeyId` when an id names more than one."""
    given = given.strip()
    if given.startswith("sfk_"):
        where, arg = "k.key_hash = $1", hash_secret(given)
    elif 8 <= len(given) <= 64 and all(c in "0123456789abcdef" for c in given.lower()):
        where, arg = "k.key_hash LIKE $1", given.lower() + "%"
    else:
        return None
    rows = await conn.fetch(
        f"SELECT {_KEY_COLUMNS} FROM api_keys k JOIN people p USING (person_id) WHERE {where}",
        arg,
    )
    if len(rows) > 1:
        raise AmbiguousKeyId(f"{given} names {len(rows)} keys; give more of the id")
    return rows[0] if rows else None


async def revoke_api_key(conn: asyncpg.Connection, key_hash: str) -> bool:
    """The key stops working, and so does every page session signed in with it.
    False when it was already revoked."""
    async with conn.transaction():
        done = await conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_hash = $1 AND revoked_at IS NULL",
            key_hash,
        )
        await conn.execute(
            "UPDATE web_sessions SET ended_at = now() WHERE key_hash = $1 AND ended_at IS NULL",
            key_hash,
        )
    return done.endswith(" 1")


async def rotate_api_key(conn: asyncpg.Connection, key_hash: str, grace: timedelta) -> str:
    """A new key for the same person, roles, label, integration and accounts;
    the old one works for `grace` more (never longer than it already would),
    and the page sessions signed in with it end when it does."""
    async with conn.transaction():
        old = await conn.fetchrow(
            f"""SELECT k.person_id, k.roles, k.label, k.integration_id,
                      ARRAY(SELECT account_number FROM api_key_accounts a
                            WHERE a.key_hash = k.key_hash) AS accounts
               FROM api_keys k WHERE k.key_hash = $1 AND {LIVE_KEY} FOR UPDATE""",
            key_hash,
        )
        if old is None:
            raise LookupError("the key is revoked or expired; create a new one instead")
        new_key = await create_api_key(
            conn,
            old["person_id"],
            list(old["roles"]),
            old["label"],
            integration_id=old["integration_id"],
            accounts=list(old["accounts"]),
        )
        await conn.execute(
            """UPDATE api_keys SET replaced_by = $2,
                      expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + $3::interval)
               WHERE key_hash = $1""",
            key_hash,
            hash_secret(new_key),
            grace,
        )
    return new_key
