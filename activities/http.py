"""The one base for clients of external systems: where the system is, a timeout,
and the mapping from HTTP outcomes to the typed errors workflows branch on.

A client is a subclass that names its system (`system = "oms"`) and adds one
method per call it makes; construction, settings, transport and errors live here."""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from typing import Any, ClassVar, Self
from urllib.parse import quote

import httpx
import structlog
from pydantic import TypeAdapter, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import CONFIGURATION_FAULT, DEFECT
from sopflow.config import Settings


def header_value(value: str) -> str:
    """HTTP header values are ASCII: a key holding other characters (a PO number
    like "Bestellung-Ä") goes percent-encoded, the same on every try."""
    return value if value.isascii() and value.isprintable() else quote(value, safe="")


SYSTEM_UNAVAILABLE = "SystemUnavailable"
# Statuses that say "not now" rather than "no": worth retrying.
_RETRYABLE_STATUS = {408, 429}
# A system's "no" about this business object, when a call declares nothing else.
CONTRACT_REFUSALS = frozenset({409, 422})
# A call about one business object by its id: "no such object" is its refusal too.
OBJECT_REFUSALS = CONTRACT_REFUSALS | {404}
# Besides a no-such-object refusal a call declares: our credentials, address or method.
_CONFIGURATION_STATUS = frozenset({401, 403, 404, 405, 407})


def refused_type(system_name: str) -> str:
    """`oms` -> `OmsRefused`: the non-retryable error type for a business refusal."""
    return f"{system_name.capitalize()}Refused"


def activity_logger() -> Any:
    log = structlog.get_logger()
    if activity.in_activity():
        info = activity.info()
        log = log.bind(
            activity=info.activity_type, workflow_id=info.workflow_id, run_id=info.workflow_run_id
        )
    return log


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        for field in ("detail", "message", "reason", "description"):
            if field in body:
                return str(body[field])
    return str(body)[:500]


@functools.cache
def _adapter(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


class SystemClient:
    """One external system over HTTP. Every outcome of `request` is either the
    decoded answer or an `ApplicationError`: `SystemUnavailable` (retryable, the
    system is failing) or `<System>Refused` (non-retryable, the system said no),
    each with `{"system", "status_code", "reason"}` as its details."""

    # The name settings know the system by (`oms_url`), and errors report.
    system: ClassVar[str]

    def __init__(
        self,
        base_url: str,
        timeout: float | timedelta = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=self.timeout, transport=transport, auth=auth
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> Self:
        return cls(
            settings.system_url(cls.system),
            settings.http_timeout,
            transport,
            auth=cls.auth_from(settings),
        )

    @classmethod
    def auth_from(cls, settings: Settings) -> httpx.Auth | None:
        """How this system wants callers to authenticate; none by default."""
        return None

    async def close(self) -> None:
        await self._http.aclose()

    def unavailable(
        self, message: str, status_code: int | None = None, reason: str | None = None
    ) -> ApplicationError:
        return ApplicationError(
            f"{self.system} unavailable: {message}",
            {"system": self.system, "status_code": status_code, "reason": reason or message},
            type=SYSTEM_UNAVAILABLE,
            non_retryable=False,
        )

    def our_fault(self, kind: str, status_code: int, reason: str, what: str) -> ApplicationError:
        """Non-retryable for Temporal: the workflow waits for an operator instead."""
        return ApplicationError(
            f"{self.system} answered {what} with {status_code}: {reason}",
            {"system": self.system, "status_code": status_code, "reason": reason},
            type=kind,
            non_retryable=True,
        )

    def classify(self, status: int, reason: str, what: str, refusals: frozenset[int]) -> Exception:
        """A 4xx answer by what it means: a refusal the call's contract declares,
        a configuration fault of ours, or a request of ours the system cannot
        read (a defect). 408 and 429 never reach here."""
        if status in refusals:
            return self.refused(status, reason)
        if status in _CONFIGURATION_STATUS:
            return self.our_fault(CONFIGURATION_FAULT, status, reason, what)
        return self.our_fault(DEFECT, status, reason, what)

    def refused(self, status_code: int, reason: str) -> ApplicationError:
        return ApplicationError(
            f"{self.system} refused ({status_code}): {reason}",
            {"system": self.system, "status_code": status_code, "reason": reason},
            type=refused_type(self.system),
            non_retryable=True,
        )

    async def request(
        self,
        method: str,
        path: str,
        answer: Any = None,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        refusals: frozenset[int] = CONTRACT_REFUSALS,
    ) -> Any:
        """Send one request and return its answer validated as `answer` (a model,
        or a type such as `list[Model]`); with no `answer`, the decoded JSON body
        (None when empty). An answer of the wrong shape is the system failing.
        `refusals`: the 4xx statuses that are this call's business refusals (a
        call about one object by its id adds 404: no such object)."""
        headers = {"Idempotency-Key": header_value(idempotency_key)} if idempotency_key else None
        what = f"{method} {path}"
        try:
            # An overall deadline: httpx's timeout is per network operation, and a
            # slow trickle (or an in-process transport) would never hit it.
            async with asyncio.timeout(self.timeout):
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
        except TimeoutError:
            raise self.unavailable(f"{what} timed out after {self.timeout:g}s") from None
        except httpx.TimeoutException as err:
            raise self.unavailable(f"{what} timed out: {err!r}") from err
        except httpx.TransportError as err:
            raise self.unavailable(f"{what} failed: {err!r}") from err

        status = response.status_code
        if status >= 500 or status in _RETRYABLE_STATUS:
            reason = _reason(response)
            raise self.unavailable(f"{what} -> {status} {reason}", status, reason)
        if status >= 400:
            raise self.classify(status, _reason(response), what, refusals)
        if not response.content and answer is None:
            return None
        try:
            body = response.json()
        except ValueError as err:
            raise self.unavailable(
                f"{what} answered {status} with a non-JSON body", status
            ) from err
        if answer is None:
            return body
        try:
            return _adapter(answer).validate_python(body)
        except ValidationError as err:
            raise self.unavailable(
                f"{what} answered {status} with an unexpected body: "
                f"{err.error_count()} error(s), first: {err.errors()[0]['msg']}",
                status,
            ) from err
