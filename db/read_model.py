"""Read model and audit log SQL. Writes are idempotent: a retried activity
never duplicates an audit entry nor rolls a row back to an older revision."""

from __future__ import annotations

import asyncpg

from domain.records import ReadModelSync


async def apply_sync(conn: asyncpg.Connection, sync: ReadModelSync) -> None:
    r = sync.record
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO workflow_records (workflow_id, kind, status, account_number, business_key,
                   summary, assignee, due_at, is_test, view, revision, created_at, updated_at,
                   run_id, closed_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
               ON CONFLICT (workflow_id) DO UPDATE SET
                   status = EXCLUDED.status, summary = EXCLUDED.summary,
                   assignee = EXCLUDED.assignee, due_at = EXCLUDED.due_at, view = EXCLUDED.view,
                   revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at,
                   run_id = EXCLUDED.run_id, closed_at = EXCLUDED.closed_at
               WHERE (workflow_records.updated_at, workflow_records.revision)
                     < (EXCLUDED.updated_at, EXCLUDED.revision)""",
            r.workflow_id, r.kind, r.status, r.account_number, r.business_key, r.summary,
            r.assignee, r.due_at, r.is_test, r.view, r.revision, r.created_at, r.updated_at,
            r.run_id, r.closed_at,
        )  # fmt: skip
        if sync.audit:
            await conn.executemany(
                """INSERT INTO audit_log (entry_key, subject_id, seq, actor, action, from_status,
                       to_status, comment, at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                   ON CONFLICT (entry_key) DO NOTHING""",
                [
                    (f"{r.workflow_id}@{r.created_at.isoformat()}#{seq}", r.workflow_id, seq,
                     e.actor, e.action, e.from_status, e.to_status, e.comment, e.at)
                    for seq, e in enumerate(sync.audit, start=sync.audit_offset)
                ],
            )  # fmt: skip
        if sync.open_tasks:
            await conn.executemany(
                """INSERT INTO human_tasks (task_id, workflow_id, kind, assignee, queue, role,
                       due_at, payload, opened_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                   ON CONFLICT (task_id) DO NOTHING""",
                [
                    (t.task_id, t.workflow_id, t.kind, t.assignee, t.queue, t.role.value,
                     t.due_at, t.payload, t.opened_at)
                    for t in sync.open_tasks
                ],
            )  # fmt: skip
        if sync.closed_tasks:
            await conn.executemany(
                """UPDATE human_tasks SET closed_at = $2, outcome = $3
                   WHERE task_id = $1 AND closed_at IS NULL""",
                [(t.task_id, t.closed_at, t.outcome) for t in sync.closed_tasks],
            )


async def list_records(
    conn: asyncpg.Connection,
    kind: str,
    *,
    account_number: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT workflow_id, status, account_number, business_key, summary, assignee,
                  due_at, is_test, created_at, updated_at
           FROM workflow_records
           WHERE kind = $1 AND ($2::text IS NULL OR account_number = $2)
                 AND ($3::text IS NULL OR status = $3)
           ORDER BY updated_at DESC, workflow_id
           LIMIT $4 OFFSET $5""",
        kind, account_number, status, limit, offset,
    )  # fmt: skip


async def get_record(conn: asyncpg.Connection, workflow_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow("SELECT * FROM workflow_records WHERE workflow_id = $1", workflow_id)


async def get_view(conn: asyncpg.Connection, workflow_id: str) -> dict | None:
    return await conn.fetchval(
        "SELECT view FROM workflow_records WHERE workflow_id = $1", workflow_id
    )


async def audit_trail(conn: asyncpg.Connection, subject_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT actor, action, from_status, to_status, comment, at FROM audit_log
           WHERE subject_id = $1 ORDER BY at, seq, id""",
        subject_id,
    )


async def append_audit(
    conn: asyncpg.Connection, subject_id: str, actor: str, action: str, comment: str = ""
) -> None:
    """An audit entry for a change made outside any workflow (reference data)."""
    await conn.execute(
        """INSERT INTO audit_log (entry_key, subject_id, actor, action, comment, at)
           VALUES (gen_random_uuid()::text, $1, $2, $3, $4, now())""",
        subject_id, actor, action, comment,
    )  # fmt: skip


async def open_tasks(
    conn: asyncpg.Connection, roles: list[str], person_id: str, limit: int, offset: int
) -> list[asyncpg.Record]:
    """A person's queue: tasks assigned to them, or unassigned ones for their roles."""
    return await conn.fetch(
        """SELECT task_id, workflow_id, kind, assignee, queue, role, due_at, payload, opened_at
           FROM human_tasks
           WHERE closed_at IS NULL
             AND (assignee = $2 OR (assignee IS NULL AND role = ANY($1::text[])))
           ORDER BY due_at NULLS LAST, opened_at
           LIMIT $3 OFFSET $4""",
        roles, person_id, limit, offset,
    )  # fmt: skip
