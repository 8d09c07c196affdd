"""All configuration in one place: environment variables with the SOPFLOW_ prefix,
plus the conventional DATABASE_URL, TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE."""

from __future__ import annotations

import re
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

_SECONDS = re.compile(r"[0-9]+(\.[0-9]+)?")
_TIMEDELTA = TypeAdapter(timedelta)


def parse_duration(value: Any, name: str) -> Any:
    """A duration setting: plain seconds (`20`, `1.5`) or ISO 8601 (`PT20S`,
    `PT5M`, `P1D`); anything else is refused with a message that says so."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return timedelta(seconds=float(text))
    wrong = f"{name}={value!r} is not a duration: give seconds (20) or ISO 8601 (PT20S, PT5M, P1D)"
    if not text.upper().startswith("P"):
        raise ValueError(wrong)
    try:
        parsed = _TIMEDELTA.validate_python(text.upper())
    except ValidationError:
        raise ValueError(wrong) from None
    if parsed < timedelta(0):
        raise ValueError(f"{name}={value!r} is negative")
    return parsed


def setting_errors(err: ValidationError) -> str:
    """A settings error as lines a person reads: which variable, and why."""
    lines = []
    for e in err.errors():
        name = "SOPFLOW_" + "_".join(str(p) for p in e["loc"]).upper()
        reason = str(e["msg"]).removeprefix("Value error, ")
        lines.append(reason if reason.startswith(name) else f"{name}={e['input']!r}: {reason}")
    return "\n".join(lines)


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
    # The Temporal Web UI the work-queue page links each workflow to (the dev
    # server's UI at host:ui_port unless set).
    temporal_ui_url: str | None = None

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
    # The CRM: account details for CSR cases (issue 8) and account transfers
    # (issue 10, under /accounts-transfer).
    crm_url: str | None = None
    it_portal_url: str | None = None
    helpdesk_api_key: str = "sim-helpdesk-key"
    # The buyers' procurement network (issue 11): each buyer's endpoint is
    # registered with its PunchOut credential; this is where the demo's point.
    network_url: str | None = None
    # Who we are in the cXML we send buyers (From and Sender), and the secret
    # the network gave us (never stored with the documents).
    cxml_supplier_domain: str = "DUNS"
    cxml_supplier_identity: str = "123456789"
    cxml_shared_secret: str | None = None
    # How long a buyer document is retried (5xx, timeouts) before the rep gets a task.
    buyer_document_patience: timedelta = timedelta(days=1)
    # Open orders (issue 9): the retail ERP and the SMS/voice provider, and the
    # secrets their webhooks sign the body with (HMAC-SHA256).
    erp_url: str | None = None
    smsvoice_url: str | None = None
    erp_webhook_secret: str = "dev-erp-webhook-secret"
    smsvoice_webhook_secret: str = "dev-smsvoice-webhook-secret"
    # How often the open orders are imported from the ERP, and when (UTC) the
    # next business day's confirmation list is made.
    open_order_import_every: timedelta = timedelta(minutes=15)
    confirmation_list_hour_utc: int = Field(default=13, ge=0, le=23)
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
    # An outage: how often its incident probes the platform, and after how long
    # it notifies every IT support contact of the platform (the SOP's 30 minutes,
    # when it affects every account with orders in flight).
    outage_probe_every: timedelta = timedelta(seconds=30)
    outage_escalate_after: timedelta = timedelta(seconds=1800)
    # How long a read-model write may hold up a workflow before it goes on and
    # catches up later (a PostgreSQL outage never stalls orders or Updates).
    read_model_patience: timedelta = timedelta(seconds=3)
    read_model_catch_up_every: timedelta = timedelta(seconds=30)

    # The API. Every request body has a limit, enforced while it is read (413):
    # cXML documents and JSON bodies each their own; webhooks and the page's forms
    # have smaller fixed ones (api/edge.py).
    max_cxml_bytes: int = Field(default=1_000_000, ge=1024)
    max_json_bytes: int = Field(default=1_000_000, ge=1024)
    # How long a person's call waits for a workflow's answer before a 503.
    update_wait: timedelta = timedelta(seconds=30)
    # How long the API remembers a key it has looked up (0: ask PostgreSQL every
    # time); a revoked key stops working within this.
    api_key_memory: timedelta = timedelta(seconds=5)
    # The work-queue page's sessions (kept in PostgreSQL): one ends this long
    # after signing in, or after this long without a click, whichever comes first.
    session_lifetime: timedelta = timedelta(hours=12)
    session_idle_timeout: timedelta = timedelta(minutes=30)
    # A signed webhook is taken only this long after (or before) the time it was
    # signed at: a captured delivery cannot be replayed later.
    webhook_tolerance: timedelta = timedelta(minutes=5)

    # Issue 10: account changes and the weekly review.
    # After a transfer to the CRM, how long before checking the records arrived,
    # and how many transfers before the IM is asked to step in.
    account_change_crm_check_after: timedelta = timedelta(minutes=1)
    account_change_crm_tries: int = 3
    # The center's time zone: the weekly review runs Monday 06:00 there.
    center_timezone: str = "America/Chicago"

    # CSR cases: an approval or assessment is due after this many business days,
    # reminds every `remind_every`, escalates to the sales manager `escalate_after`
    # business days past due; business days skip weekends, the country's (and
    # subdivision's) public holidays and the configured extra days off.
    csr_due_business_days: int = Field(default=3, ge=1, le=60)
    csr_remind_every_business_days: int = Field(default=1, ge=1, le=60)
    csr_escalate_after_business_days: int = Field(default=2, ge=0, le=60)
    csr_holiday_country: str = "US"
    csr_holiday_subdivision: str | None = None
    csr_timezone: str = "America/Chicago"
    csr_extra_holidays: list[date] = []
    # Where links in emails point (default: this machine's API).
    public_url: str | None = None

    # GET /health's probe of each external system (issue 7): how long it waits
    # for an answer, past what an answer counts as slow (degraded), and how
    # long one round of probes is kept.
    health_probe_timeout: timedelta = timedelta(seconds=3)
    health_probe_slow_after: timedelta = timedelta(seconds=1)
    health_probe_cache: timedelta = timedelta(seconds=5)
    # GET /metrics reads the read model at most once per this, however many
    # Prometheus servers scrape it.
    metrics_cache: timedelta = timedelta(seconds=5)

    log_format: Literal["console", "json"] = "json"
    log_level: str = "INFO"
    # Traces (docs/operations.md, "Tracing"): beside an OTLP collector named by
    # OTEL_EXPORTER_OTLP_ENDPOINT, spans as JSON lines to this file (the dev
    # stack's processes share it), or to the console.
    trace_file: Path | None = None
    trace_console: bool = False

    @field_validator("*", mode="before")
    @classmethod
    def _durations(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name and cls.model_fields[info.field_name].annotation is timedelta:
            return parse_duration(value, f"SOPFLOW_{info.field_name.upper()}")
        return value

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def temporal_ui(self) -> str:
        return (self.temporal_ui_url or f"http://{self.host}:{self.ui_port}").rstrip("/")

    @property
    def api_url(self) -> str:
        return (self.public_url or f"http://127.0.0.1:{self.api_port}").rstrip("/")

    def system_url(self, system: str) -> str:
        explicit = getattr(self, f"{system}_url")
        return (explicit or f"http://{self.host}:{self.sim_port}/{system}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()
