"""Order intake: every PO number a procurement system really sends can be
submitted (JSON or cXML) and read back through its encoded id; the buyer's
secret is checked once per document, off the event loop."""

from __future__ import annotations

import asyncio
import threading
import uuid
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

import httpx
import pytest

from api import orders as orders_api
from tests.integration.test_order_e2e import cxml_status, post_cxml, sample
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def json_order(account: str, po: str) -> dict:
    address = {"401693": "PP-ODESSA", "402110": "RGW-PLANT2"}[account]
    return {
        "account_number": account,
        "po_number": po,
        "ship_to": {"address_id": address},
        "lines": [
            {
                "line_number": 1,
                "supplier_part_id": "HX-1001",
                "quantity": "10",
                "uom": "EA",
                "unit_price": "2.35",
            }
        ],
    }


def cxml_order(po: str) -> bytes:
    return sample("4500123").replace(b'orderID="4500123"', f"orderID={quoteattr(po)}".encode())


# What procurement systems put in PO numbers; {n} keeps each run's orders apart.
PO_KINDS = [
    "2015{n}:0:55",  # Oracle E-Business Suite: PO, release, revision
    "PO {n} 123",  # spaces
    "PO#{n}",  # '#' starts a URL fragment
    "PO-{n}/2026",  # '/' separates path segments
    "{n}?rev=2&x=1",  # '?' starts a query, '&' is XML markup
    "50% {n}",  # '%' starts an escape
    "{n}+1",  # '+' is a space in a query string
    "Bestellung-{n}-Ä",  # not ASCII
    "PO {n}/shipments",  # looks like the shipments route
    "a..{n}",  # dots that are not a path segment
]


async def read_back(api: httpx.AsyncClient, key: str, href: str) -> dict:
    for _ in range(100):
        resp = await api.get(href, headers=bearer(key))
        if resp.status_code == 200:
            return resp.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{href}: {resp.status_code} {resp.text[:300]}")


@pytest.mark.parametrize("kind", PO_KINDS)
async def test_every_kind_of_po_number_round_trips(
    api: httpx.AsyncClient, demo_keys: dict[str, str], kind: str
) -> None:
    po = kind.format(n=uuid.uuid4().int % 10**6)
    key = demo_keys["system"]

    # JSON (for Rio Grande) and cXML (Propetro's credential): same PO number.
    created = await api.post("/orders", json=json_order("402110", po), headers=bearer(key))
    assert created.status_code == 202, created.text
    order_id = f"order-402110-{po}"
    assert created.json()["order_id"] == order_id
    href = created.json()["href"]
    assert href == "/orders/" + quote(order_id, safe="") == created.headers["Location"]
    view = await read_back(api, key, href)
    assert view["order_id"] == order_id and view["order"]["po_number"] == po

    resp = await post_cxml(api, key, cxml_order(po))
    assert cxml_status(resp) == (200, f"Accepted: order-401693-{po}")
    header = resp.headers["X-Order-Id"]  # a valid header value: the encoded id
    assert header.isascii() and header == quote(f"order-401693-{po}", safe="")
    view = await read_back(api, key, f"/orders/{header}")
    assert view["order"]["po_number"] == po and view["order"]["account_number"] == "401693"

    # Listed (from the read model, once the workflow wrote it) with the same href.
    for _ in range(100):
        listed = await api.get(
            "/orders", params={"account": "402110", "limit": 200}, headers=bearer(key)
        )
        if href in [o["href"] for o in listed.json()["items"]]:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"{order_id} is not listed")


@pytest.mark.parametrize(
    "po", ["..", "../../etc/passwd", "PO/../1", ".", " PO1", "PO1 ", "PO\t1", "PO\n1"]
)
async def test_what_cannot_be_a_po_number_is_refused(
    api: httpx.AsyncClient, demo_keys: dict[str, str], po: str
) -> None:
    key = demo_keys["system"]
    resp = await api.post("/orders", json=json_order("401693", po), headers=bearer(key))
    assert resp.status_code == 422 and "po_number" in resp.json()["detail"]
    if po == po.strip():  # cXML trims its attribute values
        escaped = po.replace("\t", "&#9;").replace("\n", "&#10;")
        doc = sample("4500123").replace(b'orderID="4500123"', f'orderID="{escaped}"'.encode())
        code, text = cxml_status(await post_cxml(api, key, doc))
        assert code == 400 and text.startswith("orderID"), text


async def test_the_first_known_from_credential_is_checked_once_off_the_event_loop(
    api: httpx.AsyncClient, demo_keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    original = orders_api.shared_secret_matches

    def recording(secret: str, stored: str) -> bool:
        checks.append(threading.current_thread().name)
        return original(secret, stored)

    monkeypatch.setattr(orders_api, "shared_secret_matches", recording)
    loop_thread = threading.current_thread().name  # the server runs on this test's loop
    unknown = '<Credential domain="PrivateID"><Identity>NOT-A-BUYER</Identity></Credential>'
    doc = sample(f"FC-{uuid.uuid4().hex[:8]}").replace(b"<From>", f"<From>{unknown}".encode())
    resp = await post_cxml(api, demo_keys["system"], doc)
    assert cxml_status(resp)[0] == 200, resp.text
    assert len(checks) == 1 and checks[0] != loop_thread

    # A header repeating its credential: refused before any secret is checked.
    known = '<Credential domain="NetworkID"><Identity>AN01000401693</Identity></Credential>'
    repeated = sample(f"FC-{uuid.uuid4().hex[:8]}").replace(
        b"<From>", ("<From>" + known * 399).encode()
    )
    resp = await post_cxml(api, demo_keys["system"], repeated)
    assert resp.status_code == 400
    assert cxml_status(resp) == (400, "Header/From has more than 5 Credentials")
    assert len(checks) == 1
