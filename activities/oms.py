"""Sterling OMS: the client and the activities that create, update, confirm, release and
cancel orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import oms as contract
from activities.contracts.oms import (
    OmsCreateOrder,
    OmsLine,
    OmsOrderAction,
    OmsOrderRef,
    OmsReconcileOrder,
    OmsRelease,
    OmsUpdateOrder,
)
from activities.http import OBJECT_REFUSALS, SystemClient, activity_logger


class OmsOrderRequest(BaseModel):
    external_ref: str
    account_number: str
    po_number: str
    branch_id: str | None
    currency: str
    status: Literal["draft", "confirmed", "released"]
    lines: list[OmsLine]
    test: bool = False
    iseries_order_id: str | None = None


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


class OmsClient(SystemClient):
    system = "oms"

    async def create_order(self, idempotency_key: str, order: OmsOrderRequest) -> OmsOrder:
        return await self.request(
            "POST",
            "/orders",
            OmsOrder,
            json=order.model_dump(mode="json"),
            idempotency_key=idempotency_key,
        )

    async def get_order(self, oms_order_id: str) -> OmsOrder:
        return await self.request(
            "GET", f"/orders/{oms_order_id}", OmsOrder, refusals=OBJECT_REFUSALS
        )

    async def find_orders(self, external_ref: str) -> list[OmsOrder]:
        return await self.request(
            "GET", "/orders", list[OmsOrder], params={"external_ref": external_ref}
        )

    async def find_by_po(self, po_number: str) -> list[OmsOrder]:
        """Every order made for this PO number (any account), with its status."""
        return await self.request("GET", "/orders", list[OmsOrder], params={"po_number": po_number})

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
        return await self.request(
            "PATCH", f"/orders/{oms_order_id}", OmsOrder, json=patch, refusals=OBJECT_REFUSALS
        )

    async def confirm_order(self, oms_order_id: str, idempotency_key: str) -> OmsOrder:
        return await self.request(
            "POST",
            f"/orders/{oms_order_id}/confirm",
            OmsOrder,
            idempotency_key=idempotency_key,
            refusals=OBJECT_REFUSALS,
        )

    async def release_order(self, oms_order_id: str, idempotency_key: str) -> OmsRelease:
        return await self.request(
            "POST",
            f"/orders/{oms_order_id}/release",
            OmsRelease,
            idempotency_key=idempotency_key,
            refusals=OBJECT_REFUSALS,
        )

    async def link_iseries(
        self, oms_order_id: str, iseries_order_id: str, idempotency_key: str
    ) -> OmsOrder:
        """Mark an order OMS holds as released as an order entered in iSeries directly."""
        return await self.request(
            "POST",
            f"/orders/{oms_order_id}/link-iseries",
            OmsOrder,
            json={"iseries_order_id": iseries_order_id},
            idempotency_key=idempotency_key,
            refusals=OBJECT_REFUSALS,
        )

    async def cancel_order(self, oms_order_id: str, idempotency_key: str) -> OmsOrder:
        """Cancel (the buyer withdrew the PO); cancelling a cancelled order is a no-op."""
        return await self.request(
            "POST",
            f"/orders/{oms_order_id}/cancel",
            OmsOrder,
            idempotency_key=idempotency_key,
            refusals=OBJECT_REFUSALS,
        )


class OmsActivities:
    def __init__(self, client: OmsClient) -> None:
        self.client = client

    @activity.defn(name=contract.CREATE_ORDER.name)
    async def create_order(self, req: OmsCreateOrder) -> OmsOrderRef:
        """One live OMS order per PO: a PO sent again after its workflow failed
        carries on from the order OMS already holds (docs/orders.md)."""
        order = req.order
        existing = await self._live_order(req)
        if existing is not None:
            return await self._carry_on(existing, req)
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

    async def _live_order(self, req: OmsCreateOrder) -> OmsOrder | None:
        """The order OMS holds for this account's PO and has not cancelled (the
        newest, should there be more)."""
        order = req.order
        found = [
            o
            for o in await self.client.find_by_po(order.po_number)
            if o.account_number == order.account_number and o.status != "cancelled"
        ]
        return max(
            found,
            key=lambda o: (o.created_at is not None, o.created_at, o.oms_order_id),
            default=None,
        )

    async def _carry_on(self, existing: OmsOrder, req: OmsCreateOrder) -> OmsOrderRef:
        """The same content: that order, confirmed when this one is clean. Other
        content: a change of that order, as the buyer's cXML update is, taken
        while OMS keeps it as a draft and refused once it is confirmed."""
        log = activity_logger().bind(oms_order_id=existing.oms_order_id)
        lines = [OmsLine.from_resolved(line) for line in req.lines]
        branch = req.branch_id or existing.branch_id
        same = existing.lines == lines and existing.branch_id == branch
        if not same and existing.status != "draft":
            raise ApplicationError(
                f"PO {req.order.po_number} is already OMS order {existing.oms_order_id} "
                f"({existing.status}) with other content; a change to it now goes through "
                "the customer service center",
                {"oms_order_id": existing.oms_order_id, "status": existing.status},
                type="OmsRefused",
                non_retryable=True,
            )
        status = existing.status
        if not same:
            status = (
                await self.client.update_order(existing.oms_order_id, lines=lines, branch_id=branch)
            ).status
            log.info("oms order changed by the resent po")
        if req.confirmed and status == "draft":
            status = (
                await self.client.confirm_order(
                    existing.oms_order_id, f"{req.idempotency_key}:confirm"
                )
            ).status
        log.info("oms order found for the resent po", status=status, same_content=same)
        return OmsOrderRef(oms_order_id=existing.oms_order_id, status=status, found=True)

    @activity.defn(name=contract.UPDATE_ORDER.name)
    async def update_order(self, req: OmsUpdateOrder) -> OmsOrderRef:
        # A PATCH that sets the same values again is harmless, so retries are safe.
        updated = await self.client.update_order(
            req.oms_order_id,
            lines=None if req.lines is None else [OmsLine.from_resolved(ln) for ln in req.lines],
            branch_id=req.branch_id,
        )
        activity_logger().info("oms order updated", oms_order_id=req.oms_order_id)
        return OmsOrderRef(oms_order_id=updated.oms_order_id, status=updated.status)

    @activity.defn(name=contract.CONFIRM_ORDER.name)
    async def confirm_order(self, req: OmsOrderAction) -> OmsOrderRef:
        oms_order_id = req.oms_order_id
        confirmed = await self.client.confirm_order(oms_order_id, req.idempotency_key)
        activity_logger().info(
            "oms order confirmed", oms_order_id=oms_order_id, status=confirmed.status
        )
        return OmsOrderRef(oms_order_id=confirmed.oms_order_id, status=confirmed.status)

    @activity.defn(name=contract.RELEASE_ORDER.name)
    async def release_order(self, req: OmsOrderAction) -> OmsRelease:
        oms_order_id = req.oms_order_id
        release = await self.client.release_order(oms_order_id, req.idempotency_key)
        activity_logger().info(
            "oms order released",
            oms_order_id=oms_order_id,
            iseries_order_id=release.iseries_order_id,
        )
        return release

    @activity.defn(name=contract.CANCEL_ORDER.name)
    async def cancel_order(self, req: OmsOrderAction) -> OmsOrderRef:
        oms_order_id = req.oms_order_id
        cancelled = await self.client.cancel_order(oms_order_id, req.idempotency_key)
        activity_logger().info(
            "oms order cancelled", oms_order_id=oms_order_id, status=cancelled.status
        )
        return OmsOrderRef(oms_order_id=cancelled.oms_order_id, status=cancelled.status)

    @activity.defn(name=contract.RECONCILE_ORDER.name)
    async def reconcile_order(self, req: OmsReconcileOrder) -> OmsOrderRef:
        """Exactly one OMS order per PO: an OMS order this order already has (a
        create whose answer was lost as OMS went down) is linked to the iSeries
        order; otherwise one is created, released, naming it. Retries reuse the key."""
        order = req.order
        log = activity_logger().bind(iseries_order_id=req.iseries_order_id)
        existing = [
            o for o in await self.client.find_orders(order.workflow_id) if o.status != "cancelled"
        ]
        if existing:
            found = existing[0]
            if found.iseries_order_id != req.iseries_order_id:
                found = await self.client.link_iseries(
                    found.oms_order_id, req.iseries_order_id, req.idempotency_key
                )
            log.info("oms order linked to iseries order", oms_order_id=found.oms_order_id)
            return OmsOrderRef(oms_order_id=found.oms_order_id, status=found.status)
        created = await self.client.create_order(
            req.idempotency_key,
            OmsOrderRequest(
                external_ref=order.workflow_id,
                account_number=order.account_number,
                po_number=order.po_number,
                branch_id=req.branch_id,
                currency=order.currency,
                status="released",
                lines=[OmsLine.from_resolved(line) for line in req.lines],
                test=order.test,
                iseries_order_id=req.iseries_order_id,
            ),
        )
        log.info("oms order created for iseries order", oms_order_id=created.oms_order_id)
        return OmsOrderRef(oms_order_id=created.oms_order_id, status=created.status)
