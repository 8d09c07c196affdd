"""Read model and audit log SQL. Writes are idempotent: a retried activity
never duplicates an audit entry nor rolls a row back to an older revision."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import asyncpg

from db.relations import Access, Args, reaches_record, reaches_task
from domain.records import AuditEntry, ReadModelSync

# One statement, so one round trip (and atomic without a transaction of its own):
# the row (never rolled back to an older revision), the new audit entries and the
# tasks opened and closed since the last write. Empty parts insert nothing.
_APPLY_SYNC = """
WITH record AS (
    INSERT INTO workflow_records (workflow_id, kind, status, account_number, business_key,
        summary, assignee, due_at, is_test, view, revision, created_at, updated_at, run_id,
        closed_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    ON CONFLICT (workflow_id) DO UPDATE SET
        status = EXCLUDED.status, summary = EXCLUDED.summary,
        assignee = EXCLUDED.assignee, due_at = EXCLUDED.due_at, view = EXCLUDED.view,
        revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at,
        run_id = EXCLUDED.run_id, closed_at = EXCLUDED.closed_at
    WHERE (workflow_records.updated_at, workflow_records.revision)
          < (EXCLUDED.updated_at, EXCLUDED.revision)
), audit AS (
    INSERT INTO audit_log (entry_key, subject_id, seq, actor, action, from_status, to_status,
        comment, at)
    SELECT e.entry_key, $1, e.seq, e.actor, e.action, e.from_status, e.to_status, e.comment, e.at
    FROM unnest($16::text[], $17::int[], $18::text[], $19::text[], $20::text[], $21::text[],
                $22::text[], $23::timestamptz[])
         AS e(entry_key, seq, actor, action, from_status, to_status, comment, at)
    ON CONFLICT (entry_key) DO NOTHING
), opened AS (
    INSERT INTO human_tasks (task_id, workflow_id, kind, assignee, queue, role, due_at, payload,
        opened_at)
    SELECT t.task_id, t.workflow_id, t.kind, t.assignee, t.queue, t.role, t.due_at,
           COALESCE($33::jsonb -> (t.n - 1)::int, '{}'::jsonb), t.opened_at
    FROM unnest($24::text[], $25::text[], $26::text[], $27::text[], $28::text[], $29::text[],
                $30::timestamptz[], $31::timestamptz[]) WITH ORDINALITY
         AS t(task_id, workflow_id, kind, assignee, queue, role, due_at, opened_at, n)
    -- An open task the workflow changed (claimed, reassigned) takes the change;
    -- a closed one stays closed.
    ON CONFLICT (task_id) DO UPDATE SET
        assignee = EXCLUDED.assignee, queue = EXCLUDED.queue, due_at = EXCLUDED.due_at,
        payload = EXCLUDED.payload
    WHERE human_tasks.closed_at IS NULL
), closed AS (
    UPDATE human_tasks h SET closed_at = c.closed_at, outcome = c.outcome
    FROM unnest($32::text[], $34::timestamptz[], $35::text[]) AS c(task_id, closed_at, outcome)
    WHERE h.task_id = c.task_id AND h.closed_at IS NULL
)
SELECT 1
"""


def entry_key(workflow_id: str, lineage: str, seq: int, entry: AuditEntry) -> str:
    """The workflow's lineage (its first run), the position and the content: a
    resent entry is the same entry, and so is one a workflow task wrote and then
    lost to a dying worker, which the retried task makes again at a later
    workflow time (keyed by time, it was a second row: the worker-kill chaos
    test). An order sent again after it failed is a new lineage; after a reset,
    what the new run does differently at a position is a new entry."""
    content = "\x1f".join(
        [entry.actor, entry.action, entry.from_status or "", entry.to_status or "", entry.comment]
    )
    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    return f"{workflow_id}@{lineage}#{seq}:{digest}"


async def apply_sync(conn: asyncpg.Connection, sync: ReadModelSync) -> None:
    r = sync.record
    entries = list(enumerate(sync.audit, start=sync.audit_offset))
    # A sync made without it (none of the kernel's): the workflow's creation time.
    lineage = sync.origin_run_id or r.created_at.isoformat()
    opened, closed = sync.open_tasks, sync.closed_tasks
    await conn.execute(
        _APPLY_SYNC,
        r.workflow_id, r.kind, r.status, r.account_number, r.business_key, r.summary,
        r.assignee, r.due_at, r.is_test, r.view, r.revision, r.created_at, r.updated_at,
        r.run_id, r.closed_at,
        [entry_key(r.workflow_id, lineage, seq, e) for seq, e in entries],
        [seq for seq, _ in entries],
        [e.actor for _, e in entries],
        [e.action for _, e in entries],
        [e.from_status for _, e in entries],
        [e.to_status for _, e in entries],
        [e.comment for _, e in entries],
        [e.at for _, e in entries],
        [t.task_id for t in opened],
        [t.workflow_id for t in opened],
        [t.kind for t in opened],
        [t.assignee for t in opened],
        [t.queue for t in opened],
        [t.role.value for t in opened],
        [t.due_at for t in opened],
        [t.opened_at for t in opened],
        [t.task_id for t in closed],
        [t.payload for t in opened],
        [t.closed_at for t in closed],
        [t.outcome for t in closed],
    )  # fmt: skip


async def list_records(
    conn: asyncpg.Connection,
    kind: str,
    *,
    account_number: str | None,
    status: str | None,
    limit: int,
    offset: int,
    access: Access | None = None,
) -> list[asyncpg.Record]:
    """`access`: only the records the caller reaches (db/relations.py)."""
    args = Args(kind, account_number, status, limit, offset)
    reach = reaches_record(access.reach, access.person, args) if access else "TRUE"
    return await conn.fetch(
        """SELECT workflow_id, status, account_number, business_key, summary, assignee,
                  due_at, is_test, created_at, updated_at
           FROM workflow_records r
           WHERE kind = $1 AND ($2::text IS NULL OR account_number = $2)
                 AND ($3::text IS NULL OR status = $3)
                 AND """ + reach + """
           ORDER BY updated_at DESC, workflow_id
           LIMIT $4 OFFSET $5""",
        *args.values,
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


# ------------------------------------------------------------------ reconciler
# Where the read model disagrees with Temporal, Temporal wins (activities/reconcile.py).


async def unclosed_records(
    conn: asyncpg.Connection,
    *,
    limit: int,
    min_age: timedelta,
    after: tuple[datetime, str] | None = None,
) -> list[asyncpg.Record]:
    """Rows whose workflow the read model believes is still running, oldest update
    first, leaving alone those written in the last `min_age`; `after` is the last
    (updated_at, workflow_id) of the previous page."""
    after_at, after_id = after or (None, None)
    return await conn.fetch(
        """SELECT workflow_id, kind, status, run_id, updated_at, revision, closed_at
           FROM workflow_records
           WHERE closed_at IS NULL AND updated_at < now() - $1::interval
             AND ($2::timestamptz IS NULL OR (updated_at, workflow_id) > ($2, $3::text))
           ORDER BY updated_at, workflow_id
           LIMIT $4""",
        min_age, after_at, after_id, limit,
    )  # fmt: skip


async def close_ended_record(
    conn: asyncpg.Connection,
    workflow_id: str,
    *,
    status: str,
    closed_at: datetime,
    run_id: str | None,
    comment: str,
    task_outcome: str,
) -> str | None:
    """Close the row of a workflow that ended without its last write (terminated,
    timed out, or its write lost): the status in the row and in its stored view,
    its open tasks, and one audit entry by the reconciler. Returns the status the
    row had; None when it was closed already (nothing written)."""
    async with conn.transaction():
        before = await conn.fetchrow(
            """SELECT status, created_at FROM workflow_records
               WHERE workflow_id = $1 AND closed_at IS NULL FOR UPDATE""",
            workflow_id,
        )
        if before is None:
            return None
        # updated_at and revision move past anything the ended run could still
        # write (a late retry of its last write), so that write cannot reopen it.
        await conn.execute(
            """UPDATE workflow_records SET
                   status = $2, closed_at = $3, run_id = COALESCE($4, run_id),
                   assignee = NULL, due_at = NULL,
                   view = CASE WHEN jsonb_typeof(view) = 'object'
                               THEN jsonb_set(view, '{status}', to_jsonb($2::text))
                               ELSE view END,
                   updated_at = GREATEST(updated_at, $3), revision = revision + 1
               WHERE workflow_id = $1""",
            workflow_id, status, closed_at, run_id,
        )  # fmt: skip
        await conn.execute(
            """UPDATE human_tasks SET closed_at = GREATEST(opened_at, $2), outcome = $3
               WHERE workflow_id = $1 AND closed_at IS NULL""",
            workflow_id, closed_at, task_outcome,
        )  # fmt: skip
        # Keyed by run, so a retried reconcile writes it once.
        key = f"{workflow_id}@{before['created_at'].isoformat()}#reconciled:{run_id or '-'}"
        await conn.execute(
            """INSERT INTO audit_log (entry_key, subject_id, seq, actor, action, from_status,
                   to_status, comment, at)
               SELECT $1, $2, COALESCE(max(seq) + 1, 0), 'reconciler', 'reconciled', $3, $4,
                      $5, $6
               FROM audit_log WHERE subject_id = $2
               ON CONFLICT (entry_key) DO NOTHING""",
            key, workflow_id, before["status"], status, comment, closed_at,
        )  # fmt: skip
    return before["status"]


async def apply_snapshot(
    conn: asyncpg.Connection, snapshot: ReadModelSync, *, stale_task_outcome: str
) -> bool:
    """Write a workflow's whole read model as Temporal has it now (its
    `read_model_snapshot` query) over a row that disagrees with it.

    The row is overwritten when it describes another run (a reset, a resent
    order: a new run's revisions start again) or is not newer than the snapshot
    (equal counts: a row changed behind the workflow's back keeps its stamp).
    When the workflow wrote something newer since the snapshot was taken, nothing
    is written and False is returned. Tasks follow the snapshot: its open ones
    are open, every other open task of the workflow is closed."""
    r = snapshot.record
    async with conn.transaction():
        # The row lock orders this against the workflow's own concurrent write.
        taken = await conn.fetchval(
            """UPDATE workflow_records SET
                   status = $2, summary = $3, assignee = $4, due_at = $5, view = $6,
                   revision = $7, updated_at = $8, run_id = $9, closed_at = $10
               WHERE workflow_id = $1
                 AND (run_id IS DISTINCT FROM $9 OR (updated_at, revision) <= ($8, $7))
               RETURNING true""",
            r.workflow_id, r.status, r.summary, r.assignee, r.due_at, r.view, r.revision,
            r.updated_at, r.run_id, r.closed_at,
        )  # fmt: skip
        exists = taken or await conn.fetchval(
            "SELECT true FROM workflow_records WHERE workflow_id = $1", r.workflow_id
        )
        if exists and not taken:
            return False
        # Audit entries (append-only, keyed by position), tasks, and the row when missing.
        await apply_sync(conn, snapshot)
        if snapshot.open_tasks:
            await conn.executemany(
                """UPDATE human_tasks SET assignee = $2, queue = $3, role = $4, due_at = $5,
                       payload = $6, closed_at = NULL, outcome = NULL
                   WHERE task_id = $1""",
                [
                    (t.task_id, t.assignee, t.queue, t.role.value, t.due_at, t.payload)
                    for t in snapshot.open_tasks
                ],
            )  # fmt: skip
        await conn.execute(
            """UPDATE human_tasks SET closed_at = GREATEST(opened_at, $2), outcome = $3
               WHERE workflow_id = $1 AND closed_at IS NULL AND NOT (task_id = ANY($4::text[]))""",
            r.workflow_id, r.updated_at, stale_task_outcome,
            [t.task_id for t in snapshot.open_tasks],
        )  # fmt: skip
    return True


# ------------------------------------------------------------------ task API
# A task's columns as the task API shows them, with its workflow's account and
# one-line summary (so a queue reads without opening each task).
_TASK_COLUMNS = """h.task_id, h.workflow_id, h.kind, h.role, h.assignee, h.queue, h.due_at,
    h.opened_at, h.closed_at, h.outcome, h.payload, r.account_number, r.summary"""
_TASKS = "human_tasks h LEFT JOIN workflow_records r ON r.workflow_id = h.workflow_id"


async def list_tasks(
    conn: asyncpg.Connection,
    *,
    is_open: bool,
    access: Access | None,
    workflow_id: str | None = None,
    kind: str | None = None,
    assignee: str | None = None,
    account_number: str | None = None,
    limit: int,
    offset: int,
) -> list[asyncpg.Record]:
    """Open (or closed) tasks, soonest due first, then the oldest. `access`
    keeps the tasks the caller reaches (db/relations.py: theirs, their team's,
    and those waiting for one of their roles on a workflow that role reaches);
    None keeps every task.

    The statement names only the filters given, so each combination is planned
    on its own index (migration 0005) rather than one generic plan for all."""
    args = Args()
    where = ["h.closed_at IS NULL" if is_open else "h.closed_at IS NOT NULL"]
    if workflow_id is not None:
        where.append(f"h.workflow_id = {args(workflow_id)}")
    if kind is not None:
        where.append(f"h.kind = {args(kind)}")
    if assignee is not None:
        where.append(f"h.assignee = {args(assignee)}")
    if account_number is not None:
        where.append(f"r.account_number = {args(account_number)}")
    if access is not None:
        where.append(reaches_task(access, args))
    return await conn.fetch(
        f"""SELECT {_TASK_COLUMNS} FROM {_TASKS} WHERE {" AND ".join(where)}
            ORDER BY h.due_at NULLS LAST, h.opened_at, h.task_id
            LIMIT {args(limit)} OFFSET {args(offset)}""",
        *args.values,
    )


async def get_task(conn: asyncpg.Connection, task_id: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {_TASK_COLUMNS} FROM {_TASKS} WHERE h.task_id = $1", task_id
    )
