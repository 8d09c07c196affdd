"""The team directory: what routing reads (one snapshot per task), the teams and
people the API shows, and away flags."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from domain.directory.routing import Directory, Holder, Member

_MEMBER = """p.person_id, p.name, p.email, p.part_time, p.away_until, p.away_comment,
    (SELECT count(*) FROM human_tasks t
      WHERE t.assignee = p.person_id AND t.closed_at IS NULL)::int AS open_tasks"""


async def load_directory(
    conn: asyncpg.Connection, account_number: str | None, role: str, capability: str | None
) -> Directory:
    region = None
    contact = None
    if account_number:
        region = await conn.fetchval(
            "SELECT region FROM accounts WHERE account_number = $1", account_number
        )
        row = await conn.fetchrow(
            f"""SELECT {_MEMBER} FROM account_contacts c JOIN people p USING (person_id)
                 WHERE c.account_number = $1 AND c.contact_role = $2""",
            account_number,
            role,
        )
        contact = Member(**dict(row)) if row else None
    holders: list[Holder] = []
    team_queue = None
    if capability:
        rows = await conn.fetch(
            f"""SELECT {_MEMBER}, c.level, c.region FROM person_capabilities c
                  JOIN people p USING (person_id)
                 WHERE c.capability = $1 AND (c.region = '*' OR c.region = $2)""",
            capability,
            region,
        )
        holders = [Holder(**dict(r)) for r in rows]
        # The team of whoever does it for the region (even when all are away).
        team_queue = await conn.fetchval(
            """SELECT t.queue FROM person_capabilities c
                 JOIN people p USING (person_id) JOIN teams t ON t.team_id = p.team_id
                WHERE c.capability = $1 AND (c.region = '*' OR c.region = $2)
                ORDER BY (c.region = $2) DESC, (c.level = 'primary') DESC, t.team_id
                LIMIT 1""",
            capability,
            region,
        )
    if team_queue is None and region:
        team_queue = await conn.fetchval(
            "SELECT queue FROM teams WHERE $1 = ANY(regions) ORDER BY team_id LIMIT 1", region
        )
    return Directory(
        account_number=account_number,
        region=region,
        contact=contact,
        holders=holders,
        team_queue=team_queue,
    )


async def list_teams(conn: asyncpg.Connection) -> list[dict]:
    teams = await conn.fetch(
        "SELECT team_id, name, queue, regions, lead_id FROM teams ORDER BY team_id"
    )
    members = await conn.fetch(
        """SELECT p.team_id, p.person_id, p.name, p.part_time, p.region, p.away_until,
                  p.away_comment
             FROM people p WHERE p.team_id IS NOT NULL ORDER BY p.person_id"""
    )
    caps = await capabilities(conn, [m["person_id"] for m in members])
    out = []
    for team in teams:
        out.append(
            {
                **dict(team),
                "members": [
                    {**dict(m), "capabilities": caps.get(m["person_id"], [])}
                    for m in members
                    if m["team_id"] == team["team_id"]
                ],
            }
        )
    return out


async def capabilities(conn: asyncpg.Connection, person_ids: list[str]) -> dict[str, list[dict]]:
    rows = await conn.fetch(
        """SELECT person_id, capability, region, level FROM person_capabilities
            WHERE person_id = ANY($1::text[]) ORDER BY capability, region""",
        person_ids,
    )
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r["person_id"], []).append(
            {"capability": r["capability"], "region": r["region"], "level": r["level"]}
        )
    return out


async def get_person(conn: asyncpg.Connection, person_id: str) -> dict | None:
    row = await conn.fetchrow(
        """SELECT p.person_id, p.name, p.email, p.team_id, p.region, p.part_time,
                  p.away_until, p.away_comment, t.name AS team_name, t.queue AS team_queue,
                  t.lead_id AS team_lead_id
             FROM people p LEFT JOIN teams t ON t.team_id = p.team_id
            WHERE p.person_id = $1""",
        person_id,
    )
    if row is None:
        return None
    contacts = await conn.fetch(
        """SELECT account_number, contact_role FROM account_contacts
            WHERE person_id = $1 ORDER BY account_number, contact_role""",
        person_id,
    )
    platforms = await conn.fetch(
        "SELECT platform FROM it_support_contacts WHERE person_id = $1 ORDER BY platform",
        person_id,
    )
    return {
        **dict(row),
        "capabilities": (await capabilities(conn, [person_id])).get(person_id, []),
        "account_contacts": [dict(c) for c in contacts],
        "it_support_platforms": [p["platform"] for p in platforms],
    }


async def set_away(
    conn: asyncpg.Connection, person_id: str, until: datetime | None, comment: str
) -> None:
    await conn.execute(
        "UPDATE people SET away_until = $2, away_comment = $3 WHERE person_id = $1",
        person_id,
        until,
        comment,
    )


async def team_lead_of(conn: asyncpg.Connection, team_id: str | None) -> str | None:
    if team_id is None:
        return None
    return await conn.fetchval("SELECT lead_id FROM teams WHERE team_id = $1", team_id)


async def replace_capabilities(
    conn: asyncpg.Connection, person_id: str, capabilities: list[tuple[str, str, str]]
) -> None:
    await conn.execute("DELETE FROM person_capabilities WHERE person_id = $1", person_id)
    await conn.executemany(
        """INSERT INTO person_capabilities (person_id, capability, region, level)
           VALUES ($1, $2, $3, $4)""",
        [(person_id, *c) for c in capabilities],
    )


async def set_account_contact(
    conn: asyncpg.Connection, account_number: str, role: str, person_id: str
) -> str | None:
    """Answers who held the role before (None: nobody)."""
    before = await conn.fetchval(
        """SELECT person_id FROM account_contacts
            WHERE account_number = $1 AND contact_role = $2""",
        account_number,
        role,
    )
    await conn.execute(
        """INSERT INTO account_contacts (account_number, contact_role, person_id)
           VALUES ($1, $2, $3)
           ON CONFLICT (account_number, contact_role) DO UPDATE SET person_id = $3""",
        account_number,
        role,
        person_id,
    )
    return before
