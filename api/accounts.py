"""Account onboarding: a buyer's PunchOut (cXML) credential."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.auth import require
from api.errors import ApiError
from db import read_model, reference
from db.keys import hash_shared_secret
from domain.identity import Actor, Role

router = APIRouter(prefix="/accounts", tags=["accounts"])


class PunchoutCredential(BaseModel):
    domain: str = Field(min_length=1, max_length=100, examples=["NetworkID"])
    identity: str = Field(min_length=1, max_length=200, examples=["AN01000401693"])
    shared_secret: str = Field(min_length=8, max_length=200)


class CredentialRegistered(BaseModel):
    account_number: str
    domain: str
    identity: str


@router.post(
    "/{account_number}/punchout-credentials",
    response_model=CredentialRegistered,
    status_code=201,
    summary="Register a buyer's cXML credential (From domain/identity and Sender SharedSecret)",
)
async def register_punchout_credential(
    request: Request,
    account_number: str,
    credential: PunchoutCredential,
    actor: Annotated[Actor, Depends(require(Role.OPERATOR))],
) -> CredentialRegistered:
    async with request.app.state.pool.acquire() as conn:
        if await reference.account_name(conn, account_number) is None:
            raise ApiError(404, f"account {account_number} does not exist", "NotFound")
        registered = await reference.upsert_punchout_credential(
            conn,
            account_number,
            credential.domain,
            credential.identity,
            hash_shared_secret(credential.shared_secret),
        )
        if not registered:
            raise ApiError(
                409,
                f"credential {credential.domain}:{credential.identity} belongs to another account",
                "CredentialConflict",
            )
        await read_model.append_audit(
            conn,
            f"account:{account_number}",
            actor.person_id,
            "punchout credential registered",
            f"{credential.domain}:{credential.identity}",
        )
    return CredentialRegistered(
        account_number=account_number, domain=credential.domain, identity=credential.identity
    )
