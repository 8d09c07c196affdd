"""What the order tells the buyer's procurement system: a confirmation when it is
confirmed (or refused, or cancelled), a ship notice per shipment, an invoice per
invoice. Pure: the order workflow builds each document's content here, and the
network activity renders it as cXML (domain/order/cxml_out.py) and delivers it.

Each document has a payloadID derived from the order's business key and the
event, so a retry or a crash resends the same document, never a second one.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from domain.order.models import Invoice, PurchaseOrder, ResolvedLine, Shipment

CENT = Decimal("0.01")


class DocumentKind(StrEnum):
    CONFIRMATION = "ConfirmationRequest"
    SHIP_NOTICE = "ShipNoticeRequest"
    INVOICE = "InvoiceDetailRequest"


class ConfirmationType(StrEnum):
    ACCEPT = "accept"  # confirmed as the buyer sent it
    DETAIL = "detail"  # confirmed; the lines that differ from the PO are listed
    REJECT = "reject"  # refused, or cancelled


class ConfirmedLine(BaseModel):
    """A line that differs from the PO: its changed unit, quantity or price, or rejected."""

    line_number: int
    # As ordered.
    quantity: Decimal
    uom: str
    status: Literal["detail", "reject"]
    # As confirmed (a `detail` line).
    confirmed_quantity: Decimal
    confirmed_uom: str
    unit_price: Decimal | None = None
    comment: str = ""


class Confirmation(BaseModel):
    type: ConfirmationType
    items: list[ConfirmedLine] = []
    total: Decimal
    comment: str = ""


class DocumentLine(BaseModel):
    """A shipped or invoiced line, with the parts' ids on both sides."""

    line_number: int
    quantity: Decimal
    uom: str
    supplier_part_id: str
    buyer_part_id: str = ""
    description: str = ""
    unit_price: Decimal = Decimal(0)
    subtotal: Decimal = Decimal(0)


class ShipNotice(BaseModel):
    shipment_id: str
    shipment_date: datetime
    carrier: str | None = None
    tracking_number: str | None = None
    # True when this shipment delivers the last of the order.
    complete: bool
    lines: list[DocumentLine]


class InvoiceDetail(BaseModel):
    invoice_number: str
    invoice_date: datetime
    shipment_id: str
    ship_notice_payload_id: str | None = None
    lines: list[DocumentLine]
    subtotal: Decimal
    tax: Decimal
    total: Decimal


class BuyerDocument(BaseModel):
    """One document for the buyer, as the workflow decided it (its content; the
    parties and the XML are the network activity's)."""

    payload_id: str
    kind: DocumentKind
    # What it tells, for people: "confirmation accept", "shipment S1", "invoice INV-1".
    event: str
    order_id: str
    account_number: str
    po_number: str
    # The buyer's OrderRequest it answers (OrderReference).
    order_payload_id: str | None = None
    order_date: datetime | None = None
    currency: str
    test: bool = False
    created_at: datetime
    confirmation: Confirmation | None = None
    ship_notice: ShipNotice | None = None
    invoice: InvoiceDetail | None = None


class DocumentStatus(StrEnum):
    PENDING = "pending"  # being delivered (retried on 5xx and timeouts)
    SENT = "sent"  # the buyer answered 2xx
    REFUSED = "refused"  # the buyer answered 4xx: a task for the rep
    UNDELIVERED = "undelivered"  # no answer within the patience: a task for the rep
    NOT_SENT = "not_sent"  # the account has no endpoint


class DocumentRecord(BaseModel):
    """A buyer document as the order keeps it."""

    payload_id: str
    kind: DocumentKind
    event: str
    status: DocumentStatus = DocumentStatus.PENDING
    # The buyer's answer: "200 OK", "403 Forbidden: unknown order".
    answer: str = ""
    # Kept until it has been delivered (or given up on).
    document: BuyerDocument | None = None
    # The payloadID of its latest send when that is not `payload_id`: a resend
    # after the buyer refused it is a new document (cXML), with an id of its own.
    sent_as: str | None = None


def payload_id(business_key: str) -> str:
    """A cXML payloadID for one event of one order: the same on every retry."""
    digest = hashlib.sha256(business_key.encode()).hexdigest()[:32]
    return f"{digest}@sopflow"


def resend_payload_id(first: str, refusals: int) -> str:
    """The payloadID of a document sent again after the buyer's `refusals`-th
    "no": a buyer answers a payloadID it has seen with its first answer, so
    each resend after a refusal is a new document; the same on every retry."""
    return payload_id(f"{first}:resend:{refusals}")


def money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT)


def order_total(order: PurchaseOrder) -> Decimal:
    return money(sum((ln.quantity * ln.unit_price for ln in order.lines), Decimal(0)))


def confirmation(sent: PurchaseOrder, current: PurchaseOrder) -> Confirmation:
    """`accept` when the order stands as the buyer sent it; `detail` listing the
    lines people's hold resolutions changed (unit, quantity, price) or rejected."""
    now = {ln.line_number: ln for ln in current.lines}
    items: list[ConfirmedLine] = []
    for line in sent.lines:
        kept = now.get(line.line_number)
        if kept is None:
            items.append(
                ConfirmedLine(
                    line_number=line.line_number,
                    quantity=line.quantity,
                    uom=line.uom,
                    status="reject",
                    confirmed_quantity=line.quantity,
                    confirmed_uom=line.uom,
                    comment="line rejected",
                )
            )
        elif (kept.quantity, kept.uom, kept.unit_price) != (
            line.quantity,
            line.uom,
            line.unit_price,
        ):
            items.append(
                ConfirmedLine(
                    line_number=line.line_number,
                    quantity=line.quantity,
                    uom=line.uom,
                    status="detail",
                    confirmed_quantity=kept.quantity,
                    confirmed_uom=kept.uom,
                    unit_price=kept.unit_price,
                    comment=_what_changed(line, kept),
                )
            )
    return Confirmation(
        type=ConfirmationType.DETAIL if items else ConfirmationType.ACCEPT,
        items=items,
        total=order_total(current),
    )


def _what_changed(sent: object, kept: object) -> str:
    parts = []
    for field, label in (("uom", "unit"), ("quantity", "quantity"), ("unit_price", "price")):
        before, after = getattr(sent, field), getattr(kept, field)
        if before != after:
            shown = money(after) if field == "unit_price" else after
            parts.append(f"{label} {before} → {shown}")
    return "; ".join(parts)


def rejection(order: PurchaseOrder, reason: str) -> Confirmation:
    return Confirmation(type=ConfirmationType.REJECT, total=order_total(order), comment=reason)


def _parts(current: PurchaseOrder, resolved: list[ResolvedLine]) -> dict[int, tuple[str, str, str]]:
    """line → (supplier part id, buyer part id, description)."""
    by_line = {ln.line_number: ln for ln in resolved}
    parts = {}
    for line in current.lines:
        found = by_line.get(line.line_number)
        supplier = (
            found.part_id
            if found and found.resolved
            else line.supplier_part_id or line.customer_part_number
        )
        parts[line.line_number] = (supplier, line.customer_part_number, line.description)
    return parts


def ship_notice(
    current: PurchaseOrder, resolved: list[ResolvedLine], shipment: Shipment, complete: bool
) -> ShipNotice:
    parts = _parts(current, resolved)
    uoms = {ln.line_number: ln.uom for ln in current.lines}
    return ShipNotice(
        shipment_id=shipment.shipment_id,
        shipment_date=shipment.proof_of_delivery.signed_at,
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        complete=complete,
        lines=[
            DocumentLine(
                line_number=ln.line_number,
                quantity=ln.quantity,
                uom=uoms[ln.line_number],
                supplier_part_id=parts[ln.line_number][0],
                buyer_part_id=parts[ln.line_number][1],
                description=parts[ln.line_number][2],
            )
            for ln in shipment.lines
        ],
    )


def invoice_detail(
    current: PurchaseOrder,
    resolved: list[ResolvedLine],
    shipment: Shipment,
    invoice: Invoice,
    ship_notice_payload_id: str | None = None,
) -> InvoiceDetail:
    """The invoice as iSeries computed it: its lines, unit prices, subtotal, tax
    and total (an invoice of an older order without its lines: the shipment's
    lines at the order's prices)."""
    parts = _parts(current, resolved)
    order_lines = {ln.line_number: ln for ln in current.lines}
    billed = (
        [(ln.line_number, ln.quantity, ln.unit_price) for ln in invoice.lines]
        if invoice.lines
        else [
            (ln.line_number, ln.quantity, order_lines[ln.line_number].unit_price)
            for ln in shipment.lines
        ]
    )
    lines = [
        DocumentLine(
            line_number=n,
            quantity=quantity,
            uom=order_lines[n].uom,
            supplier_part_id=parts[n][0],
            buyer_part_id=parts[n][1],
            description=parts[n][2],
            unit_price=price,
            subtotal=money(quantity * price),
        )
        for n, quantity, price in billed
    ]
    subtotal = (
        invoice.subtotal
        if invoice.subtotal is not None
        else money(sum((ln.subtotal for ln in lines), Decimal(0)))
    )
    return InvoiceDetail(
        invoice_number=invoice.invoice_number,
        invoice_date=invoice.issued_at,
        shipment_id=invoice.shipment_id,
        ship_notice_payload_id=ship_notice_payload_id,
        lines=lines,
        subtotal=subtotal,
        tax=invoice.tax,
        total=invoice.amount,
    )


def reconciles(detail: InvoiceDetail) -> str | None:
    """Why the invoice's amounts do not add up, or None."""
    lines = money(sum((ln.subtotal for ln in detail.lines), Decimal(0)))
    if lines != money(detail.subtotal):
        return f"lines add up to {lines}, subtotal is {detail.subtotal}"
    if money(detail.subtotal + detail.tax) != money(detail.total):
        return f"subtotal {detail.subtotal} + tax {detail.tax} is not the total {detail.total}"
    return None


def listed_status(stored: str, decided: str | None) -> str:
    """A sent document's status as the order's documents list shows it: the
    network activity's last word (pending, retrying, sent, refused, not_sent),
    unless the order has since given up on it (undelivered)."""
    if decided == DocumentStatus.UNDELIVERED and stored in ("pending", "retrying"):
        return DocumentStatus.UNDELIVERED.value
    return stored
