"""The SMS/voice provider: SMS touch points and automated confirmation calls.
Guests' numbers never go into a log line."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.contracts import sms_voice as contract
from activities.contracts.sms_voice import PlacedCall, SentSms, SmsMessage, VoiceCall
from activities.http import SystemClient, activity_logger


class _Sent(BaseModel):
    message_id: str


class _Placed(BaseModel):
    call_id: str


class SmsVoiceClient(SystemClient):
    system = "smsvoice"

    async def send_sms(self, message: SmsMessage) -> SentSms:
        sent = await self.request(
            "POST",
            "/messages",
            _Sent,
            json={"to": message.to, "body": message.body},
            idempotency_key=message.idempotency_key,
        )
        return SentSms(message_id=sent.message_id)

    async def place_call(self, call: VoiceCall) -> PlacedCall:
        placed = await self.request(
            "POST",
            "/calls",
            _Placed,
            json={"to": call.to, "script": call.script, "reference": call.reference},
            idempotency_key=call.idempotency_key,
        )
        return PlacedCall(call_id=placed.call_id)


class SmsVoiceActivities:
    def __init__(self, client: SmsVoiceClient) -> None:
        self.client = client

    @activity.defn(name=contract.SEND_SMS.name)
    async def send_sms(self, message: SmsMessage) -> SentSms:
        sent = await self.client.send_sms(message)
        activity_logger().info("sms sent", message_id=sent.message_id)
        return sent

    @activity.defn(name=contract.PLACE_CALL.name)
    async def place_call(self, call: VoiceCall) -> PlacedCall:
        placed = await self.client.place_call(call)
        activity_logger().info("automated call placed", call_id=placed.call_id)
        return placed
