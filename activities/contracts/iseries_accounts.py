"""iSeries: which customer accounts belong to a national/regional account."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from activities.contracts import system_call


class UpdateMembership(BaseModel):
    idempotency_key: str
    national_account: str
    kind: Literal["add", "remove"]
    accounts: list[str]
    reference: str  # the account-change request


class MembershipUpdated(BaseModel):
    change_id: str
    accounts: list[str]  # the NA/RA's accounts after the change


UPDATE_MEMBERSHIP = system_call(
    "iseries.update_national_account", UpdateMembership, MembershipUpdated, "iseries"
)
