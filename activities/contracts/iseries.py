"""iSeries: pick tickets and invoices at the branch, and direct order entry as
the fallback when OMS is down."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel

from activities.contracts import system_call
from domain.order.models import Invoice, PurchaseOrder, ResolvedLine, Shipment

SYSTEM = "iseries"


class PickTicketRequest(BaseModel):
    idempotency_key: str
    iseries_order_id: str
    branch_id: str
    # The order's first ticket: one the branch already has for this iSeries
    # order is that ticket (a reprint after an edit sets False).
    first: bool = False


class PickTicket(BaseModel):
    pick_ticket_id: str
    branch_id: str
    printed_at: datetime


class InvoiceRequest(BaseModel):
    idempotency_key: str
    iseries_order_id: str
    order_ref: str
    currency: str
    shipment: Shipment
    unit_prices: dict[int, Decimal]


class IseriesCreateOrder(BaseModel):
    """Direct entry, approved by the CSC manager during an OMS outage."""

    idempotency_key: str
    order: PurchaseOrder
    lines: list[ResolvedLine]
    branch_id: str


class IseriesOrderRef(BaseModel):
    iseries_order_id: str


class IseriesCancelOrder(BaseModel):
    """The buyer withdrew an order entered in iSeries while OMS was down."""

    idempotency_key: str
    iseries_order_id: str


PRINT_PICK_TICKET = system_call("iseries.print_pick_ticket", PickTicketRequest, PickTicket, SYSTEM)
INVOICE_SHIPMENT = system_call("iseries.invoice_shipment", InvoiceRequest, Invoice, SYSTEM)
CREATE_ORDER = system_call("iseries.create_order", IseriesCreateOrder, IseriesOrderRef, SYSTEM)
CANCEL_ORDER = system_call("iseries.cancel_order", IseriesCancelOrder, IseriesOrderRef, SYSTEM)
