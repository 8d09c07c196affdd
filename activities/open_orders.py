"""Open orders outside any one workflow: starting one (the API and the bulk
import share it), the bulk import from the ERP and the daily confirmation
list (each a small workflow run by a Temporal Schedule), and those Schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from pydantic import ValidationError
from temporalio import activity
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from activities.contracts import erp as contract
from activities.contracts.erp import (
    ConfirmationListReport,
    ConfirmationListRequest,
    ImportReport,
    ImportRequest,
)
from activities.erp import ErpClient
from db import open_orders as db
from domain import search
from domain.calendar import StoreCalendar
from domain.identity import Actor, Role
from domain.open_order.models import ConfirmationDue, OpenOrder, OpenOrderStatus
from domain.open_order.state import OpenOrderPolicy, StartOpenOrder
from sopflow.config import Settings

log = structlog.get_logger()
ERP_IMPORT = Actor(person_id="erp-import", name="ERP bulk import", roles=frozenset({Role.SYSTEM}))
WORKFLOW_NAME = "OpenOrderWorkflow"


class Conflict(Exception):
    """The sales order was already received with other content."""


def open_order_policy(settings: Settings) -> OpenOrderPolicy:
    return OpenOrderPolicy(
        activity_timeout=settings.activity_timeout,
        max_retry_interval=settings.activity_max_retry_interval,
        outage_after=settings.outage_detect_after,
        sync_patience=settings.read_model_patience,
        sync_catch_up_every=settings.read_model_catch_up_every,
    )


async def start_open_order(
    client: Client,
    settings: Settings,
    order: OpenOrder,
    calendar: StoreCalendar,
    actor: Actor,
) -> bool:
    """Start `open-order-{sales order}` once: True when started now, False when
    the same order is already there; `Conflict` for other content."""
    content_hash = order.content_hash()
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            StartOpenOrder(
                order=order,
                calendar=calendar,
                policy=open_order_policy(settings),
                submitted_by=actor,
            ),
            id=order.workflow_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            # No guest name or number here: search attributes are for everyone.
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search.STORE_ID, order.store_id),
                    SearchAttributePair(
                        search.CONTACT_STATUS, OpenOrderStatus.AWAITING_PRODUCT.value
                    ),
                ]
            ),
            memo={"content_hash": content_hash},
            static_summary=order.summary(),
            static_details=(
                f"**Open order {order.sales_order}** · store {order.store_id} "
                f"({calendar.name or calendar.timezone}) · {order.type.value}\n"
                f"Received from {actor.person_id}; {len(order.lines)} line(s); "
                f"balance owing {order.balance_owing}"
            ),
        )
        return True
    except WorkflowAlreadyStartedError:
        described = await client.get_workflow_handle(order.workflow_id).describe()
        if await described.memo_value("content_hash", None) == content_hash:
            return False
        raise Conflict(
            f"sales order {order.sales_order} was already received with different content"
        ) from None


class OpenOrderActivities:
    def __init__(
        self, pool: asyncpg.Pool, temporal: Client, erp: ErpClient, settings: Settings
    ) -> None:
        self._pool = pool
        self._temporal = temporal
        self._erp = erp
        self._settings = settings

    @activity.defn(name=contract.IMPORT_OPEN_ORDERS.name)
    async def import_open_orders(self, request: ImportRequest) -> ImportReport:
        """Every open order the ERP lists gets its workflow (a running one is left
        as it is). An order the ERP sends malformed, or for an unknown store, is
        counted and logged by number, never by guest."""
        report = ImportReport()
        after: str | None = None
        while report.seen < request.max_orders:
            page = await self._erp.open_orders(after, min(100, request.max_orders - report.seen))
            if not page:
                break
            for raw in page:
                report.seen += 1
                after = str(raw.get("sales_order"))
                await self._import_one(raw, report)
            activity.heartbeat(report.seen)
        log.info("open orders imported", **report.model_dump())
        return report

    async def _import_one(self, raw: dict, report: ImportReport) -> None:
        fields = {k: v for k, v in raw.items() if k in OpenOrder.model_fields}
        try:
            order = OpenOrder.model_validate(fields)
        except ValidationError as err:
            report.refused += 1
            log.warning(
                "open order not imported",
                sales_order=raw.get("sales_order"),
                errors=[e["loc"] for e in err.errors()][:5],
            )
            return
        async with self._pool.acquire() as conn:
            calendar = await db.store_calendar(conn, order.store_id)
        if calendar is None:
            report.refused += 1
            log.warning("open order for an unknown store", sales_order=order.sales_order)
            return
        try:
            started = await start_open_order(
                self._temporal, self._settings, order, calendar, ERP_IMPORT
            )
        except Conflict:
            report.already_running += 1
            return
        if started:
            report.started += 1
        else:
            report.already_running += 1

    @activity.defn(name=contract.CONFIRMATION_LIST.name)
    async def confirmation_list(self, request: ConfirmationListRequest) -> ConfirmationListReport:
        """Put every booked order whose confirmation is due by the end of the
        next day on the list: each one's workflow calls the guest on every number
        and opens the agent's confirmation task (a second signal changes nothing)."""
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn:
            ids = await db.to_confirm(conn, request.until or now + timedelta(days=1, hours=12))
        report = ConfirmationListReport(orders=len(ids))
        for workflow_id in ids:
            try:
                await self._temporal.get_workflow_handle(workflow_id).signal(
                    "confirmation_due", ConfirmationDue(list_date=now.date())
                )
                report.signalled += 1
            except Exception as exc:  # one order's trouble does not stop the list
                report.errors += 1
                log.warning(
                    "confirmation list: not signalled", workflow_id=workflow_id, error=repr(exc)
                )
        log.info("confirmation list made", **report.model_dump())
        return report


# ------------------------------------------------------------------ schedules
def import_schedule(task_queue: str, every: timedelta) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            contract.IMPORT_WORKFLOW,
            ImportRequest(),
            id=contract.IMPORT_SCHEDULE_ID,
            task_queue=task_queue,
            static_summary="Import open orders from the retail ERP",
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=max(every, timedelta(minutes=1))
        ),
    )


def confirmation_schedule(task_queue: str, hour_utc: int) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            contract.CONFIRMATION_WORKFLOW,
            ConfirmationListRequest(),
            id=contract.CONFIRMATION_SCHEDULE_ID,
            task_queue=task_queue,
            static_summary="Make the next business day's confirmation call list",
        ),
        spec=ScheduleSpec(calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour_utc)])]),
        policy=SchedulePolicy(
            overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=6)
        ),
    )


async def _ensure(client: Client, schedule_id: str, wanted: Schedule) -> None:
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("schedule created", schedule_id=schedule_id)
        return
    except ScheduleAlreadyRunningError:
        pass

    def update(current: ScheduleUpdateInput) -> ScheduleUpdate | None:
        schedule = current.description.schedule
        if schedule.spec == wanted.spec and schedule.action == wanted.action:
            return None
        schedule.action, schedule.spec, schedule.policy = wanted.action, wanted.spec, wanted.policy
        return ScheduleUpdate(schedule=schedule)

    await client.get_schedule_handle(schedule_id).update(update)


async def ensure_schedules(client: Client, settings: Settings) -> None:
    """The import and confirmation-list Schedules, created or brought to the
    current settings (an operator's pause is kept)."""
    await _ensure(
        client,
        contract.IMPORT_SCHEDULE_ID,
        import_schedule(settings.task_queue, settings.open_order_import_every),
    )
    await _ensure(
        client,
        contract.CONFIRMATION_SCHEDULE_ID,
        confirmation_schedule(settings.task_queue, settings.confirmation_list_hour_utc),
    )
