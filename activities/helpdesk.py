"""Helpdesk (Freshdesk v2 tickets API): one ticket per order with holds, found
again by its sopflow reference so a retried open never makes a second one."""

from __future__ import annotations

from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import helpdesk as contract
from activities.contracts.helpdesk import ResolveTicket, TicketRequest
from activities.http import SystemClient, activity_logger
from sopflow.config import Settings

REF_FIELD = "cf_sopflow_ref"
OPEN, PENDING, RESOLVED, CLOSED = 2, 3, 4, 5
PRIORITY_MEDIUM = 2


class HelpdeskClient(SystemClient):
    def __init__(
        self,
        base_url: str,
        api_key: str,
        timeout: Any = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # Freshdesk: basic auth with the API key as user name and any password.
        super().__init__(base_url, timeout, "helpdesk", transport, auth=(api_key, "X"))

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> HelpdeskClient:
        return cls(
            settings.system_url("helpdesk"),
            settings.helpdesk_api_key,
            settings.http_timeout,
            transport,
        )

    async def create_ticket(self, ticket: dict[str, Any]) -> dict[str, Any]:
        return await self.request("POST", "/api/v2/tickets", json=ticket)

    async def get_ticket(self, ticket_id: int) -> dict[str, Any]:
        return await self.request("GET", f"/api/v2/tickets/{ticket_id}")

    async def update_ticket(self, ticket_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        return await self.request("PUT", f"/api/v2/tickets/{ticket_id}", json=changes)

    async def find_by_ref(self, ref: str) -> list[dict[str, Any]]:
        if "'" in ref or '"' in ref:
            raise ApplicationError(
                f"ref {ref!r} cannot be searched", type="InvalidTicket", non_retryable=True
            )
        body = await self.request(
            "GET", "/api/v2/search/tickets", params={"query": f"\"{REF_FIELD}:'{ref}'\""}
        )
        return body["results"]

    async def agent_id(self, email: str) -> int | None:
        agents = await self.request("GET", "/api/v2/agents", params={"email": email})
        return agents[0]["id"] if agents else None


class HelpdeskActivities:
    def __init__(self, client: HelpdeskClient) -> None:
        self.client = client

    @activity.defn(name=contract.OPEN_TICKET.name)
    async def open_ticket(self, req: TicketRequest) -> int:
        log = activity_logger().bind(ref=req.idempotency_key)
        # Search first: a retry after a lost create response must find that ticket.
        existing = await self.client.find_by_ref(req.idempotency_key)
        if existing:
            log.info("helpdesk ticket already open", ticket_id=existing[0]["id"])
            return existing[0]["id"]
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
            "custom_fields": {REF_FIELD: req.idempotency_key},
        }
        if responder_id is not None:
            ticket["responder_id"] = responder_id
        created = await self.client.create_ticket(ticket)
        log.info("helpdesk ticket opened", ticket_id=created["id"], responder_id=responder_id)
        return created["id"]

    @activity.defn(name=contract.RESOLVE_TICKET.name)
    async def resolve_ticket(self, req: ResolveTicket) -> None:
        ticket_id = req.ticket_id
        await self.client.update_ticket(ticket_id, {"status": RESOLVED})
        activity_logger().info("helpdesk ticket resolved", ticket_id=ticket_id)
