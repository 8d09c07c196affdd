"""The retail ERP (Storis-like): its open orders to import, and each order's
audit comments log."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio import activity

from activities.contracts import erp as contract
from activities.contracts.erp import AuditComments
from activities.http import OBJECT_REFUSALS, SystemClient, activity_logger


class _Added(BaseModel):
    comment_ids: list[str]


class ErpClient(SystemClient):
    system = "erp"

    async def open_orders(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """One page of the ERP's open orders, after the sales order `after`."""
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        return await self.request("GET", "/open-orders", list[dict[str, Any]], params=params)

    async def add_comments(self, comments: AuditComments) -> int:
        added = await self.request(
            "POST",
            f"/open-orders/{comments.sales_order}/comments",
            _Added,
            json={"comments": [c.model_dump(mode="json") for c in comments.comments]},
            idempotency_key=comments.idempotency_key,
            refusals=OBJECT_REFUSALS,
        )
        return len(added.comment_ids)


class ErpActivities:
    def __init__(self, client: ErpClient) -> None:
        self.client = client

    @activity.defn(name=contract.ADD_COMMENTS.name)
    async def add_comments(self, comments: AuditComments) -> int:
        added = await self.client.add_comments(comments)
        activity_logger().info("audit comments written to the ERP", count=added)
        return added
