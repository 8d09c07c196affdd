"""CRM (Salesforce): the NA/RA membership transferred for the SSM's reports,
and the check that the records arrived."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from activities.contracts import system_call

SYSTEM = "crm"


class TransferAccounts(BaseModel):
    idempotency_key: str
    national_account: str
    kind: Literal["add", "remove"]
    accounts: list[str]


class TransferAccepted(BaseModel):
    transfer_id: str


class CheckTransfer(BaseModel):
    national_account: str
    kind: Literal["add", "remove"]
    accounts: list[str]


class TransferChecked(BaseModel):
    # Accounts the CRM does not show as the request wants (not there after an
    # add, still there after a remove).
    missing: list[str]


TRANSFER = system_call("crm.transfer_accounts", TransferAccounts, TransferAccepted, SYSTEM)
CHECK = system_call("crm.check_transfer", CheckTransfer, TransferChecked, SYSTEM)
