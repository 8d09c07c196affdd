"""Signing in to the work-queue page: a session kept in PostgreSQL (db/sessions.py).

The cookie holds an opaque random id, never the API key: HttpOnly (the page's
scripts cannot read it), Secure (HTTPS only; browsers count loopback as
secure), for this host alone (the __Host- prefix) and not sent on cross-site
requests (SameSite=Lax). The session ends when the person signs out (at once,
for every API process: each request asks PostgreSQL), after
`SOPFLOW_SESSION_LIFETIME`, after `SOPFLOW_SESSION_IDLE_TIMEOUT` without a
click, or when the key it was signed in with is revoked or expires.

Every form carries a CSRF token: the session's own random one once signed in
(a page of another site can neither read nor guess it), and a double-submit
token in its own cookie for the sign-in form itself.

The edge (api/edge.py) finds the session before any body is read and leaves it
in `request.state.session`; the page's routes read it from there."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response
from starlette.requests import HTTPConnection

from db import sessions
from domain.identity import Actor

SESSION_COOKIE = "__Host-sopflow-session"
LOGIN_COOKIE = "__Host-sopflow-login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# A session id is 43 characters; a longer cookie is not one of ours.
MAX_ID = 100
# Ended sessions are kept this long (who was signed in when), then deleted.
KEEP_ENDED = timedelta(days=30)
# The queue's list refreshes itself (htmx names the element a request came
# from): that is not a person's click, and does not keep an idle session alive.
SELF_REFRESH = "task-list"


@dataclass(frozen=True)
class Session:
    session_id: str
    actor: Actor
    key_hash: str
    csrf: str


def cookie_id(conn: HTTPConnection) -> str | None:
    value = conn.cookies.get(SESSION_COOKIE, "")
    return value if 0 < len(value) <= MAX_ID else None


def is_click(conn: HTTPConnection) -> bool:
    return conn.headers.get("hx-trigger") != SELF_REFRESH


async def find(conn: HTTPConnection) -> Session | None:
    """The live session the request's cookie names, if any (one PostgreSQL read;
    a write every few seconds of use, for the idle timeout)."""
    session_id = cookie_id(conn)
    if session_id is None:
        return None
    state = conn.app.state
    async with state.pool.acquire() as db:
        row = await sessions.live_session(
            db, session_id, state.settings.session_idle_timeout, touch=is_click(conn)
        )
    if row is None:
        return None
    actor = Actor(person_id=row["person_id"], name=row["name"], roles=frozenset(row["roles"]))
    return Session(session_id, actor, row["key_hash"], row["csrf_token"])


def current(request: Request) -> Session | None:
    return getattr(request.state, "session", None)


async def signed_in(request: Request) -> Actor | None:
    """The signed-in person; None when there is no live session."""
    found = current(request)
    return found.actor if found else None


def csrf_token(request: Request) -> str:
    """The token the session's forms carry ("" when not signed in)."""
    found = current(request)
    return found.csrf if found else ""


def _cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax"
    )


async def start_session(request: Request, response: Response, key_hash: str) -> None:
    """A new session for the key; a session the browser already had ends."""
    state = request.app.state
    lifetime: timedelta = state.settings.session_lifetime
    async with state.pool.acquire() as db:
        if previous := current(request):
            await sessions.end_session(db, previous.session_id)
        session_id, _ = await sessions.create_session(db, key_hash, lifetime)
        await sessions.forget_old_sessions(db, KEEP_ENDED)
    _cookie(response, SESSION_COOKIE, session_id, int(lifetime.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True)


async def end_session(request: Request, response: Response) -> None:
    """Signed out: the session ends in PostgreSQL (so for every API process, and
    for a copy of the cookie too) and the browser forgets the cookie."""
    if found := current(request):
        async with request.app.state.pool.acquire() as db:
            await sessions.end_session(db, found.session_id)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")


def login_token(request: Request) -> str:
    """The sign-in form's token: the one already in its cookie, else a new one."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    return token if len(token) == 43 else secrets.token_urlsafe(32)


def keep_login_token(response: Response, token: str) -> None:
    _cookie(response, LOGIN_COOKIE, token, 3600)


def _given(request: Request, form: Mapping[str, Any]) -> str:
    value = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return value if isinstance(value, str) else ""


def same_origin(request: Request) -> bool:
    """A browser names the page a form came from; another site's is refused
    (an absent Origin, from older clients, leaves it to the token)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def csrf_ok(request: Request, form: Mapping[str, Any], *, signing_in: bool = False) -> bool:
    """The form's token matches the session's (signed in) or the sign-in cookie's."""
    if signing_in:
        expected = request.cookies.get(LOGIN_COOKIE, "")
    else:
        expected = csrf_token(request)
    given = _given(request, form)
    return (
        bool(expected and given)
        and same_origin(request)
        and hmac.compare_digest(given.encode(), expected.encode())
    )
