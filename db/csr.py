"""CSR SQL: approver rules per business unit, people, case numbers, the case list."""

from __future__ import annotations

import asyncpg

from db.relations import Access, Args, reaches_record

# A person with their roles (those of their keys that are not revoked).
_PERSON = """
    p.person_id, p.name, p.email,
    COALESCE((SELECT array_agg(DISTINCT r ORDER BY r) FROM api_keys k, unnest(k.roles) r
              WHERE k.person_id = p.person_id AND k.revoked_at IS NULL), '{}') AS roles
"""


async def step_people(
    conn: asyncpg.Connection, business_unit: str, step: str
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT {_PERSON} FROM csr_approver_rules a JOIN people p USING (person_id)
            WHERE a.business_unit = $1 AND a.step = $2 ORDER BY p.person_id""",
        business_unit, step,
    )  # fmt: skip


async def approver_rules(
    conn: asyncpg.Connection, business_unit: str | None
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT a.business_unit, a.step, {_PERSON}
            FROM csr_approver_rules a JOIN people p USING (person_id)
            WHERE $1::text IS NULL OR a.business_unit = $1
            ORDER BY a.business_unit, a.step, p.person_id""",
        business_unit,
    )


async def business_unit_has_rules(conn: asyncpg.Connection, business_unit: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM csr_approver_rules WHERE business_unit = $1)",
            business_unit,
        )
    )


async def people(conn: asyncpg.Connection, person_ids: list[str]) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {_PERSON} FROM people p WHERE p.person_id = ANY($1::text[]) ORDER BY p.person_id",
        person_ids,
    )


async def new_case_number(
    conn: asyncpg.Connection, created_by: str, request_key: str | None
) -> tuple[int, bool]:
    """A new case number, or the one a registration with the same key got
    (then False)."""
    if request_key is not None:
        found = await conn.fetchval(
            "SELECT case_number FROM csr_cases WHERE request_key = $1", request_key
        )
        if found is not None:
            return found, False
    number = await conn.fetchval(
        """INSERT INTO csr_cases (request_key, created_by) VALUES ($1, $2)
           ON CONFLICT (request_key) DO NOTHING RETURNING case_number""",
        request_key, created_by,
    )  # fmt: skip
    if number is None:  # a concurrent registration with the same key won
        return await conn.fetchval(
            "SELECT case_number FROM csr_cases WHERE request_key = $1", request_key
        ), False
    return number, True


async def list_csrs(
    conn: asyncpg.Connection,
    *,
    status: str | None,
    business_unit: str | None,
    account_number: str | None,
    assignee: str | None,
    limit: int,
    offset: int,
    access: Access | None = None,
) -> list[asyncpg.Record]:
    """Cases from the read model, newest change first. `assignee`: someone who
    holds one of the case's open tasks (given to them, or offered to them);
    `access`: only the cases the caller reaches (db/relations.py)."""
    args = Args(status, business_unit, account_number, assignee, limit, offset)
    reach = reaches_record(access.reach, access.person, args) if access else "TRUE"
    return await conn.fetch(
        """SELECT r.workflow_id, r.status, r.account_number, r.business_key, r.summary,
                  r.assignee, r.due_at, r.view ->> 'business_unit' AS business_unit,
                  r.view ->> 'title' AS title, r.created_at, r.updated_at
           FROM workflow_records r
           WHERE r.kind = 'csr'
             AND ($1::text IS NULL OR r.status = $1)
             AND ($2::text IS NULL OR r.view ->> 'business_unit' = $2)
             AND ($3::text IS NULL OR r.account_number = $3)
             AND ($4::text IS NULL OR EXISTS (
                   SELECT 1 FROM human_tasks t
                   WHERE t.workflow_id = r.workflow_id AND t.closed_at IS NULL
                     AND (t.assignee = $4
                          OR (t.assignee IS NULL AND t.payload -> 'candidates' ? $4))))
             AND """ + reach + """
           ORDER BY r.updated_at DESC, r.workflow_id
           LIMIT $5 OFFSET $6""",
        *args.values,
    )  # fmt: skip
