"""The retail ERP (Storis-like): its open orders, imported in bulk by a
Schedule, and each order's audit comments log, which every change to the order
must update; and the daily confirmation list (the other open-order Schedule)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio.common import RetryPolicy

from activities.contracts import ActivityContract, system_call

IMPORT_SCHEDULE_ID = "sopflow-open-order-import"
IMPORT_WORKFLOW = "OpenOrderImportWorkflow"
CONFIRMATION_SCHEDULE_ID = "sopflow-confirmation-list"
CONFIRMATION_WORKFLOW = "ConfirmationListWorkflow"


class AuditComment(BaseModel):
    actor: str
    action: str
    comment: str = ""
    at: datetime


class AuditComments(BaseModel):
    idempotency_key: str
    sales_order: str
    comments: list[AuditComment] = Field(min_length=1)


class ImportRequest(BaseModel):
    # At most this many orders a run; the next run takes the rest.
    max_orders: int = Field(default=500, ge=1, le=5000)


class ImportReport(BaseModel):
    seen: int = 0
    started: int = 0
    already_running: int = 0
    refused: int = 0

    def line(self) -> str:
        return (
            f"{self.seen} open orders seen, {self.started} started, "
            f"{self.already_running} already running, {self.refused} refused"
        )


class ConfirmationListRequest(BaseModel):
    # The list takes booked orders whose confirmation is due before this
    # (None: a day and a half from the run: today's calls, whatever the zone).
    until: datetime | None = None


class ConfirmationListReport(BaseModel):
    orders: int = 0
    signalled: int = 0
    errors: int = 0

    def line(self) -> str:
        return f"{self.orders} appointments to confirm, {self.signalled} put on the list"


ADD_COMMENTS = system_call("erp.add_comments", AuditComments, int, "erp")
IMPORT_OPEN_ORDERS = ActivityContract(
    name="erp.import_open_orders",
    input=ImportRequest,
    output=ImportReport,
    system="erp",
    start_to_close=timedelta(minutes=10),
    retry=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=3),
)
CONFIRMATION_LIST = ActivityContract(
    name="open_orders.confirmation_list",
    input=ConfirmationListRequest,
    output=ConfirmationListReport,
    system="postgresql",
    start_to_close=timedelta(minutes=10),
    retry=RetryPolicy(initial_interval=timedelta(seconds=5), maximum_attempts=3),
)
