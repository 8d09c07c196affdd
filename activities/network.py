"""The buyer's procurement network: render an order's document as cXML, keep it
in PostgreSQL, and post it to the buyer's endpoint (its PunchOut credential's).

The document is stored under its payloadID before it is posted and a retry
posts the stored one, so a crash between the post and the answer resends the
same document (which the buyer recognises by its payloadID), never a second."""

from __future__ import annotations

import asyncio
from typing import Self

import asyncpg
import defusedxml.ElementTree as SafeET
import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import network as contract
from activities.contracts.network import DocumentDelivered, SendDocument
from activities.http import SystemClient, activity_logger
from db import buyer_documents as queries
from domain.order.cxml_out import Parties, Party, render
from sopflow.config import Settings


class NetworkClient(SystemClient):
    """Posts cXML to whatever endpoint a buyer registered (absolute URLs)."""

    system = "network"
    supplier = Party(domain="DUNS", identity="123456789")
    shared_secret: str | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> Self:
        client = super().from_settings(settings, transport)
        client.supplier = Party(
            domain=settings.cxml_supplier_domain, identity=settings.cxml_supplier_identity
        )
        client.shared_secret = settings.cxml_shared_secret
        return client

    async def post_cxml(self, url: str, xml: str) -> tuple[int, str]:
        """The cXML Status (code, text) the buyer answered with. An answer that
        is not cXML (an HTTP error page, a proxy's 502) is a transport error and
        retryable, as cXML says."""
        try:
            async with asyncio.timeout(self.timeout):
                response = await self._http.post(
                    url, content=xml.encode(), headers={"Content-Type": "text/xml; charset=utf-8"}
                )
        except (TimeoutError, httpx.TimeoutException):
            raise self.unavailable(f"POST {url} timed out after {self.timeout:g}s") from None
        except httpx.TransportError as err:
            raise self.unavailable(f"POST {url} failed: {err!r}") from err
        try:
            status = SafeET.fromstring(response.content).find("Response/Status")
            code = int(status.get("code", ""))  # type: ignore[union-attr]
        except Exception:
            raise self.unavailable(
                f"POST {url} answered HTTP {response.status_code} without a cXML Status",
                response.status_code,
            ) from None
        text = " ".join(filter(None, [status.get("text", ""), (status.text or "").strip()]))  # type: ignore[union-attr]
        return code, text


class NetworkActivities:
    def __init__(self, pool: asyncpg.Pool, client: NetworkClient) -> None:
        self._pool = pool
        self.client = client

    @activity.defn(name=contract.SEND_DOCUMENT.name)
    async def send_document(self, req: SendDocument) -> DocumentDelivered:
        doc = req.document
        async with self._pool.acquire() as conn:
            found = await queries.buyer_endpoint(conn, doc.account_number)
            buyer = (
                Party(domain=found["domain"], identity=found["identity"])
                if found
                else Party(domain="AccountNumber", identity=doc.account_number)
            )
            parties = Parties(supplier=self.client.supplier, buyer=buyer)
            stored = await queries.keep_document(
                conn,
                order_id=doc.order_id,
                payload_id=doc.payload_id,
                direction="sent",
                kind=doc.kind.value,
                event=doc.event,
                is_test=doc.test,
                endpoint_url=found["endpoint_url"] if found else None,
                xml=render(doc, parties),
                status="pending" if found else "not_sent",
            )
        log = activity_logger().bind(payload_id=doc.payload_id, kind=doc.kind.value)
        if found is None:
            log.info("buyer document not sent: no endpoint", account=doc.account_number)
            return DocumentDelivered(outcome="no_endpoint")
        url = found["endpoint_url"]
        # The stored document, with the Sender's secret (never stored) when we have one.
        xml = (
            render(doc, parties.model_copy(update={"shared_secret": self.client.shared_secret}))
            if self.client.shared_secret
            else stored
        )
        try:
            code, text = await self.client.post_cxml(url, xml)
        except ApplicationError as err:
            await self._answer(doc.order_id, doc.payload_id, "retrying", None, err.message)
            raise
        if 200 <= code < 300:
            await self._answer(doc.order_id, doc.payload_id, "sent", code, text)
            log.info("buyer document sent", status_code=code, endpoint=url)
            return DocumentDelivered(
                outcome="sent", status_code=code, status_text=text, endpoint_url=url
            )
        if 400 <= code < 500:
            await self._answer(doc.order_id, doc.payload_id, "refused", code, text)
            # Logged once, by the worker, as the activity's refusal (sopflow/logs.py).
            raise ApplicationError(
                f"the buyer refused {doc.kind.value} {doc.payload_id} ({code}): {text}",
                {"status_code": code, "status_text": text},
                type=contract.REFUSED,
                non_retryable=True,
            )
        await self._answer(doc.order_id, doc.payload_id, "retrying", code, text)
        raise self.client.unavailable(f"the buyer answered {code}: {text}", code, text)

    async def _answer(
        self, order_id: str, payload_id: str, status: str, code: int | None, text: str
    ) -> None:
        async with self._pool.acquire() as conn:
            await queries.record_answer(conn, order_id, payload_id, status, code, text)
