"""iSeries: pick tickets and invoices at the branch, and direct order entry as
the fallback when OMS is down."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel

from activities.contracts import ActivityContract, system_retry
from domain.order.models import Invoice, PurchaseOrder, ResolvedLine, Shipment

_TRY = timedelta(seconds=30)


class PickTicketRequest(BaseModel):
    idempotency_key: str
    iseries_order_id: str
    branch_id: str


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


PRINT_PICK_TICKET = ActivityContract(
    name="iseries.print_pick_ticket",
    input=PickTicketRequest,
    output=PickTicket,
    system="iseries",
    start_to_close=_TRY,
    retry=system_retry(),
)
INVOICE_SHIPMENT = ActivityContract(
    name="iseries.invoice_shipment",
    input=InvoiceRequest,
    output=Invoice,
    system="iseries",
    start_to_close=_TRY,
    retry=system_retry(),
)
CREATE_ORDER = ActivityContract(
    name="iseries.create_order",
    input=IseriesCreateOrder,
    output=IseriesOrderRef,
    system="iseries",
    start_to_close=_TRY,
    retry=system_retry(),
)
