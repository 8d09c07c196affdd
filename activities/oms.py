"""Sterling OMS: the client and the activities that create, confirm and release orders."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import httpx
from pydantic import BaseModel
from temporalio import activity

from activities.http import SystemClient, activity_logger
from domain.order.models import PurchaseOrder, ResolvedLine
from sopflow.config import Settings


class OmsLine(BaseModel):
    line_number: int
    part_id: str
    pool_id: str
    uom: str
    quantity: Decimal
    unit_price: Decimal

    @classmethod
    def from_resolved(cls, line: ResolvedLine) -> OmsLine:
        return cls.model_validate(line.model_dump())


class OmsOrderRequest(BaseModel):
    external_ref: str
    account_number: str
    po_number: str
    branch_id: str | None
    currency: str
    status: Literal["draft", "confirmed"]
    lines: list[OmsLine]
    test: bool = False


class OmsOrder(BaseModel):
    oms_order_id: str
    external_ref: str
    account_number: str
    po_number: str
    branch_id: str | None
    currency: str
    status: str
    lines: list[OmsLine]
    test: bool = False
    iseries_order_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class OmsOrderRef(BaseModel):
    oms_order_id: str
    status: str


class OmsRelease(BaseModel):
    oms_order_id: str
    iseries_order_id: str


class OmsCreateOrder(BaseModel):
    idempotency_key: str
    order: PurchaseOrder
    lines: list[ResolvedLine]
    branch_id: str | None = None
    confirmed: bool = False


class OmsUpdateOrder(BaseModel):
    oms_order_id: str
    lines: list[ResolvedLine] | None = None  # None: keep the lines
    branch_id: str | None = None  # None: keep the branch


class OmsClient(SystemClient):
    def __init__(
        self, base_url: str, timeout: Any = 10.0, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        super().__init__(base_url, timeout, "oms", transport)

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> OmsClient:
        return cls(settings.system_url("oms"), settings.http_timeout, transport)

    async def create_order(self, idempotency_key: str, order: OmsOrderRequest) -> OmsOrder:
        body = await self.request(
            "POST", "/orders", json=order.model_dump(mode="json"), idempotency_key=idempotency_key
        )
        return OmsOrder.model_validate(body)

    async def get_order(self, oms_order_id: str) -> OmsOrder:
        return OmsOrder.model_validate(await self.request("GET", f"/orders/{oms_order_id}"))

    async def find_orders(self, external_ref: str) -> list[OmsOrder]:
        body = await self.request("GET", "/orders", params={"external_ref": external_ref})
        return [OmsOrder.model_validate(o) for o in body]

    async def update_order(
        self,
        oms_order_id: str,
        *,
        lines: list[OmsLine] | None = None,
        branch_id: str | None = None,
    ) -> OmsOrder:
        """Change lines and/or branch; arguments left as None are not touched."""
        patch: dict[str, Any] = {}
        if lines is not None:
            patch["lines"] = [ln.model_dump(mode="json") for ln in lines]
        if branch_id is not None:
            patch["branch_id"] = branch_id
        return OmsOrder.model_validate(
            await self.request("PATCH", f"/orders/{oms_order_id}", json=patch)
        )

    async def confirm_order(self, oms_order_id: str) -> OmsOrder:
        return OmsOrder.model_validate(
            await self.request("POST", f"/orders/{oms_order_id}/confirm")
        )

    async def release_order(self, oms_order_id: str) -> OmsRelease:
        return OmsRelease.model_validate(
            await self.request("POST", f"/orders/{oms_order_id}/release")
        )


class OmsActivities:
    def __init__(self, client: OmsClient) -> None:
        self.client = client

    @activity.defn(name="oms.create_order")
    async def create_order(self, req: OmsCreateOrder) -> OmsOrderRef:
        order = req.order
        created = await self.client.create_order(
            req.idempotency_key,
            OmsOrderRequest(
                external_ref=order.workflow_id,
                account_number=order.account_number,
                po_number=order.po_number,
                branch_id=req.branch_id,
                currency=order.currency,
                status="confirmed" if req.confirmed else "draft",
                lines=[OmsLine.from_resolved(line) for line in req.lines],
                test=order.test,
            ),
        )
        activity_logger().info(
            "oms order created", oms_order_id=created.oms_order_id, status=created.status
        )
        return OmsOrderRef(oms_order_id=created.oms_order_id, status=created.status)

    @activity.defn(name="oms.update_order")
    async def update_order(self, req: OmsUpdateOrder) -> OmsOrderRef:
        # A PATCH that sets the same values again is harmless, so retries are safe.
        updated = await self.client.update_order(
            req.oms_order_id,
            lines=None if req.lines is None else [OmsLine.from_resolved(ln) for ln in req.lines],
            branch_id=req.branch_id,
        )
        activity_logger().info("oms order updated", oms_order_id=req.oms_order_id)
        return OmsOrderRef(oms_order_id=updated.oms_order_id, status=updated.status)

    @activity.defn(name="oms.confirm_order")
    async def confirm_order(self, oms_order_id: str) -> OmsOrderRef:
        confirmed = await self.client.confirm_order(oms_order_id)
        activity_logger().info(
            "oms order confirmed", oms_order_id=oms_order_id, status=confirmed.status
        )
        return OmsOrderRef(oms_order_id=confirmed.oms_order_id, status=confirmed.status)

    @activity.defn(name="oms.release_order")
    async def release_order(self, oms_order_id: str) -> OmsRelease:
        release = await self.client.release_order(oms_order_id)
        activity_logger().info(
            "oms order released",
            oms_order_id=oms_order_id,
            iseries_order_id=release.iseries_order_id,
        )
        return release
