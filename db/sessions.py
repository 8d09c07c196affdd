"""The work-queue page's sessions: a random id in the browser's cookie, its
SHA-256 here with the key it was signed in with, its CSRF token, when it ends
(`expires_at`) and when it was last used (the idle timeout). Every check uses
PostgreSQL's clock, so every API process agrees on when a session ended."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import asyncpg

from db.keys import LIVE_KEY


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def create_session(
    conn: asyncpg.Connection, key_hash: str, lifetime: timedelta
) -> tuple[str, str]:
    """A new session for the key: its id (for the cookie, never stored) and its
    CSRF token."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    await conn.execute(
        """INSERT INTO web_sessions (session_hash, key_hash, csrf_token, expires_at)
           VALUES ($1, $2, $3, now() + $4::interval)""",
        session_hash(session_id),
        key_hash,
        csrf,
        lifetime,
    )
    return session_id, csrf


async def live_session(
    conn: asyncpg.Connection, session_id: str, idle_timeout: timedelta, *, touch: bool = True
) -> asyncpg.Record | None:
    """The session and its person, while it lives: not signed out, not past its
    end, used within `idle_timeout`, and its key neither revoked nor expired.
    `touch` counts this request as use (a page's own periodic refresh does not)."""
    row = await conn.fetchrow(
        f"""SELECT s.session_hash, s.csrf_token, k.key_hash, k.person_id, p.name, k.roles,
                  s.last_seen_at < now() - LEAST($2::interval / 20, interval '30 seconds')
                      AS stale
           FROM web_sessions s
           JOIN api_keys k USING (key_hash)
           JOIN people p USING (person_id)
           WHERE s.session_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now()
             AND s.last_seen_at > now() - $2::interval AND {LIVE_KEY}""",
        session_hash(session_id),
        idle_timeout,
    )
    if row is not None and touch and row["stale"]:
        # At most one write per session every few seconds, not one per click.
        await conn.execute(
            "UPDATE web_sessions SET last_seen_at = now() WHERE session_hash = $1",
            row["session_hash"],
        )
    return row


async def end_session(conn: asyncpg.Connection, session_id: str) -> None:
    await conn.execute(
        "UPDATE web_sessions SET ended_at = now() WHERE session_hash = $1 AND ended_at IS NULL",
        session_hash(session_id),
    )


async def forget_old_sessions(conn: asyncpg.Connection, older_than: timedelta) -> None:
    """Sessions that ended more than `older_than` ago are no use to anyone."""
    await conn.execute(
        """DELETE FROM web_sessions
           WHERE COALESCE(ended_at, expires_at) < now() - $1::interval""",
        older_than,
    )
