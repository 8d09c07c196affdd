"""GET /metrics: what a team lead and an operator watch, for Prometheus.

Counts and ages from the read model (db/metrics.py), never from walking
Temporal, read at most once per SOPFLOW_METRICS_CACHE however many scrape. The
route is public, like /health: every value is a count or an age over a group
(a status, a code, a kind, a platform), never an order, a person or an
account. The SDK's own metrics (workflow tasks, activities, pollers) are the
worker's, on SOPFLOW_METRICS_PORT."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import asyncpg
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from db import metrics as queries
from sopflow.config import Settings

router = APIRouter(tags=["operations"])
log = structlog.get_logger()
# A scrape that cannot get the read model within this is answered 503.
QUERY_TIMEOUT = 5.0


async def read_families(conn: asyncpg.Connection, settings: Settings) -> list[Metric]:
    fams: list[Metric] = []

    orders = GaugeMetricFamily(
        "sopflow_orders", "Orders still running, by status.", labels=["status"]
    )
    for r in await queries.orders_by_status(conn):
        orders.add_metric([r["status"]], r["n"])
    fams.append(orders)

    holds = GaugeMetricFamily(
        "sopflow_holds_open",
        "Open holds on orders by hold code and age (since the hold was found).",
        labels=["code", "age"],
    )
    oldest: dict[str, float] = {}
    for r in await queries.open_holds(conn):
        holds.add_metric([r["code"] or "", r["bucket"]], r["n"])
        oldest[r["code"] or ""] = max(oldest.get(r["code"] or "", 0.0), float(r["oldest"]))
    hold_age = GaugeMetricFamily(
        "sopflow_hold_oldest_age_seconds", "Age of the oldest open hold by code.", labels=["code"]
    )
    for code, age in sorted(oldest.items()):
        hold_age.add_metric([code], age)
    fams += [holds, hold_age]

    tasks = GaugeMetricFamily(
        "sopflow_tasks_open", "Open tasks by kind and queue (or role).", labels=["kind", "queue"]
    )
    overdue = GaugeMetricFamily(
        "sopflow_tasks_overdue", "Open tasks past their due time.", labels=["kind", "queue"]
    )
    most_overdue = GaugeMetricFamily(
        "sopflow_task_most_overdue_seconds",
        "How long past due the most overdue open task is (0: none overdue).",
        labels=["kind", "queue"],
    )
    for r in await queries.open_tasks(conn):
        labels = [r["kind"], r["queue"] or ""]
        tasks.add_metric(labels, r["n"])
        overdue.add_metric(labels, r["overdue"])
        most_overdue.add_metric(labels, float(r["most_overdue"]))
    fams += [tasks, overdue, most_overdue]

    sla = await queries.sla_events(conn)
    fams.append(
        CounterMetricFamily(
            "sopflow_sla_reminders", "SLA reminders sent to reps.", value=sla["reminders"]
        )
    )
    fams.append(CounterMetricFamily("sopflow_sla_breaches", "SLA breaches.", value=sla["breaches"]))
    fams.append(
        GaugeMetricFamily(
            "sopflow_orders_past_sla",
            "Open orders not yet confirmed whose SLA has passed.",
            value=sla["past_sla"],
        )
    )

    incidents = GaugeMetricFamily(
        "sopflow_incidents_open",
        "Platform outages not yet closed, by platform, status and whether escalated.",
        labels=["platform", "status", "escalated"],
    )
    longest: dict[str, float] = {}
    for r in await queries.open_incidents(conn):
        platform = r["platform"] or ""
        incidents.add_metric([platform, r["status"], str(r["escalated"]).lower()], r["n"])
        # Reconciling: the platform answers again, the outage is over.
        if r["status"] == "open":
            longest[platform] = max(longest.get(platform, 0.0), float(r["longest"] or 0))
    incident_age = GaugeMetricFamily(
        "sopflow_incident_open_seconds",
        "How long each platform has been down: its longest outage not yet recovered.",
        labels=["platform"],
    )
    for platform, age in sorted(longest.items()):
        incident_age.add_metric([platform], age)
    escalate = GaugeMetricFamily(
        "sopflow_incident_escalate_after_seconds",
        "After how long an outage notifies every IT support contact (SOPFLOW_OUTAGE_ESCALATE_AFTER).",
        value=settings.outage_escalate_after.total_seconds(),
    )
    fams += [incidents, incident_age, escalate]

    documents = GaugeMetricFamily(
        "sopflow_buyer_documents_undelivered",
        "Documents for buyers not taken yet (pending, refused, undelivered, not sent).",
        labels=["kind", "status"],
    )
    document_age = GaugeMetricFamily(
        "sopflow_buyer_document_oldest_undelivered_seconds",
        "Age of the oldest such document.",
        labels=["kind", "status"],
    )
    for r in await queries.undelivered_buyer_documents(conn):
        documents.add_metric([r["kind"], r["status"]], r["n"])
        document_age.add_metric([r["kind"], r["status"]], float(r["oldest"]))
    fams += [documents, document_age]

    csr = GaugeMetricFamily("sopflow_csr_cases", "CSR cases still running, by phase.", labels=["phase"])
    for r in await queries.csr_cases_by_phase(conn):
        csr.add_metric([r["phase"]], r["n"])
    fams.append(csr)

    open_orders = GaugeMetricFamily(
        "sopflow_open_orders", "Retail open orders still running, by code.", labels=["code"]
    )
    for r in await queries.open_orders_by_code(conn):
        open_orders.add_metric([r["code"]], r["n"])
    fams.append(open_orders)

    fams.append(
        GaugeMetricFamily(
            "sopflow_read_model_lag_seconds",
            "Largest time between a running workflow's change and its read-model row "
            f"taking it, over the writes of the last {queries.LAG_WINDOW_SECONDS} s.",
            value=await queries.read_model_lag(conn),
        )
    )
    return fams


class _Families:
    """A collector that hands out families read beforehand (prometheus_client
    collects synchronously; the read model is read asynchronously)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self.families


@dataclass
class MetricsCache:
    """The last exposition and when it was made; one read at a time."""

    body: bytes = b""
    made: float = float("-inf")
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self, pool: asyncpg.Pool, settings: Settings) -> bytes:
        ttl = settings.metrics_cache.total_seconds()
        async with self.lock:
            if time.monotonic() - self.made >= ttl or not self.body:
                async with pool.acquire(timeout=QUERY_TIMEOUT) as conn:
                    families = await asyncio.wait_for(read_families(conn, settings), QUERY_TIMEOUT)
                registry = CollectorRegistry(auto_describe=False)
                registry.register(_Families(families))  # type: ignore[arg-type]
                self.body = generate_latest(registry)
                self.made = time.monotonic()
            return self.body


@router.get(
    "/metrics",
    summary="Business metrics for Prometheus",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        503: {"description": "the read model did not answer"},
    },
)
async def metrics(request: Request) -> Response:
    state = request.app.state
    cache: MetricsCache | None = getattr(state, "metrics_cache", None)
    if cache is None:
        cache = state.metrics_cache = MetricsCache()
    try:
        body = await cache.get(state.pool, state.settings)
    except Exception as exc:  # PostgreSQL down or slow: say so, never a 500
        log.warning("metrics: read model not answering", error=repr(exc))
        return JSONResponse(
            {
                "detail": "the read model (PostgreSQL) did not answer; try again",
                "type": "Unavailable",
            },
            status_code=503,
        )
    return Response(body, media_type=CONTENT_TYPE_LATEST)
