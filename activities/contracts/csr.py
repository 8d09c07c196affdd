"""What a CSR case asks of our own data: who holds a step of a business unit
(the approver rules in PostgreSQL), who a named person is, and business-day
deadlines from the configured calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio.common import RetryPolicy

from activities.contracts import ActivityContract, system_call
from domain.business_days import BusinessCalendar
from domain.csr.models import Person

# Refusals (non-retryable ApplicationError types) the workflow branches on.
NO_APPROVERS = "NoApprovers"  # the business unit has nobody for the step
UNKNOWN_PERSON = "UnknownPerson"  # a named person is not in the directory

DATABASE = "postgres"
_TRY = timedelta(seconds=20)


class StepPeopleRequest(BaseModel):
    business_unit: str
    step: str


class StepPeople(BaseModel):
    people: list[Person]
    sales_managers: list[Person] = []


STEP_PEOPLE = system_call("csr.step_people", StepPeopleRequest, StepPeople, DATABASE, _TRY)


class ResolvePeople(BaseModel):
    person_ids: list[str]


class People(BaseModel):
    people: list[Person]


RESOLVE_PEOPLE = system_call("csr.resolve_people", ResolvePeople, People, DATABASE, _TRY)


class BusinessDays(BaseModel):
    start: datetime
    # Each answer is `start` plus this many business days.
    days: list[int]
    calendar: BusinessCalendar


class Deadlines(BaseModel):
    at: list[datetime]


# A local activity: pure computation over the holiday tables, recorded in
# history so a newer holiday table never changes what a replay decides.
BUSINESS_DAYS = ActivityContract(
    name="calendar.business_days",
    input=BusinessDays,
    output=Deadlines,
    system="calendar",
    start_to_close=timedelta(seconds=5),
    retry=RetryPolicy(maximum_attempts=3),
)
