"""iSeries: NA/RA membership changes (the implementation manager's update)."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import activity

from activities.contracts import iseries_accounts as contract
from activities.contracts.iseries_accounts import MembershipUpdated, UpdateMembership
from activities.http import OBJECT_REFUSALS, activity_logger
from activities.iseries import IseriesClient


class _Membership(BaseModel):
    national_account: str
    accounts: list[str]
    change_id: str | None = None


class IseriesAccountsActivities:
    def __init__(self, client: IseriesClient) -> None:
        self._client = client

    @activity.defn(name=contract.UPDATE_MEMBERSHIP.name)
    async def update_national_account(self, req: UpdateMembership) -> MembershipUpdated:
        answer = await self._client.request(
            "POST",
            f"/national-accounts/{req.national_account}/changes",
            _Membership,
            json={"kind": req.kind, "accounts": req.accounts, "reference": req.reference},
            idempotency_key=req.idempotency_key,
            refusals=OBJECT_REFUSALS,
        )
        activity_logger().info(
            "national account updated", national_account=req.national_account, kind=req.kind
        )
        return MembershipUpdated(change_id=answer.change_id or "", accounts=answer.accounts)
