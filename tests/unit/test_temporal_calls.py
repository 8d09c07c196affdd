"""Temporal's NOT_FOUND answers mean different things to a caller."""

from __future__ import annotations

import pytest
import structlog
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.temporal_calls import _AppliedBefore, workflow_errors
from domain.updates_once import ALREADY_APPLIED
from workflows.updates_once import key_reused


@pytest.mark.parametrize(
    ("message", "status"),
    [
        ("workflow not found for ID: order-401693-1", 404),
        ("workflow execution already completed", 409),
        # A worker died holding the Update before it was accepted (seen in the
        # worker-kill chaos test): nothing was taken, so "try again".
        ("update 5f1c wasn't found on server. It is, most likely, a transient error", 503),
        ("update not found", 503),
    ],
)
def test_not_found_from_temporal(message: str, status: int) -> None:
    with pytest.raises(ApiError) as raised, workflow_errors("order-401693-1"):
        raise RPCError(message, RPCStatusCode.NOT_FOUND, b"")
    assert raised.value.status == status


def update_failed(cause: BaseException) -> WorkflowUpdateFailedError:
    failed = WorkflowUpdateFailedError(cause)
    failed.__cause__ = cause
    return failed


@pytest.mark.parametrize(
    ("type", "status"),
    [("InvalidContact", 422), ("Forbidden", 403), ("InvalidState", 409), ("SystemRefused", 409)],
)
def test_a_refusal_answers_its_status_and_reason(type: str, status: int) -> None:
    with pytest.raises(ApiError) as raised, workflow_errors("open-order-SO1"):
        raise update_failed(ApplicationError("the reason", type=type, non_retryable=True))
    assert (raised.value.status, raised.value.reason, raised.value.type) == (
        status,
        "the reason",
        type,
    )


def test_an_update_that_failed_for_no_refusal_is_logged_and_answered_without_internals() -> None:
    """Before: 409 {"detail": "can't compare offset-naive and offset-aware
    datetimes", "type": "TypeError"}."""
    error = ApplicationError("can't compare offset-naive and offset-aware datetimes",
                             type="TypeError")  # fmt: skip
    with (
        structlog.testing.capture_logs() as logged,
        pytest.raises(ApiError) as raised,
        workflow_errors("open-order-SO1"),
    ):
        raise update_failed(error)
    assert raised.value.status == 500 and raised.value.type == "InternalError"
    assert "offset-naive" not in raised.value.reason and "TypeError" not in raised.value.reason
    assert "X-Request-Id" in raised.value.reason
    (entry,) = [e for e in logged if e["event"] == "update failed unexpectedly"]
    assert entry["workflow_id"] == "open-order-SO1" and entry["error_type"] == "TypeError"
    assert "offset-naive" in entry["error"]


def test_an_update_the_workflow_outlived_is_a_409() -> None:
    ended = ApplicationError("Workflow Update failed because the Workflow completed before "
                             "the Update completed.", type="AcceptedUpdateCompletedWorkflow")  # fmt: skip
    with pytest.raises(ApiError) as raised, workflow_errors("order-401693-1"):
        raise update_failed(ended)
    assert (raised.value.status, raised.value.type) == (409, "InvalidState")


def test_a_retry_whose_answer_was_not_kept_is_told_apart_from_a_failure() -> None:
    """The workflow applied it before and kept no copy of a large answer: the
    caller is answered as for a request still being applied (202), not a 5xx."""
    with pytest.raises(_AppliedBefore), workflow_errors("order-401693-1"):
        raise update_failed(ApplicationError("applied before", type=ALREADY_APPLIED))


def test_the_same_key_with_another_body_is_a_422() -> None:
    with pytest.raises(ApiError) as raised, workflow_errors("order-401693-1"):
        raise update_failed(key_reused())
    assert (raised.value.status, raised.value.type) == (422, "IdempotencyKeyReused")
