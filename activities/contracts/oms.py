"""Sterling OMS: create, update, confirm and release orders."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import BaseModel

from activities.contracts import ActivityContract, system_retry
from domain.order.models import PurchaseOrder, ResolvedLine

_TRY = timedelta(seconds=30)


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
    """Confirm or release: one attempt of the operation is one key."""

    idempotency_key: str
    oms_order_id: str


class OmsOrderRef(BaseModel):
    oms_order_id: str
    status: str


class OmsRelease(BaseModel):
    oms_order_id: str
    iseries_order_id: str


CREATE_ORDER = ActivityContract(
    name="oms.create_order",
    input=OmsCreateOrder,
    output=OmsOrderRef,
    system="sterling_oms",
    start_to_close=_TRY,
    retry=system_retry(),
)
UPDATE_ORDER = ActivityContract(
    name="oms.update_order",
    input=OmsUpdateOrder,
    output=OmsOrderRef,
    system="sterling_oms",
    start_to_close=_TRY,
    retry=system_retry(),
)
CONFIRM_ORDER = ActivityContract(
    name="oms.confirm_order",
    input=OmsOrderAction,
    output=OmsOrderRef,
    system="sterling_oms",
    start_to_close=_TRY,
    retry=system_retry(),
)
RELEASE_ORDER = ActivityContract(
    name="oms.release_order",
    input=OmsOrderAction,
    output=OmsRelease,
    system="sterling_oms",
    start_to_close=_TRY,
    retry=system_retry(),
)
