"""What a workflow knows of an activity: its name, its input and output models,
which system it talks to, and how long and how often it may be tried.

Nothing in this package imports an I/O library (httpx, asyncpg), so workflow
modules import these inside the sandbox; the activity modules beside it
implement them and register under the same names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

from temporalio.common import RetryPolicy

# Something wrong on our side, not the business's (non-retryable error types):
# the business object waits and an operator's `retry` wakes it
# (workflows/kernel.py). A configuration fault is a credential, URL or method of
# ours a system will not take; a defect is our own code failing, or a request
# of ours the system cannot read. Neither is the system's outage or refusal.
CONFIGURATION_FAULT = "ConfigurationFault"
DEFECT = "Defect"
OUR_FAULTS = frozenset({CONFIGURATION_FAULT, DEFECT})

I = TypeVar("I")  # noqa: E741
O = TypeVar("O")


@dataclass(frozen=True)
class ActivityContract(Generic[I, O]):
    name: str
    input: type[I]
    output: type[O] | None
    # The system on the other end: an outage is told per system.
    system: str
    # One try: the client's own HTTP timeout plus headroom, so a worker that dies
    # mid-call is noticed and the call retried elsewhere.
    start_to_close: timedelta
    retry: RetryPolicy


def system_retry(max_interval: timedelta = timedelta(seconds=30)) -> RetryPolicy:
    """A system of record (OMS, iSeries, our database): retry until the workflow
    calls it an outage; the refusals are non-retryable errors of their own."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=2, maximum_interval=max_interval
    )


def notification_retry() -> RetryPolicy:
    """Email, helpdesk: a few minutes of tries, then the workflow records the
    failure and goes on."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2,
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=8,
    )


def system_call(
    name: str,
    input: type[I],
    output: type[O],
    system: str,
    start_to_close: timedelta = timedelta(seconds=30),
) -> ActivityContract[I, O]:
    """A call to a system of record (by default over HTTP: the client's own 10 s
    timeout plus headroom per try), retried until the workflow calls it an outage."""
    return ActivityContract(
        name=name,
        input=input,
        output=output,
        system=system,
        start_to_close=start_to_close,
        retry=system_retry(),
    )


def notification_call(
    name: str, input: type[I], output: type[O], system: str, start_to_close: timedelta
) -> ActivityContract[I, O]:
    """A notification (email, helpdesk): a few minutes of tries, then the
    workflow records the failure and goes on."""
    return ActivityContract(
        name=name,
        input=input,
        output=output,
        system=system,
        start_to_close=start_to_close,
        retry=notification_retry(),
    )
