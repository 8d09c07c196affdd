"""A PostgreSQL that can be killed and brought back, for one test's worker: a
proxy on a Unix socket in front of the test database. Down, it drops every
connection and listens no more, so a connect is refused (what the worker meets
when PostgreSQL dies: `[Errno 111] Connection refused`); up, it listens again at
the same place."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from urllib.parse import parse_qs, urlparse

SOCKET = ".s.PGSQL.5432"


class PostgresProxy:
    def __init__(self, database_url: str) -> None:
        self.upstream = urlparse(database_url)
        self.dir = tempfile.mkdtemp(prefix="pgproxy")
        self.path = os.path.join(self.dir, SOCKET)
        self._server: asyncio.AbstractServer | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self.blips = 0

    @property
    def url(self) -> str:
        """The database's URL, through the proxy."""
        u = self.upstream
        user = f"{u.username or ''}" + (f":{u.password}" if u.password else ":")
        return f"postgresql://{user}@{u.path}?host={self.dir}"

    async def _open_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        u = self.upstream
        host = u.hostname or parse_qs(u.query).get("host", ["/tmp"])[0]
        if host.startswith("/"):
            return await asyncio.open_unix_connection(
                os.path.join(host, f".s.PGSQL.{u.port or 5432}")
            )
        return await asyncio.open_connection(host, u.port or 5432)

    async def up(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._server = await asyncio.start_unix_server(self._serve, path=self.path)

    async def down(self) -> None:
        """Killed: connections drop, and a connect finds nobody listening."""
        assert self._server is not None
        self.blips += 1
        self._server.close()
        for pipe in list(self._pipes):
            pipe.transport.abort()
        self._pipes.clear()
        # The socket file stays, as a dead server's does: connecting is refused.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 1)
        self._server = None

    async def close(self) -> None:
        if self._server is not None:
            await self.down()
            self.blips -= 1  # not a blip: the end
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        with contextlib.suppress(OSError):
            os.rmdir(self.dir)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await self._open_upstream()
        except OSError:
            writer.transport.abort()
            return
        self._pipes |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                dst.transport.abort()

        try:
            await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        finally:
            self._pipes -= {writer, up_writer}
