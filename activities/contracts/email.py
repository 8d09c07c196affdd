"""Email notifications through the outbox service."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from activities.contracts import ActivityContract, notification_retry


class EmailMessage(BaseModel):
    idempotency_key: str
    to: list[str] = Field(min_length=1)
    subject: str
    body: str


SEND = ActivityContract(
    name="email.send",
    input=EmailMessage,
    output=str,
    system="email",
    start_to_close=timedelta(seconds=20),
    retry=notification_retry(),
)
