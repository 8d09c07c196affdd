"""Connecting to Temporal the one way every process does it."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from sopflow.config import Settings


async def connect(settings: Settings, *, metrics: bool = False) -> Client:
    runtime = None
    if metrics and settings.metrics_port:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=f"{settings.host}:{settings.metrics_port}")
            )
        )
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


async def register_search_attributes(client: Client) -> None:
    """Register our custom search attributes on a server that was not started
    with them (the time-skipping test server; an existing cluster)."""
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    from domain import search

    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: int(key.indexed_value_type) for key in search.ALL},
        )
    )
