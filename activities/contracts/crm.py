"""The CRM: account details (SAP codes, customer classification) for a CSR case."""

from __future__ import annotations

from pydantic import BaseModel

from activities.contracts import system_call
from domain.csr.models import AccountDetails

__all__ = ["FETCH_ACCOUNT", "AccountDetails", "FetchAccount"]


class FetchAccount(BaseModel):
    account_number: str


# Refused (CrmRefused, non-retryable) when the CRM does not know the account.
FETCH_ACCOUNT = system_call("crm.fetch_account", FetchAccount, AccountDetails, "crm")
