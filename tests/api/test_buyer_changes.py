"""Buyer changes over cXML: an OrderRequest type="update" replaces a held order's
lines, type="delete" cancels it; both answer 200, a resend (same payloadID) the
same, and a clear cXML status when refused (409 shipped or released, 404 unknown)."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.test_order_e2e import (
    cxml_status,
    po_number,
    post_cxml,
    sample,
    wait_for,
)
from tests.servers import bearer
from tests.workflow.conftest import eventually

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

WRONG_PRICE = {'<Money currency="USD">2.35</Money>': '<Money currency="USD">2.10</Money>'}
PAYLOAD = 'payloadID="20261120093005.4500123.1@propetro.coupahost.com"'


def document(po: str, kind: str, payload: str, **replace: str) -> bytes:
    return sample(
        po,
        **{'type="new"': f'type="{kind}"', PAYLOAD: f'payloadID="{payload}@propetro"'},
        **replace,
    )


async def test_an_update_replaces_a_held_order_and_a_delete_is_refused_once_shipped(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    system, rep = demo_keys["system"], demo_keys["account_rep"]
    po = po_number()
    order_id = f"order-401693-{po}"
    assert cxml_status(await post_cxml(api, system, sample(po, **WRONG_PRICE)))[0] == 200
    await wait_for(api, rep, order_id, "on_hold")

    update = document(po, "update", f"upd-{po}")  # the contract price: no hold left
    resp = await post_cxml(api, system, update)
    assert resp.status_code == 200
    assert cxml_status(resp) == (200, f"Updated: {order_id}")
    assert resp.headers["X-Order-Id"] == order_id
    released = await wait_for(api, rep, order_id, "released")
    assert released["buyer_changes"] == [f"upd-{po}@propetro"]
    assert "order changed" in [a["action"] for a in released["audit"]]

    # Resent: the same answer, applied once.
    assert cxml_status(await post_cxml(api, system, update)) == (
        200,
        f"Already received. Updated: {order_id}",
    )
    # Released to the branch: a further change is refused.
    code, text = cxml_status(await post_cxml(api, system, document(po, "update", f"u2-{po}")))
    assert code == 409 and "released to branch" in text

    shipped = await api.post(
        f"/orders/{order_id}/shipments",
        json={
            "lines": [{"line_number": 1, "quantity": 10}],
            "proof_of_delivery": {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"},
        },
        headers=bearer(demo_keys["branch_manager"]),
    )
    assert shipped.status_code == 201, shipped.text
    code, text = cxml_status(await post_cxml(api, system, document(po, "delete", f"del-{po}")))
    assert code == 409 and text.startswith("already shipped")


async def test_a_delete_cancels_a_held_order_and_a_resend_answers_the_same(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    system, rep = demo_keys["system"], demo_keys["account_rep"]
    po = po_number()
    order_id = f"order-401693-{po}"
    assert cxml_status(await post_cxml(api, system, sample(po, **WRONG_PRICE)))[0] == 200
    await wait_for(api, rep, order_id, "on_hold")

    delete = document(po, "delete", f"del-{po}", **WRONG_PRICE)
    assert cxml_status(await post_cxml(api, system, delete)) == (200, f"Cancelled: {order_id}")
    cancelled = await wait_for(api, rep, order_id, "cancelled")
    assert cancelled["holds"] == []

    async def no_open_task() -> bool:
        # GET /orders/{id} may answer from Temporal before the last write lands.
        tasks = await api.get(
            "/tasks", params={"workflow_id": order_id, "status": "open"}, headers=bearer(rep)
        )
        return tasks.json()["items"] == []

    await eventually(no_open_task, "the cancelled order's tasks closed")
    # Resent after the order closed: still cancelled.
    assert cxml_status(await post_cxml(api, system, delete)) == (
        200,
        f"Already cancelled: {order_id}",
    )
    # An update to a cancelled order is refused.
    code, _ = cxml_status(await post_cxml(api, system, document(po, "update", f"u-{po}")))
    assert code == 409


async def test_a_change_to_an_unknown_order_is_404(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    po = po_number()
    code, text = cxml_status(
        await post_cxml(api, demo_keys["system"], document(po, "delete", f"del-{po}"))
    )
    assert code == 404 and f"order-401693-{po}" in text
