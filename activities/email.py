"""Email: notifications (CSC inbox, reps, team leads) through the outbox service."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio import activity

from activities.contracts import email as contract
from activities.contracts.email import EmailMessage
from activities.http import SystemClient, activity_logger
from sopflow.config import Settings


class EmailClient(SystemClient):
    def __init__(
        self, base_url: str, timeout: Any = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(base_url, timeout, "email", transport)

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> EmailClient:
        return cls(settings.system_url("email"), settings.http_timeout, transport)

    async def send(self, message: EmailMessage) -> str:
        body = await self.request(
            "POST",
            "/messages",
            json=message.model_dump(mode="json", exclude={"idempotency_key"}),
            idempotency_key=message.idempotency_key,
        )
        return body["message_id"]

    async def list_messages(self, to: str | None = None) -> list[dict[str, Any]]:
        return await self.request("GET", "/messages", params={"to": to} if to else None)


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
