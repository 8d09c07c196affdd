"""Signing in to the work-queue page: the API key kept in a cookie the page's
scripts cannot read (HttpOnly), sent only over HTTPS (Secure; browsers count
loopback as secure), to this host alone (the __Host- prefix) and not on
cross-site requests (SameSite=Lax). Every form carries a CSRF token: derived
from the session's key once signed in (a page of another site can neither read
nor compute it), and a double-submit token in its own cookie for the sign-in
form itself."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import Response

from api.auth import actor_for_key
from domain.identity import Actor

SESSION_COOKIE = "__Host-sopflow-session"
LOGIN_COOKIE = "__Host-sopflow-login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
# A working day; signing in again costs a paste.
SESSION_AGE = timedelta(hours=12)
MAX_KEY = 200


def session_key(request: Request) -> str | None:
    key = request.cookies.get(SESSION_COOKIE, "")
    return key if 0 < len(key) <= MAX_KEY else None


async def signed_in(request: Request) -> Actor | None:
    """The person whose key the session cookie holds; None when there is none or
    the key has been revoked since."""
    key = session_key(request)
    return await actor_for_key(request, key) if key else None


def csrf_token(key: str) -> str:
    """The session's CSRF token: a MAC of a fixed text under the key, so it
    reveals nothing of the key and needs no server-side state."""
    return hmac.new(key.encode(), b"sopflow work-queue csrf", hashlib.sha256).hexdigest()


def _cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="lax"
    )


def start_session(response: Response, key: str) -> None:
    _cookie(response, SESSION_COOKIE, key, int(SESSION_AGE.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=True, httponly=True)


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")


def login_token(request: Request) -> str:
    """The sign-in form's token: the one already in its cookie, else a new one."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    return token if len(token) == 43 else secrets.token_urlsafe(32)


def keep_login_token(response: Response, token: str) -> None:
    _cookie(response, LOGIN_COOKIE, token, 3600)


def _given(request: Request, form: Mapping[str, object]) -> str:
    value = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    return value if isinstance(value, str) else ""


def same_origin(request: Request) -> bool:
    """A browser names the page a form came from; another site's is refused
    (an absent Origin, from older clients, leaves it to the token)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def csrf_ok(request: Request, form: Mapping[str, object], key: str | None) -> bool:
    """The form's token matches the session's (signed in) or the sign-in cookie's."""
    expected = csrf_token(key) if key else request.cookies.get(LOGIN_COOKIE, "")
    given = _given(request, form)
    return bool(expected and given) and same_origin(request) and hmac.compare_digest(
        given.encode(), expected.encode()
    )
