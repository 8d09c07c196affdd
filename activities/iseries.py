"""iSeries: pick tickets and invoices at the branch, and direct order entry as the
fallback when OMS is down."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import iseries as contract
from activities.contracts.iseries import (
    InvoiceRequest,
    IseriesCancelOrder,
    IseriesCreateOrder,
    IseriesOrderRef,
    PickTicket,
    PickTicketRequest,
)
from activities.contracts.oms import OmsLine
from activities.http import OBJECT_REFUSALS, SystemClient, activity_logger
from domain.order.models import Invoice


class IseriesOrderRequest(BaseModel):
    external_ref: str
    account_number: str
    po_number: str
    branch_id: str | None
    currency: str
    lines: list[OmsLine]
    test: bool = False


class IseriesOrder(IseriesOrderRequest):
    iseries_order_id: str
    source: str
    oms_order_id: str | None = None
    created_at: datetime | None = None
    cancelled_at: datetime | None = None


class InvoiceLine(BaseModel):
    line_number: int
    quantity: Decimal
    unit_price: Decimal


class IseriesInvoiceRequest(BaseModel):
    iseries_order_id: str
    order_ref: str
    shipment_id: str
    currency: str
    lines: list[InvoiceLine]


class IseriesClient(SystemClient):
    system = "iseries"

    async def create_order(self, idempotency_key: str, order: IseriesOrderRequest) -> IseriesOrder:
        return await self.request(
            "POST",
            "/orders",
            IseriesOrder,
            json=order.model_dump(mode="json"),
            idempotency_key=idempotency_key,
        )

    async def get_order(self, iseries_order_id: str) -> IseriesOrder:
        return await self.request(
            "GET", f"/orders/{iseries_order_id}", IseriesOrder, refusals=OBJECT_REFUSALS
        )

    async def find_orders(self, external_ref: str) -> list[IseriesOrder]:
        return await self.request(
            "GET", "/orders", list[IseriesOrder], params={"external_ref": external_ref}
        )

    async def find_by_po(self, po_number: str) -> list[IseriesOrder]:
        """Every order entered for this PO number (any account)."""
        return await self.request(
            "GET", "/orders", list[IseriesOrder], params={"po_number": po_number}
        )

    async def find_pick_tickets(self, iseries_order_id: str) -> list[PickTicket]:
        return await self.request(
            "GET", "/pick-tickets", list[PickTicket], params={"iseries_order_id": iseries_order_id}
        )

    async def cancel_order(self, idempotency_key: str, iseries_order_id: str) -> IseriesOrder:
        return await self.request(
            "POST",
            f"/orders/{iseries_order_id}/cancel",
            IseriesOrder,
            idempotency_key=idempotency_key,
            refusals=OBJECT_REFUSALS,
        )

    async def print_pick_ticket(self, req: PickTicketRequest) -> PickTicket:
        return await self.request(
            "POST",
            "/pick-tickets",
            PickTicket,
            json=req.model_dump(mode="json", exclude={"idempotency_key", "first"}),
            idempotency_key=req.idempotency_key,
            refusals=OBJECT_REFUSALS,  # no such iSeries order
        )

    async def create_invoice(self, idempotency_key: str, req: IseriesInvoiceRequest) -> Invoice:
        return await self.request(
            "POST",
            "/invoices",
            Invoice,
            json=req.model_dump(mode="json"),
            idempotency_key=idempotency_key,
            refusals=OBJECT_REFUSALS,  # no such iSeries order
        )

    async def find_invoices(self, order_ref: str) -> list[Invoice]:
        return await self.request(
            "GET", "/invoices", list[Invoice], params={"order_ref": order_ref}
        )


class IseriesActivities:
    def __init__(self, client: IseriesClient) -> None:
        self.client = client

    @activity.defn(name=contract.PRINT_PICK_TICKET.name)
    async def print_pick_ticket(self, req: PickTicketRequest) -> PickTicket:
        if req.first:
            # The order's first ticket, printed before by a run that then failed:
            # the branch already has it (a second would be picked twice).
            printed = await self.client.find_pick_tickets(req.iseries_order_id)
            if printed:
                activity_logger().info(
                    "pick ticket already printed", pick_ticket_id=printed[0].pick_ticket_id
                )
                return printed[0]
        ticket = await self.client.print_pick_ticket(req)
        activity_logger().info(
            "pick ticket printed", pick_ticket_id=ticket.pick_ticket_id, branch_id=ticket.branch_id
        )
        return ticket

    @activity.defn(name=contract.INVOICE_SHIPMENT.name)
    async def invoice_shipment(self, req: InvoiceRequest) -> Invoice:
        missing = [
            ln.line_number for ln in req.shipment.lines if ln.line_number not in req.unit_prices
        ]
        if missing:
            raise ApplicationError(
                f"no unit price for shipped line(s) {missing}",
                type="InvalidInvoice",
                non_retryable=True,
            )
        invoice = await self.client.create_invoice(
            req.idempotency_key,
            IseriesInvoiceRequest(
                iseries_order_id=req.iseries_order_id,
                order_ref=req.order_ref,
                shipment_id=req.shipment.shipment_id,
                currency=req.currency,
                lines=[
                    InvoiceLine(
                        line_number=ln.line_number,
                        quantity=ln.quantity,
                        unit_price=req.unit_prices[ln.line_number],
                    )
                    for ln in req.shipment.lines
                ],
            ),
        )
        activity_logger().info(
            "shipment invoiced",
            invoice_number=invoice.invoice_number,
            shipment_id=invoice.shipment_id,
            amount=str(invoice.amount),
        )
        return invoice

    @activity.defn(name=contract.CREATE_ORDER.name)
    async def create_order(self, req: IseriesCreateOrder) -> IseriesOrderRef:
        """One live iSeries order per PO: one already there (a PO sent again after
        its workflow failed) is the order when its lines are the same."""
        order = req.order
        lines = [OmsLine.from_resolved(line) for line in req.lines]
        live = [
            o
            for o in await self.client.find_by_po(order.po_number)
            if o.account_number == order.account_number and o.cancelled_at is None
        ]
        if live:
            found = live[-1]
            if found.lines != lines:
                raise ApplicationError(
                    f"PO {order.po_number} is already iSeries order {found.iseries_order_id} "
                    "with other lines; a change to it goes through the customer service center",
                    {"iseries_order_id": found.iseries_order_id},
                    type="IseriesRefused",
                    non_retryable=True,
                )
            activity_logger().info(
                "iseries order found for the po", iseries_order_id=found.iseries_order_id
            )
            return IseriesOrderRef(iseries_order_id=found.iseries_order_id)
        created = await self.client.create_order(
            req.idempotency_key,
            IseriesOrderRequest(
                external_ref=order.workflow_id,
                account_number=order.account_number,
                po_number=order.po_number,
                branch_id=req.branch_id,
                currency=order.currency,
                lines=lines,
                test=order.test,
            ),
        )
        activity_logger().info(
            "order entered in iseries", iseries_order_id=created.iseries_order_id
        )
        return IseriesOrderRef(iseries_order_id=created.iseries_order_id)

    @activity.defn(name=contract.CANCEL_ORDER.name)
    async def cancel_order(self, req: IseriesCancelOrder) -> IseriesOrderRef:
        cancelled = await self.client.cancel_order(req.idempotency_key, req.iseries_order_id)
        activity_logger().info("iseries order cancelled", iseries_order_id=req.iseries_order_id)
        return IseriesOrderRef(iseries_order_id=cancelled.iseries_order_id)
