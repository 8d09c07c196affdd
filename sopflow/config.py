"""All configuration in one place: environment variables with the SOPFLOW_ prefix,
plus the conventional DATABASE_URL, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SOPFLOW_", extra="ignore")

    # Where things run
    data_dir: Path = Path(".sopflow")
    host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    ui_port: int = 8233
    sim_port: int = 8100
    metrics_port: int | None = None

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "SOPFLOW_DATABASE_URL")
    )
    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "SOPFLOW_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "SOPFLOW_TEMPORAL_NAMESPACE"),
    )
    task_queue: str = "sopflow"

    # External systems; the dev stack points them at the simulators.
    oms_url: str | None = None
    iseries_url: str | None = None
    email_url: str | None = None
    helpdesk_url: str | None = None
    helpdesk_api_key: str = "sim-helpdesk-key"
    http_timeout: timedelta = timedelta(seconds=10)
    csc_inbox: str = "csc-inbox@example.com"

    # Business timing (all durable timers and SLAs come from here)
    order_sla: timedelta = timedelta(hours=2)
    # How long one try of an activity may take before Temporal retries it
    # elsewhere; bounds the wait after a worker dies mid-call.
    activity_timeout: timedelta = timedelta(seconds=30)
    activity_max_retry_interval: timedelta = timedelta(minutes=1)
    # How often the read model is compared with Temporal and fixed (a Schedule
    # the worker creates: closes rows of terminated or timed-out workflows).
    reconcile_every: timedelta = timedelta(minutes=5)
    # A system that has not answered for this long is down: the workflow says
    # it is waiting on it (never fails for it) and keeps trying.
    outage_detect_after: timedelta = timedelta(seconds=120)
    # How long a read-model write may hold up a workflow before it goes on and
    # catches up later (a PostgreSQL outage never stalls orders or Updates).
    read_model_patience: timedelta = timedelta(seconds=3)
    read_model_catch_up_every: timedelta = timedelta(seconds=30)

    # The API
    max_order_bytes: int = 1_000_000
    # How long a person's call waits for a workflow's answer before a 503.
    update_wait: timedelta = timedelta(seconds=30)

    # GET /health's probe of each external system (issue 7): how long it waits
    # for an answer, past what an answer counts as slow (degraded), and how
    # long one round of probes is kept.
    health_probe_timeout: timedelta = timedelta(seconds=3)
    health_probe_slow_after: timedelta = timedelta(seconds=1)
    health_probe_cache: timedelta = timedelta(seconds=5)

    log_format: Literal["console", "json"] = "json"
    log_level: str = "INFO"

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    def system_url(self, system: str) -> str:
        explicit = getattr(self, f"{system}_url")
        return (explicit or f"http://{self.host}:{self.sim_port}/{system}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
