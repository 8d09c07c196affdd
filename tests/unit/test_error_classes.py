"""Errors classified by what they mean (activities/http.py, workers/defects.py):
a refusal the call's contract declares, a configuration fault of ours, a
request of ours the system cannot read, the system's outage, our own defect."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from activities.contracts import CONFIGURATION_FAULT, DEFECT
from activities.http import OBJECT_REFUSALS, SYSTEM_UNAVAILABLE, SystemClient
from workers.defects import as_defect


class Thing(BaseModel):
    id: str


class OmsLike(SystemClient):
    system = "oms"


def answering(status: int, body: object = None) -> OmsLike:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body if body is not None else {"detail": "why"})

    return OmsLike("http://sim/oms", 5, httpx.MockTransport(handler))


async def error_of(client: OmsLike, **kw: object) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await client.request("POST", "/orders/O-1/release", Thing, **kw)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize("status", [409, 422])
async def test_a_contracts_refusal_is_the_systems_no(status: int) -> None:
    err = await error_of(answering(status, {"detail": "order O-1 is cancelled"}))
    assert (err.type, err.non_retryable) == ("OmsRefused", True)
    assert err.details[0] == {
        "system": "oms",
        "status_code": status,
        "reason": "order O-1 is cancelled",
    }


@pytest.mark.parametrize("status", [401, 403, 404, 405])
async def test_other_auth_and_address_statuses_are_a_configuration_fault_of_ours(
    status: int,
) -> None:
    err = await error_of(answering(status))
    assert (err.type, err.non_retryable) == (CONFIGURATION_FAULT, True)
    assert err.details[0]["status_code"] == status and "oms answered POST" in err.message


async def test_a_call_about_one_object_declares_its_404_a_refusal() -> None:
    err = await error_of(
        answering(404, {"detail": "OMS order O-1 not found"}), refusals=OBJECT_REFUSALS
    )
    assert err.type == "OmsRefused"
    # Its 401 is still our credential.
    assert (await error_of(answering(401), refusals=OBJECT_REFUSALS)).type == CONFIGURATION_FAULT


@pytest.mark.parametrize("status", [400, 413, 415])
async def test_a_request_the_system_cannot_read_is_our_defect(status: int) -> None:
    err = await error_of(answering(status))
    assert (err.type, err.non_retryable) == (DEFECT, True)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
async def test_not_now_and_5xx_are_the_systems_outage(status: int) -> None:
    err = await error_of(answering(status))
    assert (err.type, err.non_retryable) == (SYSTEM_UNAVAILABLE, False)


async def test_transport_errors_and_timeouts_are_the_systems_outage() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={"id": "x"})

    for client in (
        OmsLike("http://sim/oms", 5, httpx.MockTransport(refused)),
        OmsLike("http://sim/oms", 0.05, httpx.MockTransport(slow)),
    ):
        err = await error_of(client)
        assert (err.type, err.non_retryable) == (SYSTEM_UNAVAILABLE, False)


def test_our_own_exception_is_a_defect_and_not_answering_is_not() -> None:
    defect = as_defect(KeyError("branch_id"))
    assert defect is not None and (defect.type, defect.non_retryable) == (DEFECT, True)
    assert "KeyError" in defect.message
    assert as_defect(asyncpg.exceptions.DataError("invalid byte sequence")).type == DEFECT  # type: ignore[union-attr]
    for not_answering in (
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        httpx.ReadTimeout("slow"),
        asyncpg.exceptions.CannotConnectNowError("starting up"),
    ):
        assert as_defect(not_answering) is None, not_answering
    # A typed error already says what it is.
    assert as_defect(ApplicationError("no", type="OmsRefused", non_retryable=True)) is None
