"""Shipment rules: what a branch may report against an order, and when it is done."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from domain.order.models import Invoice, PurchaseOrder, Shipment


def outstanding(order: PurchaseOrder, delivered: dict[int, Decimal]) -> dict[int, Decimal]:
    """Quantity still to deliver per line (lines fully delivered are left out)."""
    left = {
        line.line_number: line.quantity - delivered.get(line.line_number, Decimal(0))
        for line in order.lines
    }
    return {n: q for n, q in left.items() if q > 0}


def shipment_problem(
    order: PurchaseOrder, delivered: dict[int, Decimal], shipment: Shipment
) -> str | None:
    """Why this shipment cannot be accepted, or None."""
    left = outstanding(order, delivered)
    known = {line.line_number for line in order.lines}
    seen: set[int] = set()
    for line in shipment.lines:
        if line.line_number not in known:
            return f"line {line.line_number} is not on the order"
        if line.line_number in seen:
            return f"line {line.line_number} appears twice in the shipment"
        seen.add(line.line_number)
        remaining = left.get(line.line_number, Decimal(0))
        if line.quantity > remaining:
            return (
                f"line {line.line_number}: shipping {line.quantity} but only {remaining} "
                "remains to deliver"
            )
    return None


def delivered(shipments: list[Shipment]) -> dict[int, Decimal]:
    """Quantity delivered per line across shipments."""
    result: dict[int, Decimal] = {}
    for shipment in shipments:
        for line in shipment.lines:
            result[line.line_number] = result.get(line.line_number, Decimal(0)) + line.quantity
    return result


def fully_delivered(order: PurchaseOrder, delivered: dict[int, Decimal]) -> bool:
    return not outstanding(order, delivered)


def unit_prices(order: PurchaseOrder) -> dict[int, Decimal]:
    return {line.line_number: line.unit_price for line in order.lines}


def same_shipment(a: Shipment, b: Shipment) -> bool:
    return a.model_dump() == b.model_dump()


def invoice_for(invoices: list[Invoice], shipment_id: str) -> Invoice | None:
    return next((i for i in invoices if i.shipment_id == shipment_id), None)


def derived_shipment_id(content: dict[str, Any]) -> str:
    """A report without the branch's delivery reference is identified by its
    content (lines, proof of delivery, carrier), so a resend is still recognised."""
    body = json.dumps(content, sort_keys=True, default=str)
    return "SHP-" + hashlib.sha256(body.encode()).hexdigest()[:12].upper()
