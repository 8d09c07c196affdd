"""Human tasks: a person's work queue (their own and their roles' tasks, open or
closed) and one task with the decisions it accepts, read from the read model;
claiming a task and completing it with a decision, which run the `claim_task`
and `decide` Updates every workflow has (its validators decide who may).

Who sees a task (api/policy.py): the person it is assigned to (and their team
lead), and while nobody has it, anyone holding its role who reaches its
workflow (the account's contacts, the branch, the store, the case's parties);
an operator sees every task."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
)

from api import policy
from api.auth import current_actor
from api.errors import ApiError, ErrorBody, reasons
from api.paging import Limit, Offset
from api.params import TASK_ID_MAX, TaskIdText, is_id
from api.temporal_calls import carry_out, run_update
from db import keys, read_model
from domain.identity import Actor, Role
from domain.records import HumanTask
from domain.tasks import (
    DecisionName,
    DecisionResult,
    FieldSpec,
    TaskClaim,
    TaskDecision,
    TaskStatus,
    decision,
    decisions_for,
)
from domain.text import OptionalComment, ShortText

router = APIRouter(prefix="/tasks", tags=["tasks"])

# Ids hold a workflow id, so anything a PO number may hold (domain/text.py).
MAX_TASK_ID = TASK_ID_MAX
TextFilter = Annotated[TaskIdText | None, Query()]
ACCOUNT = r"^[A-Za-z0-9_.]+$"
AccountFilter = Annotated[str | None, Query(min_length=1, max_length=40, pattern=ACCOUNT)]


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
    account_number: str | None = Field(default=None, description="its workflow's account")
    summary: str | None = Field(
        default=None, description="its workflow's one-line summary (e.g. PO and account)"
    )

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
    account: AccountFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> TaskList:
    """Tasks assigned to me, or unassigned for one of my roles (an operator sees
    every task), soonest due first, then the oldest; `account` keeps those whose
    workflow is about that account."""
    async with request.app.state.pool.acquire() as conn:
        rows = await read_model.list_tasks(
            conn,
            is_open=status is TaskStatus.OPEN,
            access=await policy.access(request, actor, "GET", "/tasks"),
            workflow_id=workflow_id,
            kind=kind,
            assignee=assignee,
            account_number=account,
            limit=limit + 1,
            offset=offset,
        )
    return TaskList(
        items=[TaskItem.from_row(r) for r in rows[:limit]],
        next_offset=offset + limit if len(rows) > limit else None,
    )


async def _task_row(request: Request, task_id: str, actor: Actor, route: str) -> Any:
    """The task's row in the read model; 404 when there is none, or when the
    caller does not reach it (api/policy.py; the page comes here too)."""
    if not is_id(task_id, max_length=MAX_TASK_ID):
        raise ApiError(404, "no task has this id", "NotFound")
    method, _, template = route.partition(" ")
    await policy.check(request, actor, method, template, {"task_id": task_id})
    async with request.app.state.pool.acquire() as conn:
        row = await read_model.get_task(conn, task_id)
    if row is None:
        raise ApiError(404, f"no task {task_id}", "NotFound")
    return row


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
    row = await _task_row(request, task_id, actor, "GET /tasks/{task_id}")
    return TaskItem.from_row(row)


# ------------------------------------------------------------------ moves


def _refuse_closed(row: Any) -> None:
    if row["closed_at"] is not None:
        outcome = f" ({row['outcome']})" if row["outcome"] else ""
        raise ApiError(409, f"task {row['task_id']} is closed{outcome}", "InvalidState")


PersonId = ShortText


class ClaimIn(BaseModel):
    """Empty to take the task yourself; a team lead names who gets it."""

    model_config = ConfigDict(extra="forbid")

    assignee: PersonId | None = Field(
        default=None, description="the person to give the task to (team lead, CSC manager)"
    )


async def _roles_of(request: Request, person_id: str) -> list[Role]:
    """The roles `person_id`'s working keys hold: what they could do with a
    task once given it."""
    async with request.app.state.pool.acquire() as conn:
        held = await keys.person_roles(conn, person_id)
    return sorted(Role(r) for r in held if r in Role.__members__.values())


@router.post(
    "/{task_id:path}/claim",
    response_model=TaskItem,
    summary="Take a task, or (team lead) give it to someone",
    responses={
        403: {"model": ErrorBody, "description": "not your role's task, or you may not give it"},
        404: {"model": ErrorBody, "description": "no such task"},
        409: {"model": ErrorBody, "description": "the task is closed, or someone else holds it"},
        422: {"model": ErrorBody, "description": "the assignee may not hold this task"},
        503: {"model": ErrorBody, "description": "no answer in time; safe to retry"},
    },
)
async def claim_task(
    request: Request,
    task_id: str,
    actor: Annotated[Actor, Depends(current_actor)],
    body: Annotated[ClaimIn | None, Body()] = None,
) -> TaskItem:
    """Sets the task's assignee to you (409 if someone else holds it), or with
    `{"assignee": ...}` a team lead gives it to someone holding the task's role.
    Answers with the task as `GET /tasks/{id}` shows it; audited on its workflow."""
    row = await _task_row(request, task_id, actor, "POST /tasks/{task_id}/claim")
    _refuse_closed(row)
    assignee = body.assignee if body else None
    # Given to someone: the workflow applies the rule it applies when that
    # person claims it (workflows/kernel.py), with the roles they hold.
    given = assignee is not None and assignee != actor.person_id
    roles = await _roles_of(request, assignee) if given and assignee else None
    claim = TaskClaim(task_id=row["task_id"], actor=actor, assignee=assignee, assignee_roles=roles)
    claimed = await run_update(request, row["workflow_id"], "claim_task", claim, HumanTask)
    # Accepted is claimed (the handler sets the assignee before it writes the read
    # model); the workflow's answer is the task as it holds it now.
    item = TaskItem.from_row(row)
    new_assignee = claimed.assignee if claimed else assignee or actor.person_id
    return item.model_copy(update={"assignee": new_assignee})


class CompleteIn(BaseModel):
    """A decision with its fields beside it: `{"decision", "comment", ...fields}`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"decision": "correct_price", "unit_price": "2.35", "comment": "buyer agreed"},
                {"decision": "escalate", "comment": "buyer insists on the PO price"},
            ]
        },
    )

    decision: DecisionName = Field(description="one of the task's `decisions`")
    comment: OptionalComment | None = Field(
        default=None,
        description="a note for the audit trail (required by decisions that list `comment`)",
    )


class DecisionProcessing(BaseModel):
    """A decision the workflow took but has not finished applying in time."""

    status: Literal["processing"] = "processing"
    task_id: str
    workflow_id: str
    detail: str
    href: str = Field(description="the task: it closes once the decision is applied")


@router.post(
    "/{task_id:path}/complete",
    response_model=DecisionResult,
    summary="Complete a task with one of its decisions; answers with the workflow's status",
    responses={
        202: {
            "model": DecisionProcessing,
            "description": "accepted, still being applied; read the task at href (do not resend)",
        },
        403: {"model": ErrorBody, "description": "your role may not decide this task"},
        404: {"model": ErrorBody, "description": "no such task"},
        409: {
            "model": ErrorBody,
            "description": "the task is closed, or the workflow has moved on",
        },
        422: {
            "model": ErrorBody,
            "description": "not a decision this task takes, bad fields, or a fix that does "
            "not cure the problem; detail says why",
        },
        503: {"model": ErrorBody, "description": "no answer in time and nothing taken; retry"},
    },
)
async def complete_task(
    request: Request,
    task_id: str,
    body: CompleteIn,
    actor: Annotated[Actor, Depends(current_actor)],
) -> DecisionResult | JSONResponse:
    """Runs the decision on the task's workflow: 200 with the workflow's status
    after it; 403/409/422 with the workflow's reason. The decision and its fields
    are checked against the task's kind here first, so a malformed decision never
    reaches the workflow."""
    row = await _task_row(request, task_id, actor, "POST /tasks/{task_id}/complete")
    _refuse_closed(row)
    if row["role"] not in {r.value for r in actor.roles}:
        raise ApiError(403, f"this task is for the role {row['role']}", "Forbidden")
    spec = decision(row["kind"], body.decision)
    if spec is None:
        takes = ", ".join(d.name for d in decisions_for(row["kind"]))
        raise ApiError(
            422,
            f"{row['kind']} does not take {body.decision!r}"
            + (f" (it takes {takes})" if takes else " (it takes no decisions)"),
            "InvalidDecision",
        )
    fields = dict(body.model_extra or {})
    if "comment" in spec.model.model_fields and body.comment is not None:
        fields["comment"] = body.comment
    try:
        checked = spec.model.model_validate(fields)
    except ValidationError as err:
        why = reasons(err.errors(), extra="not a field of this decision")
        raise ApiError(422, f"{body.decision}: {why}", "InvalidDecision") from None
    move = TaskDecision(
        task_id=row["task_id"],
        decision=spec.name,
        comment=body.comment or "",
        fields=checked.model_dump(mode="json"),
        actor=actor,
    )
    result = await run_update(request, row["workflow_id"], "decide", move, DecisionResult)
    carry_out(request, row["workflow_id"])
    if result is not None:
        return result
    wait = request.app.state.settings.update_wait.total_seconds()
    return JSONResponse(
        DecisionProcessing(
            task_id=row["task_id"],
            workflow_id=row["workflow_id"],
            href=task_href(row["task_id"]),
            detail=(
                f"{spec.name} is accepted and still being applied (no answer within {wait:g} s);"
                " do not send it again: the task closes once it is applied, and the"
                " workflow's audit trail shows the outcome"
            ),
        ).model_dump(mode="json"),
        status_code=202,
    )
