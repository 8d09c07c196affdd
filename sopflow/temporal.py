"""Connecting to Temporal the one way every process does it.

The SDK's environment configuration (`temporalio.envconfig`: the TEMPORAL_*
variables and the profiles of a temporal.toml) says where and how: address,
namespace, API key, TLS with a client certificate, server name and CA. What it
leaves out comes from sopflow's settings, which describe the dev stack. So a
secured cluster or Temporal Cloud needs configuration, never code of ours."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from sopflow.config import Settings
from sopflow.converter import DATA_CONVERTER
from sopflow.tracing import temporal_interceptors


def connect_options(
    settings: Settings, *, environ: Mapping[str, str] | None = None, sdk_config: bool = True
) -> dict[str, Any]:
    """The keyword arguments of `Client.connect` (target_host first): the SDK's
    profile (TEMPORAL_PROFILE in TEMPORAL_CONFIG_FILE or the default temporal.toml,
    then the TEMPORAL_* variables of `environ`, default this process's) over
    sopflow's settings. `sdk_config=False` ignores the SDK's configuration: for a
    process that runs its own dev server on loopback."""
    options: dict[str, Any] = {}
    if sdk_config:
        profile = ClientConfigProfile.load(
            override_env_vars=dict(os.environ if environ is None else environ)
        )
        options = dict(profile.to_client_connect_config())
    options.setdefault("target_host", settings.temporal_target)
    options.setdefault("namespace", settings.temporal_namespace)
    return options


async def connect(
    settings: Settings,
    *,
    metrics: bool = False,
    environ: Mapping[str, str] | None = None,
    sdk_config: bool = True,
) -> Client:
    runtime = None
    if metrics and settings.metrics_port:
        runtime = Runtime(
            telemetry=TelemetryConfig(
                metrics=PrometheusConfig(bind_address=f"{settings.host}:{settings.metrics_port}")
            )
        )
    options = connect_options(settings, environ=environ, sdk_config=sdk_config)
    return await Client.connect(
        **options,
        data_converter=DATA_CONVERTER,
        runtime=runtime,
        interceptors=temporal_interceptors(),
    )


def traced(client: Client) -> Client:
    """The same connection with tracing's interceptors (when tracing is on), for
    a client made elsewhere (a test's dev server). A worker built on it traces too."""
    config = client.config()
    interceptors = temporal_interceptors()
    if not interceptors or any(
        isinstance(i, type(interceptors[0])) for i in config["interceptors"]
    ):
        return client
    config["interceptors"] = [*config["interceptors"], *interceptors]
    return Client(**config)


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
