"""Sterling OMS: create, update, confirm, release and cancel orders."""

from __future__ import annotations

from pydantic import BaseModel

from activities.contracts import system_call
from domain.order.models import PurchaseOrder, ResolvedLine

SYSTEM = "sterling_oms"


class OmsLine(ResolvedLine):
    """An OMS order line. Not resolved: the line as the buyer sent it (part number,
    unit, quantity and price), which OMS keeps on a draft but will not confirm."""

    @classmethod
    def from_resolved(cls, line: ResolvedLine) -> OmsLine:
        return cls.model_validate(line.model_dump())


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


class OmsOrderAction(BaseModel):
    """Confirm, release or cancel: one attempt of the operation is one key."""

    idempotency_key: str
    oms_order_id: str


class OmsOrderRef(BaseModel):
    oms_order_id: str
    status: str
    # A create that found the PO's live order in OMS (a PO sent again) and
    # carried on from it instead of making a second one.
    found: bool = False


class OmsRelease(BaseModel):
    oms_order_id: str
    iseries_order_id: str


class OmsReconcileOrder(BaseModel):
    """An order entered in iSeries while OMS was down, put into OMS once it is
    back: created there already released, with the iSeries order's reference
    (never pushed to iSeries again), or, if an earlier try made it, linked."""

    idempotency_key: str
    order: PurchaseOrder
    lines: list[ResolvedLine]
    branch_id: str
    iseries_order_id: str


CREATE_ORDER = system_call("oms.create_order", OmsCreateOrder, OmsOrderRef, SYSTEM)
UPDATE_ORDER = system_call("oms.update_order", OmsUpdateOrder, OmsOrderRef, SYSTEM)
CONFIRM_ORDER = system_call("oms.confirm_order", OmsOrderAction, OmsOrderRef, SYSTEM)
RELEASE_ORDER = system_call("oms.release_order", OmsOrderAction, OmsRelease, SYSTEM)
CANCEL_ORDER = system_call("oms.cancel_order", OmsOrderAction, OmsOrderRef, SYSTEM)
RECONCILE_ORDER = system_call("oms.reconcile_order", OmsReconcileOrder, OmsOrderRef, SYSTEM)
