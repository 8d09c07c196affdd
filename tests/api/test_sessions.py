"""The work-queue page's sessions, kept in PostgreSQL (issue 21).

Reproduces: the page's session cookie was the raw, long-lived API key; signing
out did not revoke it (the old cookie still got 200); the CSRF token was a
fixed HMAC of the key that never changed. Now the cookie holds a random id,
signing out ends the session at once for every API process, each session has
its own token, a session ends after its idle time and at its end, and a
revoked or expired key ends every session signed in with it."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.web.session import LOGIN_COOKIE, SESSION_COOKIE
from db.keys import hash_secret, revoke_api_key, rotate_api_key
from sopflow.config import Settings
from tests.api.test_tasks import new_person
from tests.api.test_work_queue_page import form_token, new_session
from tests.servers import api_server, bearer

pytestmark = pytest.mark.integration


def session_hash(cookie: dict[str, str]) -> str:
    return hashlib.sha256(cookie["Cookie"].split("=", 1)[1].encode()).hexdigest()


async def signed_in(api: httpx.AsyncClient, cookie: dict[str, str]) -> bool:
    page = await api.get("/app/queue", headers=cookie)
    if page.status_code == 303:
        assert page.headers["location"].startswith("/app/login"), page.headers
        return False
    assert page.status_code == 200, page.text
    return True


async def until_refused(api: httpx.AsyncClient, key: str) -> None:
    """The API stops taking the key (within its memory of keys, 5 s)."""
    for _ in range(300):
        if (await api.get("/tasks", headers=bearer(key))).status_code == 401:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the key still works")


async def test_signing_out_ends_the_session_at_once_in_every_api_process(
    api: httpx.AsyncClient,
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
) -> None:
    _, key = await new_person(pool, "account_rep")
    cookie, token = await new_session(api, key)
    # The key itself is no cookie.
    assert not await signed_in(api, {"Cookie": f"{SESSION_COOKIE}={key}"})
    async with api_server(it_settings, pool, dev_server.client) as other:
        assert await signed_in(other, cookie)
        out = await api.post("/app/logout", data={"csrf_token": token}, headers=cookie)
        assert out.status_code == 303
        # A copy of the cookie is worth nothing now, here or in the other process.
        assert not await signed_in(other, cookie)
        assert not await signed_in(api, cookie)
    # Signing out ends the session, not the key.
    assert (await api.get("/tasks", headers=bearer(key))).status_code == 200


async def test_each_session_has_its_own_csrf_token(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    _, key = await new_person(pool, "account_rep")
    first, first_token = await new_session(api, key)
    second, second_token = await new_session(api, key)
    assert first_token != second_token
    # A form of one session, sent in another, is refused and changes nothing.
    crossed = await api.post("/app/logout", data={"csrf_token": first_token}, headers=second)
    assert crossed.status_code == 403 and "This form has expired" in crossed.text
    assert await signed_in(api, second)
    # A new sign-in gets a new token, and the old session keeps its own.
    _, third_token = await new_session(api, key)
    assert third_token not in (first_token, second_token)
    out = await api.post("/app/logout", data={"csrf_token": first_token}, headers=first)
    assert out.status_code == 303 and not await signed_in(api, first)


async def test_a_session_ends_after_its_idle_time_and_at_its_end(
    api: httpx.AsyncClient, it_settings: Settings, pool: asyncpg.Pool
) -> None:
    _, key = await new_person(pool, "account_rep")
    cookie, _ = await new_session(api, key)
    idle = it_settings.session_idle_timeout
    row = session_hash(cookie)

    async def last_seen() -> object:
        return await pool.fetchval(
            "SELECT last_seen_at FROM web_sessions WHERE session_hash = $1", row
        )

    await pool.execute(
        "UPDATE web_sessions SET last_seen_at = now() - $2::interval WHERE session_hash = $1",
        row,
        idle - timedelta(minutes=1),
    )
    before = await last_seen()
    # The list refreshing itself is not a click: the session stays idle.
    refresh = {**cookie, "HX-Request": "true", "HX-Trigger": "task-list"}
    assert (await api.get("/app/queue/tasks", headers=refresh)).status_code == 200
    assert await last_seen() == before
    # A click is.
    assert await signed_in(api, cookie)
    assert await last_seen() > before

    await pool.execute(
        "UPDATE web_sessions SET last_seen_at = now() - $2::interval WHERE session_hash = $1",
        row,
        idle + timedelta(seconds=1),
    )
    assert not await signed_in(api, cookie)

    ending, _ = await new_session(api, key)
    assert await signed_in(api, ending)
    await pool.execute(
        "UPDATE web_sessions SET expires_at = now() WHERE session_hash = $1",
        session_hash(ending),
    )
    assert not await signed_in(api, ending)


async def test_a_revoked_key_ends_its_sessions_at_once_and_stops_working(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    _, key = await new_person(pool, "account_rep")
    cookie, _ = await new_session(api, key)
    assert (await api.get("/tasks", headers=bearer(key))).status_code == 200  # remembered now
    async with pool.acquire() as conn:
        assert await revoke_api_key(conn, hash_secret(key))
    assert not await signed_in(api, cookie)
    await until_refused(api, key)
    # Nor does it sign in again.
    token = form_token((await api.get("/app/login")).text)
    again = await api.post(
        "/app/login",
        data={"csrf_token": token, "api_key": key},
        headers={"Cookie": f"{LOGIN_COOKIE}={token}"},
    )
    assert again.status_code == 401 and "Unknown or revoked API key." in again.text


async def test_a_rotated_key_works_through_its_grace_and_its_sessions_end_with_it(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    _, old = await new_person(pool, "account_rep")
    cookie, _ = await new_session(api, old)
    async with pool.acquire() as conn:
        new = await rotate_api_key(conn, hash_secret(old), timedelta(hours=1))
    for key in (old, new):
        assert (await api.get("/tasks", headers=bearer(key))).status_code == 200
    assert await signed_in(api, cookie)

    # The grace period is over.
    await pool.execute(
        "UPDATE api_keys SET expires_at = now() WHERE key_hash = $1", hash_secret(old)
    )
    assert not await signed_in(api, cookie)
    await until_refused(api, old)
    assert (await api.get("/tasks", headers=bearer(new))).status_code == 200
