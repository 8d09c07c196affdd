"""The cXML documents an order received from and sent to the buyer, and where
the buyer's system takes them (its PunchOut credential's endpoint)."""

from __future__ import annotations

import asyncpg


async def buyer_endpoint(conn: asyncpg.Connection, account_number: str) -> asyncpg.Record | None:
    """The account's credential with an endpoint (the latest registered), or None."""
    return await conn.fetchrow(
        """SELECT domain, identity, endpoint_url FROM punchout_credentials
           WHERE account_number = $1 AND endpoint_url IS NOT NULL
           ORDER BY created_at DESC, domain, identity LIMIT 1""",
        account_number,
    )


async def set_endpoint(
    conn: asyncpg.Connection, domain: str, identity: str, endpoint_url: str | None
) -> None:
    await conn.execute(
        """UPDATE punchout_credentials SET endpoint_url = $3
           WHERE domain = lower($1) AND identity = $2""",
        domain, identity, endpoint_url,
    )  # fmt: skip


async def keep_document(
    conn: asyncpg.Connection,
    *,
    order_id: str,
    payload_id: str,
    direction: str,
    kind: str,
    event: str,
    is_test: bool,
    endpoint_url: str | None,
    xml: str,
    status: str,
    answer_code: int | None = None,
    answer_text: str = "",
) -> str:
    """Store a document once; answers the XML stored under its payloadID (a
    retry sends the document first stored, byte for byte)."""
    await conn.execute(
        """INSERT INTO buyer_documents (order_id, payload_id, direction, kind, event, is_test,
                                        endpoint_url, xml, status, answer_code, answer_text)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (order_id, payload_id) DO NOTHING""",
        order_id, payload_id, direction, kind, event, is_test, endpoint_url, xml, status,
        answer_code, answer_text,
    )  # fmt: skip
    return await conn.fetchval(
        "SELECT xml FROM buyer_documents WHERE order_id = $1 AND payload_id = $2",
        order_id, payload_id,
    )  # fmt: skip


async def record_answer(
    conn: asyncpg.Connection,
    order_id: str,
    payload_id: str,
    status: str,
    answer_code: int | None,
    answer_text: str,
) -> None:
    """One delivery attempt's outcome. A document the buyer took keeps that
    outcome (a late retry's answer does not undo it); a refused one resent by
    the rep takes the new answer."""
    await conn.execute(
        """UPDATE buyer_documents
              SET status = $3, answer_code = $4, answer_text = $5,
                  attempts = attempts + 1, updated_at = now()
            WHERE order_id = $1 AND payload_id = $2
              AND status <> 'sent'""",
        order_id, payload_id, status, answer_code, answer_text,
    )  # fmt: skip


_COLUMNS = """payload_id, direction, kind, event, is_test, endpoint_url, status, answer_code,
              answer_text, attempts, created_at, updated_at"""


async def list_documents(conn: asyncpg.Connection, order_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {_COLUMNS} FROM buyer_documents WHERE order_id = $1
            ORDER BY created_at, payload_id""",
        order_id,
    )


async def document_xml(conn: asyncpg.Connection, order_id: str, payload_id: str) -> str | None:
    return await conn.fetchval(
        "SELECT xml FROM buyer_documents WHERE order_id = $1 AND payload_id = $2",
        order_id, payload_id,
    )  # fmt: skip
