"""The API's edge: who is calling is known before a byte of the request body is
read, and no body is read past its limit.

FastAPI reads and parses a body before any dependency runs, so a key checked in
a dependency is checked too late: an anonymous caller could make the API take
in a body of any size. This ASGI middleware runs before the routes:

- A request is identified first, from its headers alone: a bearer API key, or
  on the work-queue page (/app/...) its session cookie. An API call without a
  working key is answered 401 at once, its body never read (and the connection
  closed, so the rest of an upload is not taken in either). A page request
  without a session goes on to its route, which sends the person to sign in,
  with an empty body in place of the one sent.
- Only these authenticate by their body and are read without a key: the
  webhooks (their signature covers the body) and the sign-in form (the key is
  in it). They have small limits of their own.
- Every body has a limit, enforced while it is read: a declared length over it
  is refused before reading, and a body that grows past it is cut off. Either
  way the answer is 413. cXML documents and JSON (and any other) bodies have
  their own limits (SOPFLOW_MAX_CXML_BYTES, SOPFLOW_MAX_JSON_BYTES).

The identified caller is left in `request.state` (actor, api_key_hash, and on
the page the session), where `api.auth.current_actor` finds it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import asyncpg
import structlog
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import BEARER_MISSING, KEY_UNKNOWN, bearer_key, identify
from api.errors import error_response, wants_cxml
from api.web import session
from sopflow.config import Settings

log = structlog.get_logger()

# What a webhook sender may send (events are a few hundred bytes).
WEBHOOK_BYTES = 64_000
# The sign-in form: a key, a token and the page to go back to.
SIGN_IN_BYTES = 8 * 1024
# The page's forms: a decision with its comment and fields.
FORM_BYTES = 64 * 1024
# Routes that take no body at all (health, docs, the page's assets).
NO_BODY_BYTES = 1024


class Access(StrEnum):
    PUBLIC = "public"  # no credential: health, metrics, API docs, the page's assets
    BODY = "body"  # the body is the credential: webhooks, the sign-in form
    SESSION = "session"  # the work-queue page: its session cookie
    KEY = "key"  # everything else: a bearer API key


@dataclass(frozen=True)
class Rule:
    access: Access
    # None: by content type (cXML or JSON limit from configuration).
    limit: int | None


_PUBLIC = {"/health", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json", "/app"}
_PUBLIC_PREFIXES = ("/static-offline-docs/", "/app/static/")


def rule_for(method: str, path: str) -> Rule:
    """Which credential a request needs, and how large its body may be. Anything
    not named here needs a key: a new route is closed until it is listed."""
    if path in _PUBLIC or path.startswith(_PUBLIC_PREFIXES):
        return Rule(Access.PUBLIC, NO_BODY_BYTES)
    if path.startswith("/webhooks/"):
        return Rule(Access.BODY, WEBHOOK_BYTES)
    if path == "/app/login":
        return Rule(Access.BODY if method == "POST" else Access.SESSION, SIGN_IN_BYTES)
    if path.startswith("/app/"):
        return Rule(Access.SESSION, FORM_BYTES)
    return Rule(Access.KEY, None)


def body_limit(rule: Rule, conn: HTTPConnection) -> int:
    if rule.limit is not None:
        return rule.limit
    settings: Settings = conn.app.state.settings
    return settings.max_cxml_bytes if wants_cxml(conn) else settings.max_json_bytes  # type: ignore[arg-type]


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body grows past its limit. An HTTPException,
    so FastAPI's body parsing lets it through to the error handlers (413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")
        self.limit = limit


def _declared_length(conn: HTTPConnection) -> int | None:
    value = conn.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() and len(value) < 20 else None


def _has_body(conn: HTTPConnection) -> bool:
    return bool(_declared_length(conn)) or "transfer-encoding" in conn.headers


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class Edge:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        rule = rule_for(scope["method"], scope["path"])
        state = scope.setdefault("state", {})
        body_ok = True
        try:
            if rule.access is Access.KEY:
                refusal = await self._identify_key(conn, state)
                if refusal:
                    await self._refuse(conn, 401, refusal, "Unauthorized", send)
                    return
            elif rule.access is Access.SESSION:
                body_ok = await self._identify_session(conn, state)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            log.warning("edge: database unavailable", error=str(exc))
            await self._refuse(
                conn, 503, "the database is unavailable; try again shortly", None, send
            )
            return

        limit = body_limit(rule, conn)
        declared = _declared_length(conn)
        if body_ok and declared is not None and declared > limit:
            await self._refuse(conn, 413, BodyTooLarge(limit).detail, "TooLarge", send)
            return

        received = 0
        done = not _has_body(conn)
        started = False

        async def limited() -> Message:
            nonlocal received, done
            if not body_ok:
                return await _no_body()
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                done = not message.get("more_body", False)
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def closing(message: Message) -> None:
            nonlocal started
            # Answered before the whole body came in (refused, or never read):
            # close the connection rather than take in the rest of it.
            if message["type"] == "http.response.start":
                started = True
                if not done:
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        try:
            await self.app(scope, limited, closing)
        except BodyTooLarge as exc:
            if started:
                raise
            # Read somewhere the app's error handlers do not reach.
            await self._refuse(conn, 413, exc.detail, "TooLarge", send)

    @staticmethod
    async def _identify_key(conn: HTTPConnection, state: dict) -> str | None:
        """The caller behind the bearer key, into the request's state; the
        reason for a 401 when there is none."""
        key = bearer_key(conn.headers.get("authorization", ""))
        if key is None:
            return BEARER_MISSING
        found = await identify(conn.app.state, key)
        if found is None:
            return KEY_UNKNOWN
        state["actor"], state["api_key_hash"] = found
        structlog.contextvars.bind_contextvars(actor=found[0].person_id)
        return None

    @staticmethod
    async def _identify_session(conn: HTTPConnection, state: dict) -> bool:
        """The page's session, into the request's state; whether its body may be
        read (not without a session)."""
        found = await session.find(conn)
        if found is None:
            return False
        state["session"], state["actor"] = found, found.actor
        state["api_key_hash"] = found.key_hash
        structlog.contextvars.bind_contextvars(actor=found.actor.person_id)
        return True

    @staticmethod
    async def _refuse(
        conn: HTTPConnection, status: int, reason: str, type: str | None, send: Send
    ) -> None:
        response = error_response(conn, status, reason, type)  # type: ignore[arg-type]
        if _has_body(conn):
            response.headers["connection"] = "close"
        await response(conn.scope, _no_body, send)
