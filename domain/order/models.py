"""The PunchOut purchase order: what arrives, what the workflow keeps, what the API shows."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.dates import Moment
from domain.identity import Actor, Role
from domain.order.outage import IseriesFallback
from domain.records import AuditEntry
from domain.text import NOTE, SHORT, OptionalComment, ShortText, text
from domain.transitions import Move, TransitionTable

# A PO number: no control characters (C0, DEL, C1, line/paragraph separators) and no
# whitespace at either end.
PO_NUMBER_PATTERN = (
    r"^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f\u2028\u2029]*[^\s\x00-\x1f\x7f-\x9f])?$"
)

# Quantities and prices beyond this are typing mistakes, not orders.
MAX_AMOUNT = Decimal(1_000_000_000)

# The order's own text (domain/text.py), kept as the buyer sent it: nothing is
# stripped, so a resent document hashes the same as the first.
OrderText = text(SHORT, strip=False)
OrderNote = text(NOTE, multiline=True, strip=False)
PartNumber = text(80, strip=False)
Uom = text(10, min_length=1)
Currency = text(3, min_length=3)
PoNumber = text(60, min_length=1, strip=False, pattern=PO_NUMBER_PATTERN)
PayloadId = text(SHORT, min_length=1, strip=False)
# An id given by a branch, a buyer or a carrier: kept exactly as given.
Identifier = text(80, min_length=1, strip=False)


def order_workflow_id(account_number: str, po_number: str) -> str:
    return f"order-{account_number}-{po_number}"


def account_of_order(workflow_id: str) -> str | None:
    """The account an order's id names (None: not an order's id), for when
    the order itself cannot be read yet; an account number has no '-'."""
    if not workflow_id.startswith("order-"):
        return None
    return workflow_id.removeprefix("order-").partition("-")[0]


class OrderStatus(StrEnum):
    RECEIVED = "received"
    ON_HOLD = "on_hold"
    CONFIRMED = "confirmed"
    RELEASED = "released"  # at the branch, pick ticket printed
    PARTIALLY_SHIPPED = "partially_shipped"
    COMPLETED = "completed"
    FAILED = "failed"  # a system refused for good; an operator takes it from here
    CANCELLED = "cancelled"
    # A platform it needs is down: it waits in the platform's incident (issue 7).
    WAITING_ON_SYSTEM = "waiting_on_system"
    # Written by the reconciler only, for a workflow that ended without a last word.
    TERMINATED = "terminated"
    TIMED_OUT = "timed_out"


# An order in one of these has ended; its workflow is closed.
FINAL_STATUSES = frozenset(
    {
        OrderStatus.COMPLETED,
        OrderStatus.FAILED,
        OrderStatus.CANCELLED,
        OrderStatus.TERMINATED,
        OrderStatus.TIMED_OUT,
    }
)


class HoldCode(StrEnum):
    ACCOUNT = "ACCOUNT"
    ADDRESS = "ADDRESS"
    PART = "PART"
    POOL = "POOL"
    UOM = "UOM"
    PRICE = "PRICE"


class Address(BaseModel):
    address_id: OrderText = ""
    name: OrderText = ""
    lines: list[OrderText] = Field(default=[], max_length=20)
    city: OrderText = ""
    state: OrderText = ""
    postal_code: OrderText = ""
    country: OrderText = ""


class OrderLine(BaseModel):
    line_number: int = Field(ge=1, le=999_999)
    customer_part_number: OrderText = ""
    supplier_part_id: OrderText | None = None
    quantity: Decimal = Field(gt=0, le=MAX_AMOUNT)
    uom: Uom
    unit_price: Decimal = Field(ge=0, le=MAX_AMOUNT)
    description: OrderNote = ""

    @model_validator(mode="after")
    def _identifies_a_part(self) -> OrderLine:
        if not self.customer_part_number and not self.supplier_part_id:
            raise ValueError(
                f"line {self.line_number}: needs a customer part number or a supplier part id"
            )
        return self


class PurchaseOrder(BaseModel):
    # No "-" in account numbers, so the order id order-{account}-{po} is unambiguous.
    account_number: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.]+$")
    # What procurement systems put in PO numbers: spaces inside, and punctuation such
    # as : # / - . (Oracle EBS sends "2015000957:0:55"). Refused: control characters,
    # leading or trailing whitespace, and "." or ".." as a path segment.
    po_number: PoNumber = Field(
        description="the buyer's PO number; any printable text without surrounding spaces",
        examples=["4500123", "2015000957:0:55", "PO#77", "PO-77/2026"],
    )
    order_date: datetime | None = None
    ship_to: Address
    bill_to: Address | None = None
    currency: Currency = "USD"
    lines: list[OrderLine] = Field(min_length=1, max_length=1000)
    comments: OrderNote = ""
    extrinsics: dict[OrderText, OrderNote] = Field(default={}, max_length=100)
    test: bool = False
    # The sender's document id (cXML payloadID); not part of the order's content.
    payload_id: OrderText | None = None

    @field_validator("po_number")
    @classmethod
    def _po_number_is_not_a_path_segment(cls, po_number: str) -> str:
        if any(segment in (".", "..") for segment in re.split(r"[/\\]", po_number)):
            raise ValueError("may not have '.' or '..' between slashes")
        return po_number

    @field_validator("lines")
    @classmethod
    def _unique_line_numbers(cls, lines: list[OrderLine]) -> list[OrderLine]:
        seen: set[int] = set()
        for line in lines:
            if line.line_number in seen:
                raise ValueError(f"line number {line.line_number} appears twice")
            seen.add(line.line_number)
        return lines

    @property
    def workflow_id(self) -> str:
        return order_workflow_id(self.account_number, self.po_number)

    def content_hash(self) -> str:
        """Identity of the order's business content, so a resent document (new
        payloadID, same order) is recognised as the same order."""
        body = self.model_dump_json(exclude={"payload_id"})
        return hashlib.sha256(body.encode()).hexdigest()

    def summary(self, account_name: str = "") -> str:
        n = len(self.lines)
        account = f"{account_name} ({self.account_number})" if account_name else self.account_number
        test = " · TEST" if self.test else ""
        return f"PO {self.po_number} · {account} · {n} line{'s' if n != 1 else ''}{test}"


class Hold(BaseModel):
    code: HoldCode
    line_number: int | None = None
    # Says what to fix: which line, which part number, which ship-to id.
    reason: str
    # The part number as the buyer sent it (PART) and the ship-to id sent (ADDRESS),
    # so whoever resolves the hold need not parse the reason.
    part_number: str | None = None
    address_id: str | None = None


class ResolvedLine(BaseModel):
    """An order line as the OMS order carries it. Resolved: the part, its pool at
    the ship-to branch, and the quantity in a unit the part is sold in. Not
    resolved (its part or unit did not resolve): the line as the buyer sent it —
    the customer's part number (or supplier part id) when the part is unknown,
    the PO's unit, quantity and price — for an OMS draft, never a confirmed order."""

    line_number: int
    part_id: str
    pool_id: str
    uom: str
    quantity: Decimal
    unit_price: Decimal
    resolved: bool = True


class ValidationResult(BaseModel):
    account_name: str = ""
    branch_id: str | None = None
    holds: list[Hold] = []
    lines: list[ResolvedLine] = []
    rep_id: str | None = None
    rep_email: str | None = None
    team_lead_id: str | None = None
    sla: timedelta


class ProofOfDelivery(BaseModel):
    signed_by: ShortText
    signed_at: Moment
    reference: ShortText | None = None


class ShipmentLine(BaseModel):
    line_number: int = Field(ge=1, le=999_999)
    quantity: Decimal = Field(gt=0, le=MAX_AMOUNT)


CarrierText = text(80, min_length=1)


class Shipment(BaseModel):
    shipment_id: Identifier
    lines: list[ShipmentLine] = Field(min_length=1, max_length=1000)
    proof_of_delivery: ProofOfDelivery
    carrier: CarrierText | None = None
    # The carrier's tracking number (the buyer's ship notice carries it).
    tracking_number: CarrierText | None = None


class InvoicedLine(BaseModel):
    line_number: int
    quantity: Decimal
    unit_price: Decimal


class Invoice(BaseModel):
    invoice_number: str
    shipment_id: str
    # The total: subtotal plus tax.
    amount: Decimal
    currency: str
    issued_at: datetime
    # As iSeries computed them (absent from invoices of older orders).
    lines: list[InvoicedLine] = []
    subtotal: Decimal | None = None
    tax: Decimal = Decimal(0)


# ------------------------------------------------ flags and branch edits


class ErrorCategory(StrEnum):
    """Who caused an error: a system (IT) or a person. Feeds the weekly review."""

    SYSTEMIC = "systemic"
    HUMAN = "human"


class Platform(StrEnum):
    STERLING_OMS = "sterling_oms"
    CONEXIOM = "conexiom"
    OTHER = "other"


class FlagError(BaseModel):
    """A rep flags an error on the order (the `flag_error` Update)."""

    actor: Actor
    category: ErrorCategory
    platform: Platform
    comment: OptionalComment = ""


class ErrorFlag(BaseModel):
    """A flag as the order records it; a systemic one is the team lead's task."""

    flag_id: str
    category: ErrorCategory
    platform: Platform
    comment: str
    flagged_by: str
    flagged_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    acknowledgement: str = ""


class EditLine(BaseModel):
    """One line of a branch's edit: a new quantity for a line on the order
    (`line_number`, `quantity`), or a new line (a part, quantity, unit, price)."""

    model_config = ConfigDict(extra="forbid")

    line_number: int | None = Field(
        default=None, ge=1, le=999_999, description="a line on the order"
    )
    customer_part_number: PartNumber = ""
    supplier_part_id: Identifier | None = None
    quantity: Decimal = Field(gt=0, le=MAX_AMOUNT)
    uom: Uom | None = None
    unit_price: Decimal | None = Field(default=None, ge=0, le=MAX_AMOUNT)

    @model_validator(mode="after")
    def _change_or_new_line(self) -> EditLine:
        if self.line_number is not None:
            if (
                self.customer_part_number
                or self.supplier_part_id
                or self.uom
                or self.unit_price is not None
            ):
                raise ValueError(
                    f"line {self.line_number}: a change to a line on the order sets its "
                    "quantity only"
                )
        else:
            if not self.customer_part_number and not self.supplier_part_id:
                raise ValueError("a new line needs a customer_part_number or a supplier_part_id")
            if self.uom is None or self.unit_price is None:
                raise ValueError("a new line needs a uom and a unit_price")
        return self


class RequestEdit(BaseModel):
    """The branch manager asks for an edit once the pick ticket has printed."""

    actor: Actor
    lines: list[EditLine] = Field(min_length=1, max_length=100)
    reason: OptionalComment = ""


class EditStatus(StrEnum):
    REQUESTED = "requested"
    APPLIED = "applied"
    REJECTED = "rejected"


class EditRequest(BaseModel):
    """A branch's edit as the order records it, with its outcome."""

    request_id: str
    reason: str
    requested_by: str
    requested_at: datetime
    # A line on the order → its new quantity (in the line's unit as it stands).
    quantities: dict[int, Decimal] = {}
    # New lines, numbered after every line the order has had.
    new_lines: list[OrderLine] = []
    status: EditStatus = EditStatus.REQUESTED
    decided_by: str | None = None
    decided_at: datetime | None = None
    root_cause: ErrorCategory | None = None
    # What the branch manager reads: applied (new pick ticket) or why not.
    outcome: str = ""
    pick_ticket_id: str | None = None


class BuyerDocumentView(BaseModel):
    """A cXML document the order sent (or is sending) the buyer, and its answer."""

    payload_id: str
    kind: str
    event: str
    # pending, sent, refused, undelivered, not_sent
    status: str
    answer: str = ""


class OrderView(BaseModel):
    """What `GET /orders/{id}` and the workflow's query return."""

    order_id: str
    status: OrderStatus
    order: PurchaseOrder
    received_at: datetime
    sla_due_at: datetime | None = None
    account_name: str = ""
    branch_id: str | None = None
    oms_order_id: str | None = None
    pick_ticket_id: str | None = None
    helpdesk_ticket_id: int | None = None
    # The system the order is waiting on while it does not answer.
    waiting_on: str | None = None
    # Issue 7: the platform outage it waits (or waited) in, and its manual entry
    # in iSeries (approved by the CSC manager) until reconciled into OMS.
    incident_id: str | None = None
    iseries_fallback: IseriesFallback | None = None
    holds: list[Hold] = []
    lines: list[ResolvedLine] = []
    delivered: dict[int, Decimal] = {}
    shipments: list[Shipment] = []
    invoices: list[Invoice] = []
    flags: list[ErrorFlag] = []
    edit_requests: list[EditRequest] = []
    # The buyer's change and cancel documents (cXML payloadIDs) the order took.
    buyer_changes: list[str] = []
    # The documents sent back to the buyer (confirmation, ship notices, invoices).
    buyer_documents: list[BuyerDocumentView] = []
    audit: list[AuditEntry] = []


class ShipmentReport(BaseModel):
    """A branch's report of parts that went out on a run."""

    actor: Actor
    shipment: Shipment


# ------------------------------------------------------------ buyer changes


class BuyerChange(BaseModel):
    """The buyer sends the PO again, changed (cXML OrderRequest type="update"):
    its lines replace the order's. `order.payload_id` names the document."""

    actor: Actor
    order: PurchaseOrder


class BuyerCancel(BaseModel):
    """The buyer withdraws the PO (cXML OrderRequest type="delete")."""

    actor: Actor
    payload_id: PayloadId


class BuyerChangeResult(BaseModel):
    """What a buyer's change or cancel left: the order's status and open holds."""

    order_id: str
    status: OrderStatus
    holds: list[Hold] = []
    # False when this document (same payloadID) had already been taken.
    applied: bool = True


# Until the pick ticket prints a buyer may change the order; until something
# ships, cancel it. A change is taken while the order waits on its holds (a
# confirmed order is already on its way to the branch, see workflows/order.py).
BUYER_CHANGEABLE = frozenset({OrderStatus.RECEIVED, OrderStatus.ON_HOLD})
BUYER_CANCELLABLE = frozenset(
    {OrderStatus.RECEIVED, OrderStatus.ON_HOLD, OrderStatus.CONFIRMED, OrderStatus.RELEASED}
)


# What people and systems may do to an order, and when (the workflow's
# validators ask this table).
MOVES = TransitionTable(
    [
        Move(
            "report_shipment",
            allowed_in=frozenset({OrderStatus.RELEASED, OrderStatus.PARTIALLY_SHIPPED}),
            roles=frozenset({Role.BRANCH_MANAGER, Role.SYSTEM}),
        ),
        Move("change_order", allowed_in=BUYER_CHANGEABLE, roles=frozenset({Role.SYSTEM})),
        Move("cancel_order", allowed_in=BUYER_CANCELLABLE, roles=frozenset({Role.SYSTEM})),
        Move(
            "flag_error",
            allowed_in=frozenset(
                {
                    OrderStatus.RECEIVED,
                    OrderStatus.ON_HOLD,
                    OrderStatus.CONFIRMED,
                    OrderStatus.RELEASED,
                    OrderStatus.PARTIALLY_SHIPPED,
                }
            ),
            roles=frozenset({Role.ACCOUNT_REP}),
            needs_comment=True,
        ),
        # Once the pick ticket has printed, until the last line has shipped.
        Move(
            "request_edit",
            allowed_in=frozenset({OrderStatus.RELEASED, OrderStatus.PARTIALLY_SHIPPED}),
            roles=frozenset({Role.BRANCH_MANAGER}),
            needs_comment=True,
        ),
        Move(
            "apply_edit",
            allowed_in=frozenset({OrderStatus.RELEASED, OrderStatus.PARTIALLY_SHIPPED}),
            roles=frozenset({Role.ACCOUNT_REP}),
        ),
        Move(
            "reject_edit",
            allowed_in=frozenset({OrderStatus.RELEASED, OrderStatus.PARTIALLY_SHIPPED}),
            roles=frozenset({Role.ACCOUNT_REP}),
        ),
    ]
)
