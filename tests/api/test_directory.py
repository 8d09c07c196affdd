"""The team directory over HTTP: teams with their members and skills, one
person, marking someone away (an operator, or the team lead of the person's
team), audited and effective for the next task at once."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest

from db import read_model
from db.keys import create_api_key
from tests.factories import propetro_order
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def sopflow_command(database_url: str, *args: str) -> str:
    """The `sopflow` command as a person runs it (its own process, its own logging)."""
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "sopflow"),
        *args,
        env={**os.environ, "DATABASE_URL": database_url, "SOPFLOW_LOG_FORMAT": "console"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_teams_list_the_mind_maps_members_with_capabilities_and_part_time_flags(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    resp = await api.get("/directory/teams", headers=bearer(demo_keys["account_rep"]))
    assert resp.status_code == 200, resp.text
    teams = {t["team_id"]: t for t in resp.json()}
    assert {"sewer-europe", "na-sales", "row", "ops-support", "branches", "repair-returns"} <= set(
        teams
    )
    sewer = {m["person_id"]: m for m in teams["sewer-europe"]["members"]}
    assert sewer["scotty"]["part_time"] is True
    kyle = {(c["capability"], c["region"], c["level"]) for c in sewer["kyle"]["capabilities"]}
    assert ("order_processing", "EU", "backup") in kyle
    assert teams["na-sales"]["lead_id"] == "tom.baker"


async def test_one_person_shows_their_team_contacts_and_platforms(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    resp = await api.get("/directory/people/maria.lopez", headers=bearer(demo_keys["operator"]))
    person = resp.json()
    assert person["team_id"] == "na-sales" and person["team_lead_id"] == "tom.baker"
    assert {"account_number": "401693", "contact_role": "account_rep"} in person["account_contacts"]
    it = await api.get("/directory/people/ivy.shah", headers=bearer(demo_keys["operator"]))
    assert it.json()["it_support_platforms"] == ["conexiom", "iseries", "sterling_oms"]
    missing = await api.get("/directory/people/nobody", headers=bearer(demo_keys["operator"]))
    assert missing.status_code == 404


async def test_away_is_set_by_an_operator_or_the_own_team_lead_only(
    api: httpx.AsyncClient, demo_keys: dict[str, str], pool: asyncpg.Pool
) -> None:
    body = {"until": "2099-01-01T08:00:00-06:00", "comment": "training"}
    async with pool.acquire() as conn:
        other_lead = await create_api_key(conn, "adam.d", ["team_lead"], label="test")
    for key in (demo_keys["account_rep"], other_lead):
        refused = await api.post(
            "/directory/people/james.chen/away", json=body, headers=bearer(key)
        )
        assert refused.status_code == 403, refused.text
    bad = await api.post(
        "/directory/people/james.chen/away",
        json={"until": "2099-01-01T08:00:00", "comment": "x"},
        headers=bearer(demo_keys["operator"]),
    )
    assert bad.status_code == 422  # a time without its zone
    lead = bearer(demo_keys["team_lead"])
    try:
        marked = await api.post("/directory/people/james.chen/away", json=body, headers=lead)
        assert marked.status_code == 200, marked.text
        assert marked.json()["away_until"].startswith("2099-01-01T14:00:00")
    finally:
        back = await api.post(
            "/directory/people/james.chen/away",
            json={"until": None, "comment": "back"},
            headers=lead,
        )
        assert back.status_code == 200 and back.json()["away_until"] is None
    async with pool.acquire() as conn:
        trail = await read_model.audit_trail(conn, "person:james.chen")
    assert [(r["actor"], r["action"]) for r in trail][-2:] == [
        ("tom.baker", "marked away"),
        ("tom.baker", "marked back"),
    ]
    assert "training" in trail[-2]["comment"]


async def test_an_away_rep_sends_the_next_orders_task_to_the_backup_and_the_cli_says_why(
    api: httpx.AsyncClient, demo_keys: dict[str, str], database_url: str
) -> None:
    operator = bearer(demo_keys["operator"])
    away = {"until": "2099-01-01T00:00:00Z", "comment": "vacation"}
    resp = await api.post("/directory/people/maria.lopez/away", json=away, headers=operator)
    assert resp.status_code == 200, resp.text
    try:
        result = await sopflow_command(
            database_url, "route", "--kind", "resolve_hold_price", "--account", "401693"
        )
        assert "→ wendy [backup]" in result
        assert "skipped maria.lopez: away until 2099-01-01" in result

        order = propetro_order(f"RT-{uuid.uuid4().hex[:8]}")
        first = order.lines[0].model_copy(update={"unit_price": Decimal("2.10")})
        order = order.model_copy(update={"lines": [first, *order.lines[1:]]})
        posted = await api.post(
            "/orders",
            json=order.model_dump(mode="json", exclude_none=True),
            headers=bearer(demo_keys["system"]),
        )
        assert posted.status_code == 202, posted.text
        order_id = posted.json()["order_id"]
        wendy = None
        for _ in range(200):
            listed = await api.get(
                "/tasks", params={"workflow_id": order_id, "kind": "resolve_hold_price"},
                headers=operator,
            )  # fmt: skip
            if listed.json()["items"]:
                wendy = listed.json()["items"][0]
                break
            await asyncio.sleep(0.05)
        assert wendy is not None
        assert wendy["assignee"] == "wendy"
        assert wendy["payload"]["routing"]["skipped"][0]["person_id"] == "maria.lopez"
    finally:
        await api.post(
            "/directory/people/maria.lopez/away",
            json={"until": None, "comment": "back"},
            headers=operator,
        )


async def test_an_operator_changes_capabilities_and_contacts_audited_and_routed_at_once(
    api: httpx.AsyncClient, demo_keys: dict[str, str], pool: asyncpg.Pool, database_url: str
) -> None:
    person, account = f"dir-{uuid.uuid4().hex[:8]}", f"D{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO people (person_id, name, email, team_id) VALUES ($1, $1, $1, 'row')",
            person,
        )
        await conn.execute(
            "INSERT INTO accounts (account_number, name, region) VALUES ($1, 'Dir test', 'ROW')",
            account,
        )
    operator = bearer(demo_keys["operator"])
    caps = {
        "capabilities": [{"capability": "order_processing", "region": "ROW", "level": "primary"}],
        "comment": "new ROW hire",
    }
    refused = await api.put(
        f"/directory/people/{person}/capabilities",
        json=caps,
        headers=bearer(demo_keys["team_lead"]),
    )
    assert refused.status_code == 403
    twice = {**caps, "capabilities": caps["capabilities"] * 2}
    dup = await api.put(f"/directory/people/{person}/capabilities", json=twice, headers=operator)
    assert dup.status_code == 422
    done = await api.put(f"/directory/people/{person}/capabilities", json=caps, headers=operator)
    assert done.status_code == 200, done.text
    assert done.json()["capabilities"] == caps["capabilities"]

    # Without a rep, the ROW account's task goes to a primary for ROW (Daniel, or the
    # new hire with fewer open tasks); with the new hire as its rep, to them.
    contact = {"person_id": person, "comment": "takes over the account"}
    missing = await api.put(
        "/directory/accounts/NOPE/contacts/account_rep", json=contact, headers=operator
    )
    assert missing.status_code == 404
    set_rep = await api.put(
        f"/directory/accounts/{account}/contacts/account_rep", json=contact, headers=operator
    )
    assert set_rep.status_code == 200 and set_rep.json()["before"] is None
    routed = await sopflow_command(
        database_url, "route", "--kind", "resolve_hold_part", "--account", account
    )
    assert f"→ {person} [account_contact]" in routed
    async with pool.acquire() as conn:
        trail = await read_model.audit_trail(conn, f"account:{account}")
        person_trail = await read_model.audit_trail(conn, f"person:{person}")
    assert trail[-1]["action"] == "contact changed" and "nobody →" in trail[-1]["comment"]
    assert person_trail[-1]["action"] == "capabilities changed"


async def test_the_demo_people_and_keys_have_their_relations(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    operator = bearer(demo_keys["operator"])

    async def person(person_id: str) -> dict:
        resp = await api.get(f"/directory/people/{person_id}", headers=operator)
        assert resp.status_code == 200, resp.text
        return resp.json()

    assert (await person("bob.ortiz"))["branches"] == ["BR-ODS"]
    stores = (await person("demo-oom-agent"))["stores"]
    assert {s["store_id"] for s in stores} == {"101", "205", "310"}
    assert {s["role"] for s in stores} == {"oom_agent"}
    assert {"store_id": "101", "role": "store_manager"} in (await person("demo-store-manager"))[
        "stores"
    ]
    contacts = {(c["account_number"], c["contact_role"]) for c in (await person("ian.moore"))[
        "account_contacts"
    ]}  # fmt: skip
    assert {("NA-7001", "im"), ("401693", "im")} <= contacts
    assert ("NA-7001", "nam") in {
        (c["account_number"], c["contact_role"])
        for c in (await person("rachel.adams"))["account_contacts"]
    }
    keys = await api.get("/directory/people/punchout-network/keys", headers=operator)
    assert keys.status_code == 200, keys.text
    assert any(
        k["integration_id"] == "punchout-network" and "401693" in k["integration_accounts"]
        for k in keys.json()
    )


async def test_an_operator_changes_branches_stores_contacts_and_key_accounts_audited(
    api: httpx.AsyncClient, demo_keys: dict[str, str], pool: asyncpg.Pool
) -> None:
    person = f"rel-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO people (person_id, name, email) VALUES ($1, $1, $1)", person
        )
        key = await create_api_key(conn, person, ["system"], label="feed")
    operator, lead = bearer(demo_keys["operator"]), bearer(demo_keys["team_lead"])
    branches = {"branches": ["BR-HOU"], "comment": "runs Houston"}
    url = f"/directory/people/{person}"
    assert (await api.put(f"{url}/branches", json=branches, headers=lead)).status_code == 403
    unknown = await api.put(f"{url}/branches", json={**branches, "branches": ["BR-X"]},
                            headers=operator)  # fmt: skip
    assert unknown.status_code == 422 and "BR-X" in unknown.json()["detail"]
    done = await api.put(f"{url}/branches", json=branches, headers=operator)
    assert done.status_code == 200 and done.json()["branches"] == ["BR-HOU"]
    stores = {"stores": [{"store_id": "205", "role": "oom_agent"}], "comment": "Phoenix"}
    assert (await api.put(f"{url}/stores", json=stores, headers=lead)).status_code == 403
    no_store = {**stores, "stores": [{"store_id": "S-NONE", "role": "oom_agent"}]}
    unknown = await api.put(f"{url}/stores", json=no_store, headers=operator)
    assert unknown.status_code == 422 and "S-NONE" in unknown.json()["detail"]
    done = await api.put(f"{url}/stores", json=stores, headers=operator)
    assert done.status_code == 200 and done.json()["stores"] == stores["stores"]
    contact = {"person_id": person, "comment": "the SSM now"}
    set_ssm = await api.put("/directory/accounts/404820/contacts/ssm", json=contact,
                            headers=operator)  # fmt: skip
    assert set_ssm.status_code == 200, set_ssm.text
    bad_role = await api.put("/directory/accounts/404820/contacts/boss", json=contact,
                             headers=operator)  # fmt: skip
    assert bad_role.status_code == 422

    # The key's accounts: shown to an operator only, changed by one, and in force at once.
    listed = await api.get(f"{url}/keys", headers=operator)
    (shown,) = listed.json()
    assert shown["accounts"] == [] and shown["integration_id"] is None
    assert (await api.get(f"{url}/keys", headers=lead)).status_code == 403
    bind = {"accounts": ["402110"], "integration_id": None, "comment": "Rio Grande's ERP"}
    bound = await api.put(f"/directory/keys/{shown['key_id']}/accounts", json=bind,
                          headers=operator)  # fmt: skip
    assert bound.status_code == 200 and bound.json()["accounts"] == ["402110"]
    nope = await api.put(f"/directory/keys/{shown['key_id']}/accounts",
                         json={**bind, "accounts": ["NOPE1"]}, headers=operator)  # fmt: skip
    assert nope.status_code == 422 and "NOPE1" in nope.json()["detail"]
    listed = await api.get("/orders", params={"account": "402110"}, headers=bearer(key))
    assert listed.status_code == 200
    assert {o["account_number"] for o in listed.json()["items"]} <= {"402110"}
    other = await api.get("/orders", params={"account": "401693"}, headers=bearer(key))
    assert other.json()["items"] == []

    async with pool.acquire() as conn:
        trail = await read_model.audit_trail(conn, f"person:{person}")
        key_trail = await read_model.audit_trail(conn, f"api-key:{shown['key_id']}")
        account_trail = await read_model.audit_trail(conn, "account:404820")
    assert [r["action"] for r in trail] == ["branches changed", "stores changed"]
    assert all(r["actor"] == "ops.admin" for r in trail)
    assert key_trail[-1]["action"] == "key accounts changed"
    assert "402110" in key_trail[-1]["comment"]
    assert "ssm: nobody" in account_trail[-1]["comment"]
