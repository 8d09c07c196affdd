"""cXML OrderRequest intake and cXML Response documents.

Pure: no I/O beyond reading the packaged sample. ``parse_order_request`` turns the
document a PunchOut network posts into a ``CxmlOrderRequest``; anything wrong with
it raises ``CxmlError`` (status 400 and a reason a person can act on).
``build_response`` writes the cXML ``Response`` the sender gets back.

XML safety: parsed with defusedxml. A DOCTYPE naming the external cXML DTD is
allowed (real documents carry one) but never fetched; any entity declaration
(internal, external, parameter or unparsed — so billion-laughs and XXE) is refused
before it is expanded, as is any external reference.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException, EntitiesForbidden, ExternalReferenceForbidden
from pydantic import BaseModel, ValidationError

from domain.order.models import Address, OrderLine, PurchaseOrder

__all__ = [
    "CXML_DTD",
    "STATUS_TEXT",
    "Credential",
    "CxmlError",
    "CxmlOrderRequest",
    "build_response",
    "parse_order_request",
    "sample_order_request",
]

CXML_DTD = "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd"
DEFAULT_MAX_BYTES = 1_000_000
# Networks send one From credential, sometimes a few (network id, DUNS, ...); a
# header with more is refused before any of them is looked up.
MAX_FROM_CREDENTIALS = 5

# Conventional cXML Status@text for the codes this service answers with.
STATUS_TEXT: dict[int, str] = {
    200: "OK",
    201: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    406: "Not Acceptable",
    409: "Conflict",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class CxmlError(Exception):
    """A document we will not take. ``status`` is the cXML Status code to answer
    with, ``text`` the human reason."""

    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"{status} {text}")
        self.status = status
        self.text = text


def _bad(text: str) -> CxmlError:
    return CxmlError(400, text)


class Credential(BaseModel):
    domain: str
    identity: str
    shared_secret: str | None = None

    def __repr__(self) -> str:  # never print a shared secret
        secret = ", shared_secret=***" if self.shared_secret is not None else ""
        return f"Credential(domain={self.domain!r}, identity={self.identity!r}{secret})"

    __str__ = __repr__


class CxmlOrderRequest(BaseModel):
    payload_id: str
    timestamp: str | None = None
    from_credential: Credential
    # Every From credential, in document order (networks often send several).
    from_credentials: list[Credential] = []
    sender: Credential
    user_agent: str | None = None
    deployment_mode: Literal["production", "test"] = "production"
    request_type: Literal["new", "update", "delete"] = "new"
    order_id: str
    order_date: datetime | None = None
    ship_to: Address
    bill_to: Address | None = None
    currency: str
    total: Decimal | None = None
    lines: list[OrderLine]
    comments: str = ""
    extrinsics: dict[str, str] = {}

    def to_purchase_order(self, account_number: str) -> PurchaseOrder:
        try:
            return PurchaseOrder(
                account_number=account_number,
                po_number=self.order_id,
                order_date=self.order_date,
                ship_to=self.ship_to,
                bill_to=self.bill_to,
                currency=self.currency,
                lines=self.lines,
                comments=self.comments,
                extrinsics=self.extrinsics,
                test=self.deployment_mode == "test",
                payload_id=self.payload_id,
            )
        except ValidationError as exc:
            raise _bad(_describe_order_errors(exc)) from None


# --------------------------------------------------------------------------- parsing

_POSITION_SUFFIX = re.compile(r":\s*line \d+, column \d+\s*$")


def parse_order_request(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> CxmlOrderRequest:
    """Parse a cXML OrderRequest document; raise ``CxmlError`` (400) if it is not one
    we can take."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("parse_order_request takes the raw document bytes")
    data = bytes(data)
    if len(data) > max_bytes:
        raise _bad(f"document is {len(data):,} bytes; the limit is {max_bytes:,}")
    if not data.strip():
        raise _bad("empty document")

    root = _parse_xml(data)
    _refuse_undefined_entity_references(data)
    _strip_namespaces(root)

    if root.tag != "cXML":
        raise _bad(f"root element is <{root.tag}>, expected <cXML>")
    payload_id = (root.get("payloadID") or "").strip()
    if not payload_id:
        raise _bad("cXML has no payloadID")

    header = _child(root, "Header")
    if header is None:
        raise _bad("cXML has no Header")
    from_credentials = _credentials(header, "From")
    if _count(_child(header, "From"), "Credential") > MAX_FROM_CREDENTIALS:
        raise _bad(f"Header/From has more than {MAX_FROM_CREDENTIALS} Credentials")
    if not from_credentials:
        raise _bad("Header/From has no Credential with an Identity")
    sender_credentials = _credentials(header, "Sender")
    if not sender_credentials:
        raise _bad("Header/Sender has no Credential with an Identity")
    user_agent = _text(_child(_child(header, "Sender"), "UserAgent")) or None

    request = _child(root, "Request")
    if request is None:
        other = next((c.tag for c in root if c.tag not in ("Header", "Signature")), None)
        raise _bad(f"cXML has no Request (found {other})" if other else "cXML has no Request")
    mode = (request.get("deploymentMode") or "production").strip()
    if mode not in ("production", "test"):
        raise _bad(f"Request deploymentMode {mode!r} is not 'production' or 'test'")
    order = _child(request, "OrderRequest")
    if order is None:
        other = next(iter(request), None)
        found = f" (found {other.tag})" if other is not None else ""
        raise _bad(f"Request is not an OrderRequest{found}")

    ohdr = _child(order, "OrderRequestHeader")
    if ohdr is None:
        raise _bad("OrderRequest has no OrderRequestHeader")
    order_id = (ohdr.get("orderID") or "").strip()
    if not order_id:
        raise _bad("OrderRequestHeader has no orderID (the PO number)")
    request_type = (ohdr.get("type") or "new").strip()
    if request_type not in ("new", "update", "delete"):
        raise _bad(f"OrderRequestHeader type {request_type!r} is not 'new', 'update' or 'delete'")
    order_date = _order_date(ohdr.get("orderDate"))

    total_money = _child(_child(ohdr, "Total"), "Money")
    total = currency = None
    if total_money is not None:
        total = _decimal(_text(total_money), "OrderRequestHeader Total")
        currency = (total_money.get("currency") or "").strip() or None

    items = [c for c in order if c.tag == "ItemOut"]
    if not items:
        raise _bad("OrderRequest has no ItemOut")

    lines: list[OrderLine] = []
    seen: dict[int, int] = {}
    line_ship_tos: list[Address] = []
    for position, item in enumerate(items, start=1):
        line, line_currency = _order_line(item, position)
        if line.line_number in seen:
            raise _bad(
                f"ItemOut line {line.line_number} appears twice "
                f"(ItemOut #{seen[line.line_number]} and #{position})"
            )
        seen[line.line_number] = position
        if currency is None:
            currency = line_currency
        elif line_currency and line_currency != currency:
            raise _bad(
                f"ItemOut line {line.line_number}: unit price is in {line_currency}, "
                f"the order is in {currency}"
            )
        line_ship_to = _child(item, "ShipTo")
        if line_ship_to is not None:
            line_ship_tos.append(_address(line_ship_to, f"ItemOut line {line.line_number} ShipTo"))
        lines.append(line)
    if not currency:
        raise _bad("no currency: neither Total/Money nor UnitPrice/Money has a currency")

    ship_to_el = _child(ohdr, "ShipTo")
    if ship_to_el is not None:
        ship_to = _address(ship_to_el, "ShipTo")
    elif (
        line_ship_tos
        and len(line_ship_tos) == len(lines)
        and all(a == line_ship_tos[0] for a in line_ship_tos)
    ):
        ship_to = line_ship_tos[0]  # same ShipTo on every line instead of on the header
    elif line_ship_tos:
        raise _bad("ItemOut lines ship to different addresses; send one ShipTo per order")
    else:
        raise _bad("OrderRequestHeader has no ShipTo")
    bill_to_el = _child(ohdr, "BillTo")
    bill_to = _address(bill_to_el, "BillTo") if bill_to_el is not None else None

    extrinsics: dict[str, str] = {}
    for ext in ohdr:
        if ext.tag == "Extrinsic":
            name = (ext.get("name") or "").strip()
            if not name:
                raise _bad("OrderRequestHeader has an Extrinsic without a name")
            extrinsics[name] = _all_text(ext)

    comments = "\n".join(filter(None, (_comment_text(c) for c in ohdr if c.tag == "Comments")))

    try:
        result = CxmlOrderRequest(
            payload_id=payload_id,
            timestamp=(root.get("timestamp") or "").strip() or None,
            from_credential=from_credentials[0],
            from_credentials=from_credentials,
            sender=sender_credentials[0],
            user_agent=user_agent,
            deployment_mode=mode,
            request_type=request_type,
            order_id=order_id,
            order_date=order_date,
            ship_to=ship_to,
            bill_to=bill_to,
            currency=currency,
            total=total,
            lines=lines,
            comments=comments,
            extrinsics=extrinsics,
        )
    except ValidationError as exc:  # pragma: no cover - every field is checked above
        raise _bad(_describe_order_errors(exc)) from None
    # Everything but the account number is now known: check the order as the
    # workflow will see it, so a parsed request always converts.
    result.to_purchase_order("validation")
    return result


def _parse_xml(data: bytes) -> Element:
    try:
        # forbid_dtd=False: real documents carry <!DOCTYPE cXML SYSTEM "...cXML.dtd">.
        # forbid_entities / forbid_external stay on; the external DTD is never loaded.
        return SafeET.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except EntitiesForbidden as exc:
        what = "external entity" if exc.sysid or exc.pubid else "entity"
        raise _bad(
            f"entity declarations are not allowed ({what} {exc.name!r} declared in the DOCTYPE)"
        ) from None
    except ExternalReferenceForbidden:
        raise _bad("external references are not allowed in the document") from None
    except DefusedXmlException as exc:
        raise _bad(f"forbidden XML construct: {exc}") from None
    except ParseError as exc:
        line, column = exc.position
        reason = _POSITION_SUFFIX.sub("", str(exc))
        raise _bad(f"malformed XML at line {line}, column {column + 1}: {reason}") from None
    except LookupError as exc:  # unknown encoding in the XML declaration
        raise _bad(f"malformed XML: {exc}") from None
    except (ValueError, UnicodeError) as exc:
        raise _bad(f"malformed XML: {exc}") from None


# Markup in which '&name;' is not a reference: comments, CDATA sections, PIs.
_NOT_REFERENCES = re.compile(rb"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>", re.DOTALL)
_ENTITY_REFERENCE = re.compile(
    rb"&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);)([^;&<\s]{0,40});?"
)


def _refuse_undefined_entity_references(data: bytes) -> None:
    """With a DOCTYPE naming an external DTD (which is never loaded), expat silently
    drops an undeclared entity reference inside an attribute value, so
    ``orderID="45&x;00"`` would read as "4500". No entity can be declared here, so
    any reference but the predefined ones and character references is refused.
    (Checked on the bytes of ASCII-compatible encodings; cXML is UTF-8.)"""
    if b"&" not in data:
        return
    masked = _NOT_REFERENCES.sub(lambda m: b"\n" * m.group(0).count(b"\n"), data)
    found = _ENTITY_REFERENCE.search(masked)
    if found is not None:
        line = masked.count(b"\n", 0, found.start()) + 1
        name = found.group(1).decode("utf-8", "replace")
        raise _bad(f"malformed XML at line {line}: undefined entity &{name};")


def _strip_namespaces(root: Element) -> None:
    """cXML 1.2 has no namespace; tolerate a sender that adds a default one."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{"):
            el.tag = el.tag.split("}", 1)[1]


def _child(parent: Element | None, tag: str) -> Element | None:
    if parent is None:
        return None
    for c in parent:
        if c.tag == tag:
            return c
    return None


def _count(parent: Element | None, tag: str) -> int:
    return 0 if parent is None else sum(1 for c in parent if c.tag == tag)


def _text(el: Element | None) -> str:
    if el is None or el.text is None:
        return ""
    return el.text.strip()


def _all_text(el: Element | None) -> str:
    """All text inside ``el``, whitespace collapsed; "" for a missing element."""
    if el is None:
        return ""
    return " ".join("".join(el.itertext()).split())


def _comment_text(el: Element) -> str:
    """Comments text without its Attachment references."""
    parts = [el.text or ""]
    for c in el:
        if c.tag != "Attachment":
            parts.append("".join(c.itertext()))
        parts.append(c.tail or "")
    return "".join(parts).strip()


def _credentials(header: Element, party: str) -> list[Credential]:
    el = _child(header, party)
    if el is None:
        return []
    out = []
    for cred in el:
        if cred.tag != "Credential":
            continue
        identity = _all_text(_child(cred, "Identity"))
        if not identity:
            continue
        secret_el = _child(cred, "SharedSecret")
        out.append(
            Credential(
                domain=(cred.get("domain") or "").strip(),
                identity=identity,
                # a secret is compared byte for byte: trim, never collapse inner spaces
                shared_secret=(
                    "".join(secret_el.itertext()).strip() if secret_el is not None else None
                ),
            )
        )
    return out


def _order_date(value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"OrderRequestHeader orderDate {value!r} is not an ISO 8601 date") from None


def _decimal(value: str, what: str) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise _bad(f"{what} {value!r} is not a number") from None
    if not number.is_finite():
        raise _bad(f"{what} {value!r} is not a number")
    return number


def _address(holder: Element, what: str) -> Address:
    addr = _child(holder, "Address")
    if addr is None:
        raise _bad(f"{what} has no Address")
    postal = _child(addr, "PostalAddress")
    lines: list[str] = []
    city = state = postal_code = country = ""
    if postal is not None:
        for c in postal:
            if c.tag in ("DeliverTo", "Street"):
                text = _all_text(c)
                if text:
                    lines.append(text)
        city = _all_text(_child(postal, "City"))
        state_el = _child(postal, "State")
        state = _all_text(state_el)
        if not state and state_el is not None:
            state = (state_el.get("isoStateCode") or "").strip()
        postal_code = _all_text(_child(postal, "PostalCode"))
        country_el = _child(postal, "Country")
        if country_el is not None:
            country = (country_el.get("isoCountryCode") or "").strip() or _all_text(country_el)
    if not country:
        country = (addr.get("isoCountryCode") or "").strip()
    try:
        return Address(
            address_id=(addr.get("addressID") or "").strip(),
            name=_all_text(_child(addr, "Name")),
            lines=lines,
            city=city,
            state=state,
            postal_code=postal_code,
            country=country,
        )
    except ValidationError as exc:  # pragma: no cover - all fields are plain strings
        raise _bad(f"{what}: {_first_error(exc)}") from None


def _order_line(item: Element, position: int) -> tuple[OrderLine, str | None]:
    raw_number = (item.get("lineNumber") or "").strip()
    if raw_number:
        try:
            line_number = int(raw_number)
        except ValueError:
            raise _bad(
                f"ItemOut #{position}: lineNumber {raw_number!r} is not a whole number"
            ) from None
    else:
        line_number = position  # lineNumber is optional in the cXML DTD
    label = f"ItemOut line {line_number}"

    raw_qty = (item.get("quantity") or "").strip()
    if not raw_qty:
        raise _bad(f"{label}: quantity is missing")
    quantity = _decimal(raw_qty, f"{label}: quantity")

    item_id = _child(item, "ItemID")
    if item_id is None:
        raise _bad(f"{label}: no ItemID")
    supplier_part_id = _text(_child(item_id, "SupplierPartID")) or None
    buyer_part = _text(_child(item_id, "BuyerPartID"))

    detail = _child(item, "ItemDetail")
    if detail is None:
        raise _bad(f"{label}: no ItemDetail")
    money = _child(_child(detail, "UnitPrice"), "Money")
    if money is None:
        raise _bad(f"{label}: no UnitPrice/Money")
    raw_price = _text(money)
    if not raw_price:
        raise _bad(f"{label}: unit price is empty")
    unit_price = _decimal(raw_price, f"{label}: unit price")
    currency = (money.get("currency") or "").strip() or None
    uom = _text(_child(detail, "UnitOfMeasure"))
    if not uom:
        raise _bad(f"{label}: UnitOfMeasure is missing")
    desc_el = _child(detail, "Description")
    description = ""
    if desc_el is not None:
        # Description text, or its ShortName when the text is empty (cXML 1.2.0xx).
        description = " ".join((desc_el.text or "").split()) or _all_text(desc_el)

    try:
        line = OrderLine(
            line_number=line_number,
            customer_part_number=buyer_part,
            supplier_part_id=supplier_part_id,
            quantity=quantity,
            uom=uom,
            unit_price=unit_price,
            description=description,
        )
    except ValidationError as exc:
        raise _bad(f"{label}: {_first_error(exc)}") from None
    return line, currency


# ----------------------------------------------------------------- error wording

_FIELD_WORDS = {
    "line_number": "lineNumber",
    "customer_part_number": "BuyerPartID",
    "supplier_part_id": "SupplierPartID",
    "quantity": "quantity",
    "uom": "UnitOfMeasure",
    "unit_price": "unit price",
    "description": "Description",
    "po_number": "orderID",
    "account_number": "account number",
    "order_date": "orderDate",
    "ship_to": "ShipTo",
    "bill_to": "BillTo",
    "currency": "currency",
    "lines": "ItemOut lines",
    "comments": "Comments",
    "extrinsics": "Extrinsic",
}


def _clean_msg(msg: str) -> str:
    msg = msg.removeprefix("Value error, ")
    msg = re.sub(r"^line \d+: ", "", msg)  # the caller already names the line
    return msg


def _error_phrase(err: dict, field: str) -> str:
    """'<field> '<value>' <what is wrong>' for one pydantic error."""
    kind = err["type"]
    msg = _clean_msg(err["msg"])
    ctx = err.get("ctx") or {}
    if kind == "greater_than":
        msg = f"must be more than {ctx['gt']}"
    elif kind == "greater_than_equal":
        msg = f"must be at least {ctx['ge']}"
    elif kind == "string_too_short" and ctx.get("min_length") == 1:
        msg = "is missing"
    elif kind == "string_too_long":
        msg = f"is longer than {ctx['max_length']} characters"
    elif kind == "string_pattern_mismatch" and field == "po_number":
        msg = "may not hold control characters nor begin or end with a space"
    elif kind == "string_pattern_mismatch":
        msg = "may contain only letters, digits and _ . -"
    elif kind == "too_short" and field == "lines":
        msg = "are missing"
    elif kind == "too_long" and field == "lines":
        msg = f"are too many (at most {ctx['max_length']})"
    if not field:
        return msg
    value = err.get("input")
    # Text refused for what it holds is not echoed back.
    shown = (
        f" '{value}'"
        if isinstance(value, (str, int, Decimal)) and value != "" and kind != "free_text"
        else ""
    )
    return f"{_FIELD_WORDS.get(field, field)}{shown} {msg}"


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = next((str(p) for p in reversed(err["loc"]) if isinstance(p, str)), "")
    return _error_phrase(err, field)


def _describe_order_errors(exc: ValidationError) -> str:
    reasons = []
    for err in exc.errors():
        loc = err["loc"]
        if len(loc) >= 2 and loc[0] == "lines" and isinstance(loc[1], int):
            field = next((str(p) for p in reversed(loc[2:]) if isinstance(p, str)), "")
            reasons.append(f"ItemOut #{loc[1] + 1}: {_error_phrase(err, field)}")
        else:
            reasons.append(_error_phrase(err, str(loc[0]) if loc else ""))
    return "; ".join(reasons)


# ----------------------------------------------------------------- responses

# Characters XML 1.0 cannot carry at all; dropped rather than producing a broken document.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _escape_text(value: str) -> str:
    value = _XML_ILLEGAL.sub("", value)
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str) -> str:
    return (
        _escape_text(value)
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def build_response(
    status: int, text: str, body: str = "", *, payload_id: str, timestamp: datetime
) -> bytes:
    """A cXML Response document: ``<Status code=status text=text>body</Status>``.

    ``payload_id`` and ``timestamp`` stamp this Response (the caller owns the
    clock and the randomness); an empty ``text`` becomes the conventional one
    for ``status`` (200 "OK", 400 "Bad Request", ...)."""
    if not text:
        text = STATUS_TEXT.get(status, "")
    status_el = (
        f'<Status code="{int(status)}" text="{_escape_attr(text)}">{_escape_text(body)}</Status>'
        if body
        else f'<Status code="{int(status)}" text="{_escape_attr(text)}"/>'
    )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<!DOCTYPE cXML SYSTEM "{CXML_DTD}">\n'
        f'<cXML payloadID="{_escape_attr(payload_id)}" '
        f'timestamp="{timestamp.isoformat(timespec="seconds")}" xml:lang="en-US">\n'
        "  <Response>\n"
        f"    {status_el}\n"
        "  </Response>\n"
        "</cXML>\n"
    )
    return doc.encode("utf-8")


# ----------------------------------------------------------------- demo sample


def sample_order_request() -> bytes:
    """The demo OrderRequest (Propetro, PO 4500123) a new user posts with curl."""
    return resources.files("domain.order").joinpath("samples/order-request.xml").read_bytes()
