"""Email: notifications (CSC inbox, reps, team leads) through the outbox service."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio import activity

from activities.contracts import email as contract
from activities.contracts.email import EmailMessage
from activities.http import SystemClient, activity_logger


class SentMessage(BaseModel):
    message_id: str


class EmailClient(SystemClient):
    system = "email"

    async def send(self, message: EmailMessage) -> str:
        sent = await self.request(
            "POST",
            "/messages",
            SentMessage,
            json=message.model_dump(mode="json", exclude={"idempotency_key"}),
            idempotency_key=message.idempotency_key,
        )
        return sent.message_id

    async def list_messages(self, to: str | None = None) -> list[dict[str, Any]]:
        return await self.request(
            "GET", "/messages", list[dict[str, Any]], params={"to": to} if to else None
        )


class EmailActivities:
    def __init__(self, client: EmailClient) -> None:
        self.client = client

    @activity.defn(name=contract.SEND.name)
    async def send(self, message: EmailMessage) -> str:
        message_id = await self.client.send(message)
        activity_logger().info(
            "email sent", message_id=message_id, to=message.to, subject=message.subject
        )
        return message_id
