"""The team directory: teams with their members and what each does, one person
with their capabilities, contacts, branches, stores and away flag; marking
someone away (an operator, or a team lead for their own team), a person's
capabilities, branches and stores, an account's contacts and a key's accounts
(an operator). Changes are audited and take effect at once: routing reads the
directory when each task opens, authorization (api/policy.py) at each call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from api.auth import current_actor, require
from api.errors import ApiError, ErrorBody
from db import directory, read_model, reference, relations
from db.keys import AmbiguousKeyId, find_api_key, integration_exists
from db.keys import key_id as id_of_key
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


class StoreRole(BaseModel):
    store_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,20}$", examples=["101"])
    role: Literal["oom_agent", "store_manager"]


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
    branches: list[str] = Field(description="the branches they run (a branch manager)")
    stores: list[StoreRole] = Field(description="the stores they work for, and as what")


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
        return {**found, **await relations.relations_of(conn, person_id)}


async def _change_person(
    request: Request,
    person_id: str,
    actor: Actor,
    action: str,
    summary: str,
    change: Callable[[Any], Awaitable[None]],
) -> dict:
    """`change` and its audit entry under person:<id>, in one transaction (a
    refusal raised inside leaves nothing done): the person as they are now."""
    await _person(request, person_id)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        await change(conn)
        await read_model.append_audit(conn, f"person:{person_id}", actor.person_id, action, summary)
    return await _person(request, person_id)


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
    pairs = [(c.capability, c.region) for c in body.capabilities]
    rows = sorted((c.capability, c.region, c.level) for c in body.capabilities)

    async def change(conn: Any) -> None:
        if len(set(pairs)) != len(pairs):
            raise ApiError(422, "a capability and region appear twice", "ValidationError")
        await directory.replace_capabilities(conn, person_id, rows)

    summary = "; ".join(f"{c} {r} {lv}" for c, r, lv in rows) + f" — {body.comment.strip()}"
    return await _change_person(request, person_id, actor, "capabilities changed", summary, change)


# The account's points of contact per the SOPs (migration 0015).
ContactRole = Literal["account_rep", "team_lead", "csc_manager", "ram", "nam", "ssm", "im"]


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
    summary="Set an account's rep, team lead, CSC manager, RAM/NAM, SSM or IM (an operator)",
    responses={
        403: {"model": ErrorBody, "description": "only an operator"},
        404: {"model": ErrorBody, "description": "no such account or person"},
    },
)
async def set_contact(
    request: Request,
    account_number: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.]{1,40}$")],
    contact_role: ContactRole,
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


# ------------------------------------------------------------ relations
# Who runs which branch, works for which store, and which accounts a key
# submits for: what authorization reads (api/policy.py). Operators only, audited.
_OPERATOR_ONLY = {
    403: {"model": ErrorBody, "description": "only an operator"},
    404: {"model": ErrorBody, "description": "no such person or key"},
    422: {"model": ErrorBody, "description": "an unknown branch, store or account"},
}
BranchId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,20}$", examples=["BR-ODS"])]
AccountNumber = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$", examples=["401693"])]


class Branches(BaseModel):
    branches: list[BranchId] = Field(max_length=100)
    comment: Comment


class Stores(BaseModel):
    stores: list[StoreRole] = Field(max_length=200)
    comment: Comment


@router.put(
    "/people/{person_id}/branches",
    response_model=Person,
    summary="Replace the branches a branch manager runs (an operator)",
    responses=_OPERATOR_ONLY,
)
async def set_branches(
    request: Request,
    person_id: Annotated[str, Path(pattern=PERSON_ID)],
    body: Branches,
    actor: Annotated[Actor, Depends(require(Role.OPERATOR))],
) -> dict:
    branches = sorted(set(body.branches))

    async def change(conn: Any) -> None:
        if unknown := await relations.unknown_branches(conn, branches):
            raise ApiError(422, f"no branch {', '.join(unknown)}", "UnknownBranch")
        await relations.replace_branches(conn, person_id, branches)

    summary = f"{', '.join(branches) or 'none'} — {body.comment.strip()}"
    return await _change_person(request, person_id, actor, "branches changed", summary, change)


@router.put(
    "/people/{person_id}/stores",
    response_model=Person,
    summary="Replace the stores an OOM agent or store manager works for (an operator)",
    responses=_OPERATOR_ONLY,
)
async def set_stores(
    request: Request,
    person_id: Annotated[str, Path(pattern=PERSON_ID)],
    body: Stores,
    actor: Annotated[Actor, Depends(require(Role.OPERATOR))],
) -> dict:
    pairs = sorted({(s.store_id, s.role) for s in body.stores})

    async def change(conn: Any) -> None:
        if unknown := await relations.unknown_stores(conn, sorted({s for s, _ in pairs})):
            raise ApiError(422, f"no store {', '.join(unknown)}", "UnknownStore")
        await relations.replace_stores(conn, person_id, pairs)

    summary = f"{'; '.join(f'{s} {r}' for s, r in pairs) or 'none'} — {body.comment.strip()}"
    return await _change_person(request, person_id, actor, "stores changed", summary, change)


class KeyBinding(BaseModel):
    key_id: str = Field(description="the first characters of the key's hash (sopflow keys list)")
    roles: list[str]
    label: str
    live: bool
    integration_id: str | None
    accounts: list[str] = Field(description="accounts bound to the key itself")
    integration_accounts: list[str] = Field(description="accounts of its integration")


async def _bindings(conn: object, rows: list) -> list[KeyBinding]:
    out = []
    for k in rows:
        bound = await relations.key_binding(conn, k["key_hash"])  # type: ignore[arg-type]
        out.append(
            KeyBinding(
                key_id=id_of_key(k["key_hash"]),
                roles=list(k["roles"]),
                label=k["label"],
                live=k["live"],
                integration_id=bound.get("integration_id"),
                accounts=list(bound.get("accounts") or []),
                integration_accounts=list(bound.get("integration_accounts") or []),
            )
        )
    return out


@router.get(
    "/people/{person_id}/keys",
    response_model=list[KeyBinding],
    summary="A person's API keys (by id) and the accounts each may act for (an operator)",
    responses=_OPERATOR_ONLY,
)
async def person_keys(
    request: Request,
    person_id: Annotated[str, Path(pattern=PERSON_ID)],
    actor: Annotated[Actor, Depends(require(Role.OPERATOR))],
) -> list[KeyBinding]:
    await _person(request, person_id)
    async with request.app.state.pool.acquire() as conn:
        return await _bindings(conn, await relations.keys_of(conn, person_id=person_id))


class KeyAccounts(BaseModel):
    accounts: list[AccountNumber] = Field(max_length=1000)
    integration_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]{1,60}$", description="null: none"
    )
    comment: Comment


@router.put(
    "/keys/{key_id}/accounts",
    response_model=KeyBinding,
    summary="Replace the accounts (and integration) a system key acts for (an operator)",
    responses=_OPERATOR_ONLY,
)
async def set_key_accounts(
    request: Request,
    key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{8,64}$")],
    body: KeyAccounts,
    actor: Annotated[Actor, Depends(require(Role.OPERATOR))],
) -> KeyBinding:
    accounts = sorted(set(body.accounts))
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        try:
            found = await find_api_key(conn, key_id)
        except AmbiguousKeyId as err:
            raise ApiError(422, str(err), "AmbiguousKeyId") from None
        if found is None:
            raise ApiError(404, f"no key {key_id}", "NotFound")
        if unknown := await relations.unknown_accounts(conn, accounts):
            raise ApiError(422, f"no account {', '.join(unknown)}", "UnknownAccount")
        if body.integration_id and not await integration_exists(conn, body.integration_id):
            raise ApiError(422, f"no integration {body.integration_id}", "UnknownIntegration")
        await relations.replace_key_accounts(conn, found["key_hash"], accounts, body.integration_id)
        await read_model.append_audit(
            conn,
            f"api-key:{id_of_key(found['key_hash'])}",
            actor.person_id,
            "key accounts changed",
            f"accounts {', '.join(accounts) or 'none'}; integration "
            f"{body.integration_id or 'none'} — {body.comment.strip()}",
        )
        rows = await relations.keys_of(conn, key_hash=found["key_hash"])
        return (await _bindings(conn, rows))[0]
