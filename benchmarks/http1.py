"""A lean HTTP/1.1 client for timing the API: one keep-alive connection, one
request at a time, JSON in and out, nothing else.

httpx costs about 1.5–2 ms of its own CPU per request on these 2-core machines
(a bare ASGI app answers httpx in 2.0 ms and this client in 0.2 ms), which would
count the client library as the API's cost. The benchmarks time the API with
this one and report httpx's figure beside it."""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Http1:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @classmethod
    def for_url(cls, url: str) -> Http1:
        host, _, port = url.split("//", 1)[1].rstrip("/").partition(":")
        return cls(host, int(port or 80))

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> tuple[int, Any]:
        """(status, the JSON body or None). Reconnects when the server closed the
        idle connection (uvicorn does after 5 s) before the request is sent."""
        if self._reader is None or self._reader.at_eof():
            await self.close()
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._writer is not None
        data = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}",
                f"content-length: {len(data)}"]  # fmt: skip
        if body is not None:
            head.append("content-type: application/json")
        head += [f"{name}: {value}" for name, value in headers.items()]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        lines = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}  # fmt: skip
        if "content-length" in fields:
            payload = await self._reader.readexactly(int(fields["content-length"]))
        else:  # chunked
            payload = b""
            while size := int((await self._reader.readuntil(b"\r\n")).strip(), 16):
                payload += (await self._reader.readexactly(size + 2))[:-2]
            await self._reader.readuntil(b"\r\n")
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return status, json.loads(payload) if payload else None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._reader = self._writer = None
