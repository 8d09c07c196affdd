"""The relations authorization reads (api/policy.py): which accounts, branches,
stores and people a caller relates to, and the SQL that keeps only the
workflows and tasks those relations reach. Single objects and lists are
checked by the same predicate, so a page of a list holds exactly what one
object's check allows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from db.keys import LIVE_KEY


@dataclass(frozen=True)
class Reach:
    """What one role of the caller reaches. `everything`: no object relation
    is needed; `party`: workflows the person is named on (owner, requester,
    case team) or holds or is offered a task of; `team`: people whose tasks
    the caller (their team lead) reaches."""

    everything: bool = False
    accounts: frozenset[str] = frozenset()
    branches: frozenset[str] = frozenset()
    stores: frozenset[str] = frozenset()
    party: bool = False
    team: frozenset[str] = frozenset()
    # Every task on a reached workflow, whoever holds it (those who hand out work).
    every_task: bool = False

    def __or__(self, other: Reach) -> Reach:
        return Reach(
            everything=self.everything or other.everything,
            accounts=self.accounts | other.accounts,
            branches=self.branches | other.branches,
            stores=self.stores | other.stores,
            party=self.party or other.party,
            team=self.team | other.team,
            every_task=self.every_task or other.every_task,
        )


@dataclass
class Access:
    """The caller's reach per role (for tasks, whose role matters) and over
    all of them (for workflows)."""

    person: str
    by_role: dict[str, Reach] = field(default_factory=dict)

    @property
    def reach(self) -> Reach:
        out = Reach()
        for r in self.by_role.values():
            out = out | r
        return out

    @property
    def everything(self) -> bool:
        return self.reach.everything


# ----------------------------------------------------------------- loading


async def key_accounts(conn: asyncpg.Connection, key_hash: str | None) -> frozenset[str]:
    """The accounts a key is bound to, itself or through its integration."""
    if not key_hash:
        return frozenset()
    rows = await conn.fetch(
        """SELECT account_number FROM api_key_accounts WHERE key_hash = $1
           UNION
           SELECT i.account_number FROM api_keys k JOIN integration_accounts i USING (integration_id)
            WHERE k.key_hash = $1""",
        key_hash,
    )
    return frozenset(r["account_number"] for r in rows)


async def contact_accounts(
    conn: asyncpg.Connection, person_id: str, contact_roles: list[str]
) -> frozenset[str]:
    rows = await conn.fetch(
        """SELECT account_number FROM account_contacts
            WHERE person_id = $1 AND contact_role = ANY($2::text[])""",
        person_id,
        contact_roles,
    )
    return frozenset(r["account_number"] for r in rows)


async def team_members(conn: asyncpg.Connection, lead_id: str) -> frozenset[str]:
    """The people of the teams `lead_id` leads (the lead too)."""
    rows = await conn.fetch(
        """SELECT p.person_id FROM people p JOIN teams t ON t.team_id = p.team_id
            WHERE t.lead_id = $1""",
        lead_id,
    )
    return frozenset(r["person_id"] for r in rows) | {lead_id}


async def team_accounts(conn: asyncpg.Connection, lead_id: str) -> frozenset[str]:
    """Accounts the lead is the team lead of, and those any member of their
    teams is a contact of."""
    rows = await conn.fetch(
        """SELECT account_number FROM account_contacts
            WHERE person_id = $1 AND contact_role = 'team_lead'
           UNION
           SELECT c.account_number FROM account_contacts c
             JOIN people p ON p.person_id = c.person_id
             JOIN teams t ON t.team_id = p.team_id
            WHERE t.lead_id = $1""",
        lead_id,
    )
    return frozenset(r["account_number"] for r in rows)


async def managed_branches(conn: asyncpg.Connection, person_id: str) -> frozenset[str]:
    rows = await conn.fetch("SELECT branch_id FROM branch_managers WHERE person_id = $1", person_id)
    return frozenset(r["branch_id"] for r in rows)


async def staffed_stores(conn: asyncpg.Connection, person_id: str, role: str) -> frozenset[str]:
    rows = await conn.fetch(
        "SELECT store_id FROM store_staff WHERE person_id = $1 AND role = $2", person_id, role
    )
    return frozenset(r["store_id"] for r in rows)


# ------------------------------------------------------------------- the SQL
Arg = Callable[[object], str]

# The workflow kinds about an object someone relates to (an account, a branch,
# a store, a case); tasks of other kinds (an outage, the weekly review) are
# their role's.
OBJECT_KINDS = ("order", "open_order", "csr", "account_change")

# The branch an order ships from: the workflow's own once it has resolved the
# ship-to, else the ship-to's branch in the reference data.
_ORDER_BRANCH = """COALESCE(r.view ->> 'branch_id',
    (SELECT s.branch_id FROM ship_to_addresses s
      WHERE s.account_number = r.account_number
        AND s.address_id = r.view -> 'order' -> 'ship_to' ->> 'address_id'))"""


def reaches_record(reach: Reach, person: str, arg: Arg, r: str = "r") -> str:
    """A condition on workflow_records `r` (aliased so): the caller reaches it."""
    if reach.everything:
        return "TRUE"
    parts = []
    if reach.accounts:
        accounts = arg(sorted(reach.accounts))
        parts.append(f"{r}.account_number = ANY({accounts}::text[])")
        # An account change is about its national account and the accounts it moves.
        parts.append(
            f"({r}.kind = 'account_change' AND {r}.view -> 'accounts' ?| {accounts}::text[])"
        )
    if reach.branches:
        branch = _ORDER_BRANCH.replace("r.", f"{r}.")
        parts.append(
            f"({r}.kind = 'order' AND {branch} = ANY({arg(sorted(reach.branches))}::text[]))"
        )
    if reach.stores:
        parts.append(
            f"({r}.kind = 'open_order' AND {r}.view ->> 'store_id'"
            f" = ANY({arg(sorted(reach.stores))}::text[]))"
        )
    if reach.party:
        p = arg(person)
        parts.append(
            f"""({r}.view ->> 'owner' = {p} OR {r}.view ->> 'requested_by' = {p}
                 OR {r}.view -> 'case_team' @> jsonb_build_array(jsonb_build_object('person_id', {p}::text))
                 OR EXISTS (SELECT 1 FROM human_tasks ph WHERE ph.workflow_id = {r}.workflow_id
                            AND (ph.assignee = {p} OR ph.payload -> 'candidates' ? {p})))"""
        )
    if reach.team:
        parts.append(
            f"""EXISTS (SELECT 1 FROM human_tasks th WHERE th.workflow_id = {r}.workflow_id
                        AND th.assignee = ANY({arg(sorted(reach.team))}::text[]))"""
        )
    return "(" + " OR ".join(parts) + ")" if parts else "FALSE"


def reaches_task(access: Access, arg: Arg, h: str = "h", r: str = "r") -> str:
    """A condition on human_tasks `h` joined to its workflow's record `r`: the
    task is the caller's (assigned to them, or to someone of the team they
    lead), or waits unassigned for one of their roles on a workflow that
    role reaches."""
    parts = [f"{h}.assignee = {arg(access.person)}"]
    team = access.reach.team
    if team:
        parts.append(f"{h}.assignee = ANY({arg(sorted(team))}::text[])")
    kinds = arg(list(OBJECT_KINDS))
    for role, reach in sorted(access.by_role.items()):
        cond = reaches_record(reach, access.person, arg, r)
        if reach.every_task and cond != "FALSE":
            # Who hands out work reaches every task on what they reach.
            parts.append(cond)
        # Workflows about no account, store or case (an outage, the weekly
        # review): their unassigned tasks are the role's.
        parts.append(
            f"({h}.assignee IS NULL AND {h}.role = {arg(role)}"
            f" AND ({cond} OR {r}.kind IS NULL OR {r}.kind <> ALL({kinds}::text[])))"
        )
    return "(" + " OR ".join(parts) + ")"


class Args:
    """Numbered query arguments, collected as a statement is built."""

    def __init__(self, *given: object) -> None:
        self.values: list[object] = list(given)

    def __call__(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


async def reaches_workflow(
    conn: asyncpg.Connection, access: Access, workflow_id: str
) -> bool | None:
    """Whether the caller reaches the workflow; None when the read model has no
    row for it (not yet written, or no such workflow)."""
    args = Args(workflow_id)
    cond = reaches_record(access.reach, access.person, args)
    row = await conn.fetchrow(
        f"SELECT {cond} AS ok FROM workflow_records r WHERE r.workflow_id = $1", *args.values
    )
    return None if row is None else bool(row["ok"])


async def reaches_task_id(conn: asyncpg.Connection, access: Access, task_id: str) -> bool | None:
    """Whether the caller reaches the task; None when there is no such task."""
    args = Args(task_id)
    cond = reaches_task(access, args)
    row = await conn.fetchrow(
        f"""SELECT {cond} AS ok FROM human_tasks h
              LEFT JOIN workflow_records r ON r.workflow_id = h.workflow_id
             WHERE h.task_id = $1""",
        *args.values,
    )
    return None if row is None else bool(row["ok"])


# ------------------------------------------------- the directory's relations


async def relations_of(conn: asyncpg.Connection, person_id: str) -> dict[str, list]:
    branches = await conn.fetch(
        "SELECT branch_id FROM branch_managers WHERE person_id = $1 ORDER BY branch_id", person_id
    )
    stores = await conn.fetch(
        """SELECT store_id, role FROM store_staff WHERE person_id = $1
            ORDER BY store_id, role""",
        person_id,
    )
    return {
        "branches": [b["branch_id"] for b in branches],
        "stores": [dict(s) for s in stores],
    }


async def replace_branches(conn: asyncpg.Connection, person_id: str, branches: list[str]) -> None:
    await conn.execute("DELETE FROM branch_managers WHERE person_id = $1", person_id)
    await conn.executemany(
        "INSERT INTO branch_managers (person_id, branch_id) VALUES ($1, $2)",
        [(person_id, b) for b in branches],
    )


async def replace_stores(
    conn: asyncpg.Connection, person_id: str, stores: list[tuple[str, str]]
) -> None:
    await conn.execute("DELETE FROM store_staff WHERE person_id = $1", person_id)
    await conn.executemany(
        "INSERT INTO store_staff (person_id, store_id, role) VALUES ($1, $2, $3)",
        [(person_id, s, role) for s, role in stores],
    )


async def _unknown(
    conn: asyncpg.Connection, table: str, column: str, values: list[str]
) -> list[str]:
    """Those of `values` with no row in `table` (a name of ours, never input)."""
    rows = await conn.fetch(
        f"""SELECT v FROM unnest($1::text[]) AS v
             WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {column} = v)""",
        values,
    )
    return [r["v"] for r in rows]


async def unknown_branches(conn: asyncpg.Connection, branches: list[str]) -> list[str]:
    return await _unknown(conn, "branches", "branch_id", branches)


async def unknown_stores(conn: asyncpg.Connection, stores: list[str]) -> list[str]:
    return await _unknown(conn, "stores", "store_id", stores)


async def key_binding(conn: asyncpg.Connection, key_hash: str) -> dict:
    row = await conn.fetchrow(
        """SELECT k.integration_id,
                  ARRAY(SELECT account_number FROM api_key_accounts a
                         WHERE a.key_hash = k.key_hash ORDER BY account_number) AS accounts,
                  ARRAY(SELECT i.account_number FROM integration_accounts i
                         WHERE i.integration_id = k.integration_id
                         ORDER BY account_number) AS integration_accounts
             FROM api_keys k WHERE k.key_hash = $1""",
        key_hash,
    )
    return dict(row) if row else {}


async def replace_key_accounts(
    conn: asyncpg.Connection, key_hash: str, accounts: list[str], integration_id: str | None
) -> None:
    await conn.execute(
        "UPDATE api_keys SET integration_id = $2 WHERE key_hash = $1", key_hash, integration_id
    )
    await conn.execute("DELETE FROM api_key_accounts WHERE key_hash = $1", key_hash)
    await conn.executemany(
        "INSERT INTO api_key_accounts (key_hash, account_number) VALUES ($1, $2)",
        [(key_hash, a) for a in accounts],
    )


async def unknown_accounts(conn: asyncpg.Connection, accounts: list[str]) -> list[str]:
    return await _unknown(conn, "accounts", "account_number", accounts)


async def keys_of(
    conn: asyncpg.Connection, *, person_id: str | None = None, key_hash: str | None = None
) -> list[asyncpg.Record]:
    """A person's keys (or one key), oldest first, and whether each works."""
    return await conn.fetch(
        f"""SELECT k.key_hash, k.roles, k.label, ({LIVE_KEY}) AS live FROM api_keys k
             WHERE ($1::text IS NULL OR k.person_id = $1) AND ($2::text IS NULL OR k.key_hash = $2)
             ORDER BY k.created_at, k.key_hash""",
        person_id,
        key_hash,
    )
