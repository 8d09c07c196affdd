"""The monitoring in deploy/: the Grafana dashboard and the Prometheus alert
rules ask for metrics that exist (ours from GET /metrics, the Temporal SDK's
from the worker), and the compose file mounts what they need."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

import api.metrics as metrics_api
from db import metrics as queries
from sopflow.config import Settings

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "sopflow.json"
RULES = REPO / "deploy" / "prometheus" / "rules"  # rule files only: Prometheus loads *.yml
# The Temporal SDK's worker metrics as its Prometheus endpoint names them
# (temporalio 1.35, counters without a _total suffix, durations in ms).
SDK_METRICS = {
    "temporal_workflow_task_execution_latency_bucket",
    "temporal_workflow_task_schedule_to_start_latency_bucket",
    "temporal_activity_schedule_to_start_latency_bucket",
    "temporal_workflow_task_execution_failed",
    "temporal_activity_execution_failed",
    "temporal_sticky_cache_hit",
    "temporal_sticky_cache_miss",
    "temporal_num_pollers",
    "temporal_worker_task_slots_available",
}
NAME = re.compile(r"\b((?:sopflow|temporal)_[a-z_]+)\b")


def exposed_names(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every metric name GET /metrics writes, read with an empty read model."""

    async def nothing(conn: object) -> list:
        return []

    for name in ("orders_by_status", "open_holds", "open_tasks", "open_incidents",
                 "undelivered_buyer_documents", "csr_cases_by_phase", "open_orders_by_code"):  # fmt: skip
        monkeypatch.setattr(queries, name, nothing)

    async def no_sla(conn: object) -> dict[str, int]:
        return {"reminders": 0, "breaches": 0, "past_sla": 0}

    async def no_lag(conn: object) -> float:
        return 0.0

    monkeypatch.setattr(queries, "sla_events", no_sla)
    monkeypatch.setattr(queries, "read_model_lag", no_lag)
    families = asyncio.run(metrics_api.read_families(None, Settings()))  # type: ignore[arg-type]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics_api._Families(families))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    return set(re.findall(r"^# HELP (\S+)", text, re.MULTILINE)) | set(
        re.findall(r"^([a-z_]+)[{ ]", text, re.MULTILINE)
    )


def dashboard_exprs() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


def rule_exprs() -> list[str]:
    exprs = []
    for file in RULES.glob("*.yml"):
        for group in yaml.safe_load(file.read_text())["groups"]:
            exprs += [rule["expr"] for rule in group["rules"]]
    return exprs


def test_the_dashboard_asks_for_metrics_that_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = exposed_names(monkeypatch)
    used = {n for e in dashboard_exprs() for n in NAME.findall(e)}
    assert {n for n in used if n.startswith("sopflow_")} <= ours
    assert {n for n in used if n.startswith("temporal_")} <= SDK_METRICS
    # Each family a team lead watches is on it.
    for family in ("sopflow_orders", "sopflow_holds_open", "sopflow_tasks_overdue",
                   "sopflow_sla_breaches_total", "sopflow_incidents_open",
                   "sopflow_buyer_documents_undelivered", "sopflow_csr_cases",
                   "sopflow_open_orders", "sopflow_read_model_lag_seconds"):  # fmt: skip
        assert family in used, family
    for sdk in ("temporal_workflow_task_execution_latency_bucket",
                "temporal_activity_execution_failed",
                "temporal_workflow_task_schedule_to_start_latency_bucket",
                "temporal_sticky_cache_hit"):  # fmt: skip
        assert sdk in used, sdk


def test_the_dashboard_panels_use_the_provisioned_data_source() -> None:
    source = yaml.safe_load(
        (REPO / "deploy/grafana/provisioning/datasources/prometheus.yaml").read_text()
    )["datasources"][0]["uid"]
    board = json.loads(DASHBOARD.read_text())
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == source, panel["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def test_the_compose_file_mounts_the_monitoring_it_names() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    for service in ("prometheus", "grafana"):
        for volume in compose["services"][service]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"{service}: {source}"
    scrape = yaml.safe_load((REPO / "deploy/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"] for job in scrape["scrape_configs"]}
    assert jobs == {"sopflow-api", "sopflow-worker"}
    # The worker serves the SDK's metrics where Prometheus looks for them.
    worker = compose["services"]["worker"]["environment"]
    assert worker["SOPFLOW_METRICS_PORT"] == "9464"


def test_every_alert_asks_for_metrics_that_exist_and_has_a_unit_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ours = exposed_names(monkeypatch)
    for expr in rule_exprs():
        for name in NAME.findall(expr):
            assert name in ours | SDK_METRICS, f"{name} in {expr!r}"
    alerts = {
        rule["alert"]
        for file in RULES.glob("*.yml")
        for group in yaml.safe_load(file.read_text())["groups"]
        for rule in group["rules"]
    }
    tests = yaml.safe_load((REPO / "deploy/prometheus/tests/sopflow_test.yml").read_text())
    fired = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    quiet = {
        case["alertname"]
        for test in tests["tests"]
        for case in test.get("alert_rule_test", [])
        if not case["exp_alerts"]
    }
    assert fired == alerts
    assert quiet == alerts
