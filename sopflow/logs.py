"""structlog setup: JSON lines in production, readable lines in dev. Standard
library loggers (Temporal SDK, uvicorn) go through the same renderer."""

from __future__ import annotations

import logging
import sys

import structlog
import temporalio.activity
import temporalio.workflow
from temporalio.exceptions import ApplicationError

from sopflow.tracing import add_trace_ids


def _lift_temporal_context(_logger: object, _name: str, event: dict) -> dict:
    """The SDK's workflow/activity loggers attach their context as one dict;
    make its ids plain keys, like the ones our activities bind."""
    for key in ("temporal_workflow", "temporal_activity"):
        context = event.pop(key, None)
        if isinstance(context, dict):
            for field in ("workflow_id", "run_id", "activity_type", "attempt"):
                if field in context:
                    event.setdefault(
                        "activity" if field == "activity_type" else field, context[field]
                    )
    return event


# uvicorn gives some records a second, ANSI-coloured copy of their message for
# its own formatter; ours renders `event`, so the copy would only add escape codes.
_FOREIGN_NOISE = ("color_message",)
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _tidy_foreign(_logger: object, _name: str, event: dict) -> dict:
    """Records from standard-library loggers: drop uvicorn's coloured message copy,
    and name uvicorn's server messages `uvicorn` (it files them under
    `uvicorn.error`, errors or not)."""
    for key in _FOREIGN_NOISE:
        event.pop(key, None)
    if event.get("logger") == "uvicorn.error":
        event["logger"] = "uvicorn"
    return event


def _expected_failure_in_one_line(_logger: object, _name: str, event: dict) -> dict:
    """An activity that failed with an `ApplicationError` of ours (a system's
    typed refusal, such as a buyer's 403 or the ERP's 404, or its being
    unavailable) failed as designed: the error's type and message say it all,
    so the SDK's record of it is one line without a traceback. Any other
    exception is a defect and keeps its traceback."""
    exc_info = event.get("exc_info")
    if not (isinstance(exc_info, tuple) and event.get(_SDK_ERROR_KEY) == "ActivityFailure"):
        return event
    error = exc_info[1]
    if not isinstance(error, ApplicationError) or not error.type or error.type == "Defect":
        return event
    del event["exc_info"]
    event.pop(_SDK_ERROR_KEY, None)
    event["event"] = "activity refused" if error.non_retryable else "activity failed, retried"
    event["error_type"] = error.type
    event["error"] = error.message
    return event


# The SDK marks its record of a failed activity with this extra field.
_SDK_ERROR_KEY = "__temporal_error_identifier"


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    # Their context goes into fields (below), not onto the message text.
    temporalio.workflow.logger.workflow_info_on_message = False
    temporalio.activity.logger.activity_info_on_message = False
    shared = [
        structlog.contextvars.merge_contextvars,
        # The trace of the request, workflow or activity a line belongs to.
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.ExtraAdder(),
                _lift_temporal_context,
                _tidy_foreign,
                _expected_failure_in_one_line,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request chatter from libraries; our own request log says more.
    for name in ("httpx", "pgserver", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn installs its own handlers when given a log config; route its
    # records through ours instead (run it with `log_config=None`).
    for name in UVICORN_LOGGERS:
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
