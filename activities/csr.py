"""What CSR cases ask of our own data: the approver rules of a business unit,
the people a case names, and business-day deadlines (a local activity)."""

from __future__ import annotations

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import csr as contract
from activities.contracts.csr import (
    BusinessDays,
    Deadlines,
    People,
    ResolvePeople,
    StepPeople,
    StepPeopleRequest,
)
from db import csr as queries
from domain.business_days import add_business_days
from domain.csr.models import SALES_MANAGER, Person


def _person(row: asyncpg.Record) -> Person:
    return Person(
        person_id=row["person_id"], name=row["name"], email=row["email"], roles=list(row["roles"])
    )


class CsrActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=contract.STEP_PEOPLE.name)
    async def step_people(self, req: StepPeopleRequest) -> StepPeople:
        async with self._pool.acquire() as conn:
            people = await queries.step_people(conn, req.business_unit, req.step)
            managers = await queries.step_people(conn, req.business_unit, SALES_MANAGER)
        if not people:
            raise ApplicationError(
                f"business unit {req.business_unit} has nobody for {req.step.replace('_', ' ')} "
                "in its CSR approver rules",
                type=contract.NO_APPROVERS,
                non_retryable=True,
            )
        return StepPeople(
            people=[_person(r) for r in people], sales_managers=[_person(r) for r in managers]
        )

    @activity.defn(name=contract.RESOLVE_PEOPLE.name)
    async def resolve_people(self, req: ResolvePeople) -> People:
        async with self._pool.acquire() as conn:
            rows = await queries.people(conn, req.person_ids)
        found = {r["person_id"]: _person(r) for r in rows}
        unknown = [p for p in req.person_ids if p not in found]
        if unknown:
            raise ApplicationError(
                f"not in the directory: {', '.join(unknown)}",
                type=contract.UNKNOWN_PERSON,
                non_retryable=True,
            )
        mute = [p for p in req.person_ids if not found[p].roles]
        if mute:
            raise ApplicationError(
                f"cannot act in sopflow (no API key): {', '.join(mute)}",
                type=contract.UNKNOWN_PERSON,
                non_retryable=True,
            )
        return People(people=[found[p] for p in req.person_ids])

    @activity.defn(name=contract.BUSINESS_DAYS.name)
    async def business_days(self, req: BusinessDays) -> Deadlines:
        return Deadlines(at=[add_business_days(req.start, n, req.calendar) for n in req.days])
