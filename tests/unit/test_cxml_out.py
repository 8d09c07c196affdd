"""The cXML documents sent to the buyer: valid against the DTD kept in the
repository (lxml, network access off), and their amounts reconcile to the order."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from lxml import etree

from domain.order import buyer_documents as bd
from domain.order.buyer_documents import BuyerDocument, DocumentKind
from domain.order.cxml import parse_order_request, sample_order_request
from domain.order.cxml_out import Parties, Party, dtd_path, render
from domain.order.fixes import LineFix, OrderFixes
from domain.order.models import (
    Invoice,
    InvoicedLine,
    ProofOfDelivery,
    PurchaseOrder,
    ResolvedLine,
    Shipment,
    ShipmentLine,
)

NOW = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
PARTIES = Parties(
    supplier=Party(domain="DUNS", identity="123456789"),
    buyer=Party(domain="NetworkID", identity="AN01000401693"),
    shared_secret="supplier-secret",
)


def validate(xml: str) -> etree._Element:
    """Parse without loading or fetching the DOCTYPE's DTD; validate against ours."""
    parser = etree.XMLParser(
        load_dtd=False, no_network=True, resolve_entities=False, dtd_validation=False
    )
    root = etree.fromstring(xml.encode(), parser)
    dtd = etree.DTD(str(dtd_path()))
    assert dtd.validate(root), dtd.error_log.filter_from_errors()
    return root


def order() -> PurchaseOrder:
    return parse_order_request(sample_order_request()).to_purchase_order("401693")


RESOLVED = [
    ResolvedLine(line_number=1, part_id="HX-1001", pool_id="P", uom="EA", quantity=Decimal(100),
                 unit_price=Decimal("2.35")),
    ResolvedLine(line_number=2, part_id="GS-2040", pool_id="P", uom="CS", quantity=Decimal(2),
                 unit_price=Decimal("49.20")),
    ResolvedLine(line_number=3, part_id="PV-3300", pool_id="P", uom="EA", quantity=Decimal(1),
                 unit_price=Decimal("189.00")),
]  # fmt: skip


def document(kind: DocumentKind, po: PurchaseOrder, **content: object) -> BuyerDocument:
    return BuyerDocument(
        payload_id=bd.payload_id(f"order-401693-{po.po_number}:run:{kind}"),
        kind=kind,
        event=str(kind),
        order_id=po.workflow_id,
        account_number=po.account_number,
        po_number=po.po_number,
        order_payload_id=po.payload_id,
        order_date=po.order_date,
        currency=po.currency,
        test=po.test,
        created_at=NOW,
        **content,
    )


def shipment(shipment_id: str, lines: dict[int, str], **extra: object) -> Shipment:
    return Shipment(
        shipment_id=shipment_id,
        lines=[ShipmentLine(line_number=n, quantity=Decimal(q)) for n, q in lines.items()],
        proof_of_delivery=ProofOfDelivery(signed_by="J. Doe", signed_at=NOW),
        **extra,
    )


def test_accept_confirmation_is_valid_and_references_the_po() -> None:
    po = order()
    conf = bd.confirmation(po, po)
    assert conf.type == "accept" and conf.items == []
    assert conf.total == Decimal("522.40")  # the PO's own Total
    root = validate(render(document(DocumentKind.CONFIRMATION, po, confirmation=conf), PARTIES))
    header = root.find("Request/ConfirmationRequest/ConfirmationHeader")
    assert header.get("type") == "accept"
    ref = root.find("Request/ConfirmationRequest/OrderReference")
    assert ref.get("orderID") == "4500123"
    assert ref.find("DocumentReference").get("payloadID") == po.payload_id
    assert root.find("Header/To/Credential/Identity").text == "AN01000401693"
    assert root.find("Request").get("deploymentMode") == "production"


def test_detail_confirmation_lists_changed_and_rejected_lines() -> None:
    po = order()
    fixes = OrderFixes(
        lines={
            1: LineFix(unit_price=Decimal("2.10")),
            2: LineFix(uom="EA", quantity=Decimal(24)),
            3: LineFix(rejected=True),
        }
    )
    conf = bd.confirmation(po, fixes.applied(po))
    assert conf.type == "detail"
    assert [(i.line_number, i.status) for i in conf.items] == [
        (1, "detail"), (2, "detail"), (3, "reject"),
    ]  # fmt: skip
    assert conf.total == Decimal("2.10") * 100 + Decimal("98.40")
    root = validate(render(document(DocumentKind.CONFIRMATION, po, confirmation=conf), PARTIES))
    items = root.findall("Request/ConfirmationRequest/ConfirmationItem")
    price = items[0].find("ConfirmationStatus/UnitPrice/Money")
    assert (price.text, price.get("currency")) == ("2.10", "USD")
    unit = items[1].find("ConfirmationStatus")
    assert (unit.get("quantity"), unit.find("UnitOfMeasure").text) == ("24", "EA")
    assert items[1].find("UnitOfMeasure").text == "CS"  # as ordered
    assert items[2].find("ConfirmationStatus").get("type") == "reject"


def test_reject_confirmation_of_a_test_order_is_a_test_document() -> None:
    po = order().model_copy(update={"test": True})
    conf = bd.rejection(po, "cancelled by the buyer")
    root = validate(render(document(DocumentKind.CONFIRMATION, po, confirmation=conf), PARTIES))
    assert root.find("Request").get("deploymentMode") == "test"
    header = root.find("Request/ConfirmationRequest/ConfirmationHeader")
    assert header.get("type") == "reject"
    assert header.find("Comments").text == "cancelled by the buyer"


def test_ship_notice_carries_carrier_tracking_and_shipped_lines() -> None:
    po = order()
    notice = bd.ship_notice(
        po, RESOLVED, shipment("S1", {1: "60", 3: "1"}, carrier="UPS", tracking_number="1Z999"),
        complete=False,
    )  # fmt: skip
    root = validate(render(document(DocumentKind.SHIP_NOTICE, po, ship_notice=notice), PARTIES))
    body = root.find("Request/ShipNoticeRequest")
    header = body.find("ShipNoticeHeader")
    assert header.get("shipmentID") == "S1" and header.get("fulfillmentType") == "partial"
    assert body.find("ShipControl/CarrierIdentifier").text == "UPS"
    assert body.find("ShipControl/ShipmentIdentifier").text == "1Z999"
    items = body.findall("ShipNoticePortion/ShipNoticeItem")
    assert [(i.get("lineNumber"), i.get("quantity")) for i in items] == [("1", "60"), ("3", "1")]
    assert items[0].find("ItemID/SupplierPartID").text == "HX-1001"
    assert items[0].find("ItemID/BuyerPartID").text == "PP-BOLT-12"
    assert body.find("ShipNoticePortion/OrderReference").get("orderID") == "4500123"


def test_ship_notice_without_a_carrier_has_no_ship_control() -> None:
    po = order()
    notice = bd.ship_notice(po, RESOLVED, shipment("S2", {2: "2"}), complete=True)
    root = validate(render(document(DocumentKind.SHIP_NOTICE, po, ship_notice=notice), PARTIES))
    assert root.find("Request/ShipNoticeRequest/ShipControl") is None
    header = root.find("Request/ShipNoticeRequest/ShipNoticeHeader")
    assert header.get("fulfillmentType") == "complete"


def iseries_invoice(number: str, shipment_id: str, lines: dict[int, tuple[str, str]],
                    tax_rate: Decimal) -> Invoice:  # fmt: skip
    billed = [InvoicedLine(line_number=n, quantity=Decimal(q), unit_price=Decimal(p))
              for n, (q, p) in lines.items()]  # fmt: skip
    subtotal = bd.money(sum((ln.quantity * ln.unit_price for ln in billed), Decimal(0)))
    tax = bd.money(subtotal * tax_rate)
    return Invoice(invoice_number=number, shipment_id=shipment_id, amount=subtotal + tax,
                   currency="USD", issued_at=NOW, lines=billed, subtotal=subtotal, tax=tax)  # fmt: skip


def test_two_invoices_reconcile_to_the_order() -> None:
    po = order()
    rate = Decimal("0.0825")
    first = iseries_invoice("INV-1", "S1", {1: ("60", "2.35"), 3: ("1", "189.00")}, rate)
    second = iseries_invoice("INV-2", "S2", {1: ("40", "2.35"), 2: ("2", "49.20")}, rate)
    details = [
        bd.invoice_detail(po, RESOLVED, shipment("S1", {1: "60", 3: "1"}), first, "p1@sopflow"),
        bd.invoice_detail(po, RESOLVED, shipment("S2", {1: "40", 2: "2"}), second),
    ]
    for detail in details:
        assert bd.reconciles(detail) is None
        root = validate(render(document(DocumentKind.INVOICE, po, invoice=detail), PARTIES))
        summary = root.find("Request/InvoiceDetailRequest/InvoiceDetailSummary")
        assert Decimal(summary.find("SubtotalAmount/Money").text) == detail.subtotal
        assert Decimal(summary.find("Tax/Money").text) == detail.tax
        assert Decimal(summary.find("NetAmount/Money").text) == detail.total
        items = root.findall("Request/InvoiceDetailRequest/InvoiceDetailOrder/InvoiceDetailItem")
        # Each billed line at the order's unit price.
        prices = {ln.line_number: ln.unit_price for ln in po.lines}
        for item in items:
            line = int(item.find("InvoiceDetailItemReference").get("lineNumber"))
            assert Decimal(item.find("UnitPrice/Money").text) == prices[line]
    # Together the invoices bill the whole order, plus its tax.
    assert sum(d.subtotal for d in details) == bd.order_total(po)
    assert sum(d.total for d in details) == sum(d.subtotal + d.tax for d in details)


def test_an_invoice_that_does_not_add_up_is_caught() -> None:
    po = order()
    bad = iseries_invoice("INV-9", "S1", {1: ("60", "2.35")}, Decimal(0)).model_copy(
        update={"amount": Decimal("999.00")}
    )
    detail = bd.invoice_detail(po, RESOLVED, shipment("S1", {1: "60"}), bad)
    assert "is not the total 999.00" in (bd.reconciles(detail) or "")


def test_payload_ids_are_stable_per_event_and_distinct_across_events() -> None:
    a = bd.payload_id("order-1-2:run:cxml:confirmation")
    assert a == bd.payload_id("order-1-2:run:cxml:confirmation")
    assert a != bd.payload_id("order-1-2:run:cxml:ship-notice:S1")
    assert a.endswith("@sopflow")


@pytest.mark.parametrize("secret", [None, "s3cret"])
def test_the_shared_secret_is_there_only_when_configured(secret: str | None) -> None:
    po = order()
    parties = PARTIES.model_copy(update={"shared_secret": secret})
    xml = render(document(DocumentKind.CONFIRMATION, po, confirmation=bd.confirmation(po, po)),
                 parties)  # fmt: skip
    root = validate(xml)
    found = root.find("Header/Sender/Credential/SharedSecret")
    assert (found.text if found is not None else None) == secret


def test_an_element_out_of_order_fails_the_dtd() -> None:
    """The DTD really checks: a Total after the Comments is refused."""
    po = order()
    conf = bd.rejection(po, "no")
    xml = render(document(DocumentKind.CONFIRMATION, po, confirmation=conf), PARTIES)
    start, end = xml.index("<Total>"), xml.index("</Total>") + len("</Total>")
    moved = xml[:start] + xml[end:].replace("</Comments>", "</Comments>" + xml[start:end], 1)
    root = etree.fromstring(moved.encode(), etree.XMLParser(load_dtd=False, no_network=True))
    assert not etree.DTD(str(dtd_path())).validate(root)
