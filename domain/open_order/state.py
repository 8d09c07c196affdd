"""What the open-order workflow starts with and carries across continue-as-new."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel

from domain.calendar import StoreCalendar
from domain.identity import Actor
from domain.kernel import KernelPolicy, KernelState, StartInput
from domain.open_order.models import (
    Appointment,
    ContactAttempt,
    DeliveryStatus,
    OpenOrder,
    OpenOrderStatus,
    OrderCode,
)


class OpenOrderPolicy(KernelPolicy):
    # An open order collects many events: it continues as new well before
    # Temporal's limits (a run stays under 4,096 events).
    history_limit: int = 2000
    hold_attempts: int = 5
    hold_over: timedelta = timedelta(days=7)
    # BALDUE and CANCEL not dealt with within this → CWC.
    code_deadline: timedelta = timedelta(days=3)
    # The store manager's CWC task is due this long after it opens.
    cwc_due_in: timedelta = timedelta(days=2)


class Notice(BaseModel):
    """A message to the guest waiting to be sent by the main run."""

    key: str
    kind: str  # "sms" or "call"
    phone: str
    body: str
    attempt_id: str | None = None  # the contact attempt an automated call is


class OpenOrderState(KernelState):
    status: OpenOrderStatus = OpenOrderStatus.AWAITING_PRODUCT
    delivery_status: DeliveryStatus = DeliveryStatus.OPEN
    code: OrderCode | None = None
    code_since: datetime | None = None
    balance_owing: Decimal = Decimal(0)
    product_arrived: bool = False
    contacts: list[ContactAttempt] = []
    appointment: Appointment | None = None
    # The confirmation call list named this order: since when its numbers count.
    confirmation_since: datetime | None = None
    contact_date: datetime | None = None
    # Why the order went to the store (CWC), and why the guest needs a follow-up.
    cwc_reason: str | None = None
    follow_up: str | None = None
    # Events already taken (webhook redelivery changes nothing twice).
    event_ids: list[str] = []
    outbox: list[Notice] = []
    # The audit entries written to the ERP's audit comments log so far; off once
    # the ERP refuses them (it does not know the order).
    erp_mirrored: int = 0
    erp_mirror: bool = True
    # Numbers task names and attempt ids, so a reopened wait gets a new task.
    seq: int = 0


class StartOpenOrder(StartInput):
    order: OpenOrder
    calendar: StoreCalendar
    policy: OpenOrderPolicy = OpenOrderPolicy()
    submitted_by: Actor
    state: OpenOrderState | None = None
