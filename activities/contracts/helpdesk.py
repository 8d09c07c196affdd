"""Helpdesk tickets (Freshdesk v2): one per order with holds."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from activities.contracts import notification_call


class TicketRequest(BaseModel):
    # One attempt of one business operation: the ticket carries it, and a retry
    # finds the ticket by it instead of opening a second one.
    idempotency_key: str
    subject: str
    description: str
    requester_email: str
    assignee_email: str | None = None


class ResolveTicket(BaseModel):
    ticket_id: int


OPEN_TICKET = notification_call(
    "helpdesk.open_ticket", TicketRequest, int, "helpdesk", timedelta(seconds=30)
)
RESOLVE_TICKET = notification_call(
    "helpdesk.resolve_ticket", ResolveTicket, None, "helpdesk", timedelta(seconds=20)
)
