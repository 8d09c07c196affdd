"""Shipment rules (domain/delivery.py): what a branch may report, and when an
order is fully delivered."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.order.delivery import (
    delivered as delivered_by,
)
from domain.order.delivery import (
    derived_shipment_id,
    fully_delivered,
    outstanding,
    shipment_problem,
)
from domain.order.models import (
    Address,
    OrderLine,
    ProofOfDelivery,
    PurchaseOrder,
    Shipment,
    ShipmentLine,
)

D = Decimal


def order() -> PurchaseOrder:
    """Line 1: 100 EA, line 2: 2 CS, line 3: 2.5 FT (pipe, by the foot)."""
    return PurchaseOrder(
        account_number="401693",
        po_number="4500123",
        ship_to=Address(address_id="PP-ODESSA"),
        lines=[
            OrderLine(line_number=1, supplier_part_id="HX-1001", quantity=D(100), uom="EA", unit_price=D("2.35")),
            OrderLine(line_number=2, supplier_part_id="GS-2040", quantity=D(2), uom="CS", unit_price=D("49.20")),
            OrderLine(line_number=3, supplier_part_id="PP-5150", quantity=D("2.5"), uom="FT", unit_price=D("3.12")),
        ],
    )  # fmt: skip


def shipment(*lines: tuple[int, str | int], shipment_id: str = "SH-1") -> Shipment:
    return Shipment(
        shipment_id=shipment_id,
        lines=[ShipmentLine(line_number=n, quantity=D(q)) for n, q in lines],
        proof_of_delivery=ProofOfDelivery(
            signed_by="J. Ruiz", signed_at=datetime(2026, 11, 26, 15, tzinfo=UTC)
        ),
    )


# --------------------------------------------------------------------------- outstanding


@pytest.mark.parametrize(
    ("delivered", "left"),
    [
        ({}, {1: D(100), 2: D(2), 3: D("2.5")}),
        ({1: D(60), 3: D("1.25")}, {1: D(40), 2: D(2), 3: D("1.25")}),
        ({1: D(100), 2: D(2)}, {3: D("2.5")}),  # fully delivered lines are left out
        ({1: D(100), 2: D(2), 3: D("2.5")}, {}),
    ],
    ids=["nothing-yet", "partial", "some-lines-done", "all-done"],
)
def test_outstanding_is_what_is_left_per_line(
    delivered: dict[int, Decimal], left: dict[int, Decimal]
) -> None:
    assert outstanding(order(), delivered) == left


# --------------------------------------------------------------------------- shipment_problem


@pytest.mark.parametrize(
    ("delivered", "lines"),
    [
        ({}, [(1, 100), (2, 2), (3, "2.5")]),
        ({}, [(1, 40)]),
        ({1: D(60)}, [(1, 40)]),  # exactly what remains
        ({3: D("1.25")}, [(3, "1.25")]),  # decimal quantities
    ],
    ids=["everything", "partial", "the-rest", "decimal"],
)
def test_acceptable_shipment_has_no_problem(delivered: dict[int, Decimal], lines: list) -> None:
    assert shipment_problem(order(), delivered, shipment(*lines)) is None


def test_shipment_of_a_line_not_on_the_order_is_refused() -> None:
    problem = shipment_problem(order(), {}, shipment((1, 10), (7, 1)))
    assert problem == "line 7 is not on the order"


def test_same_line_twice_in_one_shipment_is_refused() -> None:
    # Each 30 alone fits in the 100 ordered; the duplicate is the problem.
    problem = shipment_problem(order(), {}, shipment((1, 30), (2, 1), (1, 30)))
    assert problem == "line 1 appears twice in the shipment"


@pytest.mark.parametrize(
    ("delivered", "lines", "expected"),
    [
        ({1: D(60)}, [(1, 41)], "line 1: shipping 41 but only 40 remains to deliver"),
        ({}, [(2, 3)], "line 2: shipping 3 but only 2 remains to deliver"),
        ({2: D(2)}, [(2, 1)], "line 2: shipping 1 but only 0 remains to deliver"),
        ({3: D("1.25")}, [(3, "1.26")], "line 3: shipping 1.26 but only 1.25 remains to deliver"),
        ({}, [(3, "2.51")], "line 3: shipping 2.51 but only 2.5 remains to deliver"),
    ],
    ids=[
        "over-partial",
        "over-whole",
        "line-already-delivered",
        "decimal-over",
        "decimal-over-whole",
    ],
)
def test_over_shipping_is_refused_naming_what_remains(
    delivered: dict[int, Decimal], lines: list, expected: str
) -> None:
    assert shipment_problem(order(), delivered, shipment(*lines)) == expected


# --------------------------------------------------------------------------- apply / fully delivered


def test_delivered_sums_every_shipment_per_line() -> None:
    shipments = [shipment((1, 60), (3, "1.25")), shipment((1, 40), (2, 1), (3, "0.75"))]
    assert delivered_by(shipments) == {1: D(100), 2: D(1), 3: D("2.00")}
    assert delivered_by([]) == {}


def test_order_is_fully_delivered_only_when_every_line_is() -> None:
    o = order()
    shipped: list = []
    delivered: dict[int, Decimal] = {}
    for n, s in enumerate(
        [shipment((1, 60), (3, "1.25")), shipment((1, 40), (2, 2)), shipment((3, "1.25"))], start=1
    ):
        assert not fully_delivered(o, delivered)
        assert shipment_problem(o, delivered, s) is None, n
        shipped.append(s)
        delivered = delivered_by(shipped)
    assert fully_delivered(o, delivered)
    assert outstanding(o, delivered) == {}
    # nothing more may be shipped afterwards
    assert shipment_problem(o, delivered, shipment((3, "0.01"))) == (
        "line 3: shipping 0.01 but only 0 remains to deliver"
    )


def test_a_report_without_reference_is_known_again_by_its_content() -> None:
    report = {"lines": [{"line_number": 1, "quantity": D(5)}], "carrier": None}
    assert derived_shipment_id(report) == derived_shipment_id(dict(report))
    other = {**report, "lines": [{"line_number": 1, "quantity": D(6)}]}
    assert derived_shipment_id(report) != derived_shipment_id(other)
