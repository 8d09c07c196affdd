"""The weekly review, computed with SQL from the audit log and the read model
(never by reading histories one by one), one row per week, account and rep."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from domain.reports import WeeklyRow

# Audit actions the review counts (as the workflows write them). An order that
# waited on a platform outage counts as one in an incident; orders entered in
# iSeries while OMS was down, as entered through the fallback.
INCIDENT_ACTIONS = ["waiting on system", "joined incident"]
FALLBACK_ACTIONS = ["entered in iseries", "iseries fallback", "entered through fallback"]

_COMPUTE = r"""
WITH orders AS (
    SELECT w.workflow_id, w.account_number, w.created_at,
           coalesce(c.person_id, '-') AS rep_id
      FROM workflow_records w
      LEFT JOIN account_contacts c
        ON c.account_number = w.account_number AND c.contact_role = 'account_rep'
     WHERE w.kind = 'order' AND NOT w.is_test
       AND w.created_at >= $2 AND w.created_at < $3
       AND w.account_number IS NOT NULL
),
per_order AS (
    SELECT o.workflow_id, o.account_number, o.rep_id,
           extract(epoch FROM min(a.at) FILTER (WHERE a.to_status = 'confirmed') - o.created_at)
               / 60 AS minutes_to_confirm,
           count(a.id) FILTER (WHERE a.action = 'price confirmed') AS auto_resolved,
           count(a.id) FILTER (WHERE a.action = 'hold resolved' AND a.actor <> 'sopflow')
               AS manual_resolved,
           count(a.id) FILTER (WHERE a.action = 'sla breached') AS sla_breaches,
           count(a.id) FILTER (WHERE a.action = 'error flagged'
                                 AND a.comment ~ '^F[0-9]+ systemic') AS systemic,
           count(a.id) FILTER (WHERE a.action = 'error flagged'
                                 AND a.comment ~ '^F[0-9]+ human') AS human,
           count(a.id) FILTER (WHERE a.action = 'edit applied'
                                 AND a.comment ~ '^E[0-9]+ \(systemic error\)') AS edits_systemic,
           count(a.id) FILTER (WHERE a.action = 'edit applied'
                                 AND a.comment ~ '^E[0-9]+ \(human error\)') AS edits_human,
           bool_or(a.action = ANY($4::text[])) AS in_incident,
           bool_or(a.action = ANY($5::text[])) AS via_fallback
      FROM orders o
      LEFT JOIN audit_log a ON a.subject_id = o.workflow_id
     GROUP BY o.workflow_id, o.account_number, o.rep_id, o.created_at
),
hold_codes AS (
    SELECT account_number, rep_id, code, sum(n)::int AS n FROM (
        SELECT o.account_number, o.rep_id, upper(substring(t.kind FROM 14)) AS code, count(*) AS n
          FROM orders o
          JOIN human_tasks t ON t.workflow_id = o.workflow_id AND t.kind LIKE 'resolve\_hold\_%'
         GROUP BY 1, 2, 3
        UNION ALL
        -- A PRICE hold a quote or invoice resolved opened no task.
        SELECT account_number, rep_id, 'PRICE', sum(auto_resolved)
          FROM per_order WHERE auto_resolved > 0 GROUP BY 1, 2
    ) h GROUP BY 1, 2, 3
),
holds AS (
    SELECT account_number, rep_id, jsonb_object_agg(code, n) AS by_code
      FROM hold_codes GROUP BY 1, 2
)
INSERT INTO weekly_review (
    week, account_number, rep_id, week_start, orders, holds_by_code,
    holds_auto_resolved, holds_manual_resolved,
    median_minutes_to_confirm, p90_minutes_to_confirm, sla_breaches,
    errors_systemic, errors_human, edits_by_root_cause, incident_orders, fallback_orders,
    computed_at)
SELECT $1, p.account_number, p.rep_id, $2, count(*),
       coalesce(max(h.by_code::text)::jsonb, '{}'),
       sum(p.auto_resolved), sum(p.manual_resolved),
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY p.minutes_to_confirm))::numeric, 1),
       round((percentile_cont(0.9) WITHIN GROUP (ORDER BY p.minutes_to_confirm))::numeric, 1),
       sum(p.sla_breaches), sum(p.systemic), sum(p.human),
       jsonb_strip_nulls(jsonb_build_object(
           'systemic', nullif(sum(p.edits_systemic), 0),
           'human', nullif(sum(p.edits_human), 0))),
       count(*) FILTER (WHERE p.in_incident), count(*) FILTER (WHERE p.via_fallback),
       now()
  FROM per_order p
  LEFT JOIN holds h ON h.account_number = p.account_number AND h.rep_id = p.rep_id
 GROUP BY p.account_number, p.rep_id
ON CONFLICT (week, account_number, rep_id) DO UPDATE SET
    orders = EXCLUDED.orders, holds_by_code = EXCLUDED.holds_by_code,
    holds_auto_resolved = EXCLUDED.holds_auto_resolved,
    holds_manual_resolved = EXCLUDED.holds_manual_resolved,
    median_minutes_to_confirm = EXCLUDED.median_minutes_to_confirm,
    p90_minutes_to_confirm = EXCLUDED.p90_minutes_to_confirm,
    sla_breaches = EXCLUDED.sla_breaches, errors_systemic = EXCLUDED.errors_systemic,
    errors_human = EXCLUDED.errors_human, edits_by_root_cause = EXCLUDED.edits_by_root_cause,
    incident_orders = EXCLUDED.incident_orders, fallback_orders = EXCLUDED.fallback_orders,
    computed_at = EXCLUDED.computed_at
"""


async def compute_week(
    conn: asyncpg.Connection, week: str, start: datetime, end: datetime
) -> list[WeeklyRow]:
    """Compute the week's rows (replacing any computed before) and answer them."""
    async with conn.transaction():
        # Rows of an account or rep that has none this time go too.
        await conn.execute("DELETE FROM weekly_review WHERE week = $1", week)
        await conn.execute(
            _COMPUTE,
            week,
            start,
            end,
            INCIDENT_ACTIONS,
            FALLBACK_ACTIONS,
        )
    return await week_rows(conn, week)


async def week_rows(
    conn: asyncpg.Connection, week: str, rep_ids: list[str] | None = None
) -> list[WeeklyRow]:
    rows = await conn.fetch(
        """SELECT * FROM weekly_review
            WHERE week = $1 AND ($2::text[] IS NULL OR rep_id = ANY($2::text[]))
            ORDER BY rep_id, account_number""",
        week,
        rep_ids,
    )
    return [_row(r) for r in rows]


async def week_computed(conn: asyncpg.Connection, week: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM weekly_review WHERE week = $1 LIMIT 1", week))


def _row(r: asyncpg.Record) -> WeeklyRow:
    def as_dict(v: object) -> dict:
        return json.loads(v) if isinstance(v, str) else dict(v or {})  # type: ignore[call-overload]

    fields = {k: r[k] for k in WeeklyRow.model_fields}
    fields["holds_by_code"] = as_dict(r["holds_by_code"])
    fields["edits_by_root_cause"] = as_dict(r["edits_by_root_cause"])
    return WeeklyRow(**fields)


async def team_of_lead(conn: asyncpg.Connection, person_id: str) -> list[str]:
    """The people of the teams `person_id` leads."""
    rows = await conn.fetch(
        """SELECT p.person_id FROM people p JOIN teams t ON t.team_id = p.team_id
            WHERE t.lead_id = $1 ORDER BY p.person_id""",
        person_id,
    )
    return [r["person_id"] for r in rows]


async def team_leads(conn: asyncpg.Connection, rep_ids: list[str]) -> dict[str, str]:
    """Each rep's team lead, where the directory has one."""
    rows = await conn.fetch(
        """SELECT p.person_id, t.lead_id FROM people p JOIN teams t ON t.team_id = p.team_id
            WHERE p.person_id = ANY($1::text[]) AND t.lead_id IS NOT NULL""",
        rep_ids,
    )
    return {r["person_id"]: r["lead_id"] for r in rows}


async def open_account_changes(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """SELECT business_key AS request_id, status, summary, assignee AS waiting_on
             FROM workflow_records
            WHERE kind = 'account_change' AND closed_at IS NULL
            ORDER BY created_at"""
    )


async def digest_recipients(conn: asyncpg.Connection, at: datetime) -> list[asyncpg.Record]:
    """The IMs and SSMs in the directory (primaries for account implementation and
    sales support), except whoever is away."""
    return await conn.fetch(
        """SELECT DISTINCT p.person_id, p.email,
                  CASE c.capability WHEN 'account_implementation' THEN 'implementation_manager'
                       ELSE 'sales_support_manager' END AS role
             FROM person_capabilities c JOIN people p USING (person_id)
            WHERE c.capability IN ('account_implementation', 'sales_support')
              AND c.level = 'primary'
              AND (p.away_until IS NULL OR p.away_until <= $1)
            ORDER BY 3, 1""",
        at,
    )
