"""The team directory: teams with their members and what each does, one person
with their capabilities, contacts and away flag; marking someone away (an
operator, or a team lead for their own team), a person's capabilities and an
account's contacts (an operator). Changes are audited and route new tasks at
once (routing reads the directory when each task opens)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from api.auth import current_actor, require
from api.errors import ApiError, ErrorBody
from db import directory, read_model, reference
from domain.dates import Moment
from domain.identity import Actor, Role
from domain.text import Comment

router = APIRouter(prefix="/directory", tags=["directory"])
PERSON_ID = r"^[A-Za-z0-9_.@-]{1,100}$"


class Capability(BaseModel):
    capability: str = Field(pattern=r"^[a-z_]{1,40}$", examples=["order_processing"])
    region: str = Field(
        pattern=r"^(\*|[A-Za-z][A-Za-z_-]{0,39})$",
        description="a sales region, or * for every region",
    )
    level: Literal["primary", "backup"]


class MemberItem(BaseModel):
    person_id: str
    name: str
    part_time: bool
    region: str | None
    away_until: datetime | None
    away_comment: str
    capabilities: list[Capability]


class TeamItem(BaseModel):
    team_id: str
    name: str
    queue: str = Field(description="where a task waits when nobody on the team can take it")
    regions: list[str]
    lead_id: str | None
    members: list[MemberItem]


class AccountContact(BaseModel):
    account_number: str
    contact_role: str


class Person(BaseModel):
    person_id: str
    name: str
    email: str
    team_id: str | None
    team_name: str | None
    team_queue: str | None
    team_lead_id: str | None
    region: str | None
    part_time: bool
    away_until: datetime | None
    away_comment: str
    capabilities: list[Capability]
    account_contacts: list[AccountContact]
    it_support_platforms: list[str]


class Away(BaseModel):
    until: Moment | None = Field(
        description="away until then (with its time zone); null: back now",
        examples=["2026-12-01T08:00:00-06:00"],
    )
    comment: Comment


@router.get("/teams", response_model=list[TeamItem], summary="Teams, their members and skills")
async def teams(request: Request, actor: Annotated[Actor, Depends(current_actor)]) -> list[dict]:
    async with request.app.state.pool.acquire() as conn:
        return await directory.list_teams(conn)


async def _person(request: Request, person_id: str) -> dict:
    async with request.app.state.pool.acquire() as conn:
        found = await directory.get_person(conn, person_id)
    if found is None:
        raise ApiError(404, f"no person {person_id} in the directory", "NotFound")
    return found


@router.get(
    "/people/{person_id}",
    response_model=Person,
    summary="One person: team, capabilities, account contacts, away flag",
    responses={404: {"model": ErrorBody, "description": "no such person"}},
)
async def person(
    request: Request,
    person_id: Annotated[str, Path(pattern=PERSON_ID)],
    actor: Annotated[Actor, Depends(current_actor)],
) -> dict:
    return await _person(request, person_id)


@router.post(
    "/people/{person_id}/away",
    response_model=Person,
    summary="Mark someone away until a time (or back): new tasks go to their backup",
    responses={
        403: {"model": ErrorBody, "description": "an operator, or the person's team lead"},
        404: {"model": ErrorBody, "description": "no such person"},
    },
)
async def mark_away(
    request: Request,
    person_id: Annotated[str, Path(pattern=PERSON_ID)],
    away: Away,
    actor: Annotated[Actor, Depends(current_actor)],
) -> dict:
    found = await _person(request, person_id)
    if not actor.has_any(Role.OPERATOR):
        own_team = found["team_id"] is not None and found["team_lead_id"] == actor.person_id
        if not (actor.has_any(Role.TEAM_LEAD) and own_team):
            raise ApiError(
                403,
                "only an operator, or the team lead of the person's team, marks someone away",
                "Forbidden",
            )
    comment = away.comment.strip()
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await directory.set_away(conn, person_id, away.until, comment)
        await read_model.append_audit(
            conn,
            f"person:{person_id}",
            actor.person_id,
            "marked away" if away.until else "marked back",
            (f"until {away.until.isoformat()}: " if away.until else "") + comment,
        )
    return await _person(request, person_id)


class Capabilities(BaseModel):
    capabilities: list[Capability] = Field(max_length=100)
    comment: Comment


@router.put(
    "/people/{person_id}/capabilities",
    response_model=Person,
    summary="Replace what a person does, for which region, primary or backup (an operator)",
    responses={
        403: {"model": ErrorBody, "description": "only an operator"},
        404: {"model": ErrorBody, "description": "no such person"},
    },
)
async def set_capabilities(
    request: Request,
    person_id: Annotated[str, Path(pattern=PERSON_ID)],
    body: Capabilities,
    actor: Annotated[Actor, Depends(require(Role.OPERATOR))],
) -> dict:
    await _person(request, person_id)
    pairs = [(c.capability, c.region) for c in body.capabilities]
    if len(set(pairs)) != len(pairs):
        raise ApiError(422, "a capability and region appear twice", "ValidationError")
    rows = sorted((c.capability, c.region, c.level) for c in body.capabilities)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await directory.replace_capabilities(conn, person_id, rows)
        await read_model.append_audit(
            conn,
            f"person:{person_id}",
            actor.person_id,
            "capabilities changed",
            "; ".join(f"{c} {r} {lv}" for c, r, lv in rows) + f" — {body.comment.strip()}",
        )
    return await _person(request, person_id)


class Contact(BaseModel):
    person_id: str = Field(pattern=PERSON_ID)
    comment: Comment


class ContactSet(BaseModel):
    account_number: str
    contact_role: str
    person_id: str
    before: str | None


@router.put(
    "/accounts/{account_number}/contacts/{contact_role}",
    response_model=ContactSet,
    summary="Set an account's rep, team lead or CSC manager (an operator)",
    responses={
        403: {"model": ErrorBody, "description": "only an operator"},
        404: {"model": ErrorBody, "description": "no such account or person"},
    },
)
async def set_contact(
    request: Request,
    account_number: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.]{1,40}$")],
    contact_role: Literal["account_rep", "team_lead", "csc_manager"],
    body: Contact,
    actor: Annotated[Actor, Depends(require(Role.OPERATOR))],
) -> ContactSet:
    await _person(request, body.person_id)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if await reference.account_name(conn, account_number) is None:
            raise ApiError(404, f"account {account_number} does not exist", "NotFound")
        before = await directory.set_account_contact(
            conn, account_number, contact_role, body.person_id
        )
        await read_model.append_audit(
            conn,
            f"account:{account_number}",
            actor.person_id,
            "contact changed",
            f"{contact_role}: {before or 'nobody'} → {body.person_id} — {body.comment.strip()}",
        )
    return ContactSet(
        account_number=account_number,
        contact_role=contact_role,
        person_id=body.person_id,
        before=before,
    )
