"""One error shape for the whole API: a status and a reason a person can act on.
cXML callers get a cXML Response; everyone else gets JSON. Never a stack trace."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from asyncpg.exceptions._base import DataError as ArgumentRefused  # asyncpg's own check
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.order.cxml import STATUS_TEXT, build_response

log = structlog.get_logger()


class ErrorBody(BaseModel):
    """Every JSON error answer: the reason, and for some a machine-readable type."""

    detail: str = Field(description="what is wrong, in words a person can act on")
    type: str | None = Field(default=None, description="e.g. ValidationError, NotFound")


# Documented on every operation (FastAPI would document its own 422 shape otherwise).
ERROR_RESPONSES: dict[int | str, dict] = {
    401: {"model": ErrorBody, "description": "no valid API key"},
    413: {"model": ErrorBody, "description": "the body is larger than its limit"},
    422: {"model": ErrorBody, "description": "the request is invalid; detail says why"},
    503: {"model": ErrorBody, "description": "a backing service is unavailable; try again"},
}


class ApiError(Exception):
    def __init__(self, status: int, reason: str, type: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.type = type


def wants_cxml(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type in ("text/xml", "application/xml")


def new_payload_id(now: datetime) -> str:
    """A cXML payloadID: unique, ``<time>.<random>@sopflow``."""
    return f"{int(now.timestamp())}.{uuid.uuid4().hex}@sopflow"


def cxml_response(status: int, text: str, body: str = "", headers: dict | None = None) -> Response:
    # cXML carries its own status; the HTTP status mirrors it so plain HTTP
    # tooling sees failures too.
    return Response(
        _stamped(status, text, body),
        status_code=status,
        media_type="text/xml; charset=utf-8",
        headers=headers,
    )


def _stamped(status: int, text: str, body: str) -> bytes:
    now = datetime.now(UTC)
    return build_response(status, text, body, payload_id=new_payload_id(now), timestamp=now)


def error_response(request: Request, status: int, reason: str, type: str | None = None) -> Response:
    if wants_cxml(request):
        return cxml_response(status, STATUS_TEXT.get(status, "Error"), reason)
    body: dict = {"detail": reason}
    if type:
        body["type"] = type
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def reasons(
    errors: Sequence[Mapping[str, Any]], *, extra: str | None = None, skip: str | None = None
) -> str:
    """Validation errors (pydantic's) as one line a caller can act on: the first
    ten, each where it is and what is wrong. `extra` says what an unknown field
    is; `skip` leaves a location part out (the request's "body")."""
    parts = []
    for err in list(errors)[:10]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != skip)
        msg = extra if extra and err.get("type") == "extra_forbidden" else str(err.get("msg"))
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc.status, exc.reason, exc.type)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, reasons(exc.errors(), skip="body"), "ValidationError")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(request, exc.status_code, str(exc.detail))

    @app.exception_handler(asyncpg.DataError)
    @app.exception_handler(ArgumentRefused)
    async def _unstorable(request: Request, exc: Exception) -> Response:
        # A value the database cannot hold or compare (PostgreSQL's class 22)
        # got past a parameter's bounds: a gap to close, logged as such; the
        # caller gets a 422 without the database's words.
        log.error("a value reached the database unchecked", path=request.url.path,
                  error_type=type(exc).__name__, error=str(exc))  # fmt: skip
        return error_response(
            request, 422, "a value in this request is out of range or cannot be stored",
            "ValidationError",
        )  # fmt: skip

    @app.exception_handler(asyncpg.PostgresConnectionError)
    @app.exception_handler(OSError)
    async def _unavailable(request: Request, exc: Exception) -> Response:
        log.warning("backing service unavailable", path=request.url.path, error=str(exc))
        return error_response(request, 503, "the database is unavailable; try again shortly")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path)
        return error_response(request, 500, "internal error; the event is logged")
