"""The weekly review's computation (SQL in db/reports.py) and its Schedule:
Monday 06:00 in the center's time zone."""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from activities.contracts import reports as contract
from activities.contracts.reports import (
    ComputeWeek,
    DigestRecipient,
    ListOpenAccountChanges,
    OpenAccountChanges,
    OpenRequest,
    WeekComputed,
)
from db import reports
from domain.reports import past_week, week_before, week_bounds
from domain.weekly_review import StartWeeklyReview

log = structlog.get_logger()


async def compute(pool: asyncpg.Pool, req: ComputeWeek) -> WeekComputed:
    week = req.week or past_week(req.as_of, req.timezone)
    start, end = week_bounds(week, req.timezone)
    async with pool.acquire() as conn:
        rows = await reports.compute_week(conn, week, start, end)
        earlier = week_before(week)
        previous = await reports.week_rows(conn, earlier)
        leads = await reports.team_leads(conn, sorted({r.rep_id for r in rows}))
    return WeekComputed(week=week, rows=rows, previous=previous, leads=leads)


class ReportActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=contract.COMPUTE_WEEK.name)
    async def compute_week(self, req: ComputeWeek) -> WeekComputed:
        return await compute(self._pool, req)

    @activity.defn(name=contract.OPEN_ACCOUNT_CHANGES.name)
    async def open_account_changes(self, req: ListOpenAccountChanges) -> OpenAccountChanges:
        async with self._pool.acquire() as conn:
            requests = await reports.open_account_changes(conn)
            recipients = await reports.digest_recipients(conn, req.as_of)
        return OpenAccountChanges(
            requests=[OpenRequest(**dict(r)) for r in requests],
            recipients=[DigestRecipient(**dict(r)) for r in recipients],
        )


NOTE = (
    "Weekly review of the order SOP: every Monday 06:00 in the center's time zone, "
    "per account and rep for the past week (orders, holds, time to confirm, SLA breaches, "
    "errors, branch edits, incidents); a one-on-one task per rep for their team lead. "
    "Read it at GET /reports/weekly?week=YYYY-Www or `sopflow report weekly`."
)


def schedule_for(task_queue: str, timezone: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            contract.WORKFLOW_NAME,
            StartWeeklyReview(timezone=timezone),
            id="weekly-review",
            task_queue=task_queue,
            static_summary="Weekly review: per account and rep, last week",
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_week=[ScheduleRange(1)],
                    hour=[ScheduleRange(6)],
                    minute=[ScheduleRange(0)],
                    second=[ScheduleRange(0)],
                    comment="Monday 06:00",
                )
            ],
            time_zone_name=timezone,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL),
        state=ScheduleState(note=NOTE),
    )


DIGEST_NOTE = (
    "Account-change requests (IM/SSM SOP): every day at 07:00 in the center's time zone, "
    "the implementation and sales support managers get the list of open requests by email."
)


def digest_schedule_for(task_queue: str, timezone: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            contract.DIGEST_WORKFLOW_NAME,
            id="account-change-digest",
            task_queue=task_queue,
            static_summary="Open account-change requests to the IM and the SSM",
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    hour=[ScheduleRange(7)],
                    minute=[ScheduleRange(0)],
                    second=[ScheduleRange(0)],
                    comment="daily 07:00",
                )
            ],
            time_zone_name=timezone,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note=DIGEST_NOTE),
    )


async def ensure_digest_schedule(client: Client, *, task_queue: str, timezone: str) -> None:
    await _ensure(client, contract.DIGEST_SCHEDULE_ID, digest_schedule_for(task_queue, timezone))


async def ensure_weekly_review_schedule(client: Client, *, task_queue: str, timezone: str) -> None:
    """Create the weekly-review schedule, or bring an existing one to this time
    zone and task queue; an operator's pause is kept."""
    await _ensure(client, contract.SCHEDULE_ID, schedule_for(task_queue, timezone))


async def _ensure(client: Client, schedule_id: str, wanted: Schedule) -> None:
    timezone = wanted.spec.time_zone_name
    task_queue = wanted.action.task_queue  # type: ignore[attr-defined]
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("schedule created", schedule_id=schedule_id, timezone=timezone)
        return
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        schedule = current.description.schedule
        action = schedule.action
        if (
            schedule.spec.time_zone_name == timezone
            and isinstance(action, ScheduleActionStartWorkflow)
            and action.task_queue == task_queue
        ):
            return None
        schedule.action, schedule.spec = wanted.action, wanted.spec
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(update)
