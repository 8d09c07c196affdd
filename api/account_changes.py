"""Account-change requests (IM/SSM SOP): a RAM/NAM asks to add or remove
accounts of a national/regional account; the request's progress and history;
a billing or accounting discrepancy that holds it; the inventory-loading event.
The IM's and SSM's steps are their tasks (`/tasks/{id}/complete`)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from api import policy
from api.auth import current_actor, require
from api.errors import ApiError, ErrorBody
from api.paging import Limit, Offset
from api.temporal_calls import run_update, workflow_errors
from db import read_model
from domain import search
from domain.account_change import (
    AccountChangePolicy,
    AccountChangeRequest,
    Discrepancy,
    InventoryLine,
    InventoryLoading,
    ReportDiscrepancy,
    StartAccountChange,
)
from domain.identity import Actor, Role
from domain.text import Note, Reference
from sopflow.config import Settings
from workflows.account_change import AccountChangeWorkflow

router = APIRouter(prefix="/account-changes", tags=["account changes"])
REQUEST_ID = r"^[A-Za-z0-9_.-]{1,60}$"
RequestId = Annotated[str, Path(pattern=REQUEST_ID)]


class NewAccountChange(AccountChangeRequest):
    request_id: str | None = Field(
        default=None,
        pattern=REQUEST_ID,
        description="your reference; a request sent again with it is not started twice "
        "(default: a new id)",
    )


class AccountChangeAccepted(BaseModel):
    request_id: str
    workflow_id: str
    href: str


class Processing(BaseModel):
    """Taken by the request, not answered within the update wait: read href."""

    status: Literal["processing"] = "processing"
    request_id: str
    href: str


class AccountChangeItem(BaseModel):
    request_id: str
    workflow_id: str
    status: str
    national_account: str | None
    summary: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime


class HistoryEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    comment: str


class AccountChangeDetail(BaseModel):
    request_id: str
    workflow_id: str
    status: str
    request: dict[str, Any] = Field(description="the request as the workflow last reported it")
    open_tasks: list[dict[str, Any]]
    history: list[HistoryEntry]


class NewDiscrepancy(BaseModel):
    kind: Literal["billing", "accounting"]
    description: Note


class InventoryEvent(BaseModel):
    bid: Reference
    inventory: list[InventoryLine] = Field(min_length=1, max_length=200)


def workflow_id(request_id: str) -> str:
    return f"account-change-{request_id}"


async def known(request: Request, request_id: str) -> str:
    """The request's workflow id; 404 before Temporal is asked when the read
    model has never seen it (it writes the request's row at its first step)."""
    wid = workflow_id(request_id)
    async with request.app.state.pool.acquire() as conn:
        record = await read_model.get_record(conn, wid)
    if record is None or record["kind"] != "account_change":
        raise ApiError(404, f"no account-change request {request_id}", "NotFound")
    return wid


def account_change_policy(settings: Settings) -> AccountChangePolicy:
    return AccountChangePolicy(
        activity_timeout=settings.activity_timeout,
        max_retry_interval=settings.activity_max_retry_interval,
        outage_after=settings.outage_detect_after,
        sync_patience=settings.read_model_patience,
        sync_catch_up_every=settings.read_model_catch_up_every,
        crm_check_after=settings.account_change_crm_check_after,
        crm_tries=settings.account_change_crm_tries,
        fallback_inbox=settings.csc_inbox,
    )


@router.post(
    "",
    response_model=AccountChangeAccepted,
    status_code=201,
    summary="A RAM/NAM asks to add or remove accounts of a national/regional account",
    responses={
        403: {"model": ErrorBody, "description": "only an account manager (RAM/NAM) asks"},
        409: {"model": ErrorBody, "description": "a request with this id already exists"},
    },
)
async def request_change(
    request: Request,
    body: NewAccountChange,
    actor: Annotated[Actor, Depends(require(Role.ACCOUNT_MANAGER))],
) -> AccountChangeAccepted:
    settings: Settings = request.app.state.settings
    request_id = body.request_id or f"AC-{uuid.uuid4().hex[:10].upper()}"
    wid = workflow_id(request_id)
    change = AccountChangeRequest.model_validate(body.model_dump(exclude={"request_id"}))
    try:
        with workflow_errors(wid):
            await request.app.state.temporal.start_workflow(
                AccountChangeWorkflow.run,
                StartAccountChange(
                    request_id=request_id,
                    request=change,
                    requested_by=actor,
                    policy=account_change_policy(settings),
                ),
                id=wid,
                task_queue=settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(search.ACCOUNT_NUMBER, change.national_account),
                        SearchAttributePair(search.ACCOUNT_MANAGER, actor.person_id),
                        SearchAttributePair(search.REQUEST_KIND, change.kind),
                    ]
                ),
                static_summary=f"Account change {request_id}: {change.summary()}",
                static_details=f"Requested by {actor.person_id}: {change.comment}\n"
                f"Accounts: {', '.join(change.accounts)}",
            )
    except WorkflowAlreadyStartedError:
        raise ApiError(
            409, f"account-change request {request_id} already exists", "Conflict"
        ) from None
    return AccountChangeAccepted(
        request_id=request_id, workflow_id=wid, href=f"/account-changes/{request_id}"
    )


@router.get(
    "",
    response_model=list[AccountChangeItem],
    summary="Account-change requests, most recently changed first",
)
async def list_changes(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    status: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_]+$")] = None,
    national_account: Annotated[
        str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[AccountChangeItem]:
    async with request.app.state.pool.acquire() as conn:
        rows = await read_model.list_records(
            conn,
            "account_change",
            account_number=national_account,
            status=status,
            limit=limit,
            offset=offset,
            access=await policy.access(request, actor, "GET", "/account-changes"),
        )
    return [
        AccountChangeItem(
            request_id=r["business_key"] or re.sub("^account-change-", "", r["workflow_id"]),
            workflow_id=r["workflow_id"],
            status=r["status"],
            national_account=r["account_number"],
            summary=r["summary"],
            assignee=r["assignee"],
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )
        for r in rows
    ]


@router.get(
    "/{request_id}",
    response_model=AccountChangeDetail,
    summary="One request: where it is, who has it, and its history",
    responses={404: {"model": ErrorBody, "description": "no such request"}},
)
async def get_change(
    request: Request, request_id: RequestId, actor: Annotated[Actor, Depends(current_actor)]
) -> AccountChangeDetail:
    wid = workflow_id(request_id)
    async with request.app.state.pool.acquire() as conn:
        record = await read_model.get_record(conn, wid)
        if record is None or record["kind"] != "account_change":
            raise ApiError(404, f"no account-change request {request_id}", "NotFound")
        trail = await read_model.audit_trail(conn, wid)
        tasks = await conn.fetch(
            """SELECT task_id, kind, role, assignee, queue, due_at, payload
                 FROM human_tasks WHERE workflow_id = $1 AND closed_at IS NULL
                ORDER BY opened_at""",
            wid,
        )
    return AccountChangeDetail(
        request_id=request_id,
        workflow_id=wid,
        status=record["status"],
        request=record["view"] or {},
        open_tasks=[dict(t) for t in tasks],
        history=[
            HistoryEntry(
                at=e["at"],
                actor=e["actor"],
                action=e["action"],
                from_status=e["from_status"],
                to_status=e["to_status"],
                comment=e["comment"],
            )
            for e in trail
        ],
    )


@router.post(
    "/{request_id}/discrepancies",
    response_model=Discrepancy,
    status_code=201,
    summary="A billing or accounting discrepancy: an IM task; the request holds until resolved",
    responses={
        202: {"model": Processing, "description": "taken, still being recorded: read href"},
        403: {"model": ErrorBody, "description": "not one who works the request"},
        404: {"model": ErrorBody, "description": "no such request"},
        409: {"model": ErrorBody, "description": "the request is closed"},
    },
)
async def report_discrepancy(
    request: Request,
    request_id: RequestId,
    body: NewDiscrepancy,
    actor: Annotated[Actor, Depends(current_actor)],
) -> Discrepancy | JSONResponse:
    found = await run_update(
        request,
        await known(request, request_id),
        "report_discrepancy",
        ReportDiscrepancy(kind=body.kind, description=body.description, actor=actor),
        Discrepancy,
    )
    if found is not None:
        return found
    # Taken (a 503 would invite a second discrepancy): its outcome is on the request.
    taken = Processing(request_id=request_id, href=f"/account-changes/{request_id}")
    return JSONResponse(taken.model_dump(mode="json"), status_code=202)


@router.post(
    "/{request_id}/inventory-loading",
    status_code=202,
    summary="Inventory loading for a bid began: the SSM is told which inventory is involved",
    responses={
        403: {"model": ErrorBody, "description": "the IM or a system reports it"},
        404: {"model": ErrorBody, "description": "no such request"},
    },
)
async def inventory_loading(
    request: Request,
    request_id: RequestId,
    body: InventoryEvent,
    actor: Annotated[
        Actor, Depends(require(Role.IMPLEMENTATION_MANAGER, Role.SYSTEM, Role.OPERATOR))
    ],
) -> dict[str, str]:
    wid = await known(request, request_id)
    handle = request.app.state.temporal.get_workflow_handle(wid)
    with workflow_errors(wid):
        await handle.signal(
            AccountChangeWorkflow.inventory_loading,
            InventoryLoading(bid=body.bid, inventory=body.inventory, actor=actor),
        )
    return {"status": "accepted", "href": f"/account-changes/{request_id}"}
