"""Webhook signatures cover the time of sending as well as the body (issue 21).

Reproduces: a signed webhook could be replayed at will (the signature covered
no timestamp; only the event id de-duplicated). Now a delivery signed longer
ago than the tolerance is refused with 401, a redelivery within it is taken
once, and the simulators sign as the API checks."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import pytest

from sopflow.config import Settings
from tests.api.test_open_orders import post_order
from tests.conftest import Simulators
from tests.integration.test_open_order_e2e import record
from tests.open_orders import signed

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


async def test_an_old_delivery_is_refused_and_a_redelivery_is_taken_once(
    api: httpx.AsyncClient, demo_keys: dict[str, str], it_settings: Settings, sims: Simulators
) -> None:
    agent = demo_keys["oom_agent"]
    oid = await post_order(api, demo_keys["system"], lines=[
        {"line_number": 1, "sku": "X", "quantity": 1, "atp_date": "2099-01-01"}])  # fmt: skip
    so = oid.removeprefix("open-order-")
    await record(api, agent, oid, lambda r: r["status"] == "awaiting_product", "waiting")
    arrived = {"event_id": f"arr-{so}", "sales_order": so, "type": "product_arrived"}
    secret = it_settings.erp_webhook_secret
    tolerance = int(it_settings.webhook_tolerance.total_seconds())

    # Captured six minutes ago and sent again: refused, whatever its event id.
    raw, headers = signed(arrived, secret, at=int(time.time()) - tolerance - 60)
    replayed = await api.post("/webhooks/erp", content=raw, headers=headers)
    assert replayed.status_code == 401, replayed.text
    assert "signed at" in replayed.json()["detail"]
    # The old form, an HMAC of the body alone, is no signature now.
    old = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    unsigned = await api.post("/webhooks/erp", content=raw,
                              headers={**headers, "X-Signature": f"sha256={old}"})  # fmt: skip
    assert unsigned.status_code == 401 and "t=<unix seconds>" in unsigned.json()["detail"]

    # The ERP stand-in sends the event, signed as the ERP signs it.
    target = {"url": f"{api.base_url}/webhooks/erp", "secret": secret}
    assert (await sims.http.put("/_webhooks/erp", json=target)).status_code == 200
    sent = await sims.http.post("/erp/events", json=arrived)
    assert sent.status_code == 202, sent.text
    assert sent.json()["open_order_id"] == oid
    # Redelivered within the tolerance: accepted, and taken once.
    raw, headers = signed(arrived, secret)
    for _ in range(2):
        assert (await api.post("/webhooks/erp", content=raw, headers=headers)).status_code == 202
    view = await record(api, agent, oid, lambda r: r["status"] == "scheduling", "available")
    assert sum(1 for e in view["audit"] if e["action"] == "product arrived") == 1
