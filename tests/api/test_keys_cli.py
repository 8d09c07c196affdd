"""`sopflow keys`, run as an operator runs it, against the test database, with
the API taking or refusing the keys it makes (issue 21: there was no command
to rotate or revoke an API key)."""

from __future__ import annotations

import asyncio
import os
import re
import uuid

import asyncpg
import httpx
import pytest

from sopflow.config import Settings
from tests.api.test_sessions import until_refused
from tests.conftest import venv_binary
from tests.servers import bearer

pytestmark = pytest.mark.integration


async def keys(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url or "",
        "SOPFLOW_LOG_LEVEL": "WARNING",
    }
    proc = await asyncio.create_subprocess_exec(
        venv_binary("sopflow"), "keys", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


def printed_key(out: str, before: str = "") -> tuple[str, str]:
    """The new key's id and the key a command printed."""
    found = re.search(before + r"key ([0-9a-f]{12})\b", out)
    key = re.search(r"^(sfk_\S+)$", out, re.M)
    assert found and key, out
    return found.group(1), key.group(1)


def row_of(listing: str, key_id: str) -> str:
    (line,) = [line for line in listing.splitlines() if line.startswith(key_id)]
    return line


async def test_an_operator_creates_rotates_and_revokes_a_key_and_each_is_audited(
    api: httpx.AsyncClient, settings: Settings, pool: asyncpg.Pool
) -> None:
    person = f"keys-{uuid.uuid4().hex[:8]}"
    code, out, err = await keys(
        settings, "create", "--role", "account_rep", "--role", "team_lead", "--person", person,
        "--name", "Key Tester", "--email", f"{person}@example.com", "--label", "laptop",
        "--by", "ops.anna", "--comment", "new starter",
    )  # fmt: skip
    assert code == 0, err
    first_id, first = printed_key(out)
    assert "not shown again" in err
    assert (await api.get("/tasks", headers=bearer(first))).status_code == 200

    code, listing, _ = await keys(settings, "list")
    assert code == 0
    line = row_of(listing, first_id)
    assert person in line and "account_rep,team_lead" in line and "laptop" in line
    assert "active" in line

    code, out, err = await keys(settings, "rotate", first_id, "--grace", "1h", "--by", "ops.anna")
    assert code == 0, err
    second_id, second = printed_key(out, "replacement is ")
    assert second != first and f"key {first_id} works until" in out
    # Both work through the grace period; the new one has the same roles.
    for key in (first, second):
        assert (await api.get("/tasks", headers=bearer(key))).status_code == 200
    code, listing, _ = await keys(settings, "list")
    assert "works until" in row_of(listing, first_id) and second_id in row_of(listing, first_id)
    assert "account_rep,team_lead" in row_of(listing, second_id)

    code, out, err = await keys(settings, "revoke", second_id, "--by", "ops.anna",
                                "--comment", "laptop lost")  # fmt: skip
    assert code == 0 and "revoked" in out, err
    await until_refused(api, second)
    code, _, err = await keys(settings, "revoke", second_id)
    assert code == 1 and "already revoked" in err
    code, listing, _ = await keys(settings, "list")
    assert not [line for line in listing.splitlines() if line.startswith(second_id)]
    code, listing, _ = await keys(settings, "list", "--all")
    assert "revoked" in row_of(listing, second_id)

    trail = await pool.fetch(
        """SELECT subject_id, actor, action, comment FROM audit_log
           WHERE subject_id IN ($1, $2) ORDER BY id""",
        f"api-key:{first_id}",
        f"api-key:{second_id}",
    )
    assert [(r["subject_id"][8:], r["action"]) for r in trail] == [
        (first_id, "api key created"),
        (first_id, "api key rotated"),
        (second_id, "api key rotated"),
        (second_id, "api key revoked"),
    ]
    assert {r["actor"] for r in trail} == {"ops.anna"}
    assert "new starter" in trail[0]["comment"] and trail[-1]["comment"] == "laptop lost"


async def test_keys_refuses_what_it_cannot_do_and_says_why(settings: Settings) -> None:
    for args, words in [
        (["create", "--role", "wizard", "--person", "maria.lopez"], "unknown role wizard"),
        (["create", "--role", "account_rep", "--person", "nobody.here"], "no person 'nobody.here'"),
        (["revoke", "0123456789ab"], "no key '0123456789ab'"),
        (["rotate", "0123456789ab", "--grace", "soon"], "say how long"),
    ]:
        code, _, err = await keys(settings, *args)
        assert code == 2, (args, err)
        assert words in " ".join(err.split()), (args, err)
