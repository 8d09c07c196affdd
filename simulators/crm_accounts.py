"""CRM (Salesforce) stand-in, account transfer: the NA/RA membership the
iSeries holds is sent over for the SSM's reports. Like the real sync, a
transfer can be accepted and still not arrive: `/_lose-next` makes the next
transfers vanish, so the check that the records arrived fails."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from simulators.idempotency import IdempotencyStore, Idempotent
from simulators.store import Kept, Records, Table


class TransferIn(BaseModel):
    national_account: str = Field(min_length=1)
    kind: Literal["add", "remove"]
    accounts: list[str] = Field(min_length=1)


class Transfer(BaseModel):
    transfer_id: str
    national_account: str
    status: Literal["accepted"] = "accepted"
    accepted_at: datetime


class CrmMembership(BaseModel):
    national_account: str
    accounts: list[str]


class LoseNext(BaseModel):
    count: int = Field(ge=0)


class CrmAccountsState:
    lose_next = Kept(int, 0)

    def __init__(self, records: Records) -> None:
        self.records = records
        self.members: Table[str, set[str]] = records.table("members", set[str])
        self.transfers: Table[str, Transfer] = records.table("transfers", Transfer)
        self.keys = IdempotencyStore(records)

    def transfer(self, body: TransferIn) -> Transfer:
        accepted = Transfer(
            transfer_id=f"SF-{len(self.transfers) + 1:06d}",
            national_account=body.national_account,
            accepted_at=datetime.now(UTC),
        )
        self.transfers[accepted.transfer_id] = accepted
        if self.lose_next:
            self.lose_next -= 1  # accepted, never arrives
            return accepted
        members = self.members.get(body.national_account, set())
        if body.kind == "add":
            members.update(body.accounts)
        else:
            members.difference_update(body.accounts)
        self.members[body.national_account] = members
        return accepted


def _state(request: Request) -> CrmAccountsState:
    return request.app.state.sim.crm_accounts


router = APIRouter(prefix="/crm/accounts-transfer", tags=["crm"])


@router.post("/transfers", status_code=201)
async def transfer(body: TransferIn, request: Request, key: Idempotent) -> Transfer:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.transfer(body))


@router.get("/national-accounts/{national_account}")
async def membership(national_account: str, request: Request) -> CrmMembership:
    members = _state(request).members.get(national_account, set())
    return CrmMembership(national_account=national_account, accounts=sorted(members))


@router.put("/_lose-next")
async def lose_next(body: LoseNext, request: Request) -> LoseNext:
    _state(request).lose_next = body.count
    return body
