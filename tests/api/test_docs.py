"""/docs and /redoc, of the API and of the simulators, work on a machine without
internet access: every asset they load comes from the app itself."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from api.app import create_app
from simulators.app import create_app as create_simulators
from sopflow.config import Settings


@pytest.fixture(params=["api", "simulators"])
async def app_http(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    # The pages need neither PostgreSQL nor Temporal: no lifespan here.
    if request.param == "api":
        app = create_app(Settings(), database_url="postgresql://unused")
    else:
        app = create_simulators()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://sopflow.test"
    ) as http:
        yield http


def referenced_urls(html: str) -> list[str]:
    """Every URL the page's HTML or inline script loads."""
    attributes = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    in_script = re.findall(r"""(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""", html)
    return attributes + in_script


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_everything_from_the_app(
    app_http: httpx.AsyncClient, page: str
) -> None:
    resp = await app_http.get(page)
    assert resp.status_code == 200
    html = resp.text
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html.replace("sopflow.test", ""))
    urls = referenced_urls(html)
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts, html
    for url in urls:
        assert url.startswith("/"), url
        asset = await app_http.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
    if page == "/docs":
        assert any(u.endswith(".css") for u in urls)
        assert "/openapi.json" in urls
