"""The SMS/voice provider: SMS touch points and automated calls to the guest
(the confirmation calls of Package AI). Notifications: a failure for good is
recorded on the order, and the work goes on."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from activities.contracts import notification_call


class SmsMessage(BaseModel):
    idempotency_key: str
    to: str
    body: str


class SentSms(BaseModel):
    message_id: str


class VoiceCall(BaseModel):
    idempotency_key: str
    to: str
    script: str
    # Echoed in the provider's call_outcome webhook.
    reference: str


class PlacedCall(BaseModel):
    call_id: str


SEND_SMS = notification_call(
    "sms_voice.send_sms", SmsMessage, SentSms, "sms_voice", timedelta(seconds=20)
)
PLACE_CALL = notification_call(
    "sms_voice.place_call", VoiceCall, PlacedCall, "sms_voice", timedelta(seconds=20)
)
