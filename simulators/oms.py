"""Sterling OMS stand-in: orders are created (draft or confirmed), edited,
confirmed, released to iSeries, and cancelled.

Finding orders: `GET /oms/orders?po_number=<PO>` answers every order made for
that buyer's PO number (any status, oldest first; `[]` when none), through an
index, so a resent PO can find the orders it already made;
`GET /oms/orders?external_ref=<ref>` the same by sopflow's reference."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from simulators import iseries
from simulators.idempotency import IdempotencyStore, Idempotent
from simulators.store import Records, Table


class Line(iseries.Line):
    """A line as OMS keeps it. Not resolved: as the buyer sent it (their part
    number, no pool); a draft may carry it, a confirmed order may not."""

    resolved: bool = True


def _unresolved(lines: list[Line]) -> str | None:
    """Why an order with these lines cannot be confirmed, if it cannot."""
    open_lines = [f"line {ln.line_number} ({ln.part_id})" for ln in lines if not ln.resolved]
    if not open_lines:
        return None
    return f"unresolved lines cannot be confirmed: {', '.join(open_lines)}"


class OrderIn(BaseModel):
    external_ref: str = Field(min_length=1)
    account_number: str
    po_number: str
    branch_id: str | None = None
    currency: str = "USD"
    status: Literal["draft", "confirmed", "released"] = "draft"
    lines: list[Line] = Field(min_length=1)
    test: bool = False
    # An order entered in iSeries while OMS was down, put into OMS afterwards:
    # created released, with the iSeries order it already is (never pushed again).
    iseries_order_id: str | None = None


class IseriesLink(BaseModel):
    iseries_order_id: str = Field(min_length=1)


class OrderPatch(BaseModel):
    lines: list[Line] | None = Field(default=None, min_length=1)
    branch_id: str | None = None


class OmsOrder(BaseModel):
    oms_order_id: str
    external_ref: str
    account_number: str
    po_number: str
    branch_id: str | None
    currency: str
    status: Literal["draft", "confirmed", "released", "cancelled"]
    lines: list[Line]
    test: bool
    iseries_order_id: str | None = None
    created_at: datetime
    updated_at: datetime


class Release(BaseModel):
    oms_order_id: str
    status: Literal["released"] = "released"
    iseries_order_id: str


class OmsState:
    def __init__(self, records: Records) -> None:
        self.orders: Table[str, OmsOrder] = records.table(
            "orders", OmsOrder, indexed=("po_number", "external_ref")
        )
        self.keys = IdempotencyStore(records)

    def order(self, oms_order_id: str) -> OmsOrder:
        try:
            return self.orders[oms_order_id]
        except KeyError:
            raise HTTPException(404, detail=f"OMS order {oms_order_id} not found") from None

    def add_order(self, body: OrderIn) -> OmsOrder:
        problem = _unresolved(body.lines) if body.status != "draft" else None
        if problem:
            raise HTTPException(422, detail=problem)
        if (body.status == "released") != (body.iseries_order_id is not None):
            raise HTTPException(
                422, detail="an order is created released exactly when it names its iSeries order"
            )
        now = datetime.now(UTC)
        order = OmsOrder(
            oms_order_id=f"OMS-{len(self.orders) + 1:06d}",
            created_at=now,
            updated_at=now,
            **body.model_dump(),
        )
        self.orders[order.oms_order_id] = order
        return order

    def open_order(self, oms_order_id: str) -> OmsOrder:
        """An order that may still change: a cancelled one may not."""
        order = self.order(oms_order_id)
        if order.status == "cancelled":
            raise HTTPException(409, detail=f"order {oms_order_id} is cancelled")
        return order

    def cancel(self, oms_order_id: str) -> OmsOrder:
        """The buyer withdrew the PO. Cancelling again answers the same."""
        order = self.order(oms_order_id)
        if order.status != "cancelled":
            order = order.model_copy(
                update={"status": "cancelled", "updated_at": datetime.now(UTC)}
            )
            self.orders[oms_order_id] = order
        return order

    def confirm(self, oms_order_id: str) -> OmsOrder:
        order = self.open_order(oms_order_id)
        if order.status == "draft":
            problem = _unresolved(order.lines)
            if problem:
                raise HTTPException(409, detail=f"order {oms_order_id}: {problem}")
            order = order.model_copy(
                update={"status": "confirmed", "updated_at": datetime.now(UTC)}
            )
            self.orders[oms_order_id] = order
        return order

    def link_iseries(self, oms_order_id: str, iseries_order_id: str) -> OmsOrder:
        """An order entered in iSeries directly (OMS was down) that OMS already
        holds: it is released as that iSeries order, not pushed again."""
        order = self.open_order(oms_order_id)
        if order.iseries_order_id not in (None, iseries_order_id):
            raise HTTPException(
                409,
                detail=f"order {oms_order_id} is already iSeries order {order.iseries_order_id}",
            )
        problem = _unresolved(order.lines)
        if problem:
            raise HTTPException(409, detail=f"order {oms_order_id}: {problem}")
        order = order.model_copy(
            update={
                "status": "released",
                "iseries_order_id": iseries_order_id,
                "updated_at": datetime.now(UTC),
            }
        )
        self.orders[oms_order_id] = order
        return order

    def release(self, oms_order_id: str, branch_system: iseries.IseriesState) -> Release:
        order = self.open_order(oms_order_id)
        # An order is released once: asking again answers with the same iSeries order.
        if order.iseries_order_id is not None:
            return Release(oms_order_id=oms_order_id, iseries_order_id=order.iseries_order_id)
        if order.status != "confirmed":
            raise HTTPException(
                409,
                detail=f"order {oms_order_id} is {order.status}; only a confirmed order is released",
            )
        if not order.branch_id:
            raise HTTPException(409, detail=f"order {oms_order_id} has no branch to release to")
        # The real OMS pushes the order to iSeries; here both live in one process.
        pushed = branch_system.add_order(
            iseries.OrderIn(**order.model_dump(include=set(iseries.OrderIn.model_fields))),
            source="oms",
            oms_order_id=oms_order_id,
        )
        self.orders[oms_order_id] = order.model_copy(
            update={
                "status": "released",
                "iseries_order_id": pushed.iseries_order_id,
                "updated_at": datetime.now(UTC),
            }
        )
        return Release(oms_order_id=oms_order_id, iseries_order_id=pushed.iseries_order_id)


def _state(request: Request) -> OmsState:
    return request.app.state.sim.oms


router = APIRouter(prefix="/oms", tags=["oms"])


@router.post("/orders", status_code=201)
async def create_order(body: OrderIn, request: Request, key: Idempotent) -> OmsOrder:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.add_order(body))


@router.get("/orders")
async def list_orders(
    request: Request, external_ref: str | None = None, po_number: str | None = None
) -> list[OmsOrder]:
    """Every order, or those of one buyer's PO number or one sopflow reference
    (both given: orders with both), oldest first."""
    return _state(request).orders.where(po_number=po_number, external_ref=external_ref)


@router.get("/orders/{oms_order_id}")
async def get_order(oms_order_id: str, request: Request) -> OmsOrder:
    return _state(request).order(oms_order_id)


@router.patch("/orders/{oms_order_id}")
async def update_order(oms_order_id: str, body: OrderPatch, request: Request) -> OmsOrder:
    order = _state(request).open_order(oms_order_id)
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    if "lines" in changes and body.lines is None:
        raise HTTPException(422, detail="lines cannot be null")
    problem = _unresolved(body.lines) if body.lines and order.status != "draft" else None
    if problem:
        raise HTTPException(409, detail=f"order {oms_order_id} is {order.status}; {problem}")
    updated = order.model_copy(update={**changes, "updated_at": datetime.now(UTC)})
    _state(request).orders[oms_order_id] = updated
    # A released order's edits reach the branch too (the branch manager asked for them).
    if updated.iseries_order_id is not None:
        iseries_state: iseries.IseriesState = request.app.state.sim.iseries
        pushed = iseries_state.orders[updated.iseries_order_id]
        iseries_state.orders[updated.iseries_order_id] = pushed.model_copy(
            update={"lines": updated.lines, "branch_id": updated.branch_id}
        )
    return updated


@router.post("/orders/{oms_order_id}/confirm")
async def confirm_order(oms_order_id: str, request: Request, key: Idempotent) -> OmsOrder:
    state = _state(request)
    return key.once(state.keys, None, lambda: state.confirm(oms_order_id))


@router.post("/orders/{oms_order_id}/release")
async def release_order(oms_order_id: str, request: Request, key: Idempotent) -> Release:
    state = _state(request)
    return key.once(
        state.keys, None, lambda: state.release(oms_order_id, request.app.state.sim.iseries)
    )


@router.post("/orders/{oms_order_id}/cancel")
async def cancel_order(oms_order_id: str, request: Request, key: Idempotent) -> OmsOrder:
    state = _state(request)
    return key.once(state.keys, None, lambda: state.cancel(oms_order_id))


@router.post("/orders/{oms_order_id}/link-iseries")
async def link_iseries(
    oms_order_id: str, body: IseriesLink, request: Request, key: Idempotent
) -> OmsOrder:
    state = _state(request)
    return key.once(
        state.keys, body, lambda: state.link_iseries(oms_order_id, body.iseries_order_id)
    )
