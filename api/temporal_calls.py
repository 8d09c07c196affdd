"""Temporal client errors → API errors a caller can act on."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import TypeVar

import structlog
from fastapi import Request
from pydantic import BaseModel
from temporalio.client import (
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateHandle,
    WorkflowUpdateRPCTimeoutOrCancelledError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from domain import updates_once

log = structlog.get_logger()

# Refusal types raised by workflow validators and handlers, and the HTTP status they mean.
REFUSAL_STATUS = {
    "Forbidden": 403,
    "InvalidState": 409,
    "ShipmentConflict": 409,
    "InvoiceRefused": 409,
    "InvalidShipment": 422,
    "CommentRequired": 422,
    "Conflict": 409,
    "InvalidDecision": 422,
    "InvalidAssignee": 422,
    "HoldNotCured": 422,
    "InvalidChange": 422,
    "InvalidEdit": 422,
    # Open orders (issue 9).
    "InvalidContact": 422,
    "InvalidAppointment": 422,
    "InvalidConfirmation": 422,
    "InvalidFallback": 422,  # issue 7: an order not waiting in the incident
    # CSR cases
    "InvalidMove": 422,
    "UnknownPerson": 422,
    "NoApprovers": 409,
    # A system we called said no for good to what a decision needed.
    "SystemRefused": 409,
    # An Idempotency-Key sent again with another body (domain/updates_once.py).
    updates_once.KEY_REUSED: 422,
}
IDEMPOTENCY_KEY = "Idempotency-Key"
_KEY_CHARS = re.compile(r"^[\x21-\x7e]{1,255}$")
# The server's word when the workflow ended while an accepted Update ran.
WORKFLOW_ENDED = "AcceptedUpdateCompletedWorkflow"


def unavailable(workflow_id: str) -> ApiError:
    """503: nothing was done; the caller may safely try again."""
    return ApiError(
        503, f"no answer for {workflow_id} in time (is a worker running?); try again", "Unavailable"
    )


@contextlib.contextmanager
def workflow_errors(workflow_id: str) -> Iterator[None]:
    try:
        yield
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        while cause is not None and not isinstance(cause, ApplicationError):
            cause = cause.__cause__
        if isinstance(cause, ApplicationError) and cause.type in REFUSAL_STATUS:
            raise ApiError(REFUSAL_STATUS[cause.type], cause.message, cause.type) from None
        if isinstance(cause, ApplicationError) and cause.type == updates_once.ALREADY_APPLIED:
            raise _AppliedBefore() from None
        if isinstance(cause, ApplicationError) and cause.type == WORKFLOW_ENDED:
            raise ApiError(409, f"{workflow_id} ended meanwhile", "InvalidState") from None
        # Not a refusal the workflow gives: a defect (a validator that raised, a
        # handler's untyped error). Logged in full; the caller learns nothing of
        # its insides, and nothing was done that a refusal would not have undone.
        log.error(
            "update failed unexpectedly",
            workflow_id=workflow_id,
            error_type=getattr(cause, "type", None) or type(exc.cause).__name__,
            error=str(cause or exc.cause or exc),
        )
        raise ApiError(
            500,
            f"{workflow_id} could not take this request because of an error of ours; it is "
            "logged with this request's id (X-Request-Id)",
            "InternalError",
        ) from None
    except (WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowQueryFailedError):
        raise unavailable(workflow_id) from None
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            if "completed" in exc.message:
                raise ApiError(409, f"{workflow_id} is already closed", "InvalidState") from None
            if "update" in exc.message.lower():
                # The server lost an Update in flight (the worker holding it died
                # before it was accepted): nothing was taken; a retry is safe.
                raise unavailable(workflow_id) from None
            raise ApiError(404, f"{workflow_id} not found", "NotFound") from None
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            raise ApiError(400, f"{workflow_id}: {exc.message}", "BadRequest") from None
        raise unavailable(workflow_id) from None


R = TypeVar("R")


class _AppliedBefore(Exception):
    """The workflow applied this request before and kept no copy of its answer."""


async def update_id(request: Request, workflow_id: str, arg: BaseModel) -> str | None:
    """The Update id for this request: derived from its Idempotency-Key, the
    route and object it was sent to (the path names both) and who sent it, with
    a hash of its body beside it; None (a fresh id) without the header."""
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not _KEY_CHARS.match(key):
        raise ApiError(
            422,
            f"{IDEMPOTENCY_KEY} must be 1 to 255 printable ASCII characters without spaces",
            "InvalidIdempotencyKey",
        )
    actor = getattr(arg, "actor", None)
    who = getattr(actor, "person_id", "")
    key_part = updates_once.digest(request.method, request.url.path, workflow_id, who, key)
    try:
        body = await request.body()
    except RuntimeError:  # read as a form already (the work-queue page): what it made
        body = arg.model_dump_json(exclude={"actor"}).encode()
    body_part = updates_once.digest(body, size=16)
    return updates_once.update_id(key_part, body_part)


async def run_update(
    request: Request, workflow_id: str, update: str, arg: BaseModel, result_type: type[R]
) -> R | None:
    """Run one of the workflow's Updates within the configured update wait: its
    answer; a refusal (403/409/422 with the workflow's reason) at once; None when
    the workflow accepted it (its validator passed) but the handler has not
    answered in time; 503 when nothing was accepted in time.

    With an Idempotency-Key a retry answers as the first request did (None
    when that answer is only in the read model now); the same key with another
    body is a 422."""
    wait = request.app.state.settings.update_wait
    handle = request.app.state.temporal.get_workflow_handle(workflow_id)
    started: WorkflowUpdateHandle[R] | None = None
    once = await update_id(request, workflow_id, arg)
    try:
        with workflow_errors(workflow_id):
            try:
                async with asyncio.timeout(wait.total_seconds()):
                    started = await handle.start_update(
                        update,
                        arg,
                        id=once,
                        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                        result_type=result_type,
                        rpc_timeout=wait,
                    )
                    return await started.result(rpc_timeout=wait)
            except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
                if started is None:
                    raise unavailable(workflow_id) from None
    except _AppliedBefore:
        pass
    return None


# Signals in flight after their caller was answered (a reference keeps each alive).
_carrying_out: set[asyncio.Task[None]] = set()


def carry_out(request: Request, workflow_id: str) -> None:
    """After a decision's answer: the workflow may carry the decision out now
    (its write, its next step); without this word it does so within a second.
    Sent in the background, so the answer does not wait for it."""
    handle = request.app.state.temporal.get_workflow_handle(workflow_id)
    task = asyncio.create_task(_signal_carry_out(handle))
    _carrying_out.add(task)
    task.add_done_callback(_carrying_out.discard)


async def _signal_carry_out(handle: WorkflowHandle) -> None:
    try:
        await handle.signal("carry_out", rpc_timeout=timedelta(seconds=5))
    except Exception as exc:  # its own timer carries it out
        log.warning("carry_out not delivered", workflow_id=handle.id, error=repr(exc))
