"""GET /metrics: what a team lead and an operator watch, read from the read
model after a small scenario written the way the workflows write it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from db.buyer_documents import keep_document
from db.connection import create_pool
from db.read_model import apply_sync
from domain.identity import Role
from domain.records import AuditEntry, HumanTask, ReadModelSync, WorkflowRecord
from sopflow.config import Settings
from tests.conftest import free_port
from tests.servers import api_server

Samples = dict[tuple[str, frozenset], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
async def temporal() -> Client:
    # /metrics never asks Temporal; the app only needs a client to start.
    return await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)


@pytest.fixture
async def api(
    settings: Settings, pool: asyncpg.Pool, temporal: Client
) -> AsyncIterator[httpx.AsyncClient]:
    fresh = settings.model_copy(update={"metrics_cache": timedelta(0)})
    async with api_server(fresh, pool, temporal) as http:
        yield http


async def scrape(http: httpx.AsyncClient) -> Samples:
    resp = await http.get("/metrics")  # no key: the route is public
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain")
    return parse(resp.text)


def record(kind: str, status: str, **fields: object) -> WorkflowRecord:
    now = datetime.now(UTC)
    return WorkflowRecord(
        workflow_id=f"{kind}-metrics-{uuid.uuid4().hex[:8]}",
        kind=kind,
        status=status,
        revision=1,
        created_at=now - timedelta(hours=3),
        updated_at=now,
        **fields,  # type: ignore[arg-type]
    )


def an_open_order(code: str | None) -> WorkflowRecord:
    """As the open-order workflow writes it: other tests list these rows."""
    sales_order = f"SO-M{uuid.uuid4().hex[:6]}"
    return record(
        "open_order",
        "scheduling",
        business_key=sales_order,
        view={"store_id": "101", "code": code, "next_action": "call the customer"},
    )


async def write(pool: asyncpg.Pool, sync: ReadModelSync) -> None:
    async with pool.acquire() as conn:
        await apply_sync(conn, sync)


async def an_order_on_hold(pool: asyncpg.Pool, *, is_test: bool = False) -> WorkflowRecord:
    """On hold for an unknown part (found 5 minutes ago) and a price escalated to
    the team lead two hours ago, past its SLA: reminded, then breached."""
    now = datetime.now(UTC)
    order = record(
        "order",
        "on_hold",
        account_number="401693",
        is_test=is_test,
        view={"sla_due_at": (now - timedelta(minutes=10)).isoformat()},
    )
    task = f"{order.workflow_id}:"
    await write(
        pool,
        ReadModelSync(
            record=order,
            audit=[
                AuditEntry(at=now - timedelta(minutes=40), actor="sopflow", action="sla reminder"),
                AuditEntry(at=now - timedelta(minutes=10), actor="sopflow", action="sla breached"),
            ],
            open_tasks=[
                HumanTask(
                    task_id=f"{task}hold:PART:1",
                    workflow_id=order.workflow_id,
                    kind="resolve_hold_part",
                    role=Role.ACCOUNT_REP,
                    opened_at=now - timedelta(minutes=5),
                    due_at=now + timedelta(hours=1),
                    payload={"code": "PART", "line_number": 1, "reason": "unknown part"},
                ),
                HumanTask(
                    task_id=f"{task}escalation:PRICE:2",
                    workflow_id=order.workflow_id,
                    kind="price_escalation",
                    role=Role.TEAM_LEAD,
                    opened_at=now - timedelta(hours=2),
                    due_at=now - timedelta(minutes=10),
                    payload={"code": "PRICE", "line_number": 2, "reason": "price differs"},
                ),
            ],
        ),
    )
    return order


async def test_metrics_count_what_the_read_model_holds(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    before = await scrape(api)

    order = await an_order_on_hold(pool)
    await an_order_on_hold(pool, is_test=True)  # a buyer's test order: not counted
    now = datetime.now(UTC)
    incident = record(
        "incident",
        "open",
        business_key="metricsplatform",
        view={
            "opened_at": (now - timedelta(minutes=40)).isoformat(),
            "escalated_at": (now - timedelta(minutes=10)).isoformat(),
        },
    )
    await write(pool, ReadModelSync(record=incident))
    await write(pool, ReadModelSync(record=record("csr", "under_assessment")))
    for code in ("BALDUE", None):
        await write(pool, ReadModelSync(record=an_open_order(code)))
    async with pool.acquire() as conn:
        await keep_document(
            conn,
            order_id=order.workflow_id,
            payload_id=f"{order.workflow_id}-confirm",
            direction="sent",
            kind="ConfirmationRequest",
            event="confirmation accept",
            is_test=False,
            endpoint_url="http://127.0.0.1:9/cxml",
            xml="<cXML/>",
            status="refused",
        )

    after = await scrape(api)

    assert delta(before, after, "sopflow_orders", status="on_hold") == 1
    assert delta(before, after, "sopflow_holds_open", code="PART", age="0-15m") == 1
    assert delta(before, after, "sopflow_holds_open", code="PRICE", age="1h-4h") == 1
    assert value(after, "sopflow_hold_oldest_age_seconds", code="PRICE") >= 7200
    rep = {"kind": "resolve_hold_part", "queue": "account_rep"}
    lead = {"kind": "price_escalation", "queue": "team_lead"}
    assert delta(before, after, "sopflow_tasks_open", **rep) == 1
    assert delta(before, after, "sopflow_tasks_overdue", **rep) == 0
    assert delta(before, after, "sopflow_tasks_open", **lead) == 1
    assert delta(before, after, "sopflow_tasks_overdue", **lead) == 1
    assert value(after, "sopflow_task_most_overdue_seconds", **lead) >= 600
    assert delta(before, after, "sopflow_sla_reminders_total") == 1
    assert delta(before, after, "sopflow_sla_breaches_total") == 1
    assert delta(before, after, "sopflow_orders_past_sla") == 1
    assert value(after, "sopflow_incidents_open", platform="metricsplatform", status="open",
                 escalated="true") == 1  # fmt: skip
    assert 2400 <= value(after, "sopflow_incident_open_seconds", platform="metricsplatform") < 3600
    assert value(after, "sopflow_incident_escalate_after_seconds") == 1800
    assert delta(before, after, "sopflow_buyer_documents_undelivered",
                 kind="ConfirmationRequest", status="refused") == 1  # fmt: skip
    assert delta(before, after, "sopflow_csr_cases", phase="under_assessment") == 1
    assert delta(before, after, "sopflow_open_orders", code="BALDUE") == 1
    assert delta(before, after, "sopflow_open_orders", code="none") == 1

    # The platform answers again: the outage is over, its orders are being
    # reconciled; then it closes and is no longer counted.
    platform = {"platform": "metricsplatform", "escalated": "true"}
    reconciling = incident.model_copy(
        update={"status": "reconciling", "revision": 2, "updated_at": datetime.now(UTC)}
    )
    await write(pool, ReadModelSync(record=reconciling))
    later = await scrape(api)
    assert value(later, "sopflow_incidents_open", status="open", **platform) == 0
    assert value(later, "sopflow_incidents_open", status="reconciling", **platform) == 1
    assert value(later, "sopflow_incident_open_seconds", platform="metricsplatform") == 0
    closed = reconciling.model_copy(
        update={
            "status": "closed",
            "revision": 3,
            "updated_at": datetime.now(UTC),
            "closed_at": datetime.now(UTC),
        }  # fmt: skip
    )
    await write(pool, ReadModelSync(record=closed))
    last = await scrape(api)
    assert value(last, "sopflow_incidents_open", status="reconciling", **platform) == 0


async def test_a_late_write_shows_as_read_model_lag(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """A workflow changed 90 seconds before its row took the change (a write
    that waited out a PostgreSQL outage, say)."""
    late = record("order", "received")
    late = late.model_copy(update={"updated_at": datetime.now(UTC) - timedelta(seconds=90)})
    await write(pool, ReadModelSync(record=late))
    assert value(await scrape(api), "sopflow_read_model_lag_seconds") >= 90


async def test_metrics_name_no_order_account_or_person(
    api: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    order = await an_order_on_hold(pool)
    text = (await api.get("/metrics")).text
    for private in (order.workflow_id, "401693", "unknown part"):
        assert private not in text


async def test_scrapes_within_the_cache_time_read_the_read_model_once(
    settings: Settings, pool: asyncpg.Pool, temporal: Client
) -> None:
    cached = settings.model_copy(update={"metrics_cache": timedelta(hours=1)})
    async with api_server(cached, pool, temporal) as http:
        first = await scrape(http)
        await write(pool, ReadModelSync(record=record("csr", "registration")))
        assert await scrape(http) == first


async def test_without_postgresql_metrics_are_a_503_with_a_reason(
    settings: Settings, temporal: Client
) -> None:
    dead_pool = await create_pool(
        f"postgresql://sopflow:x@127.0.0.1:{free_port()}/sopflow", min_size=0
    )
    try:
        async with api_server(settings, dead_pool, temporal) as http:
            resp = await http.get("/metrics")
    finally:
        await dead_pool.close()
    assert resp.status_code == 503
    assert "PostgreSQL" in resp.json()["detail"]
