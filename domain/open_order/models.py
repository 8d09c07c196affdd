"""The open sales order (spec/open-order.md): what the ERP sends, what agents
and the store do to it, what systems report, and what the API shows."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.calendar import Slot
from domain.dates import BusinessDate, DateOrMoment, Moment
from domain.identity import Actor, Role
from domain.records import AuditEntry
from domain.text import COMMENT, NOTE, SHORT, OptionalComment, ShortText, text
from domain.transitions import Move, TransitionTable

SALES_ORDER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
SalesOrderNumber = Annotated[str, StringConstraints(pattern=SALES_ORDER_PATTERN)]
StoreId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,20}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9]{7,15}$")]
# Free text (domain/text.py): names one line, comments several.
Text = ShortText
Comment = OptionalComment
StatusCode = text(20, min_length=1, pattern=r"^\S+$")
Email = text(SHORT)
LineDescription = text(SHORT, strip=False)
Note = text(NOTE, multiline=True)
# What the guest wrote, as they wrote it.
GuestText = text(COMMENT, multiline=True, strip=False)
CallId = text(100, min_length=1)


def open_order_workflow_id(sales_order: str) -> str:
    return f"open-order-{sales_order}"


def mask_phone(phone: str) -> str:
    """How a number appears in audit comments, task text and the UI: its last four."""
    return f"…{phone[-4:]}"


class OrderType(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"
    TRANSFER = "transfer"
    SCHEDULED = "scheduled"
    ESTIMATED = "estimated"


class OrderCode(StrEnum):
    HOLD = "HOLD"  # cannot reach the guest, or a hold issue
    BALDUE = "BALDUE"  # balance owing
    CANCEL = "CANCEL"  # the guest asked to cancel
    SVC = "SVC"  # service or inspection before scheduling


class OpenOrderStatus(StrEnum):
    """The workflow's status (the `ContactStatus` search attribute)."""

    AWAITING_PRODUCT = "awaiting_product"
    SCHEDULING = "scheduling"
    BOOKED = "booked"
    CONFIRMED = "confirmed"
    CWC = "cwc"  # a trouble order: the store's
    CLOSED = "closed"  # the guest has the merchandise
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({OpenOrderStatus.CLOSED, OpenOrderStatus.CANCELLED})
# Merchandise available: the guest can be booked.
AVAILABLE = frozenset(
    {OpenOrderStatus.SCHEDULING, OpenOrderStatus.BOOKED, OpenOrderStatus.CONFIRMED}
)
WORKING = frozenset({OpenOrderStatus.AWAITING_PRODUCT, *AVAILABLE})


class DeliveryStatus(StrEnum):
    """Storis' delivery status (the `DeliveryStatus` search attribute)."""

    OPEN = "open"
    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CWC = "CWC"
    DELIVERED = "delivered"
    PICKED_UP = "picked_up"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Channel(StrEnum):
    CALL = "call"
    SMS = "sms"
    CHAT = "chat"


class Outcome(StrEnum):
    REACHED = "reached"  # spoke with the guest
    CONFIRMED = "confirmed"  # the guest confirmed the appointment
    NO_ANSWER = "no_answer"
    LEFT_MESSAGE = "left_message"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    REPLIED = "replied"  # the guest wrote back (SMS, chat)
    PLACED = "placed"  # an automated call placed; its outcome comes from the provider


# The guest was not reached: these count towards the HOLD rule.
UNANSWERED = frozenset(
    {Outcome.NO_ANSWER, Outcome.LEFT_MESSAGE, Outcome.BUSY, Outcome.WRONG_NUMBER}
)


class AppointmentKind(StrEnum):
    DELIVERY = "delivery"
    PICKUP = "pickup"
    TRANSFER = "transfer"


class Resolution(StrEnum):
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    REFUND = "refund"
    REPLACE = "replace"


# ------------------------------------------------------------------- the order
class Guest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text
    phones: list[Phone] = Field(min_length=1, max_length=6)
    email: Email | None = None
    sms_consent: bool = False

    @model_validator(mode="after")
    def _distinct_phones(self) -> Guest:
        if len(set(self.phones)) != len(self.phones):
            raise ValueError("a phone number is listed twice")
        return self


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_number: int = Field(ge=1, le=9999)
    sku: Text
    description: LineDescription = ""
    quantity: int = Field(ge=1, le=100_000)
    # None: no date yet (the ERP's ATP change or "product arrived" will tell).
    atp_date: BusinessDate | None = None


class OpenOrder(BaseModel):
    """What the ERP (or `POST /open-orders`) sends: one open sales order."""

    model_config = ConfigDict(extra="forbid")

    sales_order: SalesOrderNumber
    store_id: StoreId
    type: OrderType
    guest: Guest
    lines: list[OrderLine] = Field(min_length=1, max_length=200)
    balance_owing: Decimal = Field(default=Decimal(0), ge=0, max_digits=12, decimal_places=2)
    code: OrderCode | None = None

    @model_validator(mode="after")
    def _distinct_lines(self) -> OpenOrder:
        numbers = [ln.line_number for ln in self.lines]
        if len(set(numbers)) != len(numbers):
            raise ValueError("a line number is listed twice")
        return self

    @property
    def workflow_id(self) -> str:
        return open_order_workflow_id(self.sales_order)

    def content_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()

    def summary(self) -> str:
        """The static summary in the Temporal UI: no guest name or number."""
        n = len(self.lines)
        code = f" · {self.code.value}" if self.code else ""
        return (
            f"Open order {self.sales_order} · store {self.store_id} · {self.type.value}"
            f" · {n} line{'s' if n != 1 else ''}{code}"
        )

    def atp_date(self) -> date | None:
        """When the whole order is available: its last line's ATP date."""
        dates = [ln.atp_date for ln in self.lines]
        if any(d is None for d in dates):
            return None
        return max(d for d in dates if d is not None)


# ------------------------------------------------------------ what happened
class ContactAttempt(BaseModel):
    attempt_id: str
    channel: Channel
    phone: str | None = None
    outcome: Outcome
    at: datetime
    contact_status: str
    next_contact_date: datetime | None = None
    comment: str = ""
    by: str
    # Where it fell in the store's week (the HOLD rule's daytime/evening/weekend).
    slot: Slot
    # An automated call's id at the provider, whose outcome comes later.
    call_id: str | None = None


class Appointment(BaseModel):
    kind: AppointmentKind
    window_start: datetime
    window_end: datetime
    booked_by: str
    booked_at: datetime
    confirm_by: datetime
    confirmed_at: datetime | None = None
    # Every number was tried and the guest not reached: left unconfirmed.
    unconfirmed_at: datetime | None = None


# ------------------------------------------------------------- people's moves
class LogContact(BaseModel):
    """An agent's contact attempt (the `log_contact` Update)."""

    actor: Actor
    channel: Channel
    phone: Phone | None = None
    outcome: Outcome
    at: Moment
    contact_status: StatusCode
    # A day (the store's calling hours that day) or a time with its offset.
    next_contact_date: DateOrMoment | None = None
    comment: Comment = ""


class BookAppointment(BaseModel):
    actor: Actor
    kind: AppointmentKind
    window_start: Moment
    window_end: Moment
    comment: Comment = ""


class SetCode(BaseModel):
    """Set a code, or clear it (`code` None)."""

    actor: Actor
    code: OrderCode | None = None
    comment: Comment = ""


class ResolveCwc(BaseModel):
    actor: Actor
    resolution: Resolution
    comment: Comment = ""
    # A replacement's new ATP date, when known.
    atp_date: BusinessDate | None = None


class CloseConfirmation(BaseModel):
    """The confirmation is given up on for now: every number has been tried."""

    actor: Actor
    comment: Comment = ""


# ------------------------------------------------------------ system events
class ErpEventType(StrEnum):
    PAYMENT_POSTED = "payment_posted"
    ATP_CHANGED = "atp_changed"
    PRODUCT_ARRIVED = "product_arrived"
    DELIVERED = "delivered"
    PICKED_UP = "picked_up"
    TRANSFERRED = "transferred"
    NOT_HOME = "not_home"  # the guest was not home for the delivery
    NO_SHOW = "no_show"  # the guest did not pick up at the distribution center
    SERVICE_OUTCOME = "service_outcome"
    CANCEL_REQUESTED = "cancel_requested"
    FAULTY = "faulty"
    NO_FIT = "no_fit"


class ServiceOutcome(StrEnum):
    PASSED = "passed"
    FAULTY = "faulty"
    NO_FIT = "no_fit"


EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]


class ErpEvent(BaseModel):
    """`POST /webhooks/erp`: something happened to the order in the ERP."""

    model_config = ConfigDict(extra="forbid")

    event_id: EventId
    sales_order: SalesOrderNumber
    type: ErpEventType
    at: Moment | None = None
    amount: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    atp_date: BusinessDate | None = None
    line_number: int | None = Field(default=None, ge=1, le=9999)
    outcome: ServiceOutcome | None = None
    note: Note = ""

    @model_validator(mode="after")
    def _fields_of_type(self) -> ErpEvent:
        needs = {
            ErpEventType.PAYMENT_POSTED: ("amount", self.amount),
            ErpEventType.ATP_CHANGED: ("atp_date", self.atp_date),
            ErpEventType.SERVICE_OUTCOME: ("outcome", self.outcome),
        }
        if self.type in needs and needs[self.type][1] is None:
            raise ValueError(f"{self.type.value} needs {needs[self.type][0]}")
        return self


class SmsVoiceEventType(StrEnum):
    REPLY = "reply"  # the guest answered an SMS
    CALL_OUTCOME = "call_outcome"  # an automated call ended


class SmsVoiceEvent(BaseModel):
    """`POST /webhooks/sms-voice`: the provider reports a reply or a call's end."""

    model_config = ConfigDict(extra="forbid")

    event_id: EventId
    sales_order: SalesOrderNumber
    type: SmsVoiceEventType
    at: Moment | None = None
    phone: Phone
    text: GuestText = ""
    call_id: CallId | None = None
    outcome: Outcome | None = None

    @model_validator(mode="after")
    def _fields_of_type(self) -> SmsVoiceEvent:
        if self.type == SmsVoiceEventType.CALL_OUTCOME and (
            self.call_id is None or self.outcome is None
        ):
            raise ValueError("call_outcome needs call_id and outcome")
        if self.type == SmsVoiceEventType.REPLY and not self.text.strip():
            raise ValueError("reply needs text")
        return self


class EventReceived(BaseModel):
    """A system event as the workflow takes it (its Signal), with who sent it."""

    actor: Actor
    erp: ErpEvent | None = None
    sms_voice: SmsVoiceEvent | None = None

    @property
    def event_id(self) -> str:
        event = self.erp or self.sms_voice
        assert event is not None
        return f"{'erp' if self.erp else 'sms'}:{event.event_id}"


class ConfirmationDue(BaseModel):
    """The daily confirmation list names this order (its Signal)."""

    list_date: date


class MoveResult(BaseModel):
    """What a move answers: where the order is now and what comes next."""

    workflow_id: str
    status: OpenOrderStatus
    delivery_status: DeliveryStatus
    code: OrderCode | None
    next_action: str
    next_action_due: datetime | None
    attempt: ContactAttempt | None = None


# ------------------------------------------------------------------ the view
class OpenOrderView(BaseModel):
    workflow_id: str
    sales_order: str
    store_id: str
    type: OrderType
    status: OpenOrderStatus
    delivery_status: DeliveryStatus
    code: OrderCode | None
    code_since: datetime | None
    contact_status: str | None = Field(description="the last contact attempt's status code")
    contact_date: datetime | None = Field(description="the next follow-up")
    next_action: str
    next_action_due: datetime | None
    guest: Guest
    lines: list[OrderLine]
    atp_date: date | None
    ship_date: date | None
    balance_owing: Decimal
    appointment: Appointment | None
    cwc_reason: str | None
    contacts: list[ContactAttempt]
    audit: list[AuditEntry]
    created_at: datetime
    closed_at: datetime | None


# ------------------------------------------------------------- who may move
_AGENT = frozenset({Role.OOM_AGENT})
_STORE = frozenset({Role.STORE_MANAGER})
# Moves while OOM works the order; from CWC the store's.
MOVES = TransitionTable(
    [
        Move("log_contact", allowed_in=WORKING, roles=_AGENT, needs_comment=True),
        Move("book_appointment", allowed_in=AVAILABLE, roles=_AGENT, needs_comment=True),
        Move("set_code", allowed_in=WORKING, roles=_AGENT, needs_comment=True),
        Move(
            "close_confirmation",
            allowed_in=frozenset({OpenOrderStatus.BOOKED}),
            roles=_AGENT,
            needs_comment=True,
        ),
        Move("cancel_order", allowed_in=WORKING, roles=_AGENT, needs_comment=True),
    ]
)
CWC_MOVES = TransitionTable(
    [
        Move("log_contact", allowed_in=frozenset({OpenOrderStatus.CWC}), roles=_STORE,
             needs_comment=True),
        Move("resolve_cwc", allowed_in=frozenset({OpenOrderStatus.CWC}), roles=_STORE,
             needs_comment=True),
    ]
)  # fmt: skip

MoveName = Literal[
    "log_contact", "book_appointment", "set_code", "close_confirmation", "cancel_order"
]
