"""The edge's rules without a server: which requests need which credential,
and what a caller hears when PostgreSQL cannot say who they are."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from api.app import create_app
from api.auth import KnownKeys
from api.edge import Access, rule_for
from api.policy import POLICY, Gate
from sopflow.config import Settings


@pytest.mark.parametrize(
    ("method", "path", "access"),
    [
        ("GET", "/health", Access.PUBLIC),
        ("GET", "/metrics", Access.PUBLIC),
        ("GET", "/openapi.json", Access.PUBLIC),
        ("GET", "/static-offline-docs/swagger-ui.css", Access.PUBLIC),
        ("GET", "/app/static/app.css", Access.PUBLIC),
        ("POST", "/webhooks/erp", Access.BODY),
        ("POST", "/app/login", Access.BODY),
        ("GET", "/app/login", Access.SESSION),
        ("POST", "/app/tasks/x/decide", Access.SESSION),
        ("POST", "/orders", Access.KEY),
        ("GET", "/healthz", Access.KEY),
        ("GET", "/docs/../orders", Access.KEY),
        ("GET", "/app-anything", Access.KEY),
        ("GET", "/", Access.KEY),
    ],
)
def test_only_the_listed_requests_go_without_a_key(method: str, path: str, access: Access) -> None:
    assert rule_for(method, path).access is access


class DownPool:
    def acquire(self) -> DownPool:
        return self

    async def __aenter__(self) -> None:
        raise ConnectionRefusedError("PostgreSQL is not listening")

    async def __aexit__(self, *exc: object) -> None:
        return None


@pytest.fixture
async def http() -> httpx.AsyncClient:
    app = create_app(Settings(), database_url="postgresql://unused")
    app.state.settings = Settings()
    app.state.pool = DownPool()
    app.state.known_keys = KnownKeys(timedelta(seconds=5))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://sopflow.test"
    ) as client:
        yield client


async def test_no_key_is_refused_without_asking_postgresql(http: httpx.AsyncClient) -> None:
    resp = await http.post("/csrs", json={})
    assert resp.status_code == 401
    assert resp.json()["detail"] == "missing bearer API key (Authorization: Bearer <key>)"


async def test_a_key_postgresql_cannot_check_is_a_503_not_a_500(http: httpx.AsyncClient) -> None:
    resp = await http.get("/tasks", headers={"Authorization": "Bearer sfk_some-key"})
    assert resp.status_code == 503
    assert resp.json()["detail"] == "the database is unavailable; try again shortly"
    page = await http.get("/app/queue", headers={"Cookie": "__Host-sopflow-session=abc"})
    assert page.status_code == 503


# What the edge lets through unread and what the policy calls public must agree
# for every route, or a route would be closed at one door and open at the other.
# The sign-in page is the one difference, on purpose: the edge lets a session
# (or none) reach it, and its form is read before any key exists.
GATE_AT_THE_EDGE = {
    Gate.PUBLIC: Access.PUBLIC,
    Gate.SIGNATURE: Access.BODY,
    Gate.PAGE: Access.SESSION,
    Gate.KEY: Access.KEY,
}
SIGN_IN = {("GET", "/app/login"): Access.SESSION, ("POST", "/app/login"): Access.BODY}


@pytest.mark.parametrize(("method", "path"), sorted(POLICY))
def test_the_edge_and_the_policy_agree_on_who_needs_a_key(method: str, path: str) -> None:
    expected = SIGN_IN.get((method, path), GATE_AT_THE_EDGE[POLICY[(method, path)].access])
    # A path template's parameters stand for one path segment.
    concrete = path.replace("{", "x").replace("}", "")
    assert rule_for(method, concrete).access is expected
