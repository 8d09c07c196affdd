"""Customer Specific Requirement cases: registration, edits, moves, reads, and
the approver rules per business unit. Moves and edits run the case workflow's
Updates, whose validators refuse the wrong person, status or content."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
)

from api import consistency, policy
from api.auth import current_actor, require
from api.errors import ApiError, ErrorBody, reasons
from api.paging import Limit, Offset
from api.params import ShortTextQuery, is_id, shown
from api.temporal_calls import run_update, unavailable, workflow_errors
from db import csr as csr_db
from db import reference
from domain import search
from domain.business_days import BusinessCalendar
from domain.csr import moves as rules
from domain.csr.models import (
    CsrEdit,
    CsrHistory,
    CsrMove,
    CsrStatus,
    CsrView,
    EditCase,
    Registration,
    csr_workflow_id,
)
from domain.csr.state import CsrPolicy, StartCsr
from domain.identity import Actor, Role
from domain.text import OptionalComment, text
from sopflow.config import Settings
from workflows.csr import CsrWorkflow

router = APIRouter(prefix="/csrs", tags=["csrs"])
rules_router = APIRouter(prefix="/csr-approver-rules", tags=["csrs"])
CSR_ID = r"^csr-[0-9]{6,}$"
QUERY_TIMEOUT = timedelta(seconds=10)
_TEXT = r"^[^\x00-\x1f\x7f]+$"


def csr_href(csr_id: str) -> str:
    return f"/csrs/{csr_id}"


def csr_policy(settings: Settings) -> CsrPolicy:
    return CsrPolicy(
        activity_timeout=settings.activity_timeout,
        max_retry_interval=settings.activity_max_retry_interval,
        outage_after=settings.outage_detect_after,
        sync_patience=settings.read_model_patience,
        sync_catch_up_every=settings.read_model_catch_up_every,
        due_business_days=settings.csr_due_business_days,
        remind_every_business_days=settings.csr_remind_every_business_days,
        escalate_after_business_days=settings.csr_escalate_after_business_days,
        calendar=BusinessCalendar(
            country=settings.csr_holiday_country,
            subdivision=settings.csr_holiday_subdivision,
            timezone=settings.csr_timezone,
            extra_holidays=settings.csr_extra_holidays,
        ),
        case_url_base=settings.api_url,
    )


class CsrCreated(BaseModel):
    csr_id: str
    created: bool = Field(description="false when this Idempotency-Key already registered it")

    @computed_field(description="the case's URL path")
    @property
    def href(self) -> str:
        return csr_href(self.csr_id)


class CsrListItem(BaseModel):
    csr_id: str
    status: str
    account_number: str | None
    business_unit: str | None
    title: str | None
    summary: str
    assignee: str | None = Field(description="who holds the current step")
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @computed_field(description="the case's URL path")
    @property
    def href(self) -> str:
        return csr_href(self.csr_id)


class CsrList(BaseModel):
    items: list[CsrListItem]
    next_offset: int | None


class CsrProcessing(BaseModel):
    """Taken by the case, not finished within the update wait: read the case."""

    status: Literal["processing"] = "processing"
    csr_id: str
    href: str


def _check_id(csr_id: str) -> None:
    if not is_id(csr_id, CSR_ID, max_length=40):
        raise ApiError(404, f"{shown(csr_id)} is not a CSR id (csr-<case number>)", "NotFound")


def _processing(csr_id: str) -> JSONResponse:
    body = CsrProcessing(csr_id=csr_id, href=csr_href(csr_id))
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


_REFUSALS: dict[int | str, dict] = {
    202: {"model": CsrProcessing, "description": "taken, still being applied"},
    403: {"model": ErrorBody, "description": "not this person's move"},
    404: {"model": ErrorBody, "description": "no such case"},
    409: {"model": ErrorBody, "description": "the case is not in a status that allows it"},
    422: {"model": ErrorBody, "description": "a field is missing or the case lacks something"},
}


# ------------------------------------------------------------ registration


@router.post(
    "",
    response_model=CsrCreated,
    status_code=201,
    summary="Register a Customer Specific Requirement (starts its case in registration)",
    responses={
        200: {"model": CsrCreated, "description": "already registered with this Idempotency-Key"},
        422: {"model": ErrorBody, "description": "unknown account, unit or person"},
    },
)
async def register_csr(
    request: Request,
    body: Registration,
    actor: Annotated[Actor, Depends(require(Role.SALES_REP))],
    idempotency_key: Annotated[
        str | None,
        Header(max_length=200, pattern=_TEXT, description="a resend with it gets the same case"),
    ] = None,
) -> CsrCreated | JSONResponse:
    settings: Settings = request.app.state.settings
    async with request.app.state.pool.acquire() as conn:
        account_name = await reference.account_name(conn, body.account_number)
        if account_name is None:
            raise ApiError(422, f"account {body.account_number} does not exist", "UnknownAccount")
        if not await csr_db.business_unit_has_rules(conn, body.business_unit):
            raise ApiError(
                422,
                f"business unit {body.business_unit!r} has no CSR approver rules "
                "(GET /csr-approver-rules)",
                "UnknownBusinessUnit",
            )
        team = sorted({m.person_id for m in body.case_team})
        known = {r["person_id"] for r in await csr_db.people(conn, [actor.person_id, *team])}
        unknown = [p for p in team if p not in known]
        if unknown:
            raise ApiError(422, f"not in the directory: {', '.join(unknown)}", "UnknownPerson")
        owner = await csr_db.people(conn, [actor.person_id])
        number, created = await csr_db.new_case_number(conn, actor.person_id, idempotency_key)
    csr_id = csr_workflow_id(number)
    start = StartCsr(
        case_number=number,
        registration=body,
        registered_by=actor,
        owner_email=owner[0]["email"] if owner else "",
        policy=csr_policy(settings),
    )
    with workflow_errors(csr_id):
        try:
            async with asyncio.timeout(settings.update_wait.total_seconds()):
                await request.app.state.temporal.start_workflow(
                    CsrWorkflow.run,
                    start,
                    id=csr_id,
                    task_queue=settings.task_queue,
                    # A registration resent with its key is the same case.
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    search_attributes=TypedSearchAttributes(
                        [
                            SearchAttributePair(search.ACCOUNT_NUMBER, body.account_number),
                            SearchAttributePair(search.BUSINESS_UNIT, body.business_unit),
                            SearchAttributePair(search.CSR_STATUS, CsrStatus.REGISTRATION.value),
                        ]
                    ),
                    static_summary=f"CSR {number:06d} · {body.title} · {account_name} "
                    f"({body.account_number}) · {body.business_unit}",
                    static_details=_static_details(number, body, actor, account_name),
                )
        except TimeoutError:
            raise unavailable(csr_id) from None
    answer = CsrCreated(csr_id=csr_id, created=created)
    headers = {"Location": answer.href}
    return JSONResponse(answer.model_dump(mode="json"), 201 if created else 200, headers=headers)


def _static_details(number: int, body: Registration, actor: Actor, account_name: str) -> str:
    rows = [
        f"**CSR {number:06d}: {body.title}**",
        f"Account: {account_name} ({body.account_number}) · business unit {body.business_unit}",
        f"Registered by: {actor.person_id}",
        f"Main shipping site: {body.main_shipping_site}",
        "",
        body.description[:1500],
    ]
    return "\n".join(rows)


# ------------------------------------------------------------------ reads


@router.get("", response_model=CsrList, summary="List CSR cases from the read model")
async def list_csrs(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    status: CsrStatus | None = None,
    business_unit: ShortTextQuery = None,
    account: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.]+$")] = None,
    assignee: ShortTextQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CsrList:
    """Newest change first. `assignee`: a person holding one of the case's open
    tasks (its step, a feedback request, an escalation)."""
    async with request.app.state.pool.acquire() as conn:
        rows = await csr_db.list_csrs(
            conn,
            status=status.value if status else None,
            business_unit=business_unit,
            account_number=account,
            assignee=assignee,
            limit=limit + 1,
            offset=offset,
            access=await policy.access(request, actor, "GET", "/csrs"),
        )
    items = [
        CsrListItem(
            csr_id=r["workflow_id"],
            status=r["status"],
            account_number=r["account_number"],
            business_unit=r["business_unit"],
            title=r["title"],
            summary=r["summary"],
            assignee=r["assignee"],
            due_at=r["due_at"],
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )
        for r in rows[:limit]
    ]
    return CsrList(items=items, next_offset=offset + limit if len(rows) > limit else None)


async def _view(request: Request, csr_id: str) -> CsrView:
    _check_id(csr_id)
    view = await consistency.current_view(
        request.app.state.pool, request.app.state.temporal, csr_id, view_query=CsrWorkflow.view
    )
    if view is not None:
        return CsrView.model_validate(view)
    handle = request.app.state.temporal.get_workflow_handle(csr_id)
    with workflow_errors(csr_id):
        return await handle.query(CsrWorkflow.view, rpc_timeout=QUERY_TIMEOUT)


@router.get(
    "/{csr_id}",
    response_model=CsrView,
    summary="A case's whole record: registration, step, feedback, tasks, histories, audit",
    responses={404: {"model": ErrorBody, "description": "no such case"}},
)
async def get_csr(
    request: Request, csr_id: str, _: Annotated[Actor, Depends(current_actor)]
) -> CsrView:
    return await _view(request, csr_id)


@router.get(
    "/{csr_id}/history",
    response_model=CsrHistory,
    summary="A case's approval history and case history (every field and status change)",
    responses={404: {"model": ErrorBody, "description": "no such case"}},
)
async def get_csr_history(
    request: Request, csr_id: str, _: Annotated[Actor, Depends(current_actor)]
) -> CsrHistory:
    view = await _view(request, csr_id)
    return CsrHistory(
        csr_id=view.csr_id,
        approval_history=view.approval_history,
        case_history=view.case_history,
    )


# ------------------------------------------------------------ edits, moves


@router.patch(
    "/{csr_id}",
    response_model=CsrView,
    summary="Edit the case while in registration (its owner or case team)",
    responses=_REFUSALS,
)
async def edit_csr(
    request: Request,
    csr_id: str,
    body: CsrEdit,
    actor: Annotated[Actor, Depends(current_actor)],
) -> CsrView | JSONResponse:
    """409 once submitted (the case is locked from pending pre-approval on)."""
    _check_id(csr_id)
    if body.case_team:
        team = sorted({m.person_id for m in body.case_team})
        async with request.app.state.pool.acquire() as conn:
            known = {r["person_id"] for r in await csr_db.people(conn, team)}
        if unknown := [p for p in team if p not in known]:
            raise ApiError(422, f"not in the directory: {', '.join(unknown)}", "UnknownPerson")
    view = await run_update(request, csr_id, "edit", EditCase(actor=actor, changes=body), CsrView)
    return view if view is not None else _processing(csr_id)


MoveName = text(100, min_length=1)


class MoveIn(BaseModel):
    """`{"move": "<name>", "comment": "...", ...the move's fields}`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"move": "submit"},
                {"move": "request_feedback", "parties": ["john.smith"], "comment": "lead time?"},
                {"move": "give_feedback", "feasible": True, "comment": "fine for us"},
                {"move": "conclude", "conclusion": "Feasible with a 4-week lead time"},
                {"move": "reject", "comment": "not for this customer"},
            ]
        },
    )

    move: MoveName = Field(description=f"one of: {', '.join(rules.FIELDS)}")
    comment: OptionalComment | None = None


@router.post(
    "/{csr_id}/moves",
    response_model=CsrView,
    summary="Make a move on the case; answers the case's new state",
    responses=_REFUSALS,
)
async def move_csr(
    request: Request,
    csr_id: str,
    body: Annotated[MoveIn, Body()],
    actor: Annotated[Actor, Depends(current_actor)],
) -> CsrView | JSONResponse:
    """The same moves a step's task takes as decisions. 403 not this person's
    (or role's) move; 409 not in this status; 422 a missing comment or field,
    or what the case still lacks (a related product, the conclusion, open
    implementation tasks), with the reason."""
    _check_id(csr_id)
    model = rules.FIELDS.get(body.move)
    if model is None:
        raise ApiError(
            422, f"no move {body.move!r} (one of {', '.join(rules.FIELDS)})", "InvalidMove"
        )
    fields: dict[str, Any] = dict(body.model_extra or {})
    if body.comment is not None:
        fields["comment"] = body.comment
    try:
        checked = model.model_validate(fields)
    except ValidationError as err:
        if all(
            e["loc"] == ("comment",) and e["type"] in ("missing", "string_too_short")
            for e in err.errors()
        ):
            raise ApiError(
                422, f"{body.move.replace('_', ' ')} needs a comment", "CommentRequired"
            ) from None
        why = reasons(err.errors(), extra="not a field of this move")
        raise ApiError(422, f"{body.move}: {why}", "InvalidMove") from None
    move = CsrMove(
        move=body.move,
        actor=actor,
        comment=checked.comment,
        fields=checked.model_dump(mode="json"),
    )
    view = await run_update(request, csr_id, "move", move, CsrView)
    return view if view is not None else _processing(csr_id)


# ---------------------------------------------------------- approver rules


class RulePerson(BaseModel):
    person_id: str
    name: str
    email: str


class ApproverRules(BaseModel):
    business_unit: str
    steps: dict[str, list[RulePerson]] = Field(
        description="pre_approval, assessment, final_approval, implementation, sales_manager: "
        "the people who may act (any one of them)"
    )


@rules_router.get(
    "",
    response_model=list[ApproverRules],
    summary="Who pre-approves, assesses, approves and implements CSRs, per business unit",
    responses={404: {"model": ErrorBody, "description": "no rules for this business unit"}},
)
async def approver_rules(
    request: Request,
    _: Annotated[Actor, Depends(current_actor)],
    business_unit: ShortTextQuery = None,
) -> list[ApproverRules]:
    async with request.app.state.pool.acquire() as conn:
        rows = await csr_db.approver_rules(conn, business_unit)
    if business_unit is not None and not rows:
        raise ApiError(
            404, f"no CSR approver rules for business unit {business_unit!r}", "NotFound"
        )
    units: dict[str, dict[str, list[RulePerson]]] = {}
    for r in rows:
        steps = units.setdefault(r["business_unit"], {})
        steps.setdefault(r["step"], []).append(
            RulePerson(person_id=r["person_id"], name=r["name"], email=r["email"])
        )
    return [ApproverRules(business_unit=bu, steps=steps) for bu, steps in units.items()]
