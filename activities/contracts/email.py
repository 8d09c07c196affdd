"""Email notifications through the outbox service."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from activities.contracts import notification_call


class EmailMessage(BaseModel):
    idempotency_key: str
    to: list[str] = Field(min_length=1)
    subject: str
    body: str


SEND = notification_call("email.send", EmailMessage, str, "email", timedelta(seconds=20))
