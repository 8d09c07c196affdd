"""iSeries stand-in: the branch's order system — orders, pick tickets, invoices.

Finding orders: `GET /iseries/orders?po_number=<PO>` answers every order
entered for that buyer's PO number, pushed by OMS or entered directly (oldest
first, with `cancelled_at` set on a cancelled one; `[]` when none), through an
index, so a resent PO can find the orders it already made;
`GET /iseries/orders?external_ref=<ref>` the same by sopflow's reference."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from simulators.idempotency import IdempotencyStore, Idempotent
from simulators.store import Kept, Records, Table

CENT = Decimal("0.01")


class Line(BaseModel):
    line_number: int = Field(ge=1)
    part_id: str
    pool_id: str
    uom: str
    quantity: Decimal = Field(gt=0)
    unit_price: Decimal = Field(ge=0)


class OrderIn(BaseModel):
    external_ref: str = Field(min_length=1)
    account_number: str
    po_number: str
    branch_id: str | None = None
    currency: str = "USD"
    lines: list[Line] = Field(min_length=1)
    test: bool = False


class IseriesOrder(OrderIn):
    iseries_order_id: str
    source: Literal["oms", "direct"]
    oms_order_id: str | None = None
    created_at: datetime
    # A cancelled order is not picked or invoiced any more.
    cancelled_at: datetime | None = None


class PickTicketIn(BaseModel):
    iseries_order_id: str
    branch_id: str


class PickTicket(BaseModel):
    pick_ticket_id: str
    iseries_order_id: str
    branch_id: str
    printed_at: datetime


class InvoiceLine(BaseModel):
    line_number: int = Field(ge=1)
    quantity: Decimal = Field(gt=0)
    unit_price: Decimal = Field(ge=0)


class InvoiceIn(BaseModel):
    iseries_order_id: str
    order_ref: str
    shipment_id: str
    currency: str = "USD"
    lines: list[InvoiceLine] = Field(min_length=1)


class Invoice(BaseModel):
    invoice_number: str
    iseries_order_id: str
    order_ref: str
    shipment_id: str
    subtotal: Decimal
    tax: Decimal
    # The total: subtotal plus tax.
    amount: Decimal
    currency: str
    lines: list[InvoiceLine]
    issued_at: datetime


class TaxRate(BaseModel):
    """The sales tax iSeries adds to each invoice (0.0825 for 8.25 %)."""

    rate: Decimal = Field(ge=0, lt=1)


class IseriesState:
    tax_rate = Kept(Decimal, Decimal(0))

    def __init__(self, records: Records) -> None:
        self.records = records
        self.orders: Table[str, IseriesOrder] = records.table(
            "orders", IseriesOrder, indexed=("po_number", "external_ref")
        )
        self.pick_tickets: Table[str, PickTicket] = records.table("pick_tickets", PickTicket)
        self.invoices: Table[str, Invoice] = records.table("invoices", Invoice)
        self.keys = IdempotencyStore(records)

    def add_order(
        self, order: OrderIn, source: Literal["oms", "direct"], oms_order_id: str | None = None
    ) -> IseriesOrder:
        """Also the entry point OMS uses when it releases an order."""
        created = IseriesOrder(
            **order.model_dump(),
            iseries_order_id=f"ISO-{len(self.orders) + 1:06d}",
            source=source,
            oms_order_id=oms_order_id,
            created_at=datetime.now(UTC),
        )
        self.orders[created.iseries_order_id] = created
        return created

    def order(self, iseries_order_id: str) -> IseriesOrder:
        try:
            return self.orders[iseries_order_id]
        except KeyError:
            raise HTTPException(404, detail=f"iSeries order {iseries_order_id} not found") from None

    def cancel(self, iseries_order_id: str) -> IseriesOrder:
        """Cancelling a cancelled order changes nothing."""
        order = self.order(iseries_order_id)
        if order.cancelled_at is None:
            order = order.model_copy(update={"cancelled_at": datetime.now(UTC)})
            self.orders[iseries_order_id] = order
        return order

    def print_pick_ticket(self, body: PickTicketIn) -> PickTicket:
        """Each print is a piece of paper at the branch: a reprint is a new ticket."""
        self.order(body.iseries_order_id)
        ticket = PickTicket(
            pick_ticket_id=f"PT-{len(self.pick_tickets) + 1:06d}",
            iseries_order_id=body.iseries_order_id,
            branch_id=body.branch_id,
            printed_at=datetime.now(UTC),
        )
        self.pick_tickets[ticket.pick_ticket_id] = ticket
        return ticket

    def add_invoice(self, body: InvoiceIn) -> Invoice:
        if self.order(body.iseries_order_id).cancelled_at is not None:
            raise HTTPException(409, detail=f"iSeries order {body.iseries_order_id} is cancelled")
        subtotal = sum((ln.quantity * ln.unit_price for ln in body.lines), Decimal(0)).quantize(
            CENT, rounding=ROUND_HALF_UP
        )
        tax = (subtotal * self.tax_rate).quantize(CENT, rounding=ROUND_HALF_UP)
        invoice = Invoice(
            invoice_number=f"INV-{len(self.invoices) + 1:06d}",
            subtotal=subtotal,
            tax=tax,
            amount=subtotal + tax,
            issued_at=datetime.now(UTC),
            **body.model_dump(),
        )
        self.invoices[invoice.invoice_number] = invoice
        return invoice


def _state(request: Request) -> IseriesState:
    return request.app.state.sim.iseries


router = APIRouter(prefix="/iseries", tags=["iseries"])


@router.post("/orders", status_code=201)
async def create_order(body: OrderIn, request: Request, key: Idempotent) -> IseriesOrder:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.add_order(body, source="direct"))


@router.get("/orders")
async def list_orders(
    request: Request, external_ref: str | None = None, po_number: str | None = None
) -> list[IseriesOrder]:
    """Every order, or those of one buyer's PO number or one sopflow reference
    (both given: orders with both), oldest first."""
    return _state(request).orders.where(po_number=po_number, external_ref=external_ref)


@router.get("/orders/{iseries_order_id}")
async def get_order(iseries_order_id: str, request: Request) -> IseriesOrder:
    return _state(request).order(iseries_order_id)


@router.post("/orders/{iseries_order_id}/cancel")
async def cancel_order(iseries_order_id: str, request: Request, key: Idempotent) -> IseriesOrder:
    state = _state(request)
    return key.once(state.keys, None, lambda: state.cancel(iseries_order_id))


@router.post("/pick-tickets", status_code=201)
async def print_pick_ticket(body: PickTicketIn, request: Request, key: Idempotent) -> PickTicket:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.print_pick_ticket(body))


@router.get("/pick-tickets")
async def list_pick_tickets(
    request: Request, iseries_order_id: str | None = None
) -> list[PickTicket]:
    tickets = _state(request).pick_tickets.values()
    return [
        t for t in tickets if iseries_order_id is None or t.iseries_order_id == iseries_order_id
    ]


@router.post("/invoices", status_code=201)
async def create_invoice(body: InvoiceIn, request: Request, key: Idempotent) -> Invoice:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.add_invoice(body))


@router.get("/invoices")
async def list_invoices(request: Request, order_ref: str | None = None) -> list[Invoice]:
    invoices = _state(request).invoices.values()
    return [i for i in invoices if order_ref is None or i.order_ref == order_ref]


@router.put("/tax-rate", summary="The sales tax rate added to new invoices")
async def put_tax_rate(body: TaxRate, request: Request) -> TaxRate:
    _state(request).tax_rate = body.rate
    return body
