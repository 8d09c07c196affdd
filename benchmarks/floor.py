"""The floors an order is measured against: bare workflows of no-op activities.

A module of its own that imports nothing but the SDK, because the workflow
sandbox re-imports a workflow's module for every run: the floor pays for its own
module the way the order pays for `workflows/order.py`, and no more.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

ACTIVITY_TIMEOUT = timedelta(seconds=30)
# What the business needs of a PunchOut order, as activities: validate, create in
# the OMS, release to iSeries, print the pick ticket; then, inside the branch's
# shipment Update, invoice.
BUSINESS_BEFORE_UPDATE = 4
BUSINESS_IN_UPDATE = 1


@activity.defn
async def noop() -> None:
    return None


async def noops(regular: int, local: int = 0) -> None:
    for _ in range(local):
        await workflow.execute_local_activity(noop, start_to_close_timeout=ACTIVITY_TIMEOUT)
    for _ in range(regular):
        await workflow.execute_activity(noop, start_to_close_timeout=ACTIVITY_TIMEOUT)


@workflow.defn
class FloorWorkflow:
    """The floor: the order's business activities and its Update (with a
    validator, answering once its activity is done), no read-model writes."""

    def __init__(self) -> None:
        self.waiting = False
        self.shipped = False

    @workflow.run
    async def run(self, before: int) -> None:
        await noops(before)
        self.waiting = True
        await workflow.wait_condition(lambda: self.shipped and workflow.all_handlers_finished())

    @workflow.query
    def is_waiting(self) -> bool:
        return self.waiting

    @workflow.update
    async def ship(self, activities: int) -> int:
        await noops(activities)
        self.shipped = True
        return activities

    @ship.validator
    def _validate_ship(self, activities: int) -> None:
        if not self.waiting or self.shipped:
            raise ValueError("not waiting for a shipment")


@workflow.defn
class TodaysFloorWorkflow:
    """Today's floor (the one this benchmark used first): the order's shape as its
    history shows it, regular and local no-op activities (the local ones stand
    for the read-model writes) before and after the update; the update itself
    only counts."""

    def __init__(self) -> None:
        self.waiting = False
        self.updates = 0

    @workflow.run
    async def run(
        self, before: int, before_local: int, updates: int, after: int, after_local: int
    ) -> None:
        await noops(before, before_local)
        self.waiting = True
        await workflow.wait_condition(
            lambda: self.updates >= updates and workflow.all_handlers_finished()
        )
        await noops(after, after_local)

    @workflow.query
    def is_waiting(self) -> bool:
        return self.waiting

    @workflow.update
    async def ship(self) -> None:
        self.updates += 1
