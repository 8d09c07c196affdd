"""One trace per request (issue 29): an order posted to the API is one trace
from the API's request to the OMS simulator's call, through the workflow and its
activities, with the trace id in that request's, workflow's and activities' log
lines; a decision's effects link to the decision's request; a refused request
is traced too. Spans go to the SDK's in-memory exporter; the worker runs here."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from sopflow.config import Settings
from sopflow.converter import DATA_CONVERTER
from sopflow.logs import configure_logging
from sopflow.temporal import traced
from sopflow.trace_links import DecisionTracingInterceptor
from sopflow.tracing import setup_tracing, shutdown_tracing
from tests.conftest import Simulators
from tests.integration.test_hold_story import complete, task_in_queue
from tests.integration.test_order_e2e import post_cxml, sample, wait_for
from tests.servers import api_server
from tests.unit.test_devstack import restore_logging  # noqa: F401 (a fixture)
from tests.workflow.conftest import eventually
from workers.main import INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS, build_worker

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("restore_logging")]


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert setup_tracing(Settings(), "test", exporters=[exporter], batch=False)
    yield exporter
    # The rest of the run goes untraced.
    shutdown_tracing()


@pytest.fixture(scope="module")
async def settings_traced(it_settings: Settings) -> Settings:
    # A task queue of its own: no untraced worker of another test takes its tasks.
    return it_settings.model_copy(update={"task_queue": f"sopflow-traced-{uuid.uuid4().hex[:6]}"})


@pytest.fixture(scope="module")
async def api(
    spans: InMemorySpanExporter,
    settings_traced: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
) -> AsyncIterator[httpx.AsyncClient]:
    client = traced(dev_server.client)
    async with (
        build_worker(client, settings_traced, pool) as worker,
        worker,
        api_server(settings_traced, pool, client) as http,
    ):
        yield http


def trace_of(span: ReadableSpan) -> str:
    return format(span.context.trace_id, "032x")


def status_of(span: ReadableSpan) -> int | None:
    attrs = span.attributes or {}
    return attrs.get("http.response.status_code", attrs.get("http.status_code"))  # type: ignore[return-value]


def url_of(span: ReadableSpan) -> str:
    attrs = span.attributes or {}
    return str(attrs.get("url.full", attrs.get("http.url", "")))


def server_span(spans: InMemorySpanExporter, method: str, route: str) -> ReadableSpan:
    found = [
        s
        for s in spans.get_finished_spans()
        if s.kind is SpanKind.SERVER
        and s.instrumentation_scope is not None
        and s.instrumentation_scope.name.endswith("fastapi")
        and s.name == f"{method} {route}"
    ]
    assert found, f"no server span {method} {route}"
    return found[-1]


def log_lines(err: str) -> list[dict]:
    lines = []
    for line in err.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def test_an_order_is_one_trace_from_the_request_to_the_oms_call(
    api: httpx.AsyncClient,
    spans: InMemorySpanExporter,
    settings_traced: Settings,
    demo_keys: dict[str, str],
    sims: Simulators,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json")
    po = f"47{uuid.uuid4().int % 10**8:08d}"
    resp = await post_cxml(api, demo_keys["system"], sample(po))
    assert resp.status_code == 200, resp.text
    order_id = resp.headers["X-Order-Id"]
    request = server_span(spans, "POST", "/orders")
    assert status_of(request) == 200
    trace_id = trace_of(request)

    await wait_for(api, demo_keys["account_rep"], order_id, "released")

    def in_trace() -> list[ReadableSpan]:
        return [s for s in spans.get_finished_spans() if trace_of(s) == trace_id]

    async def oms_call() -> list[ReadableSpan]:
        return [
            s
            for s in in_trace()
            if s.kind is SpanKind.CLIENT and url_of(s).startswith(f"{settings_traced.oms_url}/")
        ]

    [call, *_] = await eventually(oms_call, "the OMS call in the request's trace")
    assert status_of(call) in (200, 201)
    names = {s.name for s in in_trace()}
    # The path between them: the workflow's start and run, its activities.
    assert {"StartWorkflow:OrderWorkflow", "RunWorkflow:OrderWorkflow"} <= names, names
    # The OMS call is made inside an OMS activity of this order's workflow.
    by_id = {s.context.span_id: s for s in in_trace()}
    parent = by_id[call.parent.span_id] if call.parent else None
    assert parent is not None and parent.name.startswith("RunActivity:oms."), parent
    assert (parent.attributes or {}).get("temporalWorkflowID") == order_id
    # PostgreSQL's queries of the request (the caller's key) are in it too.
    assert any((s.attributes or {}).get("db.system") == "postgresql" for s in in_trace())

    lines = log_lines(capsys.readouterr().err)
    request_id = resp.headers["X-Request-Id"]
    of_request = [line for line in lines if line.get("request_id") == request_id]
    assert of_request and all(line.get("trace_id") == trace_id for line in of_request), of_request
    of_workflow = [
        line
        for line in lines
        if line.get("workflow_id") == order_id and line.get("logger") == "temporalio.workflow"
    ]
    assert of_workflow and all(line.get("trace_id") == trace_id for line in of_workflow)
    of_activities = [
        line
        for line in lines
        if line.get("workflow_id") == order_id and str(line.get("activity", "")).startswith("oms.")
    ]
    assert of_activities and all(line.get("trace_id") == trace_id for line in of_activities)


async def test_a_refused_request_is_traced_too(
    api: httpx.AsyncClient, spans: InMemorySpanExporter
) -> None:
    resp = await api.post("/orders", content=b"<cXML/>", headers={"Content-Type": "text/xml"})
    assert resp.status_code == 401
    refused = server_span(spans, "POST", "/orders")
    assert status_of(refused) == 401


async def test_probes_and_scrapes_make_no_traces(
    api: httpx.AsyncClient, spans: InMemorySpanExporter, sims: Simulators
) -> None:
    spans.clear()
    # GET /health asks PostgreSQL, Temporal and every system; /metrics the read model.
    assert (await api.get("/health")).status_code in (200, 503)
    assert (await api.get("/metrics")).status_code == 200

    def statement(s: ReadableSpan) -> str:
        return str((s.attributes or {}).get("db.statement", ""))

    # What only these two requests do (a worker finishing an earlier order may
    # still be making spans of its own meanwhile).
    inside = [
        (s.name, url_of(s) or statement(s)[:60])
        for s in spans.get_finished_spans()
        if (url_of(s).startswith(sims.url) and url_of(s).endswith("/health"))
        or statement(s) == "SELECT 1"
        or "FROM workflow_records" in statement(s)
    ]
    assert inside == []
    served = [
        s.name
        for s in spans.get_finished_spans()
        if s.instrumentation_scope and s.instrumentation_scope.name.endswith("fastapi")
    ]
    assert served == []


async def test_a_decisions_effects_link_to_its_request(
    api: httpx.AsyncClient,
    spans: InMemorySpanExporter,
    demo_keys: dict[str, str],
    sims: Simulators,
    dev_server: WorkflowEnvironment,
) -> None:
    rep = demo_keys["account_rep"]
    po = f"48{uuid.uuid4().int % 10**8:08d}"
    unknown = f"PP-NEW-{po}"
    doc = sample(
        po, **{"<BuyerPartID>PP-GASKET</BuyerPartID>": f"<BuyerPartID>{unknown}</BuyerPartID>"}
    )
    resp = await post_cxml(api, demo_keys["system"], doc)
    assert resp.status_code == 200, resp.text
    order_id = resp.headers["X-Order-Id"]
    started = trace_of(server_span(spans, "POST", "/orders"))

    part = await task_in_queue(api, rep, order_id, "resolve_hold_part")
    mapped = await complete(api, rep, part, decision="map_part", part_id="GS-2040")
    assert mapped.status_code == 200, mapped.text
    decided = trace_of(server_span(spans, "POST", "/tasks/{task_id:path}/complete"))
    assert decided != started
    await wait_for(api, rep, order_id, "released")

    def linked_to_decision() -> list[ReadableSpan]:
        return [
            s
            for s in spans.get_finished_spans()
            if s.name.startswith("StartActivity:")
            and (s.attributes or {}).get("temporalWorkflowID") == order_id
            and any(format(link.context.trace_id, "032x") == decided for link in s.links)
        ]

    async def oms_effect() -> list[ReadableSpan]:
        return [s for s in linked_to_decision() if s.name.startswith("StartActivity:oms.")]

    # The order goes on to the OMS in its main run, after the decision: linked.
    [effect, *_] = await eventually(oms_effect, "an OMS call linked to the decision")
    # ... and still in the trace of the request that started the order.
    assert trace_of(effect) == started

    # Its history (with the trace context in its headers) replays on workers
    # with tracing on and off alike: tracing issued no command of its own.
    history = await dev_server.client.get_workflow_handle(order_id).fetch_history()
    for interceptors in (INTERCEPTORS, [DecisionTracingInterceptor(), *INTERCEPTORS]):
        replayer = Replayer(
            workflows=WORKFLOWS,
            data_converter=DATA_CONVERTER,
            workflow_runner=WORKFLOW_RUNNER,
            interceptors=interceptors,
        )
        result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
        assert result.replay_failure is None


async def test_a_decision_in_a_workflow_without_a_trace_is_its_effects_parent(
    api: httpx.AsyncClient,
    spans: InMemorySpanExporter,
    settings_traced: Settings,
    pool: asyncpg.Pool,
    demo_keys: dict[str, str],
    sims: Simulators,
    dev_server: WorkflowEnvironment,
) -> None:
    """An order running since before tracing was on (started by a client
    without the interceptor): a decision's effects belong to its trace."""
    rep = demo_keys["account_rep"]
    po = f"49{uuid.uuid4().int % 10**8:08d}"
    unknown = f"PP-NEW-{po}"
    doc = sample(
        po, **{"<BuyerPartID>PP-GASKET</BuyerPartID>": f"<BuyerPartID>{unknown}</BuyerPartID>"}
    )
    async with api_server(settings_traced, pool, dev_server.client) as untraced:
        resp = await post_cxml(untraced, demo_keys["system"], doc)
    assert resp.status_code == 200, resp.text
    order_id = resp.headers["X-Order-Id"]

    part = await task_in_queue(api, rep, order_id, "resolve_hold_part")
    mapped = await complete(api, rep, part, decision="map_part", part_id="GS-2040")
    assert mapped.status_code == 200, mapped.text
    decided = trace_of(server_span(spans, "POST", "/tasks/{task_id:path}/complete"))
    await wait_for(api, rep, order_id, "released")

    async def oms_call_in_decision() -> list[ReadableSpan]:
        return [
            s
            for s in spans.get_finished_spans()
            if trace_of(s) == decided
            and s.kind is SpanKind.CLIENT
            and url_of(s).startswith(f"{settings_traced.oms_url}/")
        ]

    # The OMS call the decision set going, down to its HTTP request.
    await eventually(oms_call_in_decision, "the OMS call in the decision's trace")
    # The workflow itself made no spans before the decision.
    assert not any(
        s.name == "RunWorkflow:OrderWorkflow"
        and (s.attributes or {}).get("temporalWorkflowID") == order_id
        for s in spans.get_finished_spans()
    )
