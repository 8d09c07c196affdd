"""Retail ERP stand-in (Storis-like): the store's open sales orders, which
sopflow imports in bulk, and each order's audit comments log, which every
change to an order must update."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from simulators.idempotency import IdempotencyStore, Idempotent
from simulators.store import Records, Table

SALES_ORDER = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"


class ErpOrderIn(BaseModel):
    """An open sales order as the ERP exports it (what `POST /open-orders` takes)."""

    model_config = ConfigDict(extra="allow")

    store_id: str = Field(min_length=1, max_length=20)
    type: str
    guest: dict[str, Any]
    lines: list[dict[str, Any]] = Field(min_length=1)


class ErpOrder(ErpOrderIn):
    sales_order: str
    updated_at: datetime


class CommentIn(BaseModel):
    actor: str
    action: str
    comment: str = ""
    at: datetime


class Comment(CommentIn):
    comment_id: str


class CommentsIn(BaseModel):
    """Entries of the order's audit comments log, in order."""

    comments: list[CommentIn] = Field(min_length=1, max_length=500)


class CommentsAdded(BaseModel):
    comment_ids: list[str]


class ErpState:
    def __init__(self, records: Records) -> None:
        self.orders: Table[str, ErpOrder] = records.table("orders", ErpOrder)
        self.comments: Table[str, list[Comment]] = records.table("comments", list[Comment])
        self.keys = IdempotencyStore(records)

    def add_comments(self, sales_order: str, body: CommentsIn) -> CommentsAdded:
        log = self.comments.get(sales_order, [])
        ids = []
        for entry in body.comments:
            made = Comment(comment_id=f"{sales_order}-C{len(log) + 1}", **entry.model_dump())
            log.append(made)
            ids.append(made.comment_id)
        self.comments[sales_order] = log
        return CommentsAdded(comment_ids=ids)


def _state(request: Request) -> ErpState:
    return request.app.state.sim.erp


router = APIRouter(prefix="/erp", tags=["erp"])


@router.put("/open-orders/{sales_order}")
async def put_order(request: Request, body: ErpOrderIn, sales_order: str) -> ErpOrder:
    """Enter (or change) an open order, as a sale in the store does."""
    if not re.fullmatch(SALES_ORDER, sales_order):
        raise HTTPException(422, detail=f"{sales_order!r} is not a sales order number")
    fields = body.model_dump(exclude={"sales_order", "updated_at"})  # the path names it
    order = ErpOrder(sales_order=sales_order, updated_at=datetime.now(UTC), **fields)
    _state(request).orders[sales_order] = order
    return order


@router.get("/open-orders")
async def list_orders(
    request: Request,
    after: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[ErpOrder]:
    """Open orders in sales-order order; page with `after` (the last one seen)."""
    return _state(request).orders.page(after, limit)


@router.get("/open-orders/{sales_order}")
async def get_order(request: Request, sales_order: str) -> dict[str, Any]:
    state = _state(request)
    order = state.orders.get(sales_order)
    if order is None:
        raise HTTPException(404, detail=f"no open order {sales_order}")
    comments = [c.model_dump(mode="json") for c in state.comments.get(sales_order, [])]
    return {**order.model_dump(mode="json"), "comments": comments}


@router.post("/open-orders/{sales_order}/comments", status_code=201)
async def add_comments(
    request: Request, sales_order: str, body: CommentsIn, key: Idempotent
) -> CommentsAdded:
    """Append to the order's audit comments log (once per Idempotency-Key)."""
    state = _state(request)
    if sales_order not in state.orders:
        raise HTTPException(404, detail=f"no open order {sales_order}")
    return key.once(state.keys, body, lambda: state.add_comments(sales_order, body))
