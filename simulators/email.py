"""Email outbox stand-in: records what would have been sent."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from simulators.idempotency import IdempotencyStore, Idempotent
from simulators.store import Records, Table


class MessageIn(BaseModel):
    to: list[str] = Field(min_length=1)
    subject: str
    body: str


class Message(MessageIn):
    message_id: str
    sent_at: datetime


class EmailState:
    def __init__(self, records: Records) -> None:
        self.messages: Table[str, Message] = records.table("messages", Message)
        self.keys = IdempotencyStore(records)

    def send(self, body: MessageIn) -> Message:
        message = Message(
            message_id=f"MSG-{len(self.messages) + 1:06d}",
            sent_at=datetime.now(UTC),
            **body.model_dump(),
        )
        self.messages[message.message_id] = message
        return message


def _state(request: Request) -> EmailState:
    return request.app.state.sim.email


router = APIRouter(prefix="/email", tags=["email"])


@router.post("/messages", status_code=201)
async def send_message(body: MessageIn, request: Request, key: Idempotent) -> Message:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.send(body))


@router.get("/messages")
async def list_messages(request: Request, to: str | None = None) -> list[Message]:
    messages = _state(request).messages.values()
    return [m for m in messages if to is None or to in m.to]
