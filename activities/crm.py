"""The CRM: account details for CSR cases."""

from __future__ import annotations

from urllib.parse import quote

from temporalio import activity

from activities.contracts import crm as contract
from activities.contracts.crm import AccountDetails, FetchAccount
from activities.http import OBJECT_REFUSALS, SystemClient, activity_logger


class CrmClient(SystemClient):
    system = "crm"

    async def account(self, account_number: str) -> AccountDetails:
        return await self.request(
            "GET",
            f"/accounts/{quote(account_number, safe='')}",
            AccountDetails,
            refusals=OBJECT_REFUSALS,
        )


class CrmActivities:
    def __init__(self, client: CrmClient) -> None:
        self.client = client

    @activity.defn(name=contract.FETCH_ACCOUNT.name)
    async def fetch_account(self, req: FetchAccount) -> AccountDetails:
        details = await self.client.account(req.account_number)
        activity_logger().info("crm account fetched", account=req.account_number)
        return details
