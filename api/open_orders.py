"""Open sales orders: intake (the ERP, or its bulk import), the OOM work lists,
one order's record, and the agents' and the store's moves (each an Update of
the order's workflow: wrong role 403, wrong state 409, no comment 422)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, computed_field

from activities.open_orders import Conflict, start_open_order
from api import consistency, policy
from api.auth import current_actor, require
from api.errors import ApiError, ErrorBody
from api.paging import Limit, Offset
from api.params import is_id, shown
from api.temporal_calls import run_update, workflow_errors
from db import open_orders as db
from domain.dates import BusinessDate, DateOrMoment, Moment
from domain.identity import Actor, Role
from domain.open_order.models import (
    AppointmentKind,
    BookAppointment,
    Channel,
    LogContact,
    MoveResult,
    OpenOrder,
    OpenOrderStatus,
    OpenOrderView,
    OrderCode,
    Outcome,
    Phone,
    Resolution,
    ResolveCwc,
    SetCode,
    StatusCode,
)
from domain.open_order.models import Comment as Text
from workflows.open_order import OpenOrderWorkflow

router = APIRouter(prefix="/open-orders", tags=["open orders"])
OPEN_ORDER_ID = r"^open-order-[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
QUERY_TIMEOUT = timedelta(seconds=10)


def open_order_href(workflow_id: str) -> str:
    return f"/open-orders/{workflow_id}"


class OpenOrderAccepted(BaseModel):
    open_order_id: str
    created: bool = Field(description="false when this sales order was already received")

    @computed_field(description="the order's URL path")
    @property
    def href(self) -> str:
        return open_order_href(self.open_order_id)


@router.post(
    "",
    response_model=OpenOrderAccepted,
    status_code=201,
    summary="Receive an open sales order (idempotent by sales order number)",
    responses={
        200: {"model": OpenOrderAccepted, "description": "already received, same content"},
        403: {"model": ErrorBody, "description": "only a system key"},
        409: {"model": ErrorBody, "description": "received before with other content"},
    },
)
async def receive_open_order(
    request: Request,
    order: OpenOrder,
    actor: Annotated[Actor, Depends(require(Role.SYSTEM))],
) -> OpenOrderAccepted | JSONResponse:
    """Starts `open-order-{sales_order}`: 201; the same order again answers 200
    with the running one; the same number with other content is a 409. The
    store must be one sopflow knows (its calendar times the order's rules)."""
    async with request.app.state.pool.acquire() as conn:
        calendar = await db.store_calendar(conn, order.store_id)
    if calendar is None:
        raise ApiError(422, f"unknown store {order.store_id}", "UnknownStore")
    try:
        created = await start_open_order(
            request.app.state.temporal, request.app.state.settings, order, calendar, actor
        )
    except Conflict as err:
        raise ApiError(409, str(err), "DuplicateSalesOrder") from None
    accepted = OpenOrderAccepted(open_order_id=order.workflow_id, created=created)
    if created:
        return accepted
    return JSONResponse(accepted.model_dump(mode="json"), status_code=200)


# ------------------------------------------------------------------ reads
class OpenOrderItem(BaseModel):
    open_order_id: str
    sales_order: str
    store_id: str
    status: str
    delivery_status: str
    code: str | None
    contact_status: str | None
    contact_date: datetime | None
    ship_date: date | None
    next_action: str
    next_action_due: datetime | None
    assignee: str | None
    updated_at: datetime

    @computed_field(description="the order's URL path")
    @property
    def href(self) -> str:
        return open_order_href(self.open_order_id)


class OpenOrderList(BaseModel):
    items: list[OpenOrderItem]
    next_offset: int | None


@router.get("", response_model=OpenOrderList, summary="Work lists of open orders")
async def list_open_orders(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    contact_status: Annotated[
        OpenOrderStatus | None, Query(description="the order's status (its ContactStatus)")
    ] = None,
    store: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,20}$")] = None,
    code: OrderCode | None = None,
    contact_due_today: Annotated[
        bool, Query(description="the contact date (next follow-up) is today or earlier")
    ] = False,
    past_due_ship_date: Annotated[
        bool, Query(description="the ship date (appointment, else ATP) has passed")
    ] = False,
    cwc: Annotated[bool, Query(description="trouble orders only (status cwc)")] = False,
    include_closed: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OpenOrderList:
    """From the read model, soonest next action first. Dates are UTC days."""
    if cwc and contact_status not in (None, OpenOrderStatus.CWC):
        raise ApiError(422, "cwc=true lists status cwc only", "InvalidFilter")
    now = datetime.now(UTC)
    end_of_today = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
    start_of_today = datetime.combine(now.date(), datetime.min.time(), UTC)
    status = OpenOrderStatus.CWC if cwc else contact_status
    async with request.app.state.pool.acquire() as conn:
        rows = await db.work_list(
            conn,
            status=status.value if status else None,
            store_id=store,
            code=code.value if code else None,
            contact_due_before=end_of_today if contact_due_today else None,
            ship_date_before=start_of_today if past_due_ship_date else None,
            include_closed=include_closed,
            limit=limit + 1,
            offset=offset,
            access=await policy.access(request, actor, "GET", "/open-orders"),
        )
    items = [_item(r) for r in rows[:limit]]
    return OpenOrderList(items=items, next_offset=offset + limit if len(rows) > limit else None)


def _item(row: Any) -> OpenOrderItem:
    view = row["view"] or {}
    return OpenOrderItem(
        open_order_id=row["workflow_id"],
        sales_order=row["business_key"],
        store_id=view.get("store_id", ""),
        status=row["status"],
        delivery_status=view.get("delivery_status", ""),
        code=view.get("code"),
        contact_status=view.get("contact_status"),
        contact_date=view.get("contact_date"),
        ship_date=view.get("ship_date"),
        next_action=view.get("next_action", ""),
        next_action_due=view.get("next_action_due"),
        assignee=row["assignee"],
        updated_at=row["updated_at"],
    )


def _check_id(open_order_id: str) -> None:
    if not is_id(open_order_id, OPEN_ORDER_ID):
        raise ApiError(
            404,
            f"{shown(open_order_id)} is not an open order id (open-order-<sales order>)",
            "NotFound",
        )


@router.get(
    "/{open_order_id}",
    response_model=OpenOrderView,
    summary="One open order: its record, every contact attempt and the audit comments log",
    responses={404: {"model": ErrorBody, "description": "no such open order"}},
)
async def get_open_order(
    request: Request, open_order_id: str, _: Annotated[Actor, Depends(current_actor)]
) -> OpenOrderView:
    _check_id(open_order_id)
    view = await consistency.current_view(
        request.app.state.pool,
        request.app.state.temporal,
        open_order_id,
        view_query=OpenOrderWorkflow.view,
    )
    if view is not None:
        return OpenOrderView.model_validate(view)
    handle = request.app.state.temporal.get_workflow_handle(open_order_id)
    with workflow_errors(open_order_id):
        return await handle.query(OpenOrderWorkflow.view, rpc_timeout=QUERY_TIMEOUT)


# ------------------------------------------------------------------ moves
class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    phone: Phone | None = Field(default=None, description="a number in the guest's file")
    outcome: Outcome
    at: Moment = Field(
        description="when the attempt was made (not in the future), with its UTC offset"
    )
    contact_status: StatusCode = Field(description="the contact status code it leaves")
    next_contact_date: DateOrMoment | None = Field(
        default=None,
        description="the follow-up: a day (from the store's opening time that day, in the "
        "store's time zone) or a time with its UTC offset",
    )
    comment: Text = Field(default="", description="the audit comment (required)")


class AppointmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: AppointmentKind
    window_start: Moment
    window_end: Moment
    comment: Text = ""


class CodeIn(BaseModel):
    """`{"code": "HOLD", ...}` sets a code; `{"code": null, ...}` clears it."""

    model_config = ConfigDict(extra="forbid")

    code: OrderCode | None
    comment: Text = ""


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Resolution
    comment: Text = ""
    atp_date: BusinessDate | None = Field(default=None, description="a replacement's ATP date")


class MoveProcessing(BaseModel):
    status: str = "processing"
    open_order_id: str
    href: str


_MOVE_RESPONSES: dict[int | str, dict] = {
    202: {"model": MoveProcessing, "description": "taken, still being recorded"},
    403: {"model": ErrorBody, "description": "this role may not make the move"},
    404: {"model": ErrorBody, "description": "no such open order"},
    409: {"model": ErrorBody, "description": "not in a state that allows it"},
    422: {"model": ErrorBody, "description": "no comment, or the move is invalid"},
}


async def _move(
    request: Request, open_order_id: str, update: str, arg: BaseModel
) -> MoveResult | JSONResponse:
    _check_id(open_order_id)
    result = await run_update(request, open_order_id, update, arg, MoveResult)
    if result is not None:
        return result
    body = MoveProcessing(open_order_id=open_order_id, href=open_order_href(open_order_id))
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


@router.post(
    "/{open_order_id}/contacts",
    response_model=MoveResult,
    summary="Log a contact attempt (OOM agent; the store manager once CWC)",
    responses=_MOVE_RESPONSES,
)
async def log_contact(
    request: Request,
    open_order_id: str,
    body: ContactIn,
    actor: Annotated[Actor, Depends(require(Role.OOM_AGENT, Role.STORE_MANAGER))],
) -> MoveResult | JSONResponse:
    return await _move(
        request, open_order_id, "log_contact", LogContact(actor=actor, **body.model_dump())
    )


@router.post(
    "/{open_order_id}/appointments",
    response_model=MoveResult,
    summary="Book the delivery, pickup or transfer (OOM agent)",
    responses=_MOVE_RESPONSES,
)
async def book_appointment(
    request: Request,
    open_order_id: str,
    body: AppointmentIn,
    actor: Annotated[Actor, Depends(require(Role.OOM_AGENT))],
) -> MoveResult | JSONResponse:
    move = BookAppointment(actor=actor, **body.model_dump())
    return await _move(request, open_order_id, "book_appointment", move)


@router.post(
    "/{open_order_id}/codes",
    response_model=MoveResult,
    summary="Set or clear the order's code: HOLD, BALDUE, CANCEL, SVC (OOM agent)",
    responses=_MOVE_RESPONSES,
)
async def set_code(
    request: Request,
    open_order_id: str,
    body: CodeIn,
    actor: Annotated[Actor, Depends(require(Role.OOM_AGENT))],
) -> MoveResult | JSONResponse:
    return await _move(
        request, open_order_id, "set_code", SetCode(actor=actor, **body.model_dump())
    )


@router.post(
    "/{open_order_id}/resolutions",
    response_model=MoveResult,
    summary="Resolve a CWC order: reschedule, cancel, refund or replace (store manager)",
    responses=_MOVE_RESPONSES,
)
async def resolve_cwc(
    request: Request,
    open_order_id: str,
    body: ResolutionIn,
    actor: Annotated[Actor, Depends(require(Role.STORE_MANAGER))],
) -> MoveResult | JSONResponse:
    return await _move(
        request, open_order_id, "resolve_cwc", ResolveCwc(actor=actor, **body.model_dump())
    )
