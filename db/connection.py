"""Where PostgreSQL is: DATABASE_URL when set, else an embedded server (pgserver)
kept under the data directory; and the asyncpg pool every process shares."""

from __future__ import annotations

import json
import warnings
from decimal import Decimal
from functools import partial
from pathlib import Path
from types import ModuleType

import asyncpg


def pgserver_module() -> ModuleType:
    """pgserver, imported without platformdirs' "XDG_RUNTIME_DIR is not set"
    warning: without a login session (a container, CI, ssh without systemd) it
    keeps its lock file under /tmp/runtime-<uid>, which is just as good, and the
    warning would only alarm whoever reads the command's output."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
        import pgserver  # heavy import, only needed when no DATABASE_URL is given
    return pgserver


def embedded_database_url(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL under `data_dir/postgres`.
    The server lives as long as this process."""
    server = pgserver_module().get_server(
        Path(data_dir).resolve() / "postgres", cleanup_mode="stop"
    )
    return server.get_uri()


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    return database_url or embedded_database_url(data_dir)


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=partial(json.dumps, default=str),
        decoder=partial(json.loads, parse_float=Decimal),
        schema="pg_catalog",
    )


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=_init_connection
    )
