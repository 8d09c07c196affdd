"""The business metrics' SQL (GET /metrics): one query per family, each a count
or an age over rows grouped by a small set of labels (statuses, codes, kinds,
platforms), never a row of its own. Test documents and orders (is_test) are left
out. Ages are in seconds, measured by PostgreSQL's clock."""

from __future__ import annotations

import asyncpg

# Upper bounds of the age buckets, in seconds, and their labels.
AGE_BUCKETS: tuple[tuple[float, str], ...] = (
    (15 * 60, "0-15m"),
    (60 * 60, "15m-1h"),
    (4 * 3600, "1h-4h"),
    (24 * 3600, "4h-1d"),
)
OLDER = "1d+"
# The read model's lag is read from the rows written this recently: an old late
# write no longer says anything about the read model now.
LAG_WINDOW_SECONDS = 600


def _age_bucket_sql(column: str) -> str:
    cases = " ".join(f"WHEN {column} < {bound} THEN '{label}'" for bound, label in AGE_BUCKETS)
    return f"CASE {cases} ELSE '{OLDER}' END"


async def orders_by_status(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Orders still running, by status (the ended ones are the reports' business;
    counting them would read every order ever taken, every few seconds)."""
    return await conn.fetch(
        """SELECT status, count(*) AS n FROM workflow_records
           WHERE closed_at IS NULL AND kind = 'order' AND NOT is_test GROUP BY status"""
    )


async def open_holds(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Open holds by code and age bucket, with the oldest's age: each hold is an
    open task of its order (resolve_hold_<code>, or price_escalation once a
    price is escalated), opened when the hold was found."""
    age = "extract(epoch FROM now() - t.opened_at)"
    return await conn.fetch(
        f"""SELECT code, bucket, count(*) AS n, max(age) AS oldest FROM (
              SELECT t.payload ->> 'code' AS code, {age} AS age,
                     {_age_bucket_sql(age)} AS bucket
              FROM human_tasks t JOIN workflow_records r USING (workflow_id)
              WHERE t.closed_at IS NULL AND NOT r.is_test
                AND (t.kind LIKE 'resolve\\_hold\\_%' OR t.kind = 'price_escalation')
            ) holds
            GROUP BY code, bucket"""
    )


async def open_tasks(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Open tasks by kind and queue (the task's queue, else the role it waits
    on), how many are past due and by how much the most overdue one is."""
    return await conn.fetch(
        """SELECT t.kind, COALESCE(t.queue, t.role) AS queue, count(*) AS n,
                  count(*) FILTER (WHERE t.due_at < now()) AS overdue,
                  COALESCE(max(extract(epoch FROM now() - t.due_at))
                           FILTER (WHERE t.due_at < now()), 0) AS most_overdue
           FROM human_tasks t JOIN workflow_records r USING (workflow_id)
           WHERE t.closed_at IS NULL AND NOT r.is_test
           GROUP BY 1, 2"""
    )


async def sla_events(conn: asyncpg.Connection) -> dict[str, int]:
    """SLA reminders sent and SLA breaches, ever (the audit log only grows), and
    the orders still open past their SLA right now."""
    row = await conn.fetchrow(
        """WITH events AS (
             SELECT count(*) FILTER (WHERE a.action = 'sla reminder') AS reminders,
                    count(*) FILTER (WHERE a.action = 'sla breached') AS breaches
             FROM audit_log a JOIN workflow_records r ON r.workflow_id = a.subject_id
             WHERE a.action IN ('sla reminder', 'sla breached') AND NOT r.is_test)
           SELECT reminders, breaches,
                  (SELECT count(*) FROM workflow_records
                   WHERE closed_at IS NULL AND kind = 'order' AND NOT is_test
                     AND status IN ('received', 'on_hold', 'waiting_on_system')
                     AND (view ->> 'sla_due_at')::timestamptz < now()) AS past_sla
           FROM events"""
    )
    return dict(row) if row else {"reminders": 0, "breaches": 0, "past_sla": 0}


async def open_incidents(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Platform outages not yet closed, by platform, status and whether the IT
    support contacts were notified (escalated), with the longest one's age."""
    return await conn.fetch(
        """SELECT business_key AS platform, status,
                  (view ->> 'escalated_at') IS NOT NULL AS escalated, count(*) AS n,
                  max(extract(epoch FROM now() - COALESCE((view ->> 'opened_at')::timestamptz,
                                                          created_at))) AS longest
           FROM workflow_records
           WHERE kind = 'incident' AND closed_at IS NULL
           GROUP BY 1, 2, 3"""
    )


async def undelivered_buyer_documents(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Documents for buyers not (yet) taken: pending, refused, undelivered or
    not sent, by kind and status, with the oldest one's age."""
    return await conn.fetch(
        """SELECT kind, status, count(*) AS n,
                  max(extract(epoch FROM now() - created_at)) AS oldest
           FROM buyer_documents
           WHERE direction = 'sent' AND status <> 'sent' AND NOT is_test
           GROUP BY kind, status"""
    )


async def csr_cases_by_phase(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """CSR cases still running (live ones among them), by status."""
    return await conn.fetch(
        """SELECT status AS phase, count(*) AS n FROM workflow_records
           WHERE closed_at IS NULL AND kind = 'csr' AND NOT is_test GROUP BY status"""
    )


async def open_orders_by_code(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The retail stores' open orders still running, by their code (none: no code)."""
    return await conn.fetch(
        """SELECT COALESCE(view ->> 'code', 'none') AS code, count(*) AS n
           FROM workflow_records
           WHERE kind = 'open_order' AND closed_at IS NULL AND NOT is_test
           GROUP BY 1"""
    )


async def read_model_lag(conn: asyncpg.Connection) -> float:
    """The largest time between a workflow's change and its row taking it, over
    the rows of running workflows written in the last LAG_WINDOW_SECONDS. A write
    that has not arrived yet is not seen until it arrives."""
    lag = await conn.fetchval(
        """SELECT max(GREATEST(extract(epoch FROM written_at - updated_at), 0))
           FROM workflow_records
           WHERE closed_at IS NULL AND written_at > now() - make_interval(secs => $1)""",
        LAG_WINDOW_SECONDS,
    )
    return float(lag or 0)
