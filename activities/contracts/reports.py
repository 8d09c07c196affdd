"""The weekly review: computed in PostgreSQL for a week, with each rep's team lead."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from activities.contracts import system_call
from domain.reports import WeeklyRow

SCHEDULE_ID = "sopflow-weekly-review"
WORKFLOW_NAME = "WeeklyReviewWorkflow"


class ComputeWeek(BaseModel):
    week: str | None = None  # none: the week before `as_of`
    as_of: datetime
    timezone: str


class WeekComputed(BaseModel):
    week: str
    rows: list[WeeklyRow]
    previous: list[WeeklyRow]  # the week before, for the team lead's comparison
    leads: dict[str, str]  # rep → team lead


COMPUTE_WEEK = system_call(
    "reports.compute_week", ComputeWeek, WeekComputed, "postgres", timedelta(minutes=2)
)


# The daily list of open account-change requests for the IM and the SSM.
DIGEST_SCHEDULE_ID = "sopflow-account-change-digest"
DIGEST_WORKFLOW_NAME = "AccountChangeDigestWorkflow"


class OpenRequest(BaseModel):
    request_id: str
    status: str
    summary: str
    waiting_on: str | None


class DigestRecipient(BaseModel):
    person_id: str
    email: str
    role: str  # implementation_manager or sales_support_manager


class OpenAccountChanges(BaseModel):
    requests: list[OpenRequest]
    recipients: list[DigestRecipient]


class ListOpenAccountChanges(BaseModel):
    as_of: datetime


OPEN_ACCOUNT_CHANGES = system_call(
    "reports.open_account_changes", ListOpenAccountChanges, OpenAccountChanges, "postgres"
)
