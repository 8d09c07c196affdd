"""What each kind of human task lets a person decide: the decisions it accepts,
each with its fields. Pure, so the task API lists them (and will validate a
`complete` body against the same models) and a workflow's Update can ask the
same registry.

A decision's fields are one pydantic model; `DecisionSpec.fields` describes it
in a small JSON-schema-like list (`name`, `type`, `required`) for people and
clients. Kinds without an entry accept no decision (yet)."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from domain import text
from domain.csr import moves as csr_moves
from domain.dates import BusinessDate, DateOrMoment, Moment
from domain.identity import Actor, Role
from domain.open_order import models as oo
from domain.order.models import HoldCode


class TaskStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


FieldType = Literal[
    "string", "boolean", "decimal", "integer", "datetime", "date", "date_or_datetime", "array"
]
_TYPE_NAMES: dict[type, FieldType] = {
    str: "string",
    bool: "boolean",
    Decimal: "decimal",
    int: "integer",
    datetime: "datetime",
    AwareDatetime: "datetime",
    date: "date",
}


def _type_name(annotation: Any) -> FieldType:
    """A field's type as a client reads it: optional fields by their type, a
    choice (an enum) as a string."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return "date_or_datetime"  # a day, or a time with its offset (domain/dates.py)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "string"
    if typing.get_origin(annotation) is list:
        return "array"
    return _TYPE_NAMES[annotation]


# Text a person types (domain/text.py): never blank.
Comment = text.Comment
Reference = text.Reference
Price = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=4)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=4)]


class DecisionFields(BaseModel):
    """The fields of one decision; anything else in a body is a mistake."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoFields(DecisionFields):
    pass


class MapPart(DecisionFields):
    part_id: Reference
    add_to_cross_reference: bool = False


class ChoosePool(DecisionFields):
    pool_id: Reference


class FixUom(DecisionFields):
    uom: text.text(10, min_length=1)
    quantity: Quantity


class ChooseShipTo(DecisionFields):
    address_id: Reference


class CorrectPrice(DecisionFields):
    unit_price: Price


class WithComment(DecisionFields):
    comment: Comment


class SetPrice(DecisionFields):
    unit_price: Price
    comment: Comment


class ApplyEdit(DecisionFields):
    # Who caused the error the branch's edit corrects (the weekly review counts them).
    root_cause: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern="^(systemic|human)$")
    ]
    comment: Comment


class FieldSpec(BaseModel):
    name: str
    type: FieldType
    required: bool


@dataclass(frozen=True)
class DecisionSpec:
    name: str
    model: type[BaseModel] = NoFields

    @property
    def fields(self) -> list[FieldSpec]:
        return [
            FieldSpec(name=name, type=_type_name(info.annotation), required=info.is_required())
            for name, info in self.model.model_fields.items()
        ]


def hold_task_kind(code: HoldCode) -> str:
    """The kind of the task a hold opens (as the order workflow names it)."""
    return f"resolve_hold_{code.value.lower()}"


RECHECK = DecisionSpec("recheck")
_HOLD_FIXES: dict[HoldCode, list[DecisionSpec]] = {
    HoldCode.ACCOUNT: [],
    HoldCode.ADDRESS: [DecisionSpec("choose_ship_to", ChooseShipTo)],
    HoldCode.PART: [DecisionSpec("map_part", MapPart)],
    HoldCode.POOL: [DecisionSpec("choose_pool", ChoosePool)],
    HoldCode.UOM: [DecisionSpec("fix_uom", FixUom)],
    HoldCode.PRICE: [
        DecisionSpec("correct_price", CorrectPrice),
        DecisionSpec("escalate", WithComment),
    ],
}

DECISIONS: dict[str, list[DecisionSpec]] = {
    # Every hold: its own fixes, then a recheck once the reference data is fixed.
    **{hold_task_kind(code): [*fixes, RECHECK] for code, fixes in _HOLD_FIXES.items()},
    "sla_breach": [DecisionSpec("acknowledge", WithComment)],
    "price_escalation": [
        DecisionSpec("approve_po_price", WithComment),
        DecisionSpec("set_price", SetPrice),
        DecisionSpec("reject_line", WithComment),
    ],
    # A rep's flagged systemic error, seen by the team lead.
    "systemic_error": [DecisionSpec("acknowledge", WithComment)],
    # A branch manager's edit once the pick ticket has printed: the rep's.
    "branch_edit": [
        DecisionSpec("apply_edit", ApplyEdit),
        DecisionSpec("reject_edit", WithComment),
    ],
    # A cXML document the buyer's system refused (4xx) or never took: the rep's.
    "buyer_document_refused": [
        DecisionSpec("resend", WithComment),
        DecisionSpec("acknowledge", WithComment),
    ],
    "buyer_document_undelivered": [
        DecisionSpec("resend", WithComment),
        DecisionSpec("acknowledge", WithComment),
    ],
    # Issue 7: the OMS is down and orders wait: the CSC manager's call on manual
    # entry in iSeries for every waiting order (POST /incidents/{id}/fallback
    # may name some only).
    "outage_fallback": [
        DecisionSpec("approve_fallback", WithComment),
        DecisionSpec("decline_fallback", WithComment),
    ],
}

# Issue 17: what is wrong on our side, not the business's: the operator's, whose
# `retry` (once it is fixed) has the workflow try again.
DECISIONS |= {
    # The read model refused a workflow's state for its content.
    "read_model_refused": [DecisionSpec("retry")],
    # A system refuses our credentials, address or method (a 401, 403, 404, 405).
    "configuration_fault": [DecisionSpec("retry")],
    # Our own code failed calling a system.
    "defect": [DecisionSpec("retry")],
}

# Issue 10: account-change requests (the IM's and the SSM's tasks).
DECISIONS |= {
    "im_update_iseries": [
        DecisionSpec("update_iseries"),
        DecisionSpec("confirm_manual_update", WithComment),
    ],
    "im_resolve_discrepancy": [DecisionSpec("resolve", WithComment)],
    "im_crm_transfer": [
        DecisionSpec("retry_transfer"),
        DecisionSpec("confirm_manual_transfer", WithComment),
    ],
    "ssm_handover": [DecisionSpec("accept_handover", WithComment)],
    "one_on_one": [DecisionSpec("done", WithComment)],
}


# ---- open orders (issue 9): an OOM agent's and a store manager's tasks.
class LogContactFields(DecisionFields):
    channel: oo.Channel
    phone: oo.Phone | None = None
    outcome: oo.Outcome
    at: Moment
    contact_status: oo.StatusCode
    next_contact_date: DateOrMoment | None = None
    comment: Comment


class BookFields(DecisionFields):
    kind: oo.AppointmentKind
    window_start: Moment
    window_end: Moment
    comment: Comment


class ReplaceFields(DecisionFields):
    comment: Comment
    atp_date: BusinessDate | None = None


_LOG_CONTACT = DecisionSpec("log_contact", LogContactFields)
_CLEAR_CODE = DecisionSpec("clear_code", WithComment)
OPEN_ORDER_DECISIONS: dict[str, list[DecisionSpec]] = {
    "schedule_contact": [_LOG_CONTACT, DecisionSpec("book_appointment", BookFields)],
    "hold_contact": [_LOG_CONTACT, _CLEAR_CODE],
    "balance_due": [_LOG_CONTACT, _CLEAR_CODE],
    "cancel_request": [_LOG_CONTACT, _CLEAR_CODE, DecisionSpec("cancel_order", WithComment)],
    "confirmation_call": [_LOG_CONTACT, DecisionSpec("close_unconfirmed", WithComment)],
    "cwc_resolution": [
        DecisionSpec("reschedule", WithComment),
        DecisionSpec("cancel", WithComment),
        DecisionSpec("refund", WithComment),
        DecisionSpec("replace", ReplaceFields),
    ],
}
DECISIONS.update(OPEN_ORDER_DECISIONS)

# CSR cases: each step's task takes the case's own moves (domain/csr/moves.py).
DECISIONS.update(
    {
        kind: [DecisionSpec(move, csr_moves.FIELDS[move]) for move in moves]
        for kind, moves in csr_moves.TASK_MOVES.items()
    }
)


def decisions_for(kind: str) -> list[DecisionSpec]:
    """The decisions a task of `kind` accepts; none for a kind without an entry."""
    return DECISIONS.get(kind, [])


def decision(kind: str, name: str) -> DecisionSpec | None:
    return next((d for d in decisions_for(kind) if d.name == name), None)


# A task id holds its workflow's id (a PO number may hold any printable text).
TaskId = text.text(1000, min_length=1, strip=False)
DecisionName = text.text(100, min_length=1)


class TaskDecision(BaseModel):
    """A person's decision on a task: the `decide` Update of the task's workflow."""

    task_id: TaskId
    decision: DecisionName
    comment: text.OptionalComment = ""
    # Checked against the decision's own model by the workflow's validator.
    fields: Annotated[dict[str, Any], BeforeValidator(text.check_free_form)] = {}
    actor: Actor


class TaskClaim(BaseModel):
    """Take a task (`assignee` None), or a team lead gives it to someone."""

    task_id: TaskId
    actor: Actor
    assignee: text.ShortText | None = None
    # The roles the assignee's keys hold (the API looks them up; a workflow has
    # no I/O): given a task, they must hold its role. None: not looked up.
    assignee_roles: list[Role] | None = None


class DecisionResult(BaseModel):
    """The answer to a decision, given as soon as the workflow has taken it."""

    task_id: str
    workflow_id: str
    status: str = Field(description="the workflow's status once it took the decision")
    next_step: str = Field(
        default="", description="what the workflow does now, e.g. confirming the order in OMS"
    )
