"""CRM (Salesforce) account transfer: send the NA/RA membership, then check
the records arrived."""

from __future__ import annotations

import httpx
from pydantic import BaseModel
from temporalio import activity

from activities.contracts import crm_accounts as contract
from activities.contracts.crm_accounts import (
    CheckTransfer,
    TransferAccepted,
    TransferAccounts,
    TransferChecked,
)
from activities.http import OBJECT_REFUSALS, SystemClient, activity_logger
from sopflow.config import Settings


class _Membership(BaseModel):
    national_account: str
    accounts: list[str]


class CrmAccountsClient(SystemClient):
    system = "crm"

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> CrmAccountsClient:
        return cls(
            f"{settings.system_url('crm')}/accounts-transfer", settings.http_timeout, transport
        )


class CrmAccountsActivities:
    def __init__(self, client: CrmAccountsClient) -> None:
        self._client = client

    @activity.defn(name=contract.TRANSFER.name)
    async def transfer_accounts(self, req: TransferAccounts) -> TransferAccepted:
        answer = await self._client.request(
            "POST",
            "/transfers",
            TransferAccepted,
            json={
                "national_account": req.national_account,
                "kind": req.kind,
                "accounts": req.accounts,
            },
            idempotency_key=req.idempotency_key,
        )
        activity_logger().info("accounts transferred to the CRM", transfer_id=answer.transfer_id)
        return answer

    @activity.defn(name=contract.CHECK.name)
    async def check_transfer(self, req: CheckTransfer) -> TransferChecked:
        there = await self._client.request(
            "GET",
            f"/national-accounts/{req.national_account}",
            _Membership,
            refusals=OBJECT_REFUSALS,
        )
        present = set(there.accounts)
        if req.kind == "add":
            missing = [a for a in req.accounts if a not in present]
        else:
            missing = [a for a in req.accounts if a in present]
        return TransferChecked(missing=missing)
