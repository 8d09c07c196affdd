"""cXML OrderRequest parsing, XML safety and cXML Response documents."""

from __future__ import annotations

import sys
import tracemalloc
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import defusedxml.ElementTree as SafeET
import pytest

from api.errors import cxml_response
from domain.order.cxml import (
    STATUS_TEXT,
    CxmlError,
    CxmlOrderRequest,
    build_response,
    parse_order_request,
    sample_order_request,
)
from domain.order.models import PurchaseOrder

# --------------------------------------------------------------------------- helpers

# Records file opens and network use while a test has it switched on; audit hooks
# cannot be removed, so the hook is installed once and is a no-op otherwise.
_AUDIT: list[tuple[str, tuple]] | None = None


def _audit_hook(event: str, args: tuple) -> None:
    if _AUDIT is not None and (
        event == "open" or event.startswith("socket.") or event.startswith("urllib.")
    ):
        _AUDIT.append((event, args))


sys.addaudithook(_audit_hook)


@pytest.fixture
def audit():
    global _AUDIT
    _AUDIT = []
    try:
        yield _AUDIT
    finally:
        _AUDIT = None


def sample_text() -> str:
    return sample_order_request().decode("utf-8")


def mutate(old: str, new: str, count: int = 1) -> bytes:
    text = sample_text()
    assert old in text, old
    return text.replace(old, new, count).encode("utf-8")


def refused(data: bytes, **kwargs) -> CxmlError:
    with pytest.raises(CxmlError) as info:
        parse_order_request(data, **kwargs)
    assert info.value.status == 400
    return info.value


MINIMAL_HEADER = """
  <Header>
    <From><Credential domain="NetworkID"><Identity>AN01</Identity></Credential></From>
    <To><Credential domain="DUNS"><Identity>1</Identity></Credential></To>
    <Sender><Credential domain="NetworkID"><Identity>AN01</Identity>
      <SharedSecret>s</SharedSecret></Credential><UserAgent>t</UserAgent></Sender>
  </Header>"""


# --------------------------------------------------------------------------- the sample


def test_sample_parses_to_the_demo_order():
    req = parse_order_request(sample_order_request())

    assert isinstance(req, CxmlOrderRequest)
    assert req.payload_id == "20261120093005.4500123.1@propetro.coupahost.com"
    assert req.timestamp == "2026-11-20T09:30:05-06:00"
    assert (req.from_credential.domain, req.from_credential.identity) == (
        "NetworkID",
        "AN01000401693",
    )
    assert req.sender.identity == "AN01000401693"
    assert req.sender.shared_secret == "propetro-demo-secret"
    assert req.user_agent == "Coupa Procurement 1.0"
    assert req.deployment_mode == "production"
    assert req.request_type == "new"
    assert req.order_id == "4500123"
    assert req.order_date == datetime(2026, 11, 20, 9, 30, tzinfo=timezone(timedelta(hours=-6)))
    assert req.currency == "USD"
    assert req.comments
    assert req.extrinsics == {"CostCenter": "7710"}

    assert req.ship_to.address_id == "PP-ODESSA"
    assert req.ship_to.name == "Propetro Services — Odessa Yard"
    assert req.ship_to.lines == ["2401 W Interstate 20"]
    assert (req.ship_to.city, req.ship_to.state, req.ship_to.postal_code, req.ship_to.country) == (
        "Odessa",
        "TX",
        "79763",
        "US",
    )
    assert req.bill_to is not None
    assert req.bill_to.address_id == "PP-HQ"
    assert req.bill_to.name == "Propetro Services Inc."
    assert req.bill_to.lines == ["1706 S Midkiff Rd"]
    assert (req.bill_to.city, req.bill_to.state, req.bill_to.postal_code) == (
        "Midland",
        "TX",
        "79701",
    )

    got = [
        (
            ln.line_number,
            ln.supplier_part_id,
            ln.customer_part_number,
            ln.quantity,
            ln.uom,
            ln.unit_price,
        )
        for ln in req.lines
    ]
    assert got == [
        (1, "HX-1001", "PP-BOLT-12", Decimal("100"), "EA", Decimal("2.35")),
        (2, None, "PP-GASKET", Decimal("2"), "CS", Decimal("49.20")),
        (3, "PV-3300", "PP-VALVE-3", Decimal("1"), "EA", Decimal("189.00")),
    ]
    # exact decimals, not floats
    assert all(type(ln.unit_price) is Decimal for ln in req.lines)
    assert str(req.lines[1].unit_price) == "49.20"
    assert req.lines[0].description == "Hex bolt 1/2-13 x 3 grade 8"
    assert req.lines[1].description == "Spiral wound gasket 4in 600# (case of 12)"
    assert req.total == Decimal("522.40")
    assert sum(ln.quantity * ln.unit_price for ln in req.lines) == req.total


def test_sample_converts_to_purchase_order():
    po = parse_order_request(sample_order_request()).to_purchase_order("401693")
    assert isinstance(po, PurchaseOrder)
    assert po.account_number == "401693"
    assert po.po_number == "4500123"
    assert po.test is False
    assert po.payload_id == "20261120093005.4500123.1@propetro.coupahost.com"
    assert po.currency == "USD"
    assert po.extrinsics == {"CostCenter": "7710"}
    assert po.summary() == "PO 4500123 · 401693 · 3 lines"


def test_sample_carries_the_real_document_trimmings():
    text = sample_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">' in text
    assert "<!--" in text
    assert "<PCard " in text
    assert '<Credential domain="DUNS"><Identity>123456789</Identity></Credential>' in "".join(
        line.strip() for line in text.splitlines()
    )


def test_content_hash_ignores_payload_id():
    a = parse_order_request(sample_order_request()).to_purchase_order("401693")
    b = parse_order_request(
        mutate('payloadID="20261120093005.4500123.1@', 'payloadID="resent.2@')
    ).to_purchase_order("401693")
    assert a.payload_id != b.payload_id
    assert a.content_hash() == b.content_hash()


def test_credential_repr_hides_shared_secret():
    req = parse_order_request(sample_order_request())
    assert "propetro-demo-secret" not in repr(req.sender)
    assert "propetro-demo-secret" not in repr(req)


# --------------------------------------------------------------------------- real-world shapes

REAL_WORLD = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">
<?xml-stylesheet type="text/xsl" href="cxml.xsl"?>
<!-- generated by the buyer's procurement suite -->
<cXML payloadID="1700000000.123@ariba.example" timestamp="2026-11-20T15:30:00+00:00"
      version="1.2.014" xml:lang="en-US">
  <Header>
    <From>
      <Credential domain="NetworkID"><Identity> AN01000401693 </Identity></Credential>
      <Credential domain="PrivateID"><Identity>PROPETRO</Identity></Credential>
    </From>
    <To>
      <Credential domain="DUNS"><Identity>123456789</Identity></Credential>
      <Credential domain="NetworkID"><Identity>AN99999</Identity></Credential>
    </To>
    <Sender>
      <Credential domain="NetworkID">
        <Identity>AN01000000001</Identity>
        <SharedSecret>s3cr&#233;t</SharedSecret>
      </Credential>
      <UserAgent>Ariba Network V1.1</UserAgent>
    </Sender>
  </Header>
  <Request>
    <OrderRequest>
      <OrderRequestHeader orderID="PO-77/2026" orderDate="2026-11-20" type="new"
                          orderType="regular" orderVersion="1">
        <Total><Money currency="USD" alternateAmount="1.0" alternateCurrency="CAD">31.50</Money></Total>
        <ShipTo>
          <Address addressID="PP-ODESSA" isoCountryCode="US">
            <Name xml:lang="en">Propetro Odessa</Name>
            <PostalAddress name="default">
              <DeliverTo>Jane Roe</DeliverTo>
              <DeliverTo><![CDATA[Dock <2> & gate]]></DeliverTo>
              <Street>2401 W Interstate 20</Street>
              <Street>Building B</Street>
              <City>Odessa</City>
              <State isoStateCode="US-TX">TX</State>
              <PostalCode>79763</PostalCode>
              <Country isoCountryCode="US">United States</Country>
            </PostalAddress>
            <Email name="default">dock@propetro.example</Email>
            <Phone name="work"><TelephoneNumber><CountryCode isoCountryCode="US">1</CountryCode>
              <AreaOrCityCode>432</AreaOrCityCode><Number>5550100</Number></TelephoneNumber></Phone>
          </Address>
        </ShipTo>
        <BillTo>
          <Address addressID="PP-HQ">
            <Name xml:lang="en">Propetro Services Inc.</Name>
            <PostalAddress>
              <Street>1706 S Midkiff Rd</Street>
              <City>Midland</City>
              <State>TX</State>
              <PostalCode>79701</PostalCode>
              <Country>US</Country>
            </PostalAddress>
          </Address>
        </BillTo>
        <Shipping trackingDomain="FedEx">
          <Money currency="USD">0.00</Money>
          <Description xml:lang="en">Ground</Description>
        </Shipping>
        <Tax>
          <Money currency="USD">0.00</Money>
          <Description xml:lang="en">exempt</Description>
          <TaxDetail category="sales" purpose="tax">
            <TaxAmount><Money currency="USD">0.00</Money></TaxAmount>
          </TaxDetail>
        </Tax>
        <Payment>
          <PCard number="4111111111111111" expiration="2028-12-31" name="Propetro"/>
        </Payment>
        <Contact role="purchasingAgent" addressID="pa1">
          <Name xml:lang="en">Pat Buyer</Name>
          <Email>pat@propetro.example</Email>
        </Contact>
        <Comments xml:lang="en">Call before delivery.
          <Attachment><URL>cid:att1@propetro.example</URL></Attachment>
        </Comments>
        <IdReference domain="requisitionID" identifier="REQ-9"/>
        <Extrinsic name="CostCenter">7710</Extrinsic>
        <Extrinsic name="Requester"><Name xml:lang="en">Jane  Roe</Name></Extrinsic>
      </OrderRequestHeader>
      <ItemOut quantity="3" lineNumber="10" requestedDeliveryDate="2026-11-22">
        <ItemID>
          <SupplierPartID>HX-1001</SupplierPartID>
          <SupplierPartAuxiliaryID>aux-1</SupplierPartAuxiliaryID>
          <BuyerPartID>PP-BOLT-12</BuyerPartID>
        </ItemID>
        <ItemDetail>
          <UnitPrice><Money currency="USD">2.50</Money></UnitPrice>
          <Description xml:lang="en">Hex bolt<ShortName>Bolt</ShortName></Description>
          <UnitOfMeasure>EA</UnitOfMeasure>
          <Classification domain="UNSPSC">31161500</Classification>
          <ManufacturerPartID>GR8-1213</ManufacturerPartID>
          <ManufacturerName>Fastenal</ManufacturerName>
          <Extrinsic name="Color">zinc</Extrinsic>
        </ItemDetail>
        <Shipping><Money currency="USD">0.00</Money><Description xml:lang="en">-</Description></Shipping>
        <Tax><Money currency="USD">0.00</Money><Description xml:lang="en">-</Description></Tax>
        <Distribution>
          <Accounting name="DistributionCharge">
            <AccountingSegment id="7710"><Name xml:lang="en">Cost Center</Name>
              <Description xml:lang="en">Odessa</Description></AccountingSegment>
          </Accounting>
          <Charge><Money currency="USD">7.50</Money></Charge>
        </Distribution>
        <Contact role="endUser"><Name xml:lang="en">Jane Roe</Name></Contact>
        <Comments xml:lang="en">line note</Comments>
      </ItemOut>
      <ItemOut quantity="2.000" lineNumber="20">
        <ItemID>
          <SupplierPartID></SupplierPartID>
          <BuyerPartID>PP-GASKET</BuyerPartID>
        </ItemID>
        <ItemDetail>
          <UnitPrice><Money currency="USD">12.00</Money></UnitPrice>
          <Description xml:lang="en"><ShortName>Gasket</ShortName></Description>
          <UnitOfMeasure>CS</UnitOfMeasure>
          <Classification domain="UNSPSC">31181500</Classification>
        </ItemDetail>
      </ItemOut>
    </OrderRequest>
  </Request>
</cXML>
"""


def test_real_world_document_with_extra_elements_parses():
    req = parse_order_request(REAL_WORLD.encode("iso-8859-1"))

    assert req.deployment_mode == "production"  # Request without deploymentMode
    assert req.from_credential.identity == "AN01000401693"  # whitespace trimmed
    assert [c.domain for c in req.from_credentials] == ["NetworkID", "PrivateID"]
    assert req.sender.shared_secret == "s3cr\u00e9t"
    assert req.user_agent == "Ariba Network V1.1"
    assert req.order_id == "PO-77/2026"
    assert req.order_date == datetime(2026, 11, 20)
    assert req.currency == "USD"
    assert req.total == Decimal("31.50")
    assert req.ship_to.lines == [
        "Jane Roe",
        "Dock <2> & gate",
        "2401 W Interstate 20",
        "Building B",
    ]
    assert req.ship_to.country == "US"
    assert req.ship_to.state == "TX"
    assert req.bill_to is not None and req.bill_to.country == "US"  # Country text only
    assert req.comments == "Call before delivery."
    assert req.extrinsics == {"CostCenter": "7710", "Requester": "Jane Roe"}

    first, second = req.lines
    assert (first.line_number, first.supplier_part_id, first.customer_part_number) == (
        10,
        "HX-1001",
        "PP-BOLT-12",
    )
    assert first.description == "Hex bolt"
    assert first.unit_price == Decimal("2.50")
    assert (second.line_number, second.supplier_part_id, second.quantity) == (
        20,
        None,
        Decimal("2.000"),
    )
    assert second.description == "Gasket"
    po = req.to_purchase_order("401693")
    assert po.po_number == "PO-77/2026"


def test_line_number_defaults_to_position_when_absent():
    data = mutate('<ItemOut quantity="2" lineNumber="2">', '<ItemOut quantity="2">')
    assert [ln.line_number for ln in parse_order_request(data).lines] == [1, 2, 3]


def test_default_namespace_is_tolerated():
    data = mutate("<cXML payloadID=", '<cXML xmlns="urn:example:cxml" payloadID=')
    assert parse_order_request(data).order_id == "4500123"


def test_ship_to_on_every_line_instead_of_header():
    text = REAL_WORLD
    start = text.index("        <ShipTo>")
    end = text.index("</ShipTo>") + len("</ShipTo>\n")
    ship_to = text[start:end]
    text = text[:start] + text[end:]
    text = text.replace("        <Shipping><Money", ship_to + "        <Shipping><Money")
    text = text.replace(
        "        </ItemDetail>\n      </ItemOut>\n    </OrderRequest>",
        "        </ItemDetail>\n" + ship_to + "      </ItemOut>\n    </OrderRequest>",
    )
    req = parse_order_request(text.encode("iso-8859-1"))
    assert req.ship_to.address_id == "PP-ODESSA"


def test_no_ship_to_anywhere():
    text = sample_text()
    start = text.index("        <ShipTo>")
    end = text.index("</ShipTo>") + len("</ShipTo>\n")
    err = refused((text[:start] + text[end:]).encode())
    assert "ShipTo" in err.text


# --------------------------------------------------------------------------- XML safety


def test_doctype_with_external_dtd_is_accepted_and_never_fetched(audit):
    data = sample_order_request()
    audit.clear()
    parse_order_request(data)
    assert not [e for e in audit if e[0].startswith(("socket.", "urllib."))]
    assert not [e for e in audit if e[0] == "open"]


def test_internal_entity_refused():
    doc = mutate(
        '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">',
        '<!DOCTYPE cXML [\n<!ENTITY po "4500123">\n]>',
    ).replace(b'orderID="4500123"', b'orderID="&po;"')
    err = refused(doc)
    assert "entity declarations are not allowed" in err.text


def test_unused_internal_entity_declaration_refused():
    doc = mutate(
        '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">',
        '<!DOCTYPE cXML SYSTEM "cXML.dtd" [<!ENTITY x "y">]>',
    )
    assert "entity declarations are not allowed" in refused(doc).text


def test_billion_laughs_refused_without_expanding():
    lol = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    ]
    doc = (
        '<?xml version="1.0"?>\n<!DOCTYPE cXML [\n' + "\n".join(lol) + "\n]>\n"
        '<cXML payloadID="x">&lol9;</cXML>'
    ).encode()
    # Expanded, &lol9; is 3 GB of text: refused at the first declaration, the
    # parse never holds more than a sliver of that.
    tracemalloc.start()
    try:
        err = refused(doc)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "entity declarations are not allowed" in err.text and "'lol0'" in err.text
    assert peak < 1_000_000


def test_external_entity_refused_and_never_read(tmp_path, audit):
    secret = tmp_path / "passwd"
    secret.write_text("root:SECRET-MARKER")
    for target in (secret.as_uri(), "file:///etc/passwd", "http://127.0.0.1:9/x"):
        doc = mutate(
            '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">',
            f'<!DOCTYPE cXML [<!ENTITY x SYSTEM "{target}">]>',
        ).replace(b'<Comments xml:lang="en">', b'<Comments xml:lang="en">&x;')
        audit.clear()
        err = refused(doc)
        assert "entity declarations are not allowed" in err.text
        assert "SECRET-MARKER" not in err.text and "root:" not in err.text
        assert audit == []  # no file opened, no socket touched


def test_external_parameter_entity_refused(audit):
    doc = mutate(
        '<!DOCTYPE cXML SYSTEM "http://xml.cxml.org/schemas/cXML/1.2.014/cXML.dtd">',
        '<!DOCTYPE cXML [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]>',
    )
    audit.clear()
    assert "entity declarations are not allowed" in refused(doc).text
    assert audit == []


@pytest.mark.parametrize(
    "old, new",
    [
        ('orderID="4500123"', 'orderID="45&po;00"'),  # expat would silently drop it
        ("<City>Odessa</City>", "<City>Ode&po;ssa</City>"),
    ],
)
def test_undeclared_entity_reference_is_malformed(old, new):
    err = refused(mutate(old, new))
    assert err.text.startswith("malformed XML at line")
    assert "undefined entity &po;" in err.text


def test_predefined_and_character_references_and_cdata_are_fine():
    data = mutate(
        '<Comments xml:lang="en">',
        '<Comments xml:lang="en">&lt;&amp;&#233;&#xE9;<![CDATA[&po; raw]]><!-- &c; --><?pi &d;?>',
    ).replace(b'orderID="4500123"', b'orderID="4500&#49;23"')
    req = parse_order_request(data)
    assert req.comments.startswith("<&\u00e9\u00e9&po; raw")
    assert req.order_id == "4500123"


@pytest.mark.parametrize(
    "data, line",
    [
        (b"this is not xml", 1),
        (b'{"order": "json"}', 1),
        (b'<?xml version="1.0"?>\n<cXML>\n  <Header>\n</cXML>', 4),
        (b"<cXML>\n<a>\n</b>", 3),
    ],
)
def test_not_xml_is_refused_with_line(data, line):
    err = refused(data)
    assert err.text.startswith(f"malformed XML at line {line}")


def test_empty_document():
    assert refused(b"  \n").text == "empty document"


def test_unknown_encoding():
    assert "malformed XML" in refused(b'<?xml version="1.0" encoding="bogus"?><cXML/>').text


def test_oversize_refused_before_parsing():
    err = refused(b"<cXML>" + b" " * 2_000_000 + b"</cXML>")
    assert "limit is 1,000,000" in err.text
    err = refused(sample_order_request(), max_bytes=100)
    assert "bytes; the limit is 100" in err.text


# --------------------------------------------------------------------------- content errors


def test_missing_order_id():
    err = refused(mutate('orderID="4500123" ', ""))
    assert err.text == "OrderRequestHeader has no orderID (the PO number)"


@pytest.mark.parametrize(
    "attribute, po_number",
    [
        ("2015000957:0:55", "2015000957:0:55"),  # Oracle EBS: PO, release, revision
        ("PO 4500 123", "PO 4500 123"),
        ("PO#77", "PO#77"),
        ("PO-77/2026", "PO-77/2026"),
        ("4500?123&amp;x=1", "4500?123&x=1"),
        ("50% off+more", "50% off+more"),
        ("Bestellung Nr. 12", "Bestellung Nr. 12"),
        ("  4500123  ", "4500123"),  # surrounding spaces of the attribute are not the PO's
    ],
)
def test_po_numbers_procurement_systems_send(attribute: str, po_number: str):
    req = parse_order_request(mutate('orderID="4500123"', f'orderID="{attribute}"'))
    assert req.to_purchase_order("401693").po_number == po_number


@pytest.mark.parametrize(
    "attribute, reason",
    [
        ("../../etc/passwd", "may not have '.' or '..' between slashes"),
        ("..", "may not have '.' or '..' between slashes"),
        ("PO/./1", "may not have '.' or '..' between slashes"),
        ("PO&#9;1", "is one line: a tab (U+0009) at position 3 is not allowed here"),
        ("PO&#10;1", "is one line: a line break (U+000A) at position 3 is not allowed here"),
        ("PO&#x202E;1", "may not contain a bidirectional control (U+202E), found at position 3"),
        ("PO&#x85;1", "may not contain a control character (U+0085), found at position 3"),
    ],
)
def test_po_number_the_order_cannot_carry(attribute: str, reason: str):
    err = refused(mutate('orderID="4500123"', f'orderID="{attribute}"'))
    assert err.text.startswith("orderID") and err.text.endswith(reason), err.text


def _with_from_credentials(n: int) -> bytes:
    text = sample_text()
    start, end = text.index("<From>"), text.index("</From>")
    first = text[start + len("<From>") : end]
    others = "".join(
        f'<Credential domain="PrivateID"><Identity>BUYER-{i}</Identity></Credential>'
        for i in range(n - 1)
    )
    return (text[:start] + "<From>" + others + first + text[end:]).encode()


def test_a_handful_of_from_credentials_is_read_in_order():
    req = parse_order_request(_with_from_credentials(5))
    assert [c.identity for c in req.from_credentials][:4] == [f"BUYER-{i}" for i in range(4)]
    assert req.from_credentials[-1].identity == "AN01000401693"


def test_a_header_repeating_its_from_credential_is_refused():
    err = refused(_with_from_credentials(6))
    assert err.text == "Header/From has more than 5 Credentials"
    assert refused(_with_from_credentials(400)).text == err.text


def test_no_item_out():
    text = sample_text()
    start = text.index("      <ItemOut")
    end = text.rindex("</ItemOut>") + len("</ItemOut>\n")
    err = refused((text[:start] + text[end:]).encode())
    assert err.text == "OrderRequest has no ItemOut"


def test_bad_quantity_names_the_line():
    err = refused(
        mutate('<ItemOut quantity="2" lineNumber="2">', '<ItemOut quantity="abc" lineNumber="2">')
    )
    assert err.text == "ItemOut line 2: quantity 'abc' is not a number"


@pytest.mark.parametrize("qty", ["0", "-1"])
def test_non_positive_quantity_names_the_line(qty):
    err = refused(mutate('<ItemOut quantity="2" ', f'<ItemOut quantity="{qty}" '))
    assert err.text.startswith("ItemOut line 2: quantity")
    assert "must be more than 0" in err.text


def test_missing_quantity():
    err = refused(mutate('<ItemOut quantity="2" lineNumber="2">', '<ItemOut lineNumber="2">'))
    assert err.text == "ItemOut line 2: quantity is missing"


@pytest.mark.parametrize("price", ["abc", "NaN", "Infinity", ""])
def test_bad_unit_price_names_the_line(price):
    err = refused(
        mutate('<Money currency="USD">49.20</Money>', f'<Money currency="USD">{price}</Money>')
    )
    assert err.text.startswith("ItemOut line 2: unit price")


def test_negative_unit_price():
    err = refused(mutate('<Money currency="USD">49.20</Money>', '<Money currency="USD">-1</Money>'))
    assert err.text == "ItemOut line 2: unit price '-1' must be at least 0"


def test_missing_unit_of_measure():
    err = refused(mutate("<UnitOfMeasure>CS</UnitOfMeasure>", ""))
    assert err.text == "ItemOut line 2: UnitOfMeasure is missing"


def test_line_without_any_part_id():
    err = refused(mutate("<BuyerPartID>PP-GASKET</BuyerPartID>", "<BuyerPartID/>"))
    assert err.text == ("ItemOut line 2: needs a customer part number or a supplier part id")


def test_bad_and_duplicate_line_numbers():
    err = refused(mutate('lineNumber="2"', 'lineNumber="two"'))
    assert err.text == "ItemOut #2: lineNumber 'two' is not a whole number"
    err = refused(mutate('lineNumber="2"', 'lineNumber="1"'))
    assert err.text == "ItemOut line 1 appears twice (ItemOut #1 and #2)"
    err = refused(mutate('lineNumber="2"', 'lineNumber="0"'))
    assert err.text.startswith("ItemOut line 0: lineNumber '0' must be")


def test_mixed_currencies_refused():
    err = refused(
        mutate('<Money currency="USD">49.20</Money>', '<Money currency="EUR">49.20</Money>')
    )
    assert err.text == "ItemOut line 2: unit price is in EUR, the order is in USD"


def test_currency_from_first_unit_price_when_no_total():
    text = sample_text()
    start = text.index("        <Total>")
    end = text.index("</Total>") + len("</Total>\n")
    req = parse_order_request((text[:start] + text[end:]).replace('"USD"', '"CAD"').encode())
    assert req.currency == "CAD" and req.total is None


def test_bad_order_date():
    err = refused(mutate('orderDate="2026-11-20T09:30:00-06:00"', 'orderDate="20 Nov"'))
    assert err.text == "OrderRequestHeader orderDate '20 Nov' is not an ISO 8601 date"


def test_missing_sender():
    text = sample_text()
    start = text.index("    <Sender>")
    end = text.index("</Sender>") + len("</Sender>\n")
    err = refused((text[:start] + text[end:]).encode())
    assert err.text == "Header/Sender has no Credential with an Identity"


def test_missing_payload_id():
    err = refused(mutate('payloadID="20261120093005.4500123.1@propetro.coupahost.com" ', ""))
    assert err.text == "cXML has no payloadID"


def test_not_an_order_request():
    doc = (
        '<?xml version="1.0"?><cXML payloadID="p">'
        + MINIMAL_HEADER
        + "<Request><ProfileRequest/></Request></cXML>"
    ).encode()
    assert refused(doc).text == "Request is not an OrderRequest (found ProfileRequest)"
    doc = b'<?xml version="1.0"?><Order><OrderRequest/></Order>'
    assert refused(doc).text == "root element is <Order>, expected <cXML>"


# --------------------------------------------------------------------------- mode and type


def test_deployment_mode_test_marks_the_purchase_order():
    req = parse_order_request(mutate('deploymentMode="production"', 'deploymentMode="test"'))
    assert req.deployment_mode == "test"
    assert req.to_purchase_order("401693").test is True


def test_unknown_deployment_mode_refused():
    err = refused(mutate('deploymentMode="production"', 'deploymentMode="staging"'))
    assert "deploymentMode 'staging'" in err.text


@pytest.mark.parametrize("kind", ["new", "update", "delete"])
def test_request_type_recognised(kind):
    req = parse_order_request(mutate('type="new"', f'type="{kind}"'))
    assert req.request_type == kind


def test_request_type_defaults_to_new_and_rejects_unknown():
    assert parse_order_request(mutate(' type="new"', "")).request_type == "new"
    err = refused(mutate('type="new"', 'type="cancel"'))
    assert "type 'cancel'" in err.text


def test_to_purchase_order_reports_bad_account_number():
    req = parse_order_request(sample_order_request())
    with pytest.raises(CxmlError) as info:
        req.to_purchase_order("")
    assert info.value.status == 400
    assert "account number" in info.value.text


# --------------------------------------------------------------------------- responses


def _read_response(data: bytes):
    root = SafeET.fromstring(data, forbid_dtd=False)
    assert root.tag == "cXML"
    status = root.find("Response/Status")
    assert status is not None
    return root, status


STAMP = datetime(2026, 11, 26, 9, 30, tzinfo=timezone.utc)


def _response(status: int, text: str, body: str = "", payload_id: str = "1.abc@sopflow") -> bytes:
    return build_response(status, text, body, payload_id=payload_id, timestamp=STAMP)


def test_build_response_round_trips_and_escapes():
    tricky = 'PO <4500123> & "quoted"\nsecond line'
    data = _response(400, tricky, body='line 2: <bad> & "worse"')
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE cXML SYSTEM ')
    root, status = _read_response(data)
    assert status.get("code") == "400"
    assert status.get("text") == tricky
    assert status.text == 'line 2: <bad> & "worse"'
    assert root.get("payloadID") == "1.abc@sopflow"
    assert datetime.fromisoformat(root.get("timestamp")) == STAMP
    # our own reader takes it as XML (DOCTYPE accepted) and only objects to the content
    assert refused(data).text == "cXML has no Header"


def test_build_response_ok():
    _, status = _read_response(_response(200, "OK"))
    assert status.get("code") == "200" and status.get("text") == "OK" and not (status.text or "")


def test_api_stamps_each_response_with_its_own_payload_id():
    a, b = cxml_response(200, "OK"), cxml_response(200, "OK")
    ra, _ = _read_response(a.body)
    rb, _ = _read_response(b.body)
    assert ra.get("payloadID") != rb.get("payloadID")
    stamp = datetime.fromisoformat(ra.get("timestamp"))
    assert abs(datetime.now(timezone.utc) - stamp) < timedelta(minutes=1)


def test_build_response_default_text_and_control_characters():
    _, status = _read_response(_response(409, ""))
    assert status.get("text") == STATUS_TEXT[409] == "Conflict"
    _, status = _read_response(_response(500, "bad\x00byte", body="x\x07y"))
    assert status.get("text") == "badbyte" and status.text == "xy"


def test_status_text_conventions():
    assert STATUS_TEXT[200] == "OK"
    assert STATUS_TEXT[400] == "Bad Request"
    assert STATUS_TEXT[401] == "Unauthorized"
    assert STATUS_TEXT[403] == "Forbidden"
    assert STATUS_TEXT[409] == "Conflict"
    assert STATUS_TEXT[500] == "Internal Server Error"


def test_cxml_error_as_response():
    err = refused(mutate('<ItemOut quantity="2" ', '<ItemOut quantity="abc" '))
    _, status = _read_response(cxml_response(err.status, "Bad Request", err.text).body)
    assert status.get("code") == "400"
    assert status.get("text") == "Bad Request"
    assert status.text == "ItemOut line 2: quantity 'abc' is not a number"
