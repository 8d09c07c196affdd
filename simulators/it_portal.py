"""IT service portal stand-in (the shape of a ServiceNow incident desk, the subset
sopflow uses): an incident ticket per platform outage, work notes, resolution."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from simulators.idempotency import IdempotencyStore, Idempotent
from simulators.store import Records, Table


class TicketIn(BaseModel):
    platform: str = Field(min_length=1)
    short_description: str = Field(min_length=1, max_length=160)
    description: str = ""
    urgency: int = Field(default=2, ge=1, le=3)


class WorkNote(BaseModel):
    text: str = Field(min_length=1)
    urgency: int | None = Field(default=None, ge=1, le=3)


class Note(WorkNote):
    at: datetime


class Resolution(BaseModel):
    resolution: str = Field(min_length=1)


class Ticket(TicketIn):
    number: str
    state: Literal["new", "in_progress", "resolved"]
    opened_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
    notes: list[Note] = []


class ItPortalState:
    def __init__(self, records: Records) -> None:
        self.tickets: Table[str, Ticket] = records.table("tickets", Ticket)
        self.keys = IdempotencyStore(records)

    def open(self, body: TicketIn) -> Ticket:
        ticket = Ticket(
            number=f"INC{len(self.tickets) + 1:07d}",
            state="new",
            opened_at=datetime.now(UTC),
            **body.model_dump(),
        )
        self.tickets[ticket.number] = ticket
        return ticket

    def ticket(self, number: str) -> Ticket:
        try:
            return self.tickets[number]
        except KeyError:
            raise HTTPException(404, detail=f"ticket {number} not found") from None

    def note(self, number: str, body: WorkNote) -> Ticket:
        ticket = self.ticket(number)
        changes: dict[str, object] = {
            "notes": [*ticket.notes, Note(at=datetime.now(UTC), **body.model_dump())]
        }
        if body.urgency is not None:
            changes["urgency"] = body.urgency
        if ticket.state == "new":
            changes["state"] = "in_progress"
        self.tickets[number] = ticket.model_copy(update=changes)
        return self.tickets[number]

    def resolve(self, number: str, body: Resolution) -> Ticket:
        ticket = self.ticket(number)
        if ticket.state != "resolved":
            ticket = ticket.model_copy(
                update={
                    "state": "resolved",
                    "resolution": body.resolution,
                    "resolved_at": datetime.now(UTC),
                }
            )
            self.tickets[number] = ticket
        return ticket


def _state(request: Request) -> ItPortalState:
    return request.app.state.sim.it_portal


router = APIRouter(prefix="/it_portal", tags=["it_portal"])


@router.post("/tickets", status_code=201)
async def open_ticket(body: TicketIn, request: Request, key: Idempotent) -> Ticket:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.open(body))


@router.get("/tickets")
async def list_tickets(request: Request, platform: str | None = None) -> list[Ticket]:
    tickets = _state(request).tickets.values()
    return [t for t in tickets if platform is None or t.platform == platform]


@router.get("/tickets/{number}")
async def get_ticket(number: str, request: Request) -> Ticket:
    return _state(request).ticket(number)


@router.post("/tickets/{number}/notes")
async def add_note(number: str, body: WorkNote, request: Request, key: Idempotent) -> Ticket:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.note(number, body))


@router.post("/tickets/{number}/resolve")
async def resolve_ticket(
    number: str, body: Resolution, request: Request, key: Idempotent
) -> Ticket:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.resolve(number, body))
