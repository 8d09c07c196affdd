"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import Simulators
from tests.servers import bearer

PROPETRO = {
    "domain": "NetworkID",
    "identity": "AN01000401693",
    "shared_secret": "propetro-demo-secret",
    "integration_id": "punchout-network",
}


@pytest.fixture
async def buyer_endpoint(
    api: httpx.AsyncClient, demo_keys: dict[str, str], sims: Simulators
) -> AsyncIterator[str]:
    """Propetro's credential registered with an endpoint at the network simulator
    (the operator's call); registered again without one afterwards."""
    url = f"{sims.url}/network/cxml"
    operator = bearer(demo_keys["operator"])
    resp = await api.post(
        "/accounts/401693/punchout-credentials", json={**PROPETRO, "endpoint_url": url},
        headers=operator,
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    assert resp.json()["endpoint_url"] == url
    yield url
    resp = await api.post("/accounts/401693/punchout-credentials", json=PROPETRO, headers=operator)
    assert resp.status_code == 201 and resp.json()["endpoint_url"] is None
