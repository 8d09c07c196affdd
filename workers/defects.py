"""Our own code failing inside an activity is a defect, not the other system's
outage: an exception that is neither a typed `ApplicationError` nor a sign that
a system or the network is not answering leaves the activity as a non-retryable
`Defect`, which the workflow waits on with an operator's task (workflows/kernel.py)
instead of retrying it until it looks like an outage of the platform."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.contracts import DEFECT

# Exceptions that mean something did not answer (a system, the network, our
# database): retried as an outage, as before.
NOT_ANSWERING: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
    httpx.TransportError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
)


def as_defect(err: BaseException) -> ApplicationError | None:
    """The `Defect` an exception of an activity is, or None when it is a typed
    error already or a sign that something did not answer."""
    if isinstance(err, (ApplicationError, asyncio.CancelledError, *NOT_ANSWERING)):
        return None
    if not isinstance(err, Exception):
        return None
    return ApplicationError(
        f"{type(err).__name__}: {err}"[:2000],
        {"exception": type(err).__name__},
        type=DEFECT,
        non_retryable=True,
    )


class _Inbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await self.next.execute_activity(input)
        except Exception as err:
            defect = as_defect(err)
            if defect is None:
                raise
            activity.logger.exception("defect in activity %s", activity.info().activity_type)
            raise defect from err


class DefectInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next)
