"""The buyer's endpoint on its PunchOut credential, and an order's documents:
clear refusals for bad input, never a 500."""

from __future__ import annotations

import httpx
import pytest

from tests.integration.conftest import PROPETRO
from tests.servers import bearer

pytestmark = pytest.mark.usefixtures("worker")


@pytest.mark.parametrize(
    "endpoint_url", ["ftp://network.example.com/cxml", "not a url", "http://x/\x00", ""]
)
async def test_a_bad_endpoint_is_refused_with_the_reason(
    api: httpx.AsyncClient, demo_keys: dict[str, str], endpoint_url: str
) -> None:
    resp = await api.post(
        "/accounts/401693/punchout-credentials",
        json={**PROPETRO, "endpoint_url": endpoint_url},
        headers=bearer(demo_keys["operator"]),
    )
    assert resp.status_code == 422
    assert "endpoint_url" in resp.text


async def test_only_an_operator_registers_an_endpoint(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    resp = await api.post(
        "/accounts/401693/punchout-credentials",
        json={**PROPETRO, "endpoint_url": "https://network.example.com/cxml"},
        headers=bearer(demo_keys["account_rep"]),
    )
    assert resp.status_code == 403


async def test_documents_of_an_unknown_order_or_document_are_404(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    key = bearer(demo_keys["account_rep"])
    resp = await api.get("/orders/order-401693-NOPE-1/documents", headers=key)
    assert resp.status_code == 404 and resp.json()["type"] == "NotFound"
    resp = await api.get("/orders/order-401693-NOPE-1/documents/x@y", headers=key)
    assert resp.status_code == 404
    resp = await api.get("/orders/not-an-order/documents", headers=key)
    assert resp.status_code == 404
    assert (await api.get("/orders/order-401693-NOPE-1/documents")).status_code == 401
