"""Helpdesk (Freshdesk v2 tickets API): one ticket per order with holds.

A ticket carries the key of the operation that opened it (a custom field), and a
retried open finds it again before it creates one. It looks with a read that sees
every ticket at once: the requester's tickets listed newest first from the time
the activity was first scheduled (`GET /tickets?email=&updated_since=`), then the
key matched here. Freshdesk's search API (`/search/tickets`) would be the obvious
lookup, but its index lags ("updates can take a few minutes to be searchable"), so
a retry after a lost create response would find nothing and open a second ticket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel
from temporalio import activity

from activities.contracts import helpdesk as contract
from activities.contracts.helpdesk import ResolveTicket, TicketRequest
from activities.http import OBJECT_REFUSALS, SystemClient, activity_logger
from sopflow.config import Settings

KEY_FIELD = "cf_sopflow_ref"
OPEN, PENDING, RESOLVED, CLOSED = 2, 3, 4, 5
PRIORITY_MEDIUM = 2
# Freshdesk's largest page.
PAGE_SIZE = 100
# How far the helpdesk's clock may be behind Temporal's: a ticket made by an
# earlier attempt is looked for from this long before the activity was scheduled.
CLOCK_SKEW = timedelta(minutes=15)


class Ticket(BaseModel):
    id: int
    status: int
    created_at: datetime
    updated_at: datetime
    custom_fields: dict[str, Any] = {}

    @property
    def key(self) -> Any:
        return self.custom_fields.get(KEY_FIELD)


class Agent(BaseModel):
    id: int


class HelpdeskClient(SystemClient):
    system = "helpdesk"

    @classmethod
    def auth_from(cls, settings: Settings) -> httpx.Auth:
        return api_key_auth(settings.helpdesk_api_key)

    async def create_ticket(self, ticket: dict[str, Any]) -> Ticket:
        return await self.request("POST", "/api/v2/tickets", Ticket, json=ticket)

    async def get_ticket(self, ticket_id: int) -> Ticket:
        return await self.request(
            "GET", f"/api/v2/tickets/{ticket_id}", Ticket, refusals=OBJECT_REFUSALS
        )

    async def update_ticket(self, ticket_id: int, changes: dict[str, Any]) -> Ticket:
        return await self.request(
            "PUT", f"/api/v2/tickets/{ticket_id}", Ticket, json=changes, refusals=OBJECT_REFUSALS
        )

    async def find_by_key(self, requester_email: str, key: str, since: datetime) -> Ticket | None:
        """The ticket `requester_email` asked for under `key`, made at or after
        `since`; None if there is none. Lists, newest first, only tickets updated
        since then (a ticket is updated when it is made), and stops at the first
        ticket made before."""
        page = 1
        while True:
            tickets = await self.request(
                "GET",
                "/api/v2/tickets",
                list[Ticket],
                params={
                    "email": requester_email,
                    "updated_since": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "order_by": "created_at",
                    "order_type": "desc",
                    "per_page": PAGE_SIZE,
                    "page": page,
                },
            )
            for ticket in tickets:
                if ticket.key == key:
                    return ticket
            if len(tickets) < PAGE_SIZE or tickets[-1].created_at < since:
                return None
            page += 1

    async def agent_id(self, email: str) -> int | None:
        agents = await self.request("GET", "/api/v2/agents", list[Agent], params={"email": email})
        return agents[0].id if agents else None


def api_key_auth(api_key: str) -> httpx.Auth:
    # Freshdesk: basic auth with the API key as user name and any password.
    return httpx.BasicAuth(api_key, "X")


class HelpdeskActivities:
    def __init__(self, client: HelpdeskClient) -> None:
        self.client = client

    @activity.defn(name=contract.OPEN_TICKET.name)
    async def open_ticket(self, req: TicketRequest) -> int:
        log = activity_logger().bind(idempotency_key=req.idempotency_key)
        # Every attempt of this activity runs after its first scheduling, so the
        # ticket an earlier attempt made (its response lost) is no older than that.
        # (Never later than now: a server clock ahead, or a time-skipping test server.)
        since = min(activity.info().scheduled_time, datetime.now(UTC)) - CLOCK_SKEW
        existing = await self.client.find_by_key(req.requester_email, req.idempotency_key, since)
        if existing is not None:
            log.info("helpdesk ticket already open", ticket_id=existing.id)
            return existing.id
        responder_id = None
        if req.assignee_email:
            responder_id = await self.client.agent_id(req.assignee_email)
            if responder_id is None:
                log.warning(
                    "assignee is not a helpdesk agent; ticket left unassigned",
                    email=req.assignee_email,
                )
        ticket: dict[str, Any] = {
            "subject": req.subject,
            "description": req.description,
            "email": req.requester_email,
            "priority": PRIORITY_MEDIUM,
            "status": OPEN,
            "tags": ["sopflow"],
            "custom_fields": {KEY_FIELD: req.idempotency_key},
        }
        if responder_id is not None:
            ticket["responder_id"] = responder_id
        created = await self.client.create_ticket(ticket)
        log.info("helpdesk ticket opened", ticket_id=created.id, responder_id=responder_id)
        return created.id

    @activity.defn(name=contract.RESOLVE_TICKET.name)
    async def resolve_ticket(self, req: ResolveTicket) -> None:
        ticket_id = req.ticket_id
        await self.client.update_ticket(ticket_id, {"status": RESOLVED})
        activity_logger().info("helpdesk ticket resolved", ticket_id=ticket_id)
