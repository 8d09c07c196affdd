"""A branch's edits to an order whose pick ticket has printed: what may be asked,
and the order as it stands once edits are applied. Pure rules, no I/O.

A quantity change is one more fix to its line (`OrderFixes`), in the line's unit
as it stands; a new line joins the order as sent, numbered after every line the
order has had. Validation (`reference.recheck_order`) then runs on the result,
so delivery, invoicing and OMS all see the edited order."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from domain.order.fixes import OrderFixes
from domain.order.models import EditLine, EditRequest, EditStatus, OrderLine, PurchaseOrder


def number_new_lines(lines: list[EditLine], taken: Iterable[int]) -> list[OrderLine]:
    """The request's new lines as order lines, numbered after `taken`."""
    after = max(taken, default=0)
    new = [ln for ln in lines if ln.line_number is None]
    return [
        OrderLine(
            line_number=after + i,
            customer_part_number=ln.customer_part_number,
            supplier_part_id=ln.supplier_part_id,
            quantity=ln.quantity,
            uom=ln.uom or "",
            unit_price=ln.unit_price if ln.unit_price is not None else Decimal(0),
        )
        for i, ln in enumerate(new, start=1)
    ]


def quantities(lines: list[EditLine]) -> dict[int, Decimal]:
    return {ln.line_number: ln.quantity for ln in lines if ln.line_number is not None}


def problem(
    current: PurchaseOrder, delivered: dict[int, Decimal], changes: dict[int, Decimal]
) -> str | None:
    """Why these quantity changes cannot apply to the order as it stands, or None."""
    on_order = {ln.line_number: ln for ln in current.lines}
    for n, quantity in changes.items():
        line = on_order.get(n)
        if line is None:
            return f"line {n} is not on the order"
        if quantity == line.quantity:
            return f"line {n} already has quantity {line.quantity}"
        shipped = delivered.get(n, Decimal(0))
        if quantity < shipped:
            return f"line {n}: {shipped} already delivered; the quantity cannot go below it"
    return None


def request_problem(
    current: PurchaseOrder, delivered: dict[int, Decimal], lines: list[EditLine]
) -> str | None:
    """Why a branch's request cannot be taken as asked (before any reference check)."""
    changed = [ln.line_number for ln in lines if ln.line_number is not None]
    twice = sorted({n for n in changed if changed.count(n) > 1})
    if twice:
        return f"line {twice[0]} appears twice in the edit"
    return problem(current, delivered, quantities(lines))


def added_lines(requests: list[EditRequest]) -> list[OrderLine]:
    """The new lines of every applied edit."""
    return [line for r in requests if r.status == EditStatus.APPLIED for line in r.new_lines]


def with_added(order: PurchaseOrder, added: list[OrderLine]) -> PurchaseOrder:
    """The order as sent plus the lines branch edits added."""
    if not added:
        return order
    return order.model_construct(**{**dict(order), "lines": [*order.lines, *added]})


def edited_fixes(fixes: OrderFixes, current: PurchaseOrder, request: EditRequest) -> OrderFixes:
    """The fixes with the request's quantities. A line whose unit a person fixed
    keeps its unit price as it stands (else a new quantity would re-spread the
    line's amount)."""
    by_number = {ln.line_number: ln for ln in current.lines}
    for n, quantity in request.quantities.items():
        fix = fixes.line(n)
        if fix.uom is not None and fix.unit_price is None:
            fixes = fixes.with_line(n, quantity=quantity, unit_price=by_number[n].unit_price)
        else:
            fixes = fixes.with_line(n, quantity=quantity)
    return fixes
