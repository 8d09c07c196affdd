"""One trace per request (OpenTelemetry), set up the same way by every process.

Off unless something is to receive the spans: an OTLP collector at the standard
OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT), a JSON-lines file
(SOPFLOW_TRACE_FILE), or the console (SOPFLOW_TRACE_CONSOLE). Off, nothing is
instrumented and no interceptor is added: the cost is a check at start-up.

On, a request's trace runs from the API's server span (outside the edge, so
refusals are traced too) through the workflow start, Update or Signal, the
workflow's activities (Temporal's TracingInterceptor), to each HTTP call to an
external system (httpx) and each PostgreSQL query (asyncpg). Log lines carry
the trace and span id of where they were written (`add_trace_ids`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from sopflow.config import Settings

if TYPE_CHECKING:  # the SDK is imported only when tracing is on
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from temporalio.client import Interceptor

# Scrapes and probes every few seconds: a trace each would bury the requests.
UNTRACED_PATHS = ("/health", "/metrics")

_provider: TracerProvider | None = None


def enabled() -> bool:
    return _provider is not None


def configured_exporters(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> list[SpanExporter]:
    """What the settings and the OTEL_* variables ask the spans to go to."""
    env = os.environ if environ is None else environ
    exporters: list[SpanExporter] = []
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":  # OpenTelemetry's own off switch
        return exporters
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # It reads the endpoint, headers (an API key), timeout and certificate
        # from the OTEL_EXPORTER_OTLP_* variables itself.
        exporters.append(OTLPSpanExporter())
    if settings.trace_file:
        from sopflow.trace_file import JsonLinesExporter

        exporters.append(JsonLinesExporter(settings.trace_file))
    if settings.trace_console:
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        exporters.append(ConsoleSpanExporter(out=sys.stderr))
    return exporters


def setup_tracing(
    settings: Settings,
    process: str,
    *,
    exporters: Sequence[SpanExporter] | None = None,
    batch: bool = True,
) -> bool:
    """Install the tracer provider and the httpx and asyncpg instrumentation,
    once per process, when any exporter is configured (or given, as tests do);
    whether tracing is on. `process` names the service: sopflow-<process>,
    unless OTEL_SERVICE_NAME says otherwise."""
    global _provider
    if _provider is not None:
        return True
    exporters = list(exporters) if exporters is not None else configured_exporters(settings)
    if not exporters:
        return False
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    attributes = (
        {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": f"sopflow-{process}"}
    )
    provider = TracerProvider(resource=Resource.create(attributes))
    for exporter in exporters:
        # Batched off the request's path; a test's in-memory exporter takes each span at once.
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        provider.add_span_processor(processor)
    # Handed to each instrumentation, never made the global provider: that
    # could be set once per process only, and it would turn on FastAPI's own
    # telemetry in every app besides ours (a second span per request).
    _provider = provider

    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)
    return True


def shutdown_tracing() -> None:
    """Send what is left and stop tracing (apps and clients made from now on
    are not traced); the next `setup_tracing` starts afresh."""
    global _provider
    if _provider is None:
        return
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    AsyncPGInstrumentor().uninstrument()
    _provider.shutdown()
    _provider = None


def instrument_app(app: Any) -> None:
    """Trace a FastAPI app's requests when tracing is on. The span wraps the
    whole middleware stack, the edge's refusals included."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    # Outermost of the app's own middleware: a probe's or scrape's queries and
    # calls (GET /health asks every system) make no traces of their own either.
    app.add_middleware(_Untraced)
    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        excluded_urls=",".join(UNTRACED_PATHS),
        # One span per request, not one more per ASGI message.
        exclude_spans=["receive", "send"],
    )


class _Untraced:
    """Nothing inside these requests is traced (plain ASGI)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] not in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        from opentelemetry.instrumentation.utils import suppress_instrumentation

        with suppress_instrumentation():
            await self.app(scope, receive, send)


def temporal_interceptors() -> list[Interceptor]:
    """For `Client.connect`: a worker built on that client uses them too."""
    if _provider is None:
        return []
    from sopflow.trace_links import DecisionTracingInterceptor

    return [DecisionTracingInterceptor(_provider.get_tracer("sopflow.temporal"))]


def add_trace_ids(_logger: object, _name: str, event: dict) -> dict:
    """structlog processor: the trace and span a log line was written in. In
    workflow code that is the workflow's trace (the request that started it)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event
