"""What people change to resolve an order's holds, and the evidence that lets a
PO price stand: pure models and rules, no I/O, no clock.

The workflow keeps one `OrderFixes` for the order, adds each accepted decision
to it, and re-runs validation with all of them (`reference.recheck_order`): a
fix is accepted when the hold it targets is gone from the result."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from domain.order.models import MAX_AMOUNT, HoldCode, OrderLine, PurchaseOrder, ResolvedLine

CENTS = Decimal(100)


class PriceEvidence(BaseModel):
    """A price the branch already agreed with the customer: an open quote or a
    processed invoice for the same account, part and unit, at the PO price."""

    kind: Literal["quote", "invoice"]
    reference: str  # quote id or invoice number
    unit_price: Decimal
    uom: str

    def describe(self) -> str:
        return f"{self.kind} {self.reference} at {self.unit_price} per {self.uom}"


class LineFix(BaseModel):
    """A person's fixes to one PO line; each None/False field leaves the line as sent."""

    # map_part: the part this line is, whatever the buyer's ids say.
    part_id: str | None = Field(default=None, min_length=1)
    # choose_pool: one of the part's pools at the ship-to branch.
    pool_id: str | None = Field(default=None, min_length=1)
    # fix_uom: a unit the part is sold in, and the quantity in it. A new unit
    # without a new price keeps the line's amount (2 CS at 49.20 → 24 EA at 4.10).
    uom: str | None = Field(default=None, min_length=1, max_length=10)
    quantity: Decimal | None = Field(default=None, gt=0, le=MAX_AMOUNT)
    # correct_price (must equal the contract price) or, with price_approved,
    # set_price (the team lead's price stands).
    unit_price: Decimal | None = Field(default=None, ge=0, le=MAX_AMOUNT)
    # approve_po_price (or set_price): the PRICE rule passes for this line.
    price_approved: bool = False
    # Resolved by a quote or invoice at the line's price: PRICE passes while the
    # line's unit and price still match it.
    price_evidence: PriceEvidence | None = None
    # reject_line: no rule applies; the line leaves the order's lines.
    rejected: bool = False

    def codes(self) -> list[HoldCode]:
        """The hold codes this fix is about, in rule order."""
        codes = []
        if self.part_id:
            codes.append(HoldCode.PART)
        if self.pool_id:
            codes.append(HoldCode.POOL)
        if self.uom or self.quantity is not None:
            codes.append(HoldCode.UOM)
        if self.unit_price is not None or self.price_approved or self.price_evidence:
            codes.append(HoldCode.PRICE)
        return codes

    def apply(self, line: OrderLine) -> OrderLine:
        """The line with its unit, quantity and price fixed."""
        uom = self.uom or line.uom
        quantity = self.quantity if self.quantity is not None else line.quantity
        if self.unit_price is not None:
            price = self.unit_price
        elif uom != line.uom:
            price = line.quantity * line.unit_price / quantity
        else:
            price = line.unit_price
        if (uom, quantity, price) == (line.uom, line.quantity, line.unit_price):
            return line
        return line.model_copy(update={"uom": uom, "quantity": quantity, "unit_price": price})


NO_FIX = LineFix()


class OrderFixes(BaseModel):
    """Every fix accepted so far on one order."""

    # choose_ship_to: one of the account's ship-to address ids.
    ship_to_address_id: str | None = Field(default=None, min_length=1)
    lines: dict[int, LineFix] = {}

    def line(self, line_number: int) -> LineFix:
        return self.lines.get(line_number, NO_FIX)

    def with_line(self, line_number: int, **changes: object) -> OrderFixes:
        """A copy with more fixes to one line (validated)."""
        merged = self.line(line_number).model_dump() | changes
        lines = dict(self.lines) | {line_number: LineFix.model_validate(merged)}
        return self.model_copy(update={"lines": lines})

    def applied(self, order: PurchaseOrder) -> PurchaseOrder:
        """The order as it now stands: rejected lines gone, units, quantities and
        prices fixed. What the branch ships against and the invoices bill."""
        lines = [self.line(n.line_number).apply(n) for n in order.lines]
        kept = [ln for ln in lines if not self.line(ln.line_number).rejected]
        if kept == order.lines:
            return order
        return order.model_construct(**{**dict(order), "lines": kept})

    def with_decision(self, decision: str, line_number: int, fields: BaseModel) -> OrderFixes:
        """These fixes plus a person's decision on a hold (domain/tasks.py names
        the decisions and their fields)."""
        f = fields.model_dump()
        match decision:
            case "map_part":
                return self.with_line(line_number, part_id=f["part_id"])
            case "choose_pool":
                return self.with_line(line_number, pool_id=f["pool_id"])
            case "fix_uom":
                return self.with_line(line_number, uom=f["uom"], quantity=f["quantity"])
            case "choose_ship_to":
                return self.model_copy(update={"ship_to_address_id": f["address_id"]})
            case "correct_price":
                return self.with_line(line_number, unit_price=f["unit_price"])
            case "approve_po_price":
                return self.with_line(line_number, price_approved=True)
            case "set_price":
                return self.with_line(line_number, unit_price=f["unit_price"], price_approved=True)
            case "reject_line":
                return self.with_line(line_number, rejected=True)
            case "recheck":
                return self
        raise ValueError(f"{decision!r} is not a fix")

    def problem(self, order: PurchaseOrder) -> str | None:
        """Why these fixes cannot apply to this order, or None."""
        known = {line.line_number for line in order.lines}
        unknown = sorted(set(self.lines) - known)
        if unknown:
            return f"the order has no line {', '.join(map(str, unknown))}"
        return None


# ------------------------------------------------------------------ price evidence


class QuoteRef(BaseModel):
    quote_id: str
    branch_id: str
    uom: str
    unit_price_cents: int
    valid_until: date


class InvoiceRef(BaseModel):
    invoice_number: str
    uom: str
    unit_price_cents: int
    invoiced_on: date


def price_in_cents(price: Decimal) -> int | None:
    cents = price * CENTS
    return int(cents) if cents == cents.to_integral_value() else None


def find_price_evidence(
    line: ResolvedLine,
    branch_id: str | None,
    quotes: list[QuoteRef],
    invoices: list[InvoiceRef],
    as_of: date,
) -> PriceEvidence | None:
    """The branch's open quote (valid on `as_of`), else a processed invoice, for
    the line's part in its unit at its price. The candidates are the account's
    for the line's part; the soonest-ending valid quote and the latest invoice win."""
    cents = price_in_cents(line.unit_price)
    if cents is None:
        return None
    price = Decimal(cents) / CENTS
    matching_quotes = sorted(
        (
            q
            for q in quotes
            if q.branch_id == branch_id
            and q.uom == line.uom
            and q.unit_price_cents == cents
            and q.valid_until >= as_of
        ),
        key=lambda q: (q.valid_until, q.quote_id),
    )
    if matching_quotes:
        return PriceEvidence(
            kind="quote", reference=matching_quotes[0].quote_id, unit_price=price, uom=line.uom
        )
    matching_invoices = sorted(
        (i for i in invoices if i.uom == line.uom and i.unit_price_cents == cents),
        key=lambda i: (i.invoiced_on, i.invoice_number),
        reverse=True,
    )
    if matching_invoices:
        return PriceEvidence(
            kind="invoice",
            reference=matching_invoices[0].invoice_number,
            unit_price=price,
            uom=line.uom,
        )
    return None
