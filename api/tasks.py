"""Human tasks, read from the read model: a person's work queue (their own and
their roles' tasks, open or closed) and one task with the decisions it accepts.

Who sees a task: the person it is assigned to, and while nobody has it, anyone
holding its role; an operator sees every task."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, computed_field

from api.auth import current_actor
from api.errors import ApiError, ErrorBody
from api.paging import Limit, Offset
from db import read_model
from domain.identity import Actor, Role
from domain.tasks import FieldSpec, TaskStatus, decisions_for

router = APIRouter(prefix="/tasks", tags=["tasks"])

# Printable text: ids hold a workflow id, so anything a PO number may hold.
_TEXT = r"^[^\x00-\x1f\x7f]+$"
MAX_TASK_ID = 1000
TextFilter = Annotated[str | None, Query(min_length=1, max_length=MAX_TASK_ID, pattern=_TEXT)]


def task_href(task_id: str) -> str:
    """The task's URL path: its id (workflow id, run, name; it holds ':' and
    whatever the workflow id holds, '/' too) percent-encoded whole."""
    return f"/tasks/{quote(task_id, safe='')}"


class Decision(BaseModel):
    name: str
    fields: list[FieldSpec] = Field(description="what a `complete` body carries with it")


class TaskItem(BaseModel):
    task_id: str
    workflow_id: str
    kind: str
    role: str
    assignee: str | None
    queue: str | None
    due_at: datetime | None
    opened_at: datetime
    status: TaskStatus
    closed_at: datetime | None
    outcome: str | None = Field(description="how the wait ended, once closed")
    payload: dict[str, Any] = Field(description="what the person needs to decide")
    decisions: list[Decision] = Field(description="the decisions this task accepts")

    @computed_field(description="the task's URL path (its id percent-encoded)")
    @property
    def href(self) -> str:
        return task_href(self.task_id)

    @classmethod
    def from_row(cls, row: Any) -> TaskItem:
        return cls(
            **dict(row),
            status=TaskStatus.OPEN if row["closed_at"] is None else TaskStatus.CLOSED,
            decisions=[Decision(name=d.name, fields=d.fields) for d in decisions_for(row["kind"])],
        )


class TaskList(BaseModel):
    items: list[TaskItem]
    next_offset: int | None


def _visible_to(actor: Actor) -> tuple[str, list[str]] | None:
    """(person, roles) whose tasks the actor sees; None for all of them."""
    if actor.has_any(Role.OPERATOR):
        return None
    return actor.person_id, sorted(r.value for r in actor.roles)


def _may_see(actor: Actor, row: Any) -> bool:
    visible = _visible_to(actor)
    if visible is None:
        return True
    person, roles = visible
    if row["assignee"] is not None:
        return row["assignee"] == person
    return row["role"] in roles


@router.get(
    "",
    response_model=TaskList,
    summary="My tasks and my roles' (open by default), soonest due first",
)
async def list_tasks(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    workflow_id: TextFilter = None,
    kind: TextFilter = None,
    status: TaskStatus = TaskStatus.OPEN,
    assignee: TextFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> TaskList:
    """Tasks assigned to me, or unassigned for one of my roles (an operator sees
    every task), soonest due first, then the oldest."""
    async with request.app.state.pool.acquire() as conn:
        rows = await read_model.list_tasks(
            conn,
            is_open=status is TaskStatus.OPEN,
            visible_to=_visible_to(actor),
            workflow_id=workflow_id,
            kind=kind,
            assignee=assignee,
            limit=limit + 1,
            offset=offset,
        )
    return TaskList(
        items=[TaskItem.from_row(r) for r in rows[:limit]],
        next_offset=offset + limit if len(rows) > limit else None,
    )


# ":path" because a task id holds its workflow's id, and an order's may hold "/".
# Clients send the id percent-encoded (the href of every task); routing sees it decoded.
@router.get(
    "/{task_id:path}",
    response_model=TaskItem,
    summary="One task: what it is about and the decisions it accepts",
    responses={
        403: {"model": ErrorBody, "description": "the task is neither yours nor your roles'"},
        404: {"model": ErrorBody, "description": "no such task"},
    },
)
async def get_task(
    request: Request, task_id: str, actor: Annotated[Actor, Depends(current_actor)]
) -> TaskItem:
    if not task_id or len(task_id) > MAX_TASK_ID or not re.fullmatch(_TEXT, task_id):
        raise ApiError(404, "no task has this id", "NotFound")
    async with request.app.state.pool.acquire() as conn:
        row = await read_model.get_task(conn, task_id)
    if row is None:
        raise ApiError(404, f"no task {task_id}", "NotFound")
    if not _may_see(actor, row):
        whose = "assigned to someone else" if row["assignee"] else f"for the role {row['role']}"
        raise ApiError(403, f"task {task_id} is {whose}; you may not see it", "Forbidden")
    return TaskItem.from_row(row)
