"""The retail ERP and SMS/voice simulators over HTTP (in process), their
clients' error mapping, and the webhooks' signature check."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.contracts.sms_voice import SmsMessage
from activities.erp import ErpClient
from activities.sms_voice import SmsVoiceClient
from domain import webhook_signature
from domain.open_order.models import OpenOrder
from simulators.app import create_app
from simulators.demo_erp import enter_demo_open_orders
from tests.open_orders import signed


@pytest.fixture
def app():
    return create_app(seed=1)


@pytest.fixture
async def http(app):
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        yield client


def erp_order(store: str = "101") -> dict:
    return {
        "store_id": store,
        "type": "delivery",
        "guest": {"name": "G", "phones": ["2145550101"]},
        "lines": [{"line_number": 1, "sku": "S", "quantity": 1, "atp_date": "2026-12-01"}],
    }


async def test_the_erp_lists_its_open_orders_in_pages_and_keeps_their_comments(http):
    for so in ("SO3", "SO1", "SO2"):
        assert (await http.put(f"/erp/open-orders/{so}", json=erp_order())).status_code == 200
    first = (await http.get("/erp/open-orders", params={"limit": 2})).json()
    assert [o["sales_order"] for o in first] == ["SO1", "SO2"]
    rest = (await http.get("/erp/open-orders", params={"after": "SO2"})).json()
    assert [o["sales_order"] for o in rest] == ["SO3"]
    assert (await http.put("/erp/open-orders/bad%20so", json=erp_order())).status_code == 422
    # A body naming its own number: the path's wins.
    named = await http.put("/erp/open-orders/SO4", json={**erp_order(), "sales_order": "X"})
    assert (named.status_code, named.json()["sales_order"]) == (200, "SO4")

    entry = {"actor": "olga", "action": "contact logged", "comment": "no answer",
             "at": "2026-11-30T16:00:00Z"}  # fmt: skip
    batch = {"comments": [entry, {**entry, "action": "code set"}]}
    headers = {"Idempotency-Key": "c1"}
    made = await http.post("/erp/open-orders/SO1/comments", json=batch, headers=headers)
    again = await http.post("/erp/open-orders/SO1/comments", json=batch, headers=headers)
    assert (made.status_code, again.status_code) == (201, 200)
    assert made.json() == again.json() == {"comment_ids": ["SO1-C1", "SO1-C2"]}
    log = (await http.get("/erp/open-orders/SO1")).json()["comments"]
    assert [c["action"] for c in log] == ["contact logged", "code set"]
    missing = await http.post("/erp/open-orders/NOPE/comments", json=batch, headers=headers)
    assert missing.status_code == 404


async def test_the_provider_sends_and_calls_once_per_key_and_refuses_a_bad_number(http):
    sms = {"to": "2145550101", "body": "Your delivery is booked"}
    one = await http.post("/smsvoice/messages", json=sms, headers={"Idempotency-Key": "s1"})
    two = await http.post("/smsvoice/messages", json=sms, headers={"Idempotency-Key": "s1"})
    assert (one.status_code, two.status_code) == (201, 200)
    assert len((await http.get("/smsvoice/messages")).json()) == 1
    call = {"to": "2145550102", "script": "confirm", "reference": "open-order-SO1:A1"}
    placed = await http.post("/smsvoice/calls", json=call, headers={"Idempotency-Key": "c1"})
    assert placed.json()["status"] == "placed" and placed.json()["call_id"].startswith("CA")
    bad = await http.post("/smsvoice/messages", json={**sms, "to": "call me"},
                          headers={"Idempotency-Key": "s2"})  # fmt: skip
    assert bad.status_code == 422


async def test_faults_reach_the_new_systems_and_their_clients_tell_outage_from_refusal(app, http):
    await http.put("/_faults/smsvoice", json={"down": True})
    transport = httpx.ASGITransport(app=app)
    client = SmsVoiceClient("http://sim/smsvoice", transport=transport)
    with pytest.raises(ApplicationError) as down:
        await client.send_sms(SmsMessage(idempotency_key="k", to="2145550101", body="hi"))
    assert down.value.type == "SystemUnavailable" and not down.value.non_retryable
    await http.put("/_faults/smsvoice", json={})
    with pytest.raises(ApplicationError) as refused:
        await client.send_sms(SmsMessage(idempotency_key="k2", to="not-a-number", body="hi"))
    assert refused.value.type == "SmsvoiceRefused" and refused.value.non_retryable

    await http.put("/_faults/erp", json={"error_rate": 1.0})
    erp = ErpClient("http://sim/erp", transport=transport)
    with pytest.raises(ApplicationError) as failing:
        await erp.open_orders(None, 10)
    assert failing.value.type == "SystemUnavailable"
    await http.put("/_faults/erp", json={})
    assert await erp.open_orders(None, 10) == []


NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FIVE_MINUTES = timedelta(minutes=5)


def check(
    body: bytes, header: str | None, secret: str = "s3cret", at: datetime = NOW
) -> str | None:
    return webhook_signature.refusal(header, body, secret, now=at, tolerance=FIVE_MINUTES)


def test_a_webhook_signature_covers_the_exact_body_and_its_time() -> None:
    body, headers = signed({"event_id": "e1"}, "s3cret", at=int(NOW.timestamp()))
    header = headers["X-Signature"]
    assert header.startswith(f"t={int(NOW.timestamp())},v1=")
    assert check(body, header) is None
    assert "does not match" in (check(body, header, "other") or "")
    assert "does not match" in (check(body + b" ", header) or "")
    # The time is signed too: moved, it no longer matches.
    moved = header.replace(f"t={int(NOW.timestamp())}", f"t={int(NOW.timestamp()) + 60}")
    assert "does not match" in (check(body, moved) or "")
    # The old form (an HMAC of the body alone) and no header at all are refused.
    assert "malformed" in (check(body, "sha256=" + header.split("v1=")[1]) or "")
    assert "malformed" in (check(body, None) or "")
    assert "malformed" in (check(body, "t=99999999999999999999,v1=00") or "")


def test_a_delivery_is_taken_only_within_the_tolerance_of_its_signing() -> None:
    body, headers = signed({"event_id": "e1"}, "s3cret", at=int(NOW.timestamp()))
    header = headers["X-Signature"]
    assert check(body, header, at=NOW + FIVE_MINUTES) is None
    late = check(body, header, at=NOW + FIVE_MINUTES + timedelta(seconds=1))
    assert late and "signed at 2026-11-26T12:00:00+00:00" in late and "300 s" in late
    # A clock far ahead is no way around it either.
    assert check(body, header, at=NOW - FIVE_MINUTES - timedelta(seconds=1))
    # Nor a time past what a date can hold.
    far = signed({"event_id": "e1"}, "s3cret", at=999_999_999_999)
    assert "signed at 9999-12-31" in (check(*far[:1], far[1]["X-Signature"]) or "")


def test_a_sender_changing_its_secret_may_sign_with_both() -> None:
    body, old = signed({"event_id": "e1"}, "old-secret", at=int(NOW.timestamp()))
    _, new = signed({"event_id": "e1"}, "s3cret", at=int(NOW.timestamp()))
    both = old["X-Signature"] + ",v1=" + new["X-Signature"].split("v1=")[1]
    assert check(body, both) is None
    assert check(body, old["X-Signature"]) is not None


async def test_the_demo_erp_holds_the_walkthroughs_open_orders_as_the_import_takes_them(app):
    today = date(2026, 12, 7)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim/erp"
    ) as erp:
        assert await enter_demo_open_orders(erp, today) == ["SO1001", "SO1002"]
        listed = (await erp.get("/open-orders")).json()
        # As the import reads them: every one a valid open order of store 101.
        orders = [
            OpenOrder.model_validate({k: v for k, v in o.items() if k in OpenOrder.model_fields})
            for o in listed
        ]
        assert [(o.sales_order, o.store_id, o.atp_date()) for o in orders] == [
            ("SO1001", "101", date(2026, 12, 10)),
            ("SO1002", "101", date(2026, 12, 6)),
        ]
        # Their audit comments log takes entries (a workflow's changes land there).
        entry = {"actor": "olga", "action": "contact logged", "at": "2026-12-07T16:00:00Z"}
        made = await erp.post(
            "/open-orders/SO1001/comments",
            json={"comments": [entry]},
            headers={"Idempotency-Key": "k"},
        )
        assert made.status_code == 201
        # Entered again (a later bin/dev): what the ERP holds is kept as it is.
        assert await enter_demo_open_orders(erp, today + timedelta(days=5)) == []
        again = (await erp.get("/open-orders/SO1001")).json()
        assert again["lines"][0]["atp_date"] == "2026-12-10"
        assert [c["action"] for c in again["comments"]] == ["contact logged"]
