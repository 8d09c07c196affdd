"""Temporal's NOT_FOUND answers mean different things to a caller."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from api.temporal_calls import workflow_errors


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
