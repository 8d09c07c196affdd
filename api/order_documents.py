"""The cXML documents of an order: what the buyer sent (OrderRequests) and what
the order sent back (confirmation, ship notices, invoices), with each one's
status and the buyer's answer; and one document's XML.

Its own router, included before api/orders.py's: `/orders/{id}` takes any path
(PO numbers may hold "/"), so these more specific routes must be matched first."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

import asyncpg
import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.auth import current_actor
from api.errors import ApiError, ErrorBody
from api.params import is_id, shown
from db import buyer_documents as queries
from db import read_model
from domain.identity import Actor
from domain.order.buyer_documents import listed_status
from domain.order.cxml import CxmlOrderRequest

router = APIRouter(prefix="/orders", tags=["orders"])
ORDER_ID = r"^order-[A-Za-z0-9_.]+-[^\x00-\x1f\x7f]+$"
log = structlog.get_logger()
# A buyer's secret never goes into what we keep.
_SECRET = re.compile(r"(<SharedSecret\b[^>]*>).*?(</SharedSecret>)", re.DOTALL)


class OrderDocument(BaseModel):
    payload_id: str
    direction: str  # received, sent
    kind: str
    event: str
    test: bool
    endpoint_url: str | None
    # received; pending, retrying, sent, refused, undelivered, not_sent
    status: str
    answer_code: int | None
    answer_text: str
    attempts: int
    created_at: datetime
    updated_at: datetime
    href: str


class OrderDocuments(BaseModel):
    order_id: str
    items: list[OrderDocument]


def _check(order_id: str) -> None:
    if not is_id(order_id, ORDER_ID):
        raise ApiError(
            404, f"{shown(order_id)} is not an order id (order-<account>-<po>)", "NotFound"
        )


@router.get(
    "/{order_id:path}/documents",
    response_model=OrderDocuments,
    summary="The order's cXML documents, received and sent, with their status and answer",
    responses={404: {"model": ErrorBody, "description": "no such order"}},
)
async def list_documents(
    request: Request, order_id: str, _: Annotated[Actor, Depends(current_actor)]
) -> OrderDocuments:
    _check(order_id)
    async with request.app.state.pool.acquire() as conn:
        rows = await queries.list_documents(conn, order_id)
        view = await read_model.get_view(conn, order_id)
    if not rows and view is None:
        raise ApiError(404, f"order {order_id} not found", "NotFound")
    # What the order decided since (a document it gave up on).
    decided = {
        d["payload_id"]: d["status"]
        for d in (view or {}).get("buyer_documents", [])
        if isinstance(d, dict)
    }
    # The order's href (its id percent-encoded whole, as api/orders.py gives it).
    base = f"/orders/{quote(order_id, safe='')}"
    return OrderDocuments(
        order_id=order_id,
        items=[
            OrderDocument(
                **{k: v for k, v in dict(r).items() if k not in ("is_test", "status")},
                status=listed_status(r["status"], decided.get(r["payload_id"])),
                test=r["is_test"],
                href=f"{base}/documents/{quote(r['payload_id'], safe='')}",
            )
            for r in rows
        ],
    )


@router.get(
    "/{order_id:path}/documents/{payload_id}",
    response_class=Response,
    summary="One cXML document of the order, as it was sent or received",
    responses={
        200: {"content": {"text/xml": {}}, "description": "the document"},
        404: {"model": ErrorBody, "description": "no such document on this order"},
    },
)
async def get_document(
    request: Request,
    order_id: str,
    payload_id: str,
    _: Annotated[Actor, Depends(current_actor)],
) -> Response:
    _check(order_id)
    if not is_id(payload_id):
        raise ApiError(404, f"{order_id} has no document {shown(payload_id)}", "NotFound")
    async with request.app.state.pool.acquire() as conn:
        xml = await queries.document_xml(conn, order_id, payload_id)
    if xml is None:
        raise ApiError(404, f"{order_id} has no document {payload_id}", "NotFound")
    return Response(xml, media_type="text/xml; charset=utf-8")


async def keep_received(
    request: Request,
    order_id: str,
    doc: CxmlOrderRequest,
    body: bytes,
    answer_code: int,
    answer_text: str,
) -> None:
    """Keep an OrderRequest the order took (its SharedSecret left out). Never
    fails the intake: the order is taken whether or not this is written."""
    xml = _SECRET.sub(r"\1***\2", body.decode("utf-8", errors="replace"))
    try:
        async with request.app.state.pool.acquire() as conn:
            await queries.keep_document(
                conn,
                order_id=order_id,
                payload_id=doc.payload_id,
                direction="received",
                kind="OrderRequest",
                event=doc.request_type,
                is_test=doc.deployment_mode == "test",
                endpoint_url=None,
                xml=xml,
                status="received",
                answer_code=answer_code,
                answer_text=answer_text,
            )
    except (OSError, asyncpg.PostgresError) as err:
        log.warning("received document not kept", order_id=order_id, error=repr(err))
