"""The IT service portal: the client and the activities that open an outage's
ticket, add its work notes and resolve it."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.contracts import it_portal as contract
from activities.contracts.it_portal import PortalNote, PortalResolve, PortalTicketRequest
from activities.http import OBJECT_REFUSALS, SystemClient, activity_logger


class PortalTicket(BaseModel):
    number: str
    state: str
    platform: str
    urgency: int


class ItPortalClient(SystemClient):
    system = "it_portal"

    async def open_ticket(self, req: PortalTicketRequest) -> PortalTicket:
        return await self.request(
            "POST",
            "/tickets",
            PortalTicket,
            json=req.model_dump(mode="json", exclude={"idempotency_key"}),
            idempotency_key=req.idempotency_key,
        )

    async def add_note(self, req: PortalNote) -> PortalTicket:
        return await self.request(
            "POST",
            f"/tickets/{req.ticket_number}/notes",
            PortalTicket,
            json={"text": req.text, "urgency": req.urgency},
            idempotency_key=req.idempotency_key,
            refusals=OBJECT_REFUSALS,
        )

    async def resolve(self, req: PortalResolve) -> PortalTicket:
        return await self.request(
            "POST",
            f"/tickets/{req.ticket_number}/resolve",
            PortalTicket,
            json={"resolution": req.resolution},
            idempotency_key=req.idempotency_key,
            refusals=OBJECT_REFUSALS,
        )


class ItPortalActivities:
    def __init__(self, client: ItPortalClient) -> None:
        self.client = client

    @activity.defn(name=contract.OPEN_TICKET.name)
    async def open_ticket(self, req: PortalTicketRequest) -> str:
        ticket = await self.client.open_ticket(req)
        activity_logger().info("it portal ticket opened", ticket=ticket.number)
        return ticket.number

    @activity.defn(name=contract.ADD_NOTE.name)
    async def add_note(self, req: PortalNote) -> None:
        await self.client.add_note(req)
        activity_logger().info("it portal ticket noted", ticket=req.ticket_number)

    @activity.defn(name=contract.RESOLVE_TICKET.name)
    async def resolve_ticket(self, req: PortalResolve) -> None:
        await self.client.resolve(req)
        activity_logger().info("it portal ticket resolved", ticket=req.ticket_number)
