"""The one base for clients of external systems: a timeout, and the mapping from
HTTP outcomes to the typed errors workflows branch on."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

SYSTEM_UNAVAILABLE = "SystemUnavailable"
# Statuses that say "not now" rather than "no": worth retrying.
_RETRYABLE_STATUS = {408, 429}


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


class SystemClient:
    def __init__(
        self,
        base_url: str,
        timeout: float | timedelta,
        system_name: str,
        transport: httpx.AsyncBaseTransport | None = None,
        **client_kwargs: Any,
    ) -> None:
        self.system_name = system_name
        self.timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=self.timeout, transport=transport, **client_kwargs
        )

    async def close(self) -> None:
        await self._http.aclose()

    def unavailable(
        self, message: str, status_code: int | None = None, reason: str | None = None
    ) -> ApplicationError:
        return ApplicationError(
            f"{self.system_name} unavailable: {message}",
            {"system": self.system_name, "status_code": status_code, "reason": reason or message},
            type=SYSTEM_UNAVAILABLE,
            non_retryable=False,
        )

    def refused(self, status_code: int, reason: str) -> ApplicationError:
        return ApplicationError(
            f"{self.system_name} refused ({status_code}): {reason}",
            {"system": self.system_name, "status_code": status_code, "reason": reason},
            type=refused_type(self.system_name),
            non_retryable=True,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """Send one request and return the decoded JSON body (None when empty)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        try:
            # An overall deadline: httpx's timeout is per network operation, and a
            # slow trickle (or an in-process transport) would never hit it.
            async with asyncio.timeout(self.timeout):
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
        except TimeoutError:
            raise self.unavailable(f"{method} {path} timed out after {self.timeout:g}s") from None
        except httpx.TimeoutException as err:
            raise self.unavailable(f"{method} {path} timed out: {err!r}") from err
        except httpx.TransportError as err:
            raise self.unavailable(f"{method} {path} failed: {err!r}") from err

        status = response.status_code
        if status >= 500 or status in _RETRYABLE_STATUS:
            reason = _reason(response)
            raise self.unavailable(f"{method} {path} -> {status} {reason}", status, reason)
        if status >= 400:
            raise self.refused(status, _reason(response))
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as err:
            raise self.unavailable(
                f"{method} {path} answered {status} with a non-JSON body"
            ) from err
