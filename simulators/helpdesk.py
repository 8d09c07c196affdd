"""Helpdesk stand-in in the shape of the Freshdesk v2 tickets API (the subset sopflow uses).

Like Freshdesk, it has two ways to find tickets: listing (`GET /tickets`, filtered
by requester and `updated_since`), which sees every write at once, and search
(`GET /search/tickets`), served from an index that lags behind the writes by
`search_lag` ("updates can take a few minutes to be searchable")."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from simulators.store import Kept, Records, Table

# Freshdesk: priority 1 low .. 4 urgent; status 2 open, 3 pending, 4 resolved, 5 closed.
Priority = Annotated[int, Field(ge=1, le=4)]
Status = Annotated[int, Field(ge=2, le=5)]


class TicketIn(BaseModel):
    subject: str = Field(min_length=1)
    description: str
    email: str = Field(min_length=3)
    priority: Priority = 1
    status: Status = 2
    responder_id: int | None = None
    tags: list[str] = []
    custom_fields: dict[str, Any] = {}


class TicketUpdate(BaseModel):
    subject: str | None = None
    description: str | None = None
    priority: Priority | None = None
    status: Status | None = None
    responder_id: int | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None


class Ticket(TicketIn):
    id: int
    created_at: datetime
    updated_at: datetime


class AgentContact(BaseModel):
    email: str
    name: str


class Agent(BaseModel):
    id: int
    contact: AgentContact
    created_at: datetime


# Freshdesk lists only tickets created in the last 30 days unless asked for
# `updated_since`.
DEFAULT_LIST_WINDOW = timedelta(days=30)
# Freshdesk says a few minutes; a few seconds show the same race in the dev stack.
DEFAULT_SEARCH_LAG = timedelta(seconds=5)


class HelpdeskState:
    # How many writes have gone into the search index's queue, ever.
    _queued = Kept(int, 0)

    def __init__(
        self, records: Records, api_key: str, search_lag: timedelta = DEFAULT_SEARCH_LAG
    ) -> None:
        self.records = records
        # Configuration is the current run's, not kept.
        self.api_key = api_key
        self.search_lag = search_lag
        self.tickets: Table[int, Ticket] = records.table("tickets", Ticket, key_type=int)
        # By lower-cased email.
        self.agents: Table[str, Agent] = records.table("agents", Agent)
        # The search index: what it has taken in, and the writes it has not yet
        # (in the order they were made).
        self._indexed: Table[int, Ticket] = records.table("indexed", Ticket, key_type=int)
        self._unindexed: Table[int, Ticket] = records.table("unindexed", Ticket, key_type=int)

    def save(self, ticket: Ticket) -> Ticket:
        self.tickets[ticket.id] = ticket
        self._queued += 1
        self._unindexed[self._queued] = ticket
        return ticket

    def searchable(self) -> list[Ticket]:
        """The tickets as the search index has them: writes older than the lag."""
        indexed_until = datetime.now(UTC) - self.search_lag
        for queued, ticket in self._unindexed.items():
            if ticket.updated_at > indexed_until:
                break
            self._indexed[ticket.id] = ticket
            del self._unindexed[queued]
        return self._indexed.values()

    def ticket(self, ticket_id: int) -> Ticket:
        try:
            return self.tickets[ticket_id]
        except KeyError:
            raise HTTPException(404, detail=f"ticket {ticket_id} not found") from None

    def check_responder(self, responder_id: int | None) -> None:
        if responder_id is not None and responder_id not in {a.id for a in self.agents.values()}:
            raise HTTPException(400, detail=f"responder_id {responder_id} is not an agent")


def _state(request: Request) -> HelpdeskState:
    return request.app.state.sim.helpdesk


_basic = HTTPBasic(auto_error=False)


def _authenticate(
    request: Request, credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]
) -> None:
    # Freshdesk: the API key is the user name, the password is ignored ("X").
    expected = _state(request).api_key.encode()
    given = credentials.username.encode() if credentials else b""
    if not secrets.compare_digest(given, expected):
        raise HTTPException(
            401,
            detail="You have to be logged in to perform this action.",
            headers={"WWW-Authenticate": 'Basic realm="helpdesk"'},
        )


router = APIRouter(
    prefix="/helpdesk/api/v2", tags=["helpdesk"], dependencies=[Depends(_authenticate)]
)


@router.post("/tickets", status_code=201)
async def create_ticket(body: TicketIn, request: Request) -> Ticket:
    state = _state(request)
    state.check_responder(body.responder_id)
    now = datetime.now(UTC)
    ticket = Ticket(id=len(state.tickets) + 1, created_at=now, updated_at=now, **body.model_dump())
    return state.save(ticket)


@router.get("/tickets")
async def list_tickets(
    request: Request,
    email: str | None = None,
    updated_since: datetime | None = None,
    order_by: Literal["created_at", "updated_at"] = "created_at",
    order_type: Literal["asc", "desc"] = "desc",
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
    page: Annotated[int, Query(ge=1)] = 1,
) -> list[Ticket]:
    """Read from the tickets themselves: a ticket is listed as soon as it is made."""
    tickets = list(_state(request).tickets.values())
    if email is not None:
        tickets = [t for t in tickets if t.email.lower() == email.lower()]
    if updated_since is not None:
        if updated_since.tzinfo is None:
            updated_since = updated_since.replace(tzinfo=UTC)
        tickets = [t for t in tickets if t.updated_at >= updated_since]
    else:
        created_since = datetime.now(UTC) - DEFAULT_LIST_WINDOW
        tickets = [t for t in tickets if t.created_at >= created_since]
    tickets.sort(key=lambda t: (getattr(t, order_by), t.id), reverse=order_type == "desc")
    return tickets[(page - 1) * per_page : page * per_page]


@router.get("/tickets/{ticket_id}")
async def get_ticket(ticket_id: int, request: Request) -> Ticket:
    return _state(request).ticket(ticket_id)


@router.put("/tickets/{ticket_id}")
async def update_ticket(ticket_id: int, body: TicketUpdate, request: Request) -> Ticket:
    state = _state(request)
    ticket = state.ticket(ticket_id)
    changes = {field: getattr(body, field) for field in body.model_fields_set}
    state.check_responder(changes.get("responder_id"))
    if "custom_fields" in changes:
        changes["custom_fields"] = {**ticket.custom_fields, **(changes["custom_fields"] or {})}
    return state.save(ticket.model_copy(update={**changes, "updated_at": datetime.now(UTC)}))


_REF_QUERY = re.compile(r"""^"cf_sopflow_ref:'([^']*)'"$""")


class SearchResult(BaseModel):
    results: list[Ticket]
    total: int


@router.get("/search/tickets")
async def search_tickets(request: Request, query: str) -> SearchResult:
    """From the lagging index: a ticket made a moment ago is not found yet."""
    match = _REF_QUERY.match(query)
    if match is None:
        raise HTTPException(400, detail="only the query \"cf_sopflow_ref:'<ref>'\" is supported")
    ref = match.group(1)
    found = [
        t for t in _state(request).searchable() if t.custom_fields.get("cf_sopflow_ref") == ref
    ]
    return SearchResult(results=found, total=len(found))


@router.get("/agents")
async def list_agents(request: Request, email: str | None = None) -> list[Agent]:
    state = _state(request)
    if email is None:
        return list(state.agents.values())
    # Every rep is an agent here: created on first lookup, so any email resolves.
    key = email.lower()
    if key not in state.agents:
        state.agents[key] = Agent(
            id=1000 + len(state.agents) + 1,
            contact=AgentContact(email=email, name=email.split("@")[0]),
            created_at=datetime.now(UTC),
        )
    return [state.agents[key]]
