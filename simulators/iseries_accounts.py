"""iSeries stand-in, national/regional account membership: which customer
accounts belong to an NA/RA, changed by the implementation manager's requests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from simulators.idempotency import IdempotencyStore, Idempotent
from simulators.store import Kept, Records, Table


class MembershipChangeIn(BaseModel):
    kind: Literal["add", "remove"]
    accounts: list[str] = Field(min_length=1)
    reference: str = ""


class Membership(BaseModel):
    national_account: str
    accounts: list[str]
    change_id: str | None = None
    changed_at: datetime | None = None


class IseriesAccountsState:
    changes = Kept(int, 0)

    def __init__(self, records: Records) -> None:
        self.records = records
        self.members: Table[str, set[str]] = records.table("members", set[str])
        self.keys = IdempotencyStore(records)

    def change(self, na: str, body: MembershipChangeIn) -> Membership:
        members = self.members.get(na, set())
        if body.kind == "add":
            members.update(body.accounts)
        else:
            members.difference_update(body.accounts)
        self.members[na] = members
        self.changes += 1
        return Membership(
            national_account=na,
            accounts=sorted(members),
            change_id=f"NAC-{self.changes:06d}",
            changed_at=datetime.now(UTC),
        )


def _state(request: Request) -> IseriesAccountsState:
    return request.app.state.sim.iseries_accounts


router = APIRouter(prefix="/iseries/national-accounts", tags=["iseries"])


@router.post("/{national_account}/changes", status_code=201)
async def change_membership(
    national_account: str, body: MembershipChangeIn, request: Request, key: Idempotent
) -> Membership:
    state = _state(request)
    return key.once(state.keys, body, lambda: state.change(national_account, body))


@router.get("/{national_account}")
async def membership(national_account: str, request: Request) -> Membership:
    members = _state(request).members.get(national_account, set())
    return Membership(national_account=national_account, accounts=sorted(members))
