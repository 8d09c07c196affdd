"""SMS/voice provider stand-in: text messages and automated calls to guests.
Records what would have been sent or dialled; the outcomes come back to
sopflow as signed webhooks (`POST /webhooks/sms-voice`)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from simulators.idempotency import IdempotencyStore, Idempotent
from simulators.store import Records, Table

PHONE = r"^\+?[0-9]{7,15}$"


class SmsIn(BaseModel):
    to: str = Field(pattern=PHONE)
    body: str = Field(min_length=1, max_length=1600)


class Sms(SmsIn):
    message_id: str
    sent_at: datetime


class CallIn(BaseModel):
    to: str = Field(pattern=PHONE)
    script: str = Field(min_length=1)
    reference: str = ""


class Call(CallIn):
    call_id: str
    status: str = "placed"
    placed_at: datetime


class SmsVoiceState:
    def __init__(self, records: Records) -> None:
        self.messages: Table[str, Sms] = records.table("messages", Sms)
        self.calls: Table[str, Call] = records.table("calls", Call)
        self.keys = IdempotencyStore(records)

    def send(self, body: SmsIn) -> Sms:
        sms = Sms(
            message_id=f"SM{len(self.messages) + 1:06d}",
            sent_at=datetime.now(UTC),
            **body.model_dump(),
        )
        self.messages[sms.message_id] = sms
        return sms

    def place(self, body: CallIn) -> Call:
        call = Call(
            call_id=f"CA{len(self.calls) + 1:06d}", placed_at=datetime.now(UTC), **body.model_dump()
        )
        self.calls[call.call_id] = call
        return call


def _state(request: Request) -> SmsVoiceState:
    return request.app.state.sim.smsvoice


router = APIRouter(prefix="/smsvoice", tags=["smsvoice"])


@router.post("/messages", status_code=201)
async def send_message(body: SmsIn, request: Request, key: Idempotent) -> Sms:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.send(body))


@router.get("/messages")
async def list_messages(request: Request, to: str | None = None) -> list[Sms]:
    return [m for m in _state(request).messages.values() if to is None or m.to == to]


@router.post("/calls", status_code=201)
async def place_call(body: CallIn, request: Request, key: Idempotent) -> Call:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.place(body))


@router.get("/calls")
async def list_calls(request: Request, to: str | None = None) -> list[Call]:
    return [c for c in _state(request).calls.values() if to is None or c.to == to]
