"""What the CSR workflow starts with and carries: its policy (timing, calendar)
and the whole record (continue-as-new hands it to the next run)."""

from __future__ import annotations

from datetime import datetime

from domain.business_days import BusinessCalendar
from domain.csr.models import (
    AccountDetails,
    ApprovalEntry,
    CaseChange,
    CsrStatus,
    FeedbackRequest,
    ImplementationTask,
    OutgoingEmail,
    Person,
    Registration,
    Reminder,
    Satisfaction,
)
from domain.identity import Actor
from domain.kernel import KernelPolicy, KernelState, StartInput


class CsrPolicy(KernelPolicy):
    """Filled from Settings at start (recorded in history, so a configuration
    change never breaks a replay)."""

    # An approval or assessment is due this many business days after it starts;
    # then its people are reminded every `remind_every` business days, and the
    # sales manager is told `escalate_after` business days past due.
    due_business_days: int = 3
    remind_every_business_days: int = 1
    escalate_after_business_days: int = 2
    calendar: BusinessCalendar = BusinessCalendar()
    # Where a case's link in an email points (the API's public address).
    case_url_base: str = "http://127.0.0.1:8000"
    # A case lives for years: continue-as-new well before Temporal's 4,096-event
    # suggestion (a burst of Updates can keep a run going a little past it).
    history_limit: int = 2000


class CsrState(KernelState):
    """The whole case record; carried whole across continue-as-new."""

    status: CsrStatus = CsrStatus.REGISTRATION
    case_number: int
    owner: str
    registration: Registration
    account: AccountDetails | None = None
    account_checked: bool = False
    conclusion: str | None = None
    feedback: list[FeedbackRequest] = []
    implementation_tasks: list[ImplementationTask] = []
    satisfaction: list[Satisfaction] = []
    approval_history: list[ApprovalEntry] = []
    case_history: list[CaseChange] = []
    # Who holds the current step (from the approver rules or the case), and
    # who escalations go to.
    step_people: list[Person] = []
    sales_managers: list[Person] = []
    # The current step's clock (reminded steps only).
    step_due_at: datetime | None = None
    next_reminder_at: datetime | None = None
    escalate_at: datetime | None = None
    escalated: bool = False
    reminders: list[Reminder] = []
    # Emails decided but not yet handed to the outbox service (sent by the main
    # run, so a person's move never waits on email; carried across runs).
    outbox: list[OutgoingEmail] = []
    emails_queued: int = 0

    @property
    def case_people(self) -> set[str]:
        """The owner and the case team: who holds registration and the live case."""
        return {self.owner, *(m.person_id for m in self.registration.case_team)}


class StartCsr(StartInput):
    case_number: int
    registration: Registration
    registered_by: Actor
    # Where the case owner hears of a rejection and of the case going live.
    owner_email: str = ""
    policy: CsrPolicy = CsrPolicy()
    # Set by continue-as-new: where the previous run left off.
    state: CsrState | None = None
