"""Branch edits as pure rules: numbering new lines, what may be asked, and the
order as it stands once an edit is applied."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.order import edits
from domain.order.fixes import OrderFixes
from domain.order.models import EditLine, EditRequest, EditStatus
from tests.factories import propetro_order

NEW = EditLine(supplier_part_id="PV-3300", quantity=Decimal(2), uom="EA", unit_price=Decimal(189))


def request(**changes: object) -> EditRequest:
    base = EditRequest(
        request_id="E1", reason="r", requested_by="bob", requested_at=datetime.now(UTC)
    )
    return base.model_copy(update=changes)


def test_a_line_is_either_a_quantity_change_or_a_whole_new_line() -> None:
    with pytest.raises(ValidationError, match="sets its quantity only"):
        EditLine(line_number=1, quantity=Decimal(2), uom="CS")
    with pytest.raises(ValidationError, match="needs a customer_part_number"):
        EditLine(quantity=Decimal(2), uom="EA", unit_price=Decimal(1))
    with pytest.raises(ValidationError, match="needs a uom and a unit_price"):
        EditLine(supplier_part_id="X", quantity=Decimal(2))


def test_new_lines_are_numbered_after_every_line_taken() -> None:
    numbered = edits.number_new_lines(
        [EditLine(line_number=1, quantity=Decimal(5)), NEW, NEW], [3, 5]
    )
    assert [ln.line_number for ln in numbered] == [6, 7]


def test_what_a_branch_may_ask() -> None:
    order = propetro_order()
    delivered = {1: Decimal(60)}
    q = lambda n, v: EditLine(line_number=n, quantity=Decimal(v))  # noqa: E731
    assert edits.request_problem(order, delivered, [q(1, 60), NEW]) is None
    assert edits.request_problem(order, delivered, [q(1, 59)]) == (
        "line 1: 60 already delivered; the quantity cannot go below it"
    )
    assert edits.request_problem(order, {}, [q(4, 1)]) == "line 4 is not on the order"
    assert (
        edits.request_problem(order, {}, [q(3, 2), q(3, 3)]) == "line 3 appears twice in the edit"
    )


def test_an_applied_edit_is_part_of_the_order_as_it_stands() -> None:
    order = propetro_order()
    added = edits.number_new_lines([NEW], [1, 2, 3])
    applied = request(quantities={1: Decimal(120)}, new_lines=added, status=EditStatus.APPLIED)
    pending = request(request_id="E2", new_lines=added)
    assert edits.added_lines([applied, pending]) == added
    fixes = edits.edited_fixes(OrderFixes(), order, applied)
    current = fixes.applied(edits.with_added(order, edits.added_lines([applied])))
    assert [(ln.line_number, ln.quantity, ln.unit_price) for ln in current.lines] == [
        (1, 120, Decimal("2.35")), (2, 2, Decimal("49.20")), (3, 1, 189), (4, 2, 189),
    ]  # fmt: skip


def test_a_new_quantity_on_a_line_with_a_fixed_unit_keeps_its_unit_price() -> None:
    order = propetro_order()
    fixes = OrderFixes().with_line(2, uom="EA", quantity=Decimal(24))  # 2 CS → 24 EA at 4.10
    current = fixes.applied(order)
    edited = edits.edited_fixes(fixes, current, request(quantities={2: Decimal(30)}))
    line = edited.applied(order).lines[1]
    assert (line.uom, line.quantity, line.unit_price) == ("EA", 30, Decimal("4.10"))
