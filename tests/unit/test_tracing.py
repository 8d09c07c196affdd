"""Where traces go (docs/operations.md, "Tracing"): nowhere by default, at no
cost; to an OTLP collector named by OTEL_EXPORTER_OTLP_ENDPOINT; to a JSON-lines
file (SOPFLOW_TRACE_FILE) that the dev stack's processes share. The request's
trace id is in its log lines, a refused request's too."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from api.app import create_app
from api.auth import KnownKeys
from sopflow import tracing
from sopflow.cli import _settings
from sopflow.config import Settings
from tests.unit.test_devstack import restore_logging  # noqa: F401 (a fixture)

OTEL_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                  "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED")  # fmt: skip


@pytest.fixture(autouse=True)
def untraced(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with tracing off and none of the runner's OTEL_* or
    SOPFLOW_TRACE_* settings; whatever it turned on is turned off after."""
    for name in (*OTEL_VARIABLES, "SOPFLOW_TRACE_FILE", "SOPFLOW_TRACE_CONSOLE"):
        monkeypatch.delenv(name, raising=False)
    tracing.shutdown_tracing()
    yield
    tracing.shutdown_tracing()


def api_client() -> httpx.AsyncClient:
    app = create_app(Settings(), database_url="postgresql://unused")
    app.state.settings = Settings()
    app.state.known_keys = KnownKeys(timedelta(seconds=5))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sopflow.test")


async def test_nothing_is_traced_unless_something_receives_the_spans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As docker-compose.yml passes it when the shell names no collector.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
    assert tracing.configured_exporters(Settings()) == []
    assert tracing.setup_tracing(Settings(), "api") is False
    assert not tracing.enabled()
    # No interceptor in Temporal's path, no middleware in the API's.
    assert tracing.temporal_interceptors() == []
    app = create_app(Settings(), database_url="postgresql://unused")
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)


def test_opentelemetrys_own_switch_turns_it_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    with_file = Settings(trace_file=tmp_path / "traces.jsonl")
    assert len(tracing.configured_exporters(with_file)) == 2
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.configured_exporters(with_file) == []
    assert tracing.setup_tracing(with_file, "worker") is False


async def test_the_api_writes_its_spans_to_the_trace_file_with_their_ids_in_its_log(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,  # noqa: F811
) -> None:
    trace_file = tmp_path / "traces.jsonl"
    monkeypatch.setenv("SOPFLOW_TRACE_FILE", str(trace_file))
    monkeypatch.setenv("SOPFLOW_LOG_FORMAT", "json")
    _settings("api")  # what `sopflow api` does first
    assert tracing.enabled()
    async with api_client() as http:
        assert (await http.get("/openapi.json")).status_code == 200
        # Refused by the edge, before any route: traced all the same.
        refused = await http.post("/csrs", json={})
        assert refused.status_code == 401
        # Scrapes and probes make no traces.
        await http.get("/metrics")
    tracing.shutdown_tracing()  # sends what the batch still holds

    spans = [json.loads(line) for line in trace_file.read_text().splitlines()]
    server = {s["name"]: s for s in spans if s["kind"] == "SpanKind.SERVER"}
    assert set(server) == {"GET /openapi.json", "POST /csrs"}, set(server)
    assert {s["resource"]["attributes"]["service.name"] for s in spans} == {"sopflow-api"}
    status = server["POST /csrs"]["attributes"]
    assert status.get("http.status_code", status.get("http.response.status_code")) == 401

    requests = [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("{") and '"request"' in line
    ]
    logged = {r["path"]: r.get("trace_id") for r in requests if r.get("event") == "request"}
    assert logged["/metrics"] is None
    assert logged["/csrs"] == server["POST /csrs"]["context"]["trace_id"].removeprefix("0x")
    assert logged["/openapi.json"] == (
        server["GET /openapi.json"]["context"]["trace_id"].removeprefix("0x")
    )


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP collector's traces endpoint, on loopback."""

    received: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Collector.received.append((self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


async def test_spans_go_to_the_otlp_endpoint_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Collector.received.clear()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        # How Honeycomb and other hosted backends take their API key.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-honeycomb-team=test-key")
        assert tracing.setup_tracing(Settings(), "api")
        async with api_client() as http:
            assert (await http.get("/openapi.json")).status_code == 200
        tracing.shutdown_tracing()
    finally:
        server.shutdown()
        server.server_close()

    assert Collector.received, "the collector received nothing"
    path, headers, body = Collector.received[0]
    assert path == "/v1/traces"
    assert headers.get("x-honeycomb-team") == "test-key"
    sent = ExportTraceServiceRequest.FromString(body)
    names = {
        span.name
        for resource in sent.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    }
    assert "GET /openapi.json" in names
