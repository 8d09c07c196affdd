"""A system key submits orders only for the accounts it is bound to: its own
accounts, or those of its integration (a PunchOut network serves many buyers).
The cXML buyer is still the one its From credential and SharedSecret name."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest

from db.demo import ensure_demo_keys
from db.keys import create_api_key
from tests.integration.test_order_e2e import cxml_status, post_cxml, sample
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def json_order(account: str, po: str) -> dict:
    return {
        "account_number": account,
        "po_number": po,
        "ship_to": {"address_id": "PP-ODESSA"},
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


async def new_account(pool: asyncpg.Pool) -> str:
    number = f"9{uuid.uuid4().int % 10**7:07d}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO accounts (account_number, name, punchout_enabled) VALUES ($1, $2, true)",
            number,
            f"Test buyer {number}",
        )
    return number


def po() -> str:
    return f"KB-{uuid.uuid4().hex[:10]}"


async def test_a_json_order_names_only_an_account_its_key_is_bound_to(
    api: httpx.AsyncClient, pool: asyncpg.Pool, demo_keys: dict[str, str]
) -> None:
    stranger = await new_account(pool)
    # The demo network's key: bound to the demo accounts through its integration.
    network = bearer(demo_keys["system"])
    assert (await api.post("/orders", json=json_order("401693", po()), headers=network)).is_success
    refused = await api.post("/orders", json=json_order(stranger, po()), headers=network)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        f"this API key may not submit orders for account {stranger}"
    )

    # An ERP feed's key bound to that one account: that account only.
    async with pool.acquire() as conn:
        erp_key = await create_api_key(
            conn, "punchout-network", ["system"], label="erp feed", accounts=[stranger]
        )
    erp = bearer(erp_key)
    accepted = await api.post("/orders", json=json_order(stranger, po()), headers=erp)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["order_id"].startswith(f"order-{stranger}-")
    assert (
        await api.post("/orders", json=json_order("401693", po()), headers=erp)
    ).status_code == 403

    # A key bound to nothing submits for nobody.
    async with pool.acquire() as conn:
        unbound = bearer(await create_api_key(conn, "punchout-network", ["system"]))
    assert (
        await api.post("/orders", json=json_order("401693", po()), headers=unbound)
    ).status_code == 403


async def test_a_buyer_onboarded_through_an_integration_can_order_through_its_key(
    api: httpx.AsyncClient, pool: asyncpg.Pool, demo_keys: dict[str, str]
) -> None:
    account = await new_account(pool)
    identity = f"AN{uuid.uuid4().int % 10**11:011d}"
    credential = {"domain": "NetworkID", "identity": identity, "shared_secret": "buyer-secret-1"}
    operator = bearer(demo_keys["operator"])
    path = f"/accounts/{account}/punchout-credentials"
    doc = sample(po(), **{"AN01000401693": identity, "propetro-demo-secret": "buyer-secret-1"})

    unknown = await api.post(
        path, json={**credential, "integration_id": "no-such-network"}, headers=operator
    )
    assert unknown.status_code == 404 and "no-such-network" in unknown.json()["detail"]

    # The credential alone: the buyer is recognised, but the network's key may not
    # submit for it yet (cXML 403, after the shared secret matched).
    assert (await api.post(path, json=credential, headers=operator)).status_code == 201
    resp = await post_cxml(api, demo_keys["system"], doc)
    assert resp.status_code == 403
    assert cxml_status(resp) == (403, f"this API key may not submit orders for account {account}")

    # Onboarded through the demo network: its key submits this buyer's orders.
    registered = await api.post(
        path, json={**credential, "integration_id": "punchout-network"}, headers=operator
    )
    assert registered.status_code == 201
    assert registered.json()["integration_id"] == "punchout-network"
    resp = await post_cxml(api, demo_keys["system"], doc)
    assert cxml_status(resp)[0] == 200, resp.text
    assert resp.headers["X-Order-Id"].startswith(f"order-{account}-")

    # A wrong secret still reads like an unknown buyer.
    wrong = await post_cxml(api, demo_keys["system"], doc.replace(b"buyer-secret-1", b"guess"))
    assert cxml_status(wrong) == (401, "buyer credential or shared secret not recognised")


async def test_a_demo_system_key_made_before_binding_keeps_working(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    # A dev stack's saved demo key from before migration 0003: bound to nothing.
    async with pool.acquire() as conn:
        old_key = await create_api_key(conn, "punchout-network", ["system"], label="demo")
    assert (
        await api.post("/orders", json=json_order("401693", po()), headers=bearer(old_key))
    ).status_code == 403
    async with pool.acquire() as conn:
        keys = await ensure_demo_keys(conn, {"system": old_key})
    assert keys["system"] == old_key  # what the user pasted still works ...
    for account in ("401693", "402110"):  # ... for the demo accounts
        resp = await api.post("/orders", json=json_order(account, po()), headers=bearer(old_key))
        assert resp.status_code == 202, resp.text
