"""Open orders: the stores' calendars, and the work lists read from the read model."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from db.relations import Access, Args, reaches_record
from domain.calendar import StoreCalendar


async def store_calendar(conn: asyncpg.Connection, store_id: str) -> StoreCalendar | None:
    row = await conn.fetchrow("SELECT * FROM stores WHERE store_id = $1", store_id)
    if row is None:
        return None
    holidays = await conn.fetch("SELECT day FROM store_holidays WHERE store_id = $1", store_id)
    return StoreCalendar(
        store_id=row["store_id"],
        name=row["name"],
        timezone=row["timezone"],
        opens=row["opens"],
        evening_starts=row["evening_starts"],
        closes=row["closes"],
        business_days=frozenset(row["business_days"]),
        holidays=frozenset(h["day"] for h in holidays),
        manager_id=row["manager_id"],
    )


async def work_list(
    conn: asyncpg.Connection,
    *,
    status: str | None,
    store_id: str | None,
    code: str | None,
    contact_due_before: datetime | None,
    ship_date_before: datetime | None,
    include_closed: bool,
    limit: int,
    offset: int,
    access: Access | None = None,
) -> list[asyncpg.Record]:
    """Open orders for follow-up, from the read model, soonest next action
    first; `access`: only those the caller reaches (their stores')."""
    args = Args(status, store_id, code, contact_due_before, ship_date_before, include_closed,
                limit, offset)  # fmt: skip
    reach = reaches_record(access.reach, access.person, args) if access else "TRUE"
    return await conn.fetch(
        """SELECT workflow_id, status, business_key, summary, assignee, due_at, view,
                  updated_at
           FROM workflow_records r
           WHERE kind = 'open_order' AND """ + reach + """
             AND ($1::text IS NULL OR status = $1)
             AND ($2::text IS NULL OR view ->> 'store_id' = $2)
             AND ($3::text IS NULL OR view ->> 'code' = $3)
             AND ($4::timestamptz IS NULL OR (view ->> 'contact_date')::timestamptz < $4)
             AND ($5::timestamptz IS NULL OR ((view ->> 'ship_date')::date < $5::date
                  AND status NOT IN ('closed', 'cancelled')))
             AND ($6 OR closed_at IS NULL)
           ORDER BY due_at NULLS LAST, updated_at DESC, workflow_id
           LIMIT $7 OFFSET $8""",
        *args.values,
    )  # fmt: skip


async def to_confirm(conn: asyncpg.Connection, before: datetime) -> list[str]:
    """Booked orders whose confirmation is due before `before` (the next
    business day's appointments), not yet confirmed."""
    rows = await conn.fetch(
        """SELECT workflow_id FROM workflow_records
           WHERE kind = 'open_order' AND closed_at IS NULL AND status = 'booked'
             AND (view -> 'appointment' ->> 'confirm_by')::timestamptz < $1
           ORDER BY workflow_id""",
        before,
    )
    return [r["workflow_id"] for r in rows]
