"""Helpdesk tickets (Freshdesk v2): one per order with holds."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from activities.contracts import ActivityContract, notification_retry


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


OPEN_TICKET = ActivityContract(
    name="helpdesk.open_ticket",
    input=TicketRequest,
    output=int,
    system="helpdesk",
    start_to_close=timedelta(seconds=30),
    retry=notification_retry(),
)
RESOLVE_TICKET = ActivityContract(
    name="helpdesk.resolve_ticket",
    input=ResolveTicket,
    output=None,
    system="helpdesk",
    start_to_close=timedelta(seconds=20),
    retry=notification_retry(),
)
