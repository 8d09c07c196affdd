"""Email outbox stand-in: records what would have been sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, Field

from simulators.idempotency import IdempotencyStore, require_key


class MessageIn(BaseModel):
    to: list[str] = Field(min_length=1)
    subject: str
    body: str


class Message(MessageIn):
    message_id: str
    sent_at: datetime


class EmailState:
    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}
        self.keys = IdempotencyStore()


def _state(request: Request) -> EmailState:
    return request.app.state.sim.email


router = APIRouter(prefix="/email", tags=["email"])


@router.post("/messages", status_code=201)
async def send_message(
    body: MessageIn,
    request: Request,
    response: Response,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> Message:
    state, key = _state(request), require_key(idempotency_key)
    if (existing := state.keys.lookup(key, body)) is not None:
        response.status_code = 200
        return state.messages[existing]
    message = Message(
        message_id=f"MSG-{len(state.messages) + 1:06d}",
        sent_at=datetime.now(UTC),
        **body.model_dump(),
    )
    state.messages[message.message_id] = message
    state.keys.remember(key, body, message.message_id)
    return message


@router.get("/messages")
async def list_messages(request: Request, to: str | None = None) -> list[Message]:
    messages = _state(request).messages.values()
    return [m for m in messages if to is None or to in m.to]
