"""Routing a task through the team directory (a local activity the kernel runs
when a workflow opens a task nobody is named for)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from temporalio.common import RetryPolicy

from activities.contracts import ActivityContract
from domain.directory.routing import Routing
from domain.identity import Role


class RouteRequest(BaseModel):
    task_id: str
    kind: str
    role: Role
    account_number: str | None = None
    fallback_queue: str | None = None
    # The workflow's time: who is away is judged at the moment the task opens.
    at: datetime


class RouteTasks(BaseModel):
    tasks: list[RouteRequest]


class Routed(BaseModel):
    routings: dict[str, Routing]  # by task id


# Bounded like the read-model write: a PostgreSQL outage leaves the task with
# its role's queue (said in the trail), it never stalls the workflow.
ROUTE = ActivityContract(
    name="directory.route_tasks",
    input=RouteTasks,
    output=Routed,
    system="postgres",
    start_to_close=timedelta(seconds=5),
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_interval=timedelta(seconds=1),
        maximum_attempts=2,
    ),
)
