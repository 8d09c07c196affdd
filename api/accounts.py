"""Account onboarding: a buyer's PunchOut (cXML) credential, and the integration
(PunchOut network) whose system keys may submit the buyer's orders."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from api.auth import require
from api.errors import ApiError, ErrorBody
from db import buyer_documents, read_model, reference
from db.keys import add_integration_account, hash_shared_secret, integration_exists
from domain.identity import Actor, Role
from domain.text import text

router = APIRouter(prefix="/accounts", tags=["accounts"])
ACCOUNT_NUMBER = r"^[A-Za-z0-9_.]+$"
# Identifiers as the network gives them (domain/text.py: no control characters).
Identifier100 = text(100, min_length=1, strip=False)
Identifier200 = text(200, min_length=1, strip=False)
Secret = text(200, min_length=8, strip=False)
Url = text(500, strip=False, pattern=r"^https?://[^\s\x00-\x1f\x7f]+$")


class PunchoutCredential(BaseModel):
    domain: Identifier100 = Field(examples=["NetworkID"])
    identity: Identifier200 = Field(examples=["AN01000401693"])
    shared_secret: Secret
    integration_id: Identifier100 | None = Field(
        default=None,
        description="the integration (PunchOut network) the buyer orders through: its system "
        "keys may then submit this account's orders",
        examples=["punchout-network"],
    )
    endpoint_url: Url | None = Field(
        default=None,
        description="where the buyer's procurement system takes the supplier's cXML documents "
        "(order confirmations, ship notices, invoices); without one the buyer gets none",
        examples=["https://network.example.com/cxml/inbound"],
    )


class CredentialRegistered(BaseModel):
    account_number: str
    domain: str
    identity: str
    integration_id: str | None = None
    endpoint_url: str | None = None


@router.post(
    "/{account_number}/punchout-credentials",
    response_model=CredentialRegistered,
    status_code=201,
    summary="Register a buyer's cXML credential (From domain/identity and Sender SharedSecret)",
    responses={
        403: {"model": ErrorBody, "description": "only an operator onboards buyers"},
        404: {"model": ErrorBody, "description": "no such account or integration"},
        409: {"model": ErrorBody, "description": "the credential belongs to another account"},
    },
)
async def register_punchout_credential(
    request: Request,
    account_number: Annotated[str, Path(max_length=40, pattern=ACCOUNT_NUMBER)],
    credential: PunchoutCredential,
    actor: Annotated[Actor, Depends(require(Role.OPERATOR))],
) -> CredentialRegistered:
    integration = credential.integration_id
    # scrypt: tens of milliseconds of CPU, off the event loop.
    secret_hash = await asyncio.to_thread(hash_shared_secret, credential.shared_secret)
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        if await reference.account_name(conn, account_number) is None:
            raise ApiError(404, f"account {account_number} does not exist", "NotFound")
        if integration is not None and not await integration_exists(conn, integration):
            raise ApiError(404, f"integration {integration} does not exist", "NotFound")
        registered = await reference.upsert_punchout_credential(
            conn, account_number, credential.domain, credential.identity, secret_hash
        )
        if not registered:
            raise ApiError(
                409,
                f"credential {credential.domain}:{credential.identity} belongs to another account",
                "CredentialConflict",
            )
        if integration is not None:
            await add_integration_account(conn, integration, account_number)
        # Registering again replaces the endpoint (none: the buyer gets no documents).
        await buyer_documents.set_endpoint(
            conn, credential.domain, credential.identity, credential.endpoint_url
        )
        await read_model.append_audit(
            conn,
            f"account:{account_number}",
            actor.person_id,
            "punchout credential registered",
            f"{credential.domain}:{credential.identity}"
            + (f" via integration {integration}" if integration else "")
            + (f"; documents to {credential.endpoint_url}" if credential.endpoint_url else ""),
        )
    return CredentialRegistered(
        account_number=account_number,
        domain=credential.domain,
        identity=credential.identity,
        integration_id=integration,
        endpoint_url=credential.endpoint_url,
    )
