"""A Customer Specific Requirement case: what is registered, what the case keeps
(approval and case history, feedback, implementation tasks) and what the API shows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from domain import text
from domain.identity import Actor
from domain.records import AuditEntry

# Text a person types (domain/text.py): descriptions, names and titles, codes.
Text = text.Note
ShortText = text.ShortText
Code = text.Reference
PersonId = text.ShortText


def csr_workflow_id(case_number: int) -> str:
    return f"csr-{case_number:06d}"


class CsrStatus(StrEnum):
    REGISTRATION = "registration"
    PENDING_PRE_APPROVAL = "pending_pre_approval"
    UNDER_ASSESSMENT = "under_assessment"
    APPROVAL_PENDING = "approval_pending"
    UNDER_IMPLEMENTATION = "under_implementation"
    IMPLEMENTED = "implemented"  # live: satisfaction feedback
    INACTIVE = "inactive"
    CLOSED_REJECTED = "closed_rejected"
    # The kernel's: a system refused for good, or an operator cancelled it.
    FAILED = "failed"
    CANCELLED = "cancelled"


# The steps a case can be rejected from ("any open state" of the spec).
OPEN_STATUSES = frozenset(
    {
        CsrStatus.REGISTRATION,
        CsrStatus.PENDING_PRE_APPROVAL,
        CsrStatus.UNDER_ASSESSMENT,
        CsrStatus.APPROVAL_PENDING,
        CsrStatus.UNDER_IMPLEMENTATION,
    }
)
FINAL_STATUSES = frozenset(
    {CsrStatus.INACTIVE, CsrStatus.CLOSED_REJECTED, CsrStatus.FAILED, CsrStatus.CANCELLED}
)


class Step(StrEnum):
    """Who holds a case in each status: the name of the step (and of its task,
    `csr_<step>`) and of the approver rule that names its people."""

    REGISTRATION = "registration"
    PRE_APPROVAL = "pre_approval"
    ASSESSMENT = "assessment"
    FINAL_APPROVAL = "final_approval"
    IMPLEMENTATION = "implementation"
    LIVE = "live"


STEP_OF: dict[CsrStatus, Step] = {
    CsrStatus.REGISTRATION: Step.REGISTRATION,
    CsrStatus.PENDING_PRE_APPROVAL: Step.PRE_APPROVAL,
    CsrStatus.UNDER_ASSESSMENT: Step.ASSESSMENT,
    CsrStatus.APPROVAL_PENDING: Step.FINAL_APPROVAL,
    CsrStatus.UNDER_IMPLEMENTATION: Step.IMPLEMENTATION,
    CsrStatus.IMPLEMENTED: Step.LIVE,
}
# Steps whose people come from the business unit's approver rules (the others
# are the case owner's and the case team's).
RULED_STEPS = (Step.PRE_APPROVAL, Step.ASSESSMENT, Step.FINAL_APPROVAL, Step.IMPLEMENTATION)
# A pending approval or assessment reminds its people, then escalates.
REMINDED = frozenset(
    {CsrStatus.PENDING_PRE_APPROVAL, CsrStatus.UNDER_ASSESSMENT, CsrStatus.APPROVAL_PENDING}
)
SALES_MANAGER = "sales_manager"  # the approver rule naming who escalations go to


class Person(BaseModel):
    person_id: str
    name: str = ""
    email: str = ""
    roles: list[str] = []


class CaseTeamMember(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: PersonId
    role: ShortText = Field(description="their part in the case, e.g. Quality, Supply chain")


class AccountDetails(BaseModel):
    """What the CRM knows of the account (fetched at registration)."""

    account_number: str
    name: str = ""
    sap_codes: list[str] = []
    customer_classification: str = ""


class Registration(BaseModel):
    """The registration form (POST /csrs)."""

    model_config = ConfigDict(extra="forbid")

    account_number: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.]+$")
    business_unit: ShortText
    title: ShortText
    description: Text
    main_shipping_site: ShortText
    additional_shipping_sites: list[ShortText] = Field(default=[], max_length=100)
    related_products: list[Code] = Field(default=[], max_length=500)
    account_associations: list[Code] = Field(default=[], max_length=500)
    case_team: list[CaseTeamMember] = Field(default=[], max_length=50)


# The fields PATCH may change while the case is in registration.
EDITABLE = (
    "title",
    "description",
    "main_shipping_site",
    "additional_shipping_sites",
    "related_products",
    "account_associations",
    "case_team",
)


class CsrEdit(BaseModel):
    """PATCH /csrs/{id}: the fields to change (absent ones stay)."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText | None = None
    description: Text | None = None
    main_shipping_site: ShortText | None = None
    additional_shipping_sites: list[ShortText] | None = Field(default=None, max_length=100)
    related_products: list[Code] | None = Field(default=None, max_length=500)
    account_associations: list[Code] | None = Field(default=None, max_length=500)
    case_team: list[CaseTeamMember] | None = Field(default=None, max_length=50)


class EditCase(BaseModel):
    """The `edit` Update: who asks, and the changes."""

    actor: Actor
    changes: CsrEdit


class CsrMove(BaseModel):
    """The `move` Update (POST /csrs/{id}/moves, and a task's decision): the move,
    the person making it, and its fields (validated against the move's model)."""

    move: text.text(100, min_length=1)
    actor: Actor
    comment: text.OptionalComment = ""
    # Checked against the move's own model by the workflow's validator.
    fields: Annotated[dict, BeforeValidator(text.check_free_form)] = {}
    # Set when a task's decision makes the move: which task.
    task_id: text.text(1000, min_length=1, strip=False) | None = None


class ApprovalEntry(BaseModel):
    step: str
    approver: str
    decision: str
    comment: str = ""
    at: datetime


class CaseChange(BaseModel):
    """One field or status change: who, when, from, to."""

    at: datetime
    actor: str
    field: str
    from_value: str | None = None
    to_value: str | None = None


class FeedbackRequest(BaseModel):
    request_id: str  # F-<hash of the request that asked> (F1, F2, ... in older cases)
    party: str
    party_name: str = ""
    requested_by: str
    requested_at: datetime
    question: str = ""
    feasible: bool | None = None
    comment: str = ""
    answered_at: datetime | None = None
    # Set when the assessment ended before this party answered.
    closed_unanswered: bool = False


class ImplementationTask(BaseModel):
    task_number: int
    title: str
    added_by: str
    added_at: datetime
    completed_by: str | None = None
    completed_at: datetime | None = None
    comment: str = ""


class Satisfaction(BaseModel):
    score: int
    comment: str = ""
    recorded_by: str
    recorded_at: datetime


class Reminder(BaseModel):
    """A reminder to a step's people, or its escalation to the sales manager."""

    step: str
    kind: str  # "reminder" | "escalation"
    at: datetime
    to: list[str]


class OutgoingEmail(BaseModel):
    """An email the case decided to send; its key makes a resend a no-op."""

    key: str
    to: list[str]
    subject: str
    body: str


class CurrentStep(BaseModel):
    step: str
    people: list[str]
    due_at: datetime | None = None
    escalated: bool = False


class CsrView(BaseModel):
    """A case as the API shows it (and its Query answers)."""

    csr_id: str
    case_number: int
    status: CsrStatus
    owner: str
    account_number: str
    account: AccountDetails | None
    business_unit: str
    title: str
    description: str
    main_shipping_site: str
    additional_shipping_sites: list[str]
    related_products: list[str]
    related_products_count: int
    account_associations: list[str]
    case_team: list[CaseTeamMember]
    current_step: CurrentStep | None
    conclusion: str | None
    feedback: list[FeedbackRequest]
    implementation_tasks: list[ImplementationTask]
    satisfaction: list[Satisfaction]
    approval_history: list[ApprovalEntry]
    case_history: list[CaseChange]
    reminders: list[Reminder]
    waiting_on: str | None
    created_at: datetime
    closed_at: datetime | None
    audit: list[AuditEntry] = []


class CsrHistory(BaseModel):
    csr_id: str
    approval_history: list[ApprovalEntry]
    case_history: list[CaseChange]
