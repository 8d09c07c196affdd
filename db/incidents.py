"""Incident queries: the accounts an outage must affect before it escalates, the
platform's IT support contacts, and incidents as the read model holds them."""

from __future__ import annotations

import asyncpg

# An order still on its way to the branch: it needs its platforms.
IN_FLIGHT = ["received", "on_hold", "confirmed", "waiting_on_system"]


async def accounts_in_flight(conn: asyncpg.Connection, exclude_test: bool = True) -> list[str]:
    rows = await conn.fetch(
        """SELECT DISTINCT account_number FROM workflow_records
           WHERE kind = 'order' AND closed_at IS NULL AND status = ANY($1::text[])
                 AND account_number IS NOT NULL AND NOT (is_test AND $2)
           ORDER BY account_number""",
        IN_FLIGHT, exclude_test,
    )  # fmt: skip
    return [r["account_number"] for r in rows]


async def it_support_contacts(conn: asyncpg.Connection, platform: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT p.person_id, p.name, p.email FROM it_support_contacts c
           JOIN people p USING (person_id)
           WHERE c.platform = $1 ORDER BY p.person_id""",
        platform,
    )


async def list_incidents(
    conn: asyncpg.Connection,
    *,
    platform: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT workflow_id, status, business_key, summary, view, created_at, updated_at,
                  closed_at
           FROM workflow_records
           WHERE kind = 'incident' AND ($1::text IS NULL OR business_key = $1)
                 AND ($2::text IS NULL OR status = $2)
           ORDER BY created_at DESC, workflow_id
           LIMIT $3 OFFSET $4""",
        platform, status, limit, offset,
    )  # fmt: skip


async def open_incidents(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT workflow_id, business_key, status, created_at FROM workflow_records
           WHERE kind = 'incident' AND closed_at IS NULL
           ORDER BY created_at"""
    )
