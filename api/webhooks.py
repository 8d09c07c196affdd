"""Webhooks from the retail ERP and the SMS/voice provider: each event is a
Signal to its open order. A sender proves itself with a signature, not an API
key: `X-Signature: t=<unix seconds>,v1=<HMAC-SHA256 of "<t>.<raw body>">` under
the secret from configuration (domain/webhook_signature.py). Bad or missing
signature, or signed longer ago than SOPFLOW_WEBHOOK_TOLERANCE, 401; malformed
body 422; unknown order 404; a redelivered event (same `event_id`) is taken
once by the workflow."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, ValidationError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError, ErrorBody, reasons
from api.temporal_calls import unavailable
from domain import webhook_signature
from domain.identity import Actor, Role
from domain.open_order.models import ErpEvent, EventReceived, SmsVoiceEvent
from sopflow.config import Settings
from workflows.open_order import OpenOrderWorkflow

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
ERP_SENDER = Actor(person_id="erp", name="Retail ERP", roles=frozenset({Role.SYSTEM}))
PROVIDER = Actor(
    person_id="sms-voice-provider", name="SMS/voice provider", roles=frozenset({Role.SYSTEM})
)


class EventAccepted(BaseModel):
    status: Literal["accepted"] = "accepted"
    event_id: str
    open_order_id: str


_RESPONSES: dict[int | str, dict] = {
    401: {
        "model": ErrorBody,
        "description": "missing or wrong X-Signature, or signed longer ago than the tolerance",
    },
    404: {"model": ErrorBody, "description": "no open order with this sales order number"},
    409: {"model": ErrorBody, "description": "the open order has closed"},
    413: {"model": ErrorBody, "description": "the body is larger than 64,000 bytes"},
    422: {"model": ErrorBody, "description": "malformed body"},
}


async def _body(request: Request, signature: str | None, secret: str) -> bytes:
    # At most WEBHOOK_BYTES, enforced by the edge while it is read (413).
    body = await request.body()
    settings: Settings = request.app.state.settings
    reason = webhook_signature.refusal(
        signature, body, secret, now=datetime.now(UTC), tolerance=settings.webhook_tolerance
    )
    if reason:
        raise ApiError(401, reason, "BadSignature")
    return body


async def _signal(request: Request, workflow_id: str, event: EventReceived) -> EventAccepted:
    handle = request.app.state.temporal.get_workflow_handle(workflow_id)
    try:
        await handle.signal(
            OpenOrderWorkflow.system_event,
            event,
            rpc_timeout=request.app.state.settings.update_wait,
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            if "completed" in exc.message:
                raise ApiError(409, f"{workflow_id} has closed", "InvalidState") from None
            raise ApiError(404, f"no open order {workflow_id}", "NotFound") from None
        raise unavailable(workflow_id) from None
    found = event.erp or event.sms_voice
    assert found is not None
    return EventAccepted(event_id=found.event_id, open_order_id=workflow_id)


@router.post(
    "/erp",
    response_model=EventAccepted,
    status_code=202,
    summary="An ERP event: payment posted, ATP changed, product arrived, delivered, ...",
    responses=_RESPONSES,
)
async def erp_webhook(
    request: Request, x_signature: str | None = Header(default=None)
) -> EventAccepted:
    body = await _body(request, x_signature, request.app.state.settings.erp_webhook_secret)
    try:
        event = ErpEvent.model_validate_json(body)
    except ValidationError as err:
        raise ApiError(422, reasons(err.errors()), "ValidationError") from None
    received = EventReceived(actor=ERP_SENDER, erp=event)
    return await _signal(request, f"open-order-{event.sales_order}", received)


@router.post(
    "/sms-voice",
    response_model=EventAccepted,
    status_code=202,
    summary="An SMS/voice provider event: the guest replied, an automated call ended",
    responses=_RESPONSES,
)
async def sms_voice_webhook(
    request: Request, x_signature: str | None = Header(default=None)
) -> EventAccepted:
    body = await _body(request, x_signature, request.app.state.settings.smsvoice_webhook_secret)
    try:
        event = SmsVoiceEvent.model_validate_json(body)
    except ValidationError as err:
        raise ApiError(422, reasons(err.errors()), "ValidationError") from None
    received = EventReceived(actor=PROVIDER, sms_voice=event)
    return await _signal(request, f"open-order-{event.sales_order}", received)
