"""An account-change request (seed im-ssm-account-sop.txt): a RAM/NAM asks to
add or remove accounts of a national/regional account; the implementation
manager updates iSeries, the accounts go to the CRM and are checked, the SSM is
told the data is ready for report generation and takes the accounts over.
A billing or accounting discrepancy holds the request until the IM resolves it."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from domain.identity import Actor
from domain.kernel import KernelPolicy, KernelState, StartInput
from domain.text import Comment, Note, Reference

AccountNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{1,40}$")
]
Text = Comment
# A line of inventory, as the IM or a system names it.
InventoryLine = Comment


class AccountChangeStatus(StrEnum):
    REQUESTED = "requested"  # with the IM: update iSeries
    ISERIES_UPDATED = "iseries_updated"  # on its way to the CRM
    CRM_TRANSFERRED = "crm_transferred"  # records checked in the CRM
    READY_FOR_REPORTS = "ready_for_reports"  # the SSM told; waiting for the hand-over
    ON_HOLD = "on_hold"  # a billing or accounting discrepancy is open
    HANDED_OVER = "handed_over"  # the SSM has the accounts (final)
    FAILED = "failed"
    CANCELLED = "cancelled"


FINAL = {AccountChangeStatus.HANDED_OVER, AccountChangeStatus.FAILED, AccountChangeStatus.CANCELLED}


class AccountChangeRequest(BaseModel):
    """What the RAM/NAM sends."""

    kind: Literal["add", "remove"]
    national_account: AccountNumber
    accounts: list[AccountNumber] = Field(min_length=1, max_length=500)
    comment: Text

    def summary(self) -> str:
        n = len(self.accounts)
        into = "to" if self.kind == "add" else "from"
        return f"{self.kind} {n} account{'s' if n > 1 else ''} {into} NA/RA {self.national_account}"


class AccountChangePolicy(KernelPolicy):
    crm_check_after: timedelta = timedelta(minutes=1)
    crm_tries: int = 3
    # Where notifications go when a task waits in a queue with nobody named.
    fallback_inbox: str = "csc-inbox@example.com"


class Discrepancy(BaseModel):
    discrepancy_id: str
    kind: Literal["billing", "accounting"]
    description: str
    reported_by: str
    reported_at: datetime
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None

    @property
    def open(self) -> bool:
        return self.resolved_at is None


class ReportDiscrepancy(BaseModel):
    kind: Literal["billing", "accounting"]
    description: Note
    actor: Actor


class InventoryLoading(BaseModel):
    """The event: inventory loading for a bid began (a Signal)."""

    bid: Reference
    inventory: list[InventoryLine] = Field(min_length=1, max_length=200)
    actor: Actor


class AccountChangeState(KernelState):
    status: str = AccountChangeStatus.REQUESTED
    iseries_change_id: str | None = None
    iseries_manual: bool = False
    crm_transfers: int = 0
    crm_transfer_id: str | None = None
    crm_verified: bool = False
    ssm_notified: bool = False
    handed_over_to: str | None = None
    discrepancies: list[Discrepancy] = []
    inventory_loadings: list[dict] = []
    # The status the request had when a discrepancy held it.
    held_from: str | None = None


class StartAccountChange(StartInput):
    request_id: str
    request: AccountChangeRequest
    requested_by: Actor
    policy: AccountChangePolicy = AccountChangePolicy()
    state: AccountChangeState | None = None


class AccountChangeView(BaseModel):
    request_id: str
    status: str
    kind: str
    national_account: str
    accounts: list[str]
    comment: str
    requested_by: str
    requested_at: datetime
    iseries_change_id: str | None
    iseries_manual: bool
    crm_transfer_id: str | None
    crm_verified: bool
    ssm_notified: bool
    handed_over_to: str | None
    held: bool
    discrepancies: list[Discrepancy]
    inventory_loadings: list[dict]
