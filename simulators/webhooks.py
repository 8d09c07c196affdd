"""The retail ERP and the SMS/voice provider tell sopflow what happened by
webhook. Here they send one: `POST /erp/events` or `POST /smsvoice/events`
with the event, and the stand-in delivers it where that system is configured
to send (sopflow's /webhooks/erp, /webhooks/sms-voice), signed as those
senders sign: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>">` under the shared secret. The answer is sopflow's.

Where each system sends, and with which secret, is configuration
(`create_app(webhooks=...)`), or `PUT /_webhooks/{system}`."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

System = Literal["erp", "smsvoice"]


class WebhookTarget(BaseModel):
    url: str = Field(pattern=r"^https?://")
    secret: str = Field(min_length=1)


def sign(body: bytes, secret: str, at: int) -> str:
    """The sender's side of the signature (written apart from sopflow's check,
    as a real sender's is)."""
    digest = hmac.new(secret.encode(), str(at).encode() + b"." + body, hashlib.sha256)
    return f"t={at},v1={digest.hexdigest()}"


router = APIRouter(tags=["webhooks"])


def _targets(request: Request) -> dict[str, WebhookTarget]:
    return request.app.state.webhooks


async def _deliver(request: Request, system: System, event: dict[str, Any]) -> Response:
    target = _targets(request).get(system)
    if target is None:
        raise HTTPException(409, f"{system} has nowhere to send webhooks; PUT /_webhooks/{system}")
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Signature": sign(body, target.secret, int(time.time())),
    }
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(target.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise HTTPException(502, f"{target.url} did not answer: {exc}") from None
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type"),
    )


@router.post("/erp/events", summary="Send an ERP event to sopflow as a signed webhook")
async def erp_event(request: Request, event: Annotated[dict[str, Any], Body()]) -> Response:
    return await _deliver(request, "erp", event)


@router.post("/smsvoice/events", summary="Send an SMS/voice event to sopflow as a signed webhook")
async def smsvoice_event(request: Request, event: Annotated[dict[str, Any], Body()]) -> Response:
    return await _deliver(request, "smsvoice", event)


@router.put("/_webhooks/{system}", summary="Where a system sends its webhooks, with its secret")
async def set_target(request: Request, system: System, target: WebhookTarget) -> WebhookTarget:
    _targets(request)[system] = target
    return target
