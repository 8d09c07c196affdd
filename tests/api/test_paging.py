"""Paging parameters out of range are the caller's mistake: 422 with a reason,
never a database error."""

from __future__ import annotations

import httpx
import pytest

from tests.servers import bearer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/orders", "/tasks"])
@pytest.mark.parametrize(
    "params, reason",
    [
        (
            {"offset": "9223372036854775808"},
            "query.offset: Input should be less than or equal to 1000000",
        ),
        ({"offset": "1000001"}, "query.offset: Input should be less than or equal to 1000000"),
        ({"offset": "-1"}, "query.offset: Input should be greater than or equal to 0"),
        ({"limit": "0"}, "query.limit: Input should be greater than or equal to 1"),
        ({"limit": "201"}, "query.limit: Input should be less than or equal to 200"),
    ],
)
async def test_paging_out_of_range_is_a_422_with_a_reason(
    api: httpx.AsyncClient, demo_keys: dict[str, str], path: str, params: dict, reason: str
) -> None:
    resp = await api.get(path, params=params, headers=bearer(demo_keys["account_rep"]))
    assert resp.status_code == 422
    assert resp.json() == {"detail": reason, "type": "ValidationError"}


@pytest.mark.parametrize("path", ["/orders", "/tasks"])
async def test_the_deepest_page_answers(
    api: httpx.AsyncClient, demo_keys: dict[str, str], path: str
) -> None:
    resp = await api.get(
        path, params={"offset": 1_000_000, "limit": 200}, headers=bearer(demo_keys["account_rep"])
    )
    assert resp.status_code == 200, resp.text


async def test_an_account_filter_that_cannot_be_an_account_is_refused(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    resp = await api.get(
        "/orders", params={"account": "401693\x00"}, headers=bearer(demo_keys["account_rep"])
    )
    assert resp.status_code == 422 and resp.json()["detail"].startswith("query.account")
