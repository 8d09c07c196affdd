"""The floors an order is measured against.

- `FloorWorkflow`: what the business needs, no more. The order's five business
  activities, the real ones (the implementations the worker registers, against
  the same simulators and PostgreSQL, with the inputs their contracts take):
  validate, create in the OMS, release to iSeries, print the pick ticket; then,
  inside the branch's shipment Update (a validator, answering with the invoice),
  invoice. No read-model writes, no audit, no search attributes, no details.
- `TodaysFloorWorkflow`: the floor this benchmark used first, the order's shape
  as its history shows it (regular and local activities before and after the
  update; the local ones stand for the read-model writes), all of them no-ops.

A module of its own that imports only the SDK and pure modules the production
sandbox passes through, because the sandbox re-imports a workflow's module for
every run: the floor pays for its own module the way the order pays for
`workflows/order.py`, and no more.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

with workflow.unsafe.imports_passed_through():
    from activities.contracts import ActivityContract, iseries, oms, reference
    from activities.contracts.iseries import InvoiceRequest, PickTicketRequest
    from activities.contracts.oms import OmsCreateOrder, OmsOrderAction
    from activities.contracts.reference import ValidateOrder
    from domain.order import delivery
    from domain.order.models import Invoice, PurchaseOrder, Shipment

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# What the business needs of a PunchOut order, as activities: validate, create in
# the OMS, release to iSeries, print the pick ticket; then, inside the branch's
# shipment Update, invoice.
BUSINESS_BEFORE_UPDATE = 4
BUSINESS_IN_UPDATE = 1


async def call(contract: ActivityContract[Any, Any], arg: Any) -> Any:
    """The contract's activity with the contract's own timeout and retries."""
    return await workflow.execute_activity(
        contract.name,
        arg,
        result_type=contract.output,
        start_to_close_timeout=contract.start_to_close,
        retry_policy=contract.retry,
    )


@workflow.defn
class FloorWorkflow:
    """The floor: the order's business activities, real, and its Update."""

    def __init__(self) -> None:
        self.waiting = False
        self.shipped = False
        self.order: PurchaseOrder | None = None
        self.iseries_order_id = ""

    def key(self, operation: str) -> str:
        info = workflow.info()
        return f"{info.workflow_id}:{info.first_execution_run_id}:{operation}"

    @workflow.run
    async def run(self, order: PurchaseOrder, sla: timedelta) -> None:
        self.order = order
        validation = await call(
            reference.VALIDATE_ORDER, ValidateOrder(order=order, default_sla=sla)
        )
        created = await call(
            oms.CREATE_ORDER,
            OmsCreateOrder(
                idempotency_key=self.key("oms-create"),
                order=order,
                lines=validation.lines,
                branch_id=validation.branch_id,
                confirmed=not validation.holds,
            ),
        )
        release = await call(
            oms.RELEASE_ORDER,
            OmsOrderAction(
                idempotency_key=self.key("oms-release"), oms_order_id=created.oms_order_id
            ),
        )
        self.iseries_order_id = release.iseries_order_id
        await call(
            iseries.PRINT_PICK_TICKET,
            PickTicketRequest(
                idempotency_key=self.key("pick-ticket"),
                iseries_order_id=release.iseries_order_id,
                branch_id=validation.branch_id,
            ),
        )
        self.waiting = True
        await workflow.wait_condition(lambda: self.shipped and workflow.all_handlers_finished())

    @workflow.query
    def is_waiting(self) -> bool:
        return self.waiting

    @workflow.update
    async def ship(self, shipment: Shipment) -> Invoice:
        assert self.order is not None
        self.shipped = True
        return await call(
            iseries.INVOICE_SHIPMENT,
            InvoiceRequest(
                idempotency_key=self.key(f"invoice:{shipment.shipment_id}"),
                iseries_order_id=self.iseries_order_id,
                order_ref=workflow.info().workflow_id,
                currency=self.order.currency,
                shipment=shipment,
                unit_prices=delivery.unit_prices(self.order),
            ),
        )

    @ship.validator
    def _validate_ship(self, shipment: Shipment) -> None:
        if not self.waiting or self.shipped:
            raise ValueError("not waiting for a shipment")


# ------------------------------------------------------------------ today's floor
@activity.defn
async def noop() -> None:
    return None


async def noops(regular: int, local: int = 0) -> None:
    for _ in range(local):
        await workflow.execute_local_activity(noop, start_to_close_timeout=ACTIVITY_TIMEOUT)
    for _ in range(regular):
        await workflow.execute_activity(noop, start_to_close_timeout=ACTIVITY_TIMEOUT)


@workflow.defn
class TodaysFloorWorkflow:
    """Today's floor (the one this benchmark used first): the order's shape as its
    history shows it, regular and local no-op activities (the local ones stand
    for the read-model writes) before and after the update; the update itself
    only counts."""

    def __init__(self) -> None:
        self.waiting = False
        self.updates = 0

    @workflow.run
    async def run(
        self, before: int, before_local: int, updates: int, after: int, after_local: int
    ) -> None:
        await noops(before, before_local)
        self.waiting = True
        await workflow.wait_condition(
            lambda: self.updates >= updates and workflow.all_handlers_finished()
        )
        await noops(after, after_local)

    @workflow.query
    def is_waiting(self) -> bool:
        return self.waiting

    @workflow.update
    async def ship(self) -> None:
        self.updates += 1
