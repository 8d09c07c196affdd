"""iSeries stand-in: the branch's order system — orders, pick tickets, invoices."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from simulators.idempotency import IdempotencyStore, Idempotent

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
    def __init__(self) -> None:
        self.orders: dict[str, IseriesOrder] = {}
        self.pick_tickets: dict[str, PickTicket] = {}
        self.invoices: dict[str, Invoice] = {}
        self.keys = IdempotencyStore()
        self.tax_rate = Decimal(0)

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
    """Orders by our reference or by the buyer's PO number (cancelled_at says which
    are cancelled)."""
    orders = _state(request).orders.values()
    return [
        o
        for o in orders
        if external_ref in (None, o.external_ref) and po_number in (None, o.po_number)
    ]


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
