"""The API's edge (api/edge.py), over a real socket: nothing of a body is read
before the caller is known, and no body is read past its limit.

Reproduces issue 21: an anonymous 200 MB `POST /csrs` was read whole before
its 422 (the API grew from 165 MB to 982 MB), and `/webhooks/*` read the whole
body before its own 64 KB check. Here the app under test is wrapped in a
counter of the body bytes it takes in, and the caller writes its body only
until the answer comes (as a client streaming an upload does)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import asyncpg
import pytest
from starlette.types import Message, Receive, Scope, Send
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.edge import WEBHOOK_BYTES
from sopflow.config import Settings
from tests.conftest import free_port, serve

pytestmark = pytest.mark.integration

KIB = 1024
JSON_LIMIT = 64 * KIB
CXML_LIMIT = 128 * KIB
HUGE = 200_000_000


class Counted:
    """The app, and how many body bytes it has taken in since `reset()`."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.received = 0

    def reset(self) -> None:
        self.received = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counting() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counting if scope["type"] == "http" else receive, send)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    sent: int  # body bytes the caller had written when the answer came


@dataclass
class Edge:
    app: Counted
    port: int

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        total: int,
        declare: bool = True,
        chunk: int = 32 * KIB,
    ) -> Answer:
        """`total` body bytes, written while the server reads them and no
        further once it has answered; with `declare`, a Content-Length, else
        chunked."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *map(": ".join, headers.items())]
        lines.append(f"Content-Length: {total}" if declare else "Transfer-Encoding: chunked")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        sent = 0

        def pieces() -> Iterator[bytes]:
            nonlocal sent
            while sent < total:
                piece = b"x" * min(chunk, total - sent)
                sent += len(piece)
                yield piece if declare else b"%x\r\n%s\r\n" % (len(piece), piece)
            if not declare:
                yield b"0\r\n\r\n"

        async def upload() -> None:
            try:
                for piece in pieces():
                    writer.write(piece)
                    await writer.drain()
            except ConnectionError:
                pass  # the server has answered and closed

        uploading = asyncio.create_task(upload())
        try:
            answer = await asyncio.wait_for(_read_answer(reader), 60)
        finally:
            uploading.cancel()
            writer.close()
        return Answer(*answer, sent=sent)


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


@pytest.fixture(scope="module")
async def edge(
    it_settings: Settings, pool: asyncpg.Pool, dev_server: WorkflowEnvironment
) -> AsyncIterator[Edge]:
    settings = it_settings.model_copy(
        update={"max_json_bytes": JSON_LIMIT, "max_cxml_bytes": CXML_LIMIT}
    )
    app = Counted(create_app(settings, database_url="", pool=pool, temporal=dev_server.client))
    port = free_port()
    server, task = await serve(app, port)
    yield Edge(app, port)
    server.should_exit = True
    await task


JSON = {"Content-Type": "application/json"}
CXML = {"Content-Type": "text/xml"}


@pytest.mark.parametrize(
    ("path", "headers", "declare"),
    [
        ("/csrs", JSON, True),
        ("/csrs", JSON, False),
        ("/orders", CXML, True),
        ("/tasks/order-1-PO-1%3Ahold/complete", JSON, False),
        ("/csrs", {**JSON, "Authorization": "Bearer sfk_not-a-key"}, True),
        ("/no/such/route", JSON, True),
    ],
)
async def test_an_anonymous_caller_is_refused_before_a_byte_of_its_body_is_read(
    edge: Edge, path: str, headers: dict[str, str], declare: bool
) -> None:
    edge.app.reset()
    answer = await edge.send("POST", path, headers=headers, total=HUGE, declare=declare)
    assert answer.status == 401, answer.body
    assert edge.app.received <= 16 * KIB
    assert edge.app.received == 0  # not a byte, in fact
    assert answer.sent < HUGE and answer.headers["connection"] == "close"
    if headers is CXML:
        assert b'<Status code="401"' in answer.body and b"bearer API key" in answer.body
    else:
        assert answer.headers["www-authenticate"] == "Bearer"
        assert b"API key" in answer.body


async def test_a_body_declared_larger_than_its_limit_is_refused_unread(
    edge: Edge, demo_keys: dict[str, str]
) -> None:
    key = {"Authorization": f"Bearer {demo_keys['system']}"}
    edge.app.reset()
    json = await edge.send("POST", "/csrs", headers={**JSON, **key}, total=JSON_LIMIT + 1)
    assert json.status == 413, json.body
    assert f"larger than {JSON_LIMIT} bytes".encode() in json.body
    # A cXML document has its own limit, and its answer is cXML.
    cxml = await edge.send("POST", "/orders", headers={**CXML, **key}, total=CXML_LIMIT + 1)
    assert cxml.status == 413 and b'<Status code="413"' in cxml.body, cxml.body
    assert edge.app.received == 0
    # Within its limit, the same cXML route reads the body (and says what is wrong with it).
    fits = await edge.send("POST", "/orders", headers={**CXML, **key}, total=JSON_LIMIT + 1)
    assert fits.status == 400 and edge.app.received == JSON_LIMIT + 1, fits.body


async def test_a_body_that_grows_past_its_limit_is_cut_off_while_it_is_read(
    edge: Edge, demo_keys: dict[str, str]
) -> None:
    key = {"Authorization": f"Bearer {demo_keys['account_rep']}"}
    edge.app.reset()
    total = 8_000_000
    answer = await edge.send("POST", "/csrs", headers={**JSON, **key}, total=total, declare=False)
    assert answer.status == 413, answer.body
    assert f"larger than {JSON_LIMIT} bytes".encode() in answer.body
    # No more than the limit and what one read of the socket brings.
    assert JSON_LIMIT < edge.app.received <= JSON_LIMIT + 256 * KIB
    assert answer.sent < total and answer.headers["connection"] == "close"


async def test_a_webhook_is_cut_off_at_its_limit_before_its_signature_is_checked(
    edge: Edge,
) -> None:
    edge.app.reset()
    total = 8_000_000
    answer = await edge.send(
        "POST", "/webhooks/erp", headers={**JSON, "X-Signature": "t=1,v1=00"}, total=total,
        declare=False,
    )  # fmt: skip
    assert answer.status == 413, answer.body
    assert edge.app.received <= WEBHOOK_BYTES + 256 * KIB
    declared = await edge.send("POST", "/webhooks/erp", headers=JSON, total=WEBHOOK_BYTES + 1)
    assert declared.status == 413 and edge.app.received <= WEBHOOK_BYTES + 256 * KIB


async def test_a_page_form_without_a_session_goes_to_sign_in_unread(edge: Edge) -> None:
    edge.app.reset()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = await edge.send("POST", "/app/tasks/order-1-PO-1%3Ahold/decide", headers=form,
                             total=HUGE)  # fmt: skip
    assert answer.status == 303, answer.body
    assert answer.headers["location"].startswith("/app/login?next=")
    assert edge.app.received == 0 and answer.headers["connection"] == "close"
    # The sign-in form is read without a session, but only so much of it.
    big = await edge.send("POST", "/app/login", headers=form, total=HUGE)
    assert big.status == 413 and edge.app.received == 0
