"""cXML documents the supplier sends the buyer: ConfirmationRequest,
ShipNoticeRequest, InvoiceDetailRequest (cXML 1.2.060).

Pure: ``render`` turns a ``BuyerDocument`` (what the order decided to tell) and
the parties (who sends, who receives) into the document's text. The elements and
their order follow the DTD kept beside this module (``dtd/``), which the tests
validate every document against.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path
from xml.etree.ElementTree import Element, SubElement, tostring

from pydantic import BaseModel

from domain.order.buyer_documents import (
    BuyerDocument,
    Confirmation,
    DocumentKind,
    DocumentLine,
    InvoiceDetail,
    ShipNotice,
    money,
)

CXML_VERSION = "1.2.060"
_DTD_FILE = {
    DocumentKind.CONFIRMATION: "Fulfill.dtd",
    DocumentKind.SHIP_NOTICE: "Fulfill.dtd",
    DocumentKind.INVOICE: "InvoiceDetail.dtd",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def dtd_path() -> Path:
    """The DTD the documents are written to (the elements they use)."""
    return Path(str(resources.files("domain.order") / "dtd" / "cXML-1.2.060-buyer-documents.dtd"))


class Party(BaseModel):
    domain: str
    identity: str


class Parties(BaseModel):
    """From: the supplier; To: the buyer (its PunchOut credential); Sender: the
    supplier again, with the secret the buyer's network gave it (if any)."""

    supplier: Party
    buyer: Party
    shared_secret: str | None = None
    user_agent: str = "sopflow"


def render(doc: BuyerDocument, parties: Parties) -> str:
    root = Element(
        "cXML",
        {
            "payloadID": doc.payload_id,
            "timestamp": _when(doc.created_at),
            "version": CXML_VERSION,
            XML_LANG: "en-US",
        },
    )
    _header(root, parties)
    request = SubElement(root, "Request", {"deploymentMode": "test" if doc.test else "production"})
    if doc.kind == DocumentKind.CONFIRMATION:
        assert doc.confirmation is not None
        _confirmation(request, doc, doc.confirmation)
    elif doc.kind == DocumentKind.SHIP_NOTICE:
        assert doc.ship_notice is not None
        _ship_notice(request, doc, doc.ship_notice)
    else:
        assert doc.invoice is not None
        _invoice(request, doc, doc.invoice)
    dtd = f"http://xml.cxml.org/schemas/cXML/{CXML_VERSION}/{_DTD_FILE[doc.kind]}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE cXML SYSTEM "{dtd}">\n' + tostring(root, encoding="unicode") + "\n"
    )


def _header(root: Element, parties: Parties) -> None:
    header = SubElement(root, "Header")
    for tag, party in (("From", parties.supplier), ("To", parties.buyer)):
        _credential(SubElement(header, tag), party)
    sender = SubElement(header, "Sender")
    credential = _credential(sender, parties.supplier)
    if parties.shared_secret:
        SubElement(credential, "SharedSecret").text = parties.shared_secret
    SubElement(sender, "UserAgent").text = parties.user_agent


def _credential(holder: Element, party: Party) -> Element:
    credential = SubElement(holder, "Credential", {"domain": party.domain})
    SubElement(credential, "Identity").text = party.identity
    return credential


def _order_reference(holder: Element, doc: BuyerDocument) -> None:
    attrs = {"orderID": doc.po_number}
    if doc.order_date:
        attrs["orderDate"] = _when(doc.order_date)
    ref = SubElement(holder, "OrderReference", attrs)
    SubElement(ref, "DocumentReference", {"payloadID": doc.order_payload_id or ""})


def _confirmation(request: Element, doc: BuyerDocument, conf: Confirmation) -> None:
    body = SubElement(request, "ConfirmationRequest")
    header = SubElement(
        body,
        "ConfirmationHeader",
        {"confirmID": doc.payload_id, "type": conf.type.value, "noticeDate": _when(doc.created_at)},
    )
    _money(SubElement(header, "Total"), conf.total, doc.currency)
    if conf.comment:
        _comments(header, conf.comment)
    _order_reference(body, doc)
    for item in conf.items:
        element = SubElement(
            body,
            "ConfirmationItem",
            {"quantity": _number(item.quantity), "lineNumber": str(item.line_number)},
        )
        SubElement(element, "UnitOfMeasure").text = item.uom
        status = SubElement(
            element,
            "ConfirmationStatus",
            {"quantity": _number(item.confirmed_quantity), "type": item.status},
        )
        SubElement(status, "UnitOfMeasure").text = item.confirmed_uom
        if item.status == "detail" and item.unit_price is not None:
            _money(SubElement(status, "UnitPrice"), item.unit_price, doc.currency, cents=False)
        if item.comment:
            _comments(status, item.comment)


def _ship_notice(request: Element, doc: BuyerDocument, notice: ShipNotice) -> None:
    body = SubElement(request, "ShipNoticeRequest")
    SubElement(
        body,
        "ShipNoticeHeader",
        {
            "shipmentID": notice.shipment_id,
            "noticeDate": _when(doc.created_at),
            "shipmentDate": _when(notice.shipment_date),
            "shipmentType": "actual",
            "fulfillmentType": "complete" if notice.complete else "partial",
        },
    )
    if notice.carrier or notice.tracking_number:
        control = SubElement(body, "ShipControl")
        SubElement(control, "CarrierIdentifier", {"domain": "companyName"}).text = (
            notice.carrier or "unknown"
        )
        SubElement(control, "ShipmentIdentifier", {"domain": "trackingNumber"}).text = (
            notice.tracking_number or notice.shipment_id
        )
    portion = SubElement(body, "ShipNoticePortion")
    _order_reference(portion, doc)
    for line in notice.lines:
        item = SubElement(
            portion,
            "ShipNoticeItem",
            {"quantity": _number(line.quantity), "lineNumber": str(line.line_number)},
        )
        _item_id(item, line)
        SubElement(item, "UnitOfMeasure").text = line.uom


def _invoice(request: Element, doc: BuyerDocument, invoice: InvoiceDetail) -> None:
    body = SubElement(request, "InvoiceDetailRequest")
    header = SubElement(
        body,
        "InvoiceDetailRequestHeader",
        {
            "invoiceID": invoice.invoice_number,
            "purpose": "standard",
            "operation": "new",
            "invoiceDate": _when(invoice.invoice_date),
            "invoiceOrigin": "supplier",
        },
    )
    SubElement(header, "InvoiceDetailHeaderIndicator")
    SubElement(header, "InvoiceDetailLineIndicator")
    order = SubElement(body, "InvoiceDetailOrder")
    _order_reference(SubElement(order, "InvoiceDetailOrderInfo"), doc)
    if invoice.ship_notice_payload_id:
        SubElement(
            SubElement(order, "InvoiceDetailShipNoticeInfo"),
            "ShipNoticeIDInfo",
            {"shipNoticeID": invoice.shipment_id},
        )
    for n, line in enumerate(invoice.lines, start=1):
        item = SubElement(
            order,
            "InvoiceDetailItem",
            {"invoiceLineNumber": str(n), "quantity": _number(line.quantity)},
        )
        SubElement(item, "UnitOfMeasure").text = line.uom
        _money(SubElement(item, "UnitPrice"), line.unit_price, doc.currency, cents=False)
        ref = SubElement(item, "InvoiceDetailItemReference", {"lineNumber": str(line.line_number)})
        _item_id(ref, line)
        if line.description:
            SubElement(ref, "Description", {XML_LANG: "en"}).text = line.description
        _money(SubElement(item, "SubtotalAmount"), line.subtotal, doc.currency)
    summary = SubElement(body, "InvoiceDetailSummary")
    _money(SubElement(summary, "SubtotalAmount"), invoice.subtotal, doc.currency)
    tax = SubElement(summary, "Tax")
    _money(tax, invoice.tax, doc.currency)
    SubElement(tax, "Description", {XML_LANG: "en"}).text = "Sales tax"
    _money(SubElement(summary, "GrossAmount"), invoice.total, doc.currency)
    _money(SubElement(summary, "NetAmount"), invoice.total, doc.currency)
    _money(SubElement(summary, "DueAmount"), invoice.total, doc.currency)


def _item_id(holder: Element, line: DocumentLine) -> None:
    item_id = SubElement(holder, "ItemID")
    SubElement(item_id, "SupplierPartID").text = line.supplier_part_id
    if line.buyer_part_id:
        SubElement(item_id, "BuyerPartID").text = line.buyer_part_id


def _comments(holder: Element, text: str) -> None:
    SubElement(holder, "Comments", {XML_LANG: "en"}).text = text


def _money(holder: Element, amount: Decimal, currency: str, cents: bool = True) -> None:
    value = money(amount) if cents else amount
    SubElement(holder, "Money", {"currency": currency}).text = _number(value)


def _number(value: Decimal) -> str:
    text = format(value, "f")
    return text


def _when(at: datetime) -> str:
    return at.isoformat(timespec="seconds")
