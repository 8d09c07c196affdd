"""Orders and reports the tests build, matching the demo reference data."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from domain.identity import Actor, Role
from domain.order.models import (
    Address,
    OrderLine,
    ProofOfDelivery,
    PurchaseOrder,
    Shipment,
    ShipmentLine,
    ShipmentReport,
)
from domain.order.state import OrderPolicy, StartOrder

NETWORK = Actor(person_id="punchout-network", roles=frozenset({Role.SYSTEM}))
BRANCH = Actor(person_id="bob.ortiz", roles=frozenset({Role.BRANCH_MANAGER}))
REP = Actor(person_id="maria.lopez", roles=frozenset({Role.ACCOUNT_REP}))


def propetro_order(po: str = "4500123", **changes: object) -> PurchaseOrder:
    order = PurchaseOrder(
        account_number="401693",
        po_number=po,
        ship_to=Address(address_id="PP-ODESSA", name="Propetro Services — Odessa Yard"),
        lines=[
            OrderLine(line_number=1, customer_part_number="PP-BOLT-12", supplier_part_id="HX-1001",
                      quantity=Decimal(100), uom="EA", unit_price=Decimal("2.35")),
            OrderLine(line_number=2, customer_part_number="PP-GASKET",
                      quantity=Decimal(2), uom="CS", unit_price=Decimal("49.20")),
            OrderLine(line_number=3, supplier_part_id="PV-3300",
                      quantity=Decimal(1), uom="EA", unit_price=Decimal("189.00")),
        ],
    )  # fmt: skip
    return order.model_copy(update=changes)


def start(order: PurchaseOrder, **policy: object) -> StartOrder:
    return StartOrder(order=order, policy=OrderPolicy(**policy), submitted_by=NETWORK)


def shipment(
    shipment_id: str, *lines: tuple[int, int | str], actor: Actor = BRANCH
) -> ShipmentReport:
    return ShipmentReport(
        actor=actor,
        shipment=Shipment(
            shipment_id=shipment_id,
            lines=[ShipmentLine(line_number=n, quantity=Decimal(q)) for n, q in lines],
            proof_of_delivery=ProofOfDelivery(
                signed_by="J. Ruiz", signed_at=datetime(2026, 11, 26, 15, tzinfo=UTC)
            ),
        ),
    )


EVERYTHING = ((1, 100), (2, 2), (3, 1))
