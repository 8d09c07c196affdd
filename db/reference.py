"""Reference-data queries: what validation, routing and intake read."""

from __future__ import annotations

from collections import defaultdict

import asyncpg

from domain.order.fixes import InvoiceRef, OrderFixes, QuoteRef
from domain.order.models import PurchaseOrder
from domain.order.validation import AccountRef, PartRef, ReferenceSnapshot, ShipToRef


async def load_snapshot(
    conn: asyncpg.Connection, order: PurchaseOrder, fixes: OrderFixes | None = None
) -> ReferenceSnapshot:
    """What the rules need for this order, and for the parts and units a person's
    fixes name."""
    fixes = fixes or OrderFixes()
    row = await conn.fetchrow(
        """SELECT a.account_number, a.name, a.active, a.punchout_enabled, a.sla_minutes,
                  c.person_id AS rep_id, p.email AS rep_email, t.person_id AS team_lead_id
           FROM accounts a
           LEFT JOIN account_contacts c
             ON c.account_number = a.account_number AND c.contact_role = 'account_rep'
           LEFT JOIN people p ON p.person_id = c.person_id
           LEFT JOIN account_contacts t
             ON t.account_number = a.account_number AND t.contact_role = 'team_lead'
           WHERE a.account_number = $1""",
        order.account_number,
    )
    if row is None:
        return ReferenceSnapshot(account=None)
    account = AccountRef(**dict(row))
    ship_tos = {
        r["address_id"]: ShipToRef(**dict(r))
        for r in await conn.fetch(
            """SELECT address_id, branch_id, name, postal_code FROM ship_to_addresses
               WHERE account_number = $1""",
            order.account_number,
        )
    }
    customer_parts = [l.customer_part_number for l in order.lines if l.customer_part_number]
    xref = {
        r["customer_part_number"]: r["part_id"]
        for r in await conn.fetch(
            """SELECT customer_part_number, part_id FROM customer_part_xref
               WHERE account_number = $1 AND customer_part_number = ANY($2::text[])""",
            order.account_number,
            customer_parts,
        )
    }
    part_ids = sorted(
        {l.supplier_part_id for l in order.lines if l.supplier_part_id}
        | set(xref.values())
        | {f.part_id for f in fixes.lines.values() if f.part_id}
    )
    parts = await _load_parts(conn, part_ids)
    prices: dict[str, dict[str, int]] = defaultdict(dict)
    for r in await conn.fetch(
        """SELECT part_id, uom, unit_price_cents FROM contract_prices
           WHERE account_number = $1 AND part_id = ANY($2::text[])""",
        order.account_number,
        part_ids,
    ):
        prices[r["part_id"]][r["uom"]] = r["unit_price_cents"]
    conversions: dict[str, dict] = defaultdict(dict)
    for r in await conn.fetch(
        "SELECT uom, base_uom, factor FROM uom_conversions WHERE uom = ANY($1::text[])",
        sorted({l.uom for l in order.lines} | {f.uom for f in fixes.lines.values() if f.uom}),
    ):
        conversions[r["uom"]][r["base_uom"]] = r["factor"]
    return ReferenceSnapshot(
        account=account,
        ship_tos=ship_tos,
        xref=xref,
        parts=parts,
        prices_cents=dict(prices),
        conversions=dict(conversions),
    )


async def _load_parts(conn: asyncpg.Connection, part_ids: list[str]) -> dict[str, PartRef]:
    rows = await conn.fetch(
        """SELECT p.part_id, p.base_uom, p.active,
                  (SELECT coalesce(jsonb_object_agg(u.uom, u.factor), '{}')
                     FROM part_uoms u WHERE u.part_id = p.part_id) AS uoms,
                  (SELECT coalesce(jsonb_object_agg(x.branch_id, x.pools), '{}')
                     FROM (SELECT branch_id, jsonb_agg(pool_id ORDER BY pool_id) AS pools
                             FROM part_pools WHERE part_id = p.part_id GROUP BY branch_id) x) AS pools
           FROM parts p WHERE p.part_id = ANY($1::text[])""",
        part_ids,
    )
    return {r["part_id"]: PartRef(**dict(r)) for r in rows}


async def part_active(conn: asyncpg.Connection, part_id: str) -> bool | None:
    """Whether the part is active; None when it does not exist."""
    return await conn.fetchval("SELECT active FROM parts WHERE part_id = $1", part_id)


async def add_cross_reference(
    conn: asyncpg.Connection, account_number: str, customer_part_number: str, part_id: str
) -> str | None:
    """Add customer part number → part id to the account's cross-reference file.
    None when added now; else the part id the number already maps to."""
    added = await conn.fetchval(
        """INSERT INTO customer_part_xref (account_number, customer_part_number, part_id)
           VALUES ($1, $2, $3)
           ON CONFLICT (account_number, customer_part_number) DO NOTHING
           RETURNING part_id""",
        account_number, customer_part_number, part_id,
    )  # fmt: skip
    if added is not None:
        return None
    return await conn.fetchval(
        """SELECT part_id FROM customer_part_xref
           WHERE account_number = $1 AND customer_part_number = $2""",
        account_number, customer_part_number,
    )  # fmt: skip


async def price_evidence_candidates(
    conn: asyncpg.Connection, account_number: str, part_id: str, uom: str, unit_price_cents: int
) -> tuple[list[QuoteRef], list[InvoiceRef]]:
    """The account's open quotes and processed invoices for the part in the unit,
    at the price; which of them count is a rule in domain/order/fixes.py."""
    quotes = await conn.fetch(
        """SELECT quote_id, branch_id, uom, unit_price_cents, valid_until FROM open_quotes
           WHERE account_number = $1 AND part_id = $2 AND uom = $3 AND unit_price_cents = $4""",
        account_number, part_id, uom, unit_price_cents,
    )  # fmt: skip
    invoices = await conn.fetch(
        """SELECT invoice_number, uom, unit_price_cents, invoiced_on FROM processed_invoices
           WHERE account_number = $1 AND part_id = $2 AND uom = $3 AND unit_price_cents = $4""",
        account_number, part_id, uom, unit_price_cents,
    )  # fmt: skip
    return [QuoteRef(**dict(r)) for r in quotes], [InvoiceRef(**dict(r)) for r in invoices]


async def account_for_credential(
    conn: asyncpg.Connection, domain: str, identity: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT account_number, secret_hash FROM punchout_credentials
           WHERE domain = lower($1) AND identity = $2""",
        domain,
        identity,
    )


async def upsert_punchout_credential(
    conn: asyncpg.Connection, account_number: str, domain: str, identity: str, secret_hash: str
) -> bool:
    """Register or rotate a credential; False when it belongs to another account."""
    stored = await conn.fetchval(
        """INSERT INTO punchout_credentials (domain, identity, account_number, secret_hash)
           VALUES (lower($1), $2, $3, $4)
           ON CONFLICT (domain, identity) DO UPDATE
             SET secret_hash = EXCLUDED.secret_hash, created_at = now()
             WHERE punchout_credentials.account_number = EXCLUDED.account_number
           RETURNING account_number""",
        domain,
        identity,
        account_number,
        secret_hash,
    )
    return stored is not None


async def account_name(conn: asyncpg.Connection, account_number: str) -> str | None:
    return await conn.fetchval(
        "SELECT name FROM accounts WHERE account_number = $1", account_number
    )
