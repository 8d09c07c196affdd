"""Demo reference data and one API key per role, for the dev stack."""

from __future__ import annotations

from importlib import resources

import asyncpg

from db.buyer_documents import set_endpoint
from db.keys import bind_api_key, create_api_key, hash_shared_secret, lookup_api_key
from db.reference import account_for_credential, upsert_punchout_credential
from domain.identity import Role

# Who holds each role's demo key: the Propetro contacts where the demo data has them.
DEMO_PEOPLE = {
    Role.SYSTEM: "punchout-network",
    Role.ACCOUNT_REP: "maria.lopez",
    Role.TEAM_LEAD: "tom.baker",
    Role.CSC_MANAGER: "carol.nguyen",
    Role.BRANCH_MANAGER: "bob.ortiz",
    Role.IT_SUPPORT: "ivy.shah",
    Role.OPERATOR: "ops.admin",
    Role.IMPLEMENTATION_MANAGER: "ian.moore",
    Role.SALES_SUPPORT_MANAGER: "sara.mills",
    Role.ACCOUNT_MANAGER: "rachel.adams",
}


# The integration (demo_data.sql) whose accounts the demo system key may submit for.
DEMO_INTEGRATION = "punchout-network"

# Buyers' PunchOut credentials: (domain, identity) → account, shared secret.
DEMO_CREDENTIALS = [
    ("NetworkID", "AN01000401693", "401693", "propetro-demo-secret"),
    ("NetworkID", "AN01000402110", "402110", "riogrande-demo-secret"),
]


# The CSR seed's people (db/demo_csr.sql) and the roles their keys carry.
DEMO_CSR_PEOPLE = {
    "mary.jones": [Role.SALES_REP],
    "john.smith": [Role.CSR_APPROVER],
    "frank.miller": [Role.CSR_ASSESSOR, Role.CSR_IMPLEMENTER],
    "peter.wright": [Role.CSR_APPROVER],
    "sandra.cole": [Role.SALES_REP],
}


# Each issue's own demo data, in its own file, after demo_data.sql.
DEMO_EXTRAS = ["demo_csr.sql", "demo_open_orders.sql", "demo_directory.sql", "demo_incidents.sql"]


async def load_demo_data(conn: asyncpg.Connection, network_url: str | None = None) -> None:
    """`network_url`: the procurement-network simulator; the demo buyers' documents
    (confirmations, ship notices, invoices) go to it."""
    sql = (resources.files("db") / "demo_data.sql").read_text()
    async with conn.transaction():
        await conn.execute(sql)
        for extra in DEMO_EXTRAS:
            await conn.execute((resources.files("db") / extra).read_text())
        for domain, identity, account_number, secret in DEMO_CREDENTIALS:
            if not await account_for_credential(conn, domain, identity):
                await upsert_punchout_credential(
                    conn, account_number, domain, identity, hash_shared_secret(secret)
                )
            if network_url:
                await set_endpoint(conn, domain, identity, demo_endpoint(network_url))


def demo_endpoint(network_url: str) -> str:
    """Where the simulated network takes a demo buyer's documents."""
    return f"{network_url.rstrip('/')}/cxml"


async def ensure_demo_keys(conn: asyncpg.Connection, existing: dict[str, str]) -> dict[str, str]:
    """One key per role; keys that still work are kept, so a restart does not
    invalidate what a user already pasted."""
    keys: dict[str, str] = {}
    for role in Role:
        # The system key submits orders for the demo accounts (those of the demo network).
        integration = DEMO_INTEGRATION if role is Role.SYSTEM else None
        key = existing.get(role.value)
        if key and (found := await lookup_api_key(conn, key)) and role.value in found["roles"]:
            if integration and found["integration_id"] is None:
                await bind_api_key(conn, key, integration_id=integration)  # made before binding
            keys[role.value] = key
            continue
        person_id = DEMO_PEOPLE.get(role, f"demo-{role.value.replace('_', '-')}")
        await conn.execute(
            """INSERT INTO people (person_id, name, email) VALUES ($1, $2, $3)
               ON CONFLICT DO NOTHING""",
            person_id,
            f"Demo {role.value.replace('_', ' ')}",
            f"{person_id}@example.com",
        )
        keys[role.value] = await create_api_key(
            conn, person_id, [role.value], label="demo", integration_id=integration
        )
    return keys


async def ensure_demo_people(
    conn: asyncpg.Connection, existing: dict[str, dict], role_keys: dict[str, str]
) -> dict[str, dict]:
    """A key for every demo person: `{person_id: {"key", "roles"}}`. The CSR
    people get keys of their own (kept while they still work); the people
    behind the per-role keys are listed with those keys."""
    people: dict[str, dict] = {}
    for role, key in role_keys.items():
        found = await lookup_api_key(conn, key)
        if found:
            people[found["person_id"]] = {"key": key, "roles": [role]}
    for person_id, roles in DEMO_CSR_PEOPLE.items():
        wanted = sorted(r.value for r in roles)
        key = (existing.get(person_id) or {}).get("key")
        found = await lookup_api_key(conn, key) if key else None
        if not (found and found["person_id"] == person_id and sorted(found["roles"]) == wanted):
            key = await create_api_key(conn, person_id, wanted, label="demo")
        people[person_id] = {"key": key, "roles": wanted}
    return people
