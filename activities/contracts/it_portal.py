"""The IT service portal (a ServiceNow-like incident desk): a ticket per platform
outage, work notes as it goes on, resolved when the platform answers."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from activities.contracts import notification_call


class PortalTicketRequest(BaseModel):
    # One outage is one ticket: a retry finds the ticket its key made.
    idempotency_key: str
    platform: str
    short_description: str
    description: str
    urgency: int = 2  # 1 high .. 3 low


class PortalNote(BaseModel):
    idempotency_key: str
    ticket_number: str
    text: str
    urgency: int | None = None  # a new urgency with the note (an escalation)


class PortalResolve(BaseModel):
    idempotency_key: str
    ticket_number: str
    resolution: str


OPEN_TICKET = notification_call(
    "it_portal.open_ticket", PortalTicketRequest, str, "it_portal", timedelta(seconds=20)
)
ADD_NOTE = notification_call(
    "it_portal.add_note", PortalNote, None, "it_portal", timedelta(seconds=20)
)
RESOLVE_TICKET = notification_call(
    "it_portal.resolve_ticket", PortalResolve, None, "it_portal", timedelta(seconds=20)
)
