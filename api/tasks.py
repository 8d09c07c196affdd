"""A person's work queue: open human tasks assigned to them or to their roles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from api.auth import current_actor
from api.paging import Limit, Offset
from db import read_model
from domain.identity import Actor

router = APIRouter(prefix="/tasks", tags=["tasks"])
# Paging deeper than this is a mistake (and past int64 a database error).


class TaskItem(BaseModel):
    task_id: str
    workflow_id: str
    kind: str
    role: str
    assignee: str | None
    queue: str | None
    due_at: datetime | None
    opened_at: datetime
    payload: dict[str, Any]


@router.get("", response_model=list[TaskItem], summary="My open tasks, soonest due first")
async def my_tasks(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[TaskItem]:
    async with request.app.state.pool.acquire() as conn:
        rows = await read_model.open_tasks(
            conn, sorted(r.value for r in actor.roles), actor.person_id, limit, offset
        )
    return [TaskItem(**dict(r)) for r in rows]
