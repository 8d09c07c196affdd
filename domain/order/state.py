"""What the order workflow starts with and carries: its timing policy and its
whole state (continue-as-new hands it to the next run)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import Field

from domain.identity import Actor
from domain.kernel import KernelPolicy, KernelState, StartInput
from domain.order.buyer_documents import DocumentRecord
from domain.order.fixes import OrderFixes
from domain.order.models import (
    EditRequest,
    ErrorFlag,
    Hold,
    Invoice,
    OrderStatus,
    PurchaseOrder,
    ResolvedLine,
    Shipment,
)
from domain.order.outage import OrderOutage


class OrderPolicy(KernelPolicy):
    sla: timedelta = timedelta(hours=2)
    # The rep is reminded when this share of the SLA has passed.
    sla_reminder_at: float = 0.75
    csc_inbox: str = "csc-inbox@example.com"
    # How long a document for the buyer is retried before the rep is told.
    buyer_document_patience: timedelta = timedelta(days=1)
    # Issue 7: while waiting in a platform's incident, try the platform again
    # this often even if the incident has not said it is back.
    incident_recheck: timedelta = timedelta(minutes=5)


class OrderState(KernelState):
    """Everything the order workflow knows; carried whole across continue-as-new."""

    status: OrderStatus = OrderStatus.RECEIVED
    sla_due_at: datetime | None = None
    account_name: str = ""
    branch_id: str | None = None
    rep_id: str | None = None
    rep_email: str | None = None
    team_lead_id: str | None = None
    holds: list[Hold] = []
    lines: list[ResolvedLine] = []
    # Every fix people (or found price evidence) made to the order as sent.
    fixes: OrderFixes = Field(default_factory=lambda: OrderFixes())
    # Holds ("PRICE:3") a rep escalated: the team lead's task, not the rep's.
    escalated: list[str] = []
    sla_reminded: bool = False
    sla_breached: bool = False
    oms_order_id: str | None = None
    iseries_order_id: str | None = None
    pick_ticket_id: str | None = None
    helpdesk_ticket_id: int | None = None
    shipments: list[Shipment] = []
    invoices: list[Invoice] = []
    # The buyer's change and cancel documents (cXML payloadIDs) taken, so a
    # resent one is answered, not applied twice.
    buyer_changes: list[str] = []
    # Errors reps flagged, and edits branch managers asked for (the weekly review's).
    flags: list[ErrorFlag] = []
    edit_requests: list[EditRequest] = []
    # The cXML documents sent back to the buyer (workflows/order_documents.py);
    # False once the account is known to have no endpoint for them.
    buyer_documents: list[DocumentRecord] = []
    buyer_endpoint: bool = True
    # Issue 7: the platform outage it waits or waited in, and an iSeries fallback.
    outage: OrderOutage = Field(default_factory=lambda: OrderOutage())


class StartOrder(StartInput):
    order: PurchaseOrder
    policy: OrderPolicy = OrderPolicy()
    submitted_by: Actor
    # Set by continue-as-new: where the previous run left off.
    state: OrderState | None = None
