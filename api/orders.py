"""PunchOut orders: intake (cXML or JSON), reads, and shipment reports."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
)
from temporalio.client import (
    Client,
    WorkflowHandle,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from api import consistency, policy
from api.auth import current_actor, require
from api.errors import ApiError, ErrorBody, cxml_response, wants_cxml
from api.order_documents import keep_received
from api.paging import Limit, Offset
from api.params import is_id, shown
from api.temporal_calls import run_update, unavailable, workflow_errors
from db import read_model, reference
from db.keys import UNKNOWN_SECRET_HASH, key_may_submit_for, shared_secret_matches
from domain import search
from domain.identity import Actor, Role
from domain.order import delivery
from domain.order.cxml import CxmlError, CxmlOrderRequest, parse_order_request
from domain.order.models import (
    BuyerCancel,
    BuyerChange,
    BuyerChangeResult,
    CarrierText,
    EditLine,
    EditRequest,
    ErrorCategory,
    ErrorFlag,
    FlagError,
    Identifier,
    Invoice,
    OrderStatus,
    OrderView,
    Platform,
    ProofOfDelivery,
    PurchaseOrder,
    RequestEdit,
    Shipment,
    ShipmentLine,
    ShipmentReport,
)
from domain.order.state import OrderPolicy, StartOrder
from domain.text import Comment
from sopflow.config import Settings
from workflows.order import OrderWorkflow

router = APIRouter(prefix="/orders", tags=["orders"])
# order-{account}-{po}: a PO number holds any printable text (see PurchaseOrder).
ORDER_ID = r"^order-[A-Za-z0-9_.]+-[^\x00-\x1f\x7f]+$"
QUERY_TIMEOUT = timedelta(seconds=10)
# Paging deeper than this is a mistake (and past int64 a database error).


def order_href(order_id: str) -> str:
    """The order's URL path. PO numbers may hold / # ? % and spaces, so the id is
    percent-encoded whole; the same encoding makes a valid X-Order-Id header."""
    return f"/orders/{quote(order_id, safe='')}"


class OrderAccepted(BaseModel):
    order_id: str
    created: bool = Field(description="false when this PO was already received")

    @computed_field(description="the order's URL path (its id percent-encoded)")
    @property
    def href(self) -> str:
        return order_href(self.order_id)


class OrderListItem(BaseModel):
    order_id: str
    status: str
    account_number: str | None
    po_number: str | None
    summary: str
    assignee: str | None
    due_at: datetime | None
    test: bool
    updated_at: datetime

    @computed_field(description="the order's URL path (its id percent-encoded)")
    @property
    def href(self) -> str:
        return order_href(self.order_id)


class OrderList(BaseModel):
    items: list[OrderListItem]
    next_offset: int | None


class ShipmentIn(BaseModel):
    shipment_id: Identifier | None = Field(
        default=None,
        description="the branch's delivery reference; resending the same id is safe",
    )
    lines: list[ShipmentLine] = Field(min_length=1, max_length=1000)
    proof_of_delivery: ProofOfDelivery
    carrier: CarrierText | None = Field(default=None, description="who carries it (UPS, own truck)")
    tracking_number: CarrierText | None = Field(
        default=None, description="the carrier's tracking number"
    )

    def to_shipment(self) -> Shipment:
        content = self.model_dump(exclude={"shipment_id"})
        if content["tracking_number"] is None:
            # Reports without one keep the id they were derived before it existed.
            del content["tracking_number"]
        return Shipment(
            shipment_id=self.shipment_id or delivery.derived_shipment_id(content), **content
        )


def order_policy(settings: Settings) -> OrderPolicy:
    return OrderPolicy(
        sla=settings.order_sla,
        activity_timeout=settings.activity_timeout,
        max_retry_interval=settings.activity_max_retry_interval,
        outage_after=settings.outage_detect_after,
        sync_patience=settings.read_model_patience,
        sync_catch_up_every=settings.read_model_catch_up_every,
        csc_inbox=settings.csc_inbox,
        buyer_document_patience=settings.buyer_document_patience,
    )


async def start_order(
    client: Client, settings: Settings, order: PurchaseOrder, actor: Actor, account_name: str
) -> OrderAccepted:
    """Start the order's workflow once; a resent identical PO answers with the
    existing workflow, a different one under the same PO number is a conflict."""
    content_hash = order.content_hash()
    try:
        await client.start_workflow(
            OrderWorkflow.run,
            StartOrder(order=order, policy=order_policy(settings), submitted_by=actor),
            id=order.workflow_id,
            task_queue=settings.task_queue,
            # A failed order may be sent again; any other is the same order forever.
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search.ACCOUNT_NUMBER, order.account_number),
                    SearchAttributePair(search.PO_NUMBER, order.po_number),
                    SearchAttributePair(search.ORDER_STATUS, OrderStatus.RECEIVED.value),
                ]
            ),
            memo={"content_hash": content_hash},
            static_summary=order.summary(account_name),
            static_details=_static_details(order, account_name, actor),
        )
        return OrderAccepted(order_id=order.workflow_id, created=True)
    except WorkflowAlreadyStartedError:
        described = await client.get_workflow_handle(order.workflow_id).describe()
        if await described.memo_value("content_hash", None) == content_hash:
            return OrderAccepted(order_id=order.workflow_id, created=False)
        raise ApiError(
            409,
            f"PO {order.po_number} of account {order.account_number} was already received "
            f"with different content ({order.workflow_id})",
            "DuplicatePo",
        ) from None


def _static_details(order: PurchaseOrder, account_name: str, actor: Actor) -> str:
    rows = [
        f"**PO {order.po_number}** from {account_name or 'unknown account'} ({order.account_number})",
        f"Ship to: {order.ship_to.address_id} {order.ship_to.name}".rstrip(),
        f"Submitted by: {actor.person_id}" + (" · **test order**" if order.test else ""),
        "",
        "| line | part | qty | uom | price |",
        "|---|---|---|---|---|",
    ]
    for line in order.lines[:50]:
        part = line.supplier_part_id or line.customer_part_number
        rows.append(
            f"| {line.line_number} | {part} | {line.quantity} | {line.uom} | {line.unit_price} |"
        )
    return "\n".join(rows)


async def _cxml_buyer(request: Request, doc: CxmlOrderRequest) -> str:
    """The account a cXML document is from: the first of its From credentials that
    names an account, whose shared secret the Sender must present. One secret
    check per document, off the event loop (scrypt takes tens of milliseconds).
    Every failure reads the same, and takes as long, so the answer tells nobody
    which credentials exist."""
    secret = doc.sender.shared_secret or ""
    found = None
    async with request.app.state.pool.acquire() as conn:
        for credential in doc.from_credentials or [doc.from_credential]:
            found = await reference.account_for_credential(
                conn, credential.domain, credential.identity
            )
            if found:
                break
    stored = found["secret_hash"] if found else UNKNOWN_SECRET_HASH
    if await asyncio.to_thread(shared_secret_matches, secret, stored) and found:
        return found["account_number"]
    raise ApiError(401, "buyer credential or shared secret not recognised", "Unauthorized")


async def _check_key_binding(request: Request, account_number: str) -> None:
    """A system key submits only for the accounts it is bound to (itself or
    through its integration), whatever the format of the order."""
    async with request.app.state.pool.acquire() as conn:
        bound = await key_may_submit_for(conn, request.state.api_key_hash, account_number)
    if not bound:
        raise ApiError(
            403, f"this API key may not submit orders for account {account_number}", "Forbidden"
        )


_ORDER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PurchaseOrder"}},
            "text/xml": {"schema": {"type": "string", "description": "cXML OrderRequest"}},
        },
    }
}


@router.post(
    "",
    response_model=OrderAccepted,
    status_code=202,
    openapi_extra=_ORDER_BODY,
    summary="Submit a purchase order (cXML OrderRequest or JSON)",
    responses={
        200: {
            "description": "a cXML OrderRequest's answer: a cXML Response (so are its errors)",
            "content": {"text/xml": {"schema": {"type": "string"}}},
        },
        403: {"model": ErrorBody, "description": "the key is not bound to the order's account"},
        409: {"model": ErrorBody, "description": "same PO already received with other content"},
        413: {"model": ErrorBody, "description": "the document is too large"},
        415: {"model": ErrorBody, "description": "neither cXML nor JSON"},
    },
)
async def submit_order(
    request: Request,
    response: Response,
    actor: Annotated[Actor, Depends(require(Role.SYSTEM))],
) -> Response | OrderAccepted:
    # Limited while it is read, by the edge (SOPFLOW_MAX_CXML_BYTES, _JSON_BYTES).
    body = await request.body()
    if wants_cxml(request):
        return await _submit_cxml(request, body, actor)
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("application/json"):
        raise ApiError(
            415, "send a cXML OrderRequest (text/xml) or a JSON order", "UnsupportedMediaType"
        )
    try:
        order = PurchaseOrder.model_validate_json(body)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:10]
        )
        raise ApiError(422, reasons or "invalid order", "ValidationError") from None
    await _check_key_binding(request, order.account_number)
    accepted = await _start(request, order, actor)
    response.headers["Location"] = accepted.href
    return accepted


async def _start(request: Request, order: PurchaseOrder, actor: Actor) -> OrderAccepted:
    async with request.app.state.pool.acquire() as conn:
        name = await reference.account_name(conn, order.account_number) or ""
    settings: Settings = request.app.state.settings
    with workflow_errors(order.workflow_id):
        try:
            # Bounded like every call that waits on Temporal; a resend is safe
            # (the same PO is the same order).
            async with asyncio.timeout(settings.update_wait.total_seconds()):
                return await start_order(request.app.state.temporal, settings, order, actor, name)
        except TimeoutError:
            raise unavailable(order.workflow_id) from None


async def _submit_cxml(request: Request, body: bytes, actor: Actor) -> Response:
    settings: Settings = request.app.state.settings
    try:
        doc = parse_order_request(body, settings.max_cxml_bytes)
        account_number = await _cxml_buyer(request, doc)
        await _check_key_binding(request, account_number)
        order = doc.to_purchase_order(account_number)
    except CxmlError as exc:
        return cxml_response(exc.status, "Bad Request", exc.text)
    if doc.request_type != "new":
        text = await _buyer_change(request, doc.request_type, order, actor)
        await keep_received(request, order.workflow_id, doc, body, 200, text)
        return _buyer_answer(order.workflow_id, text)
    accepted = await _start(request, order, actor)
    text = f"{'Accepted' if accepted.created else 'Already received'}: {accepted.order_id}"
    await keep_received(request, accepted.order_id, doc, body, 200, text)
    return cxml_response(
        200, "OK", text, headers={"X-Order-Id": quote(accepted.order_id, safe="")}
    )


async def _buyer_change(
    request: Request, request_type: str, order: PurchaseOrder, actor: Actor
) -> str:
    """cXML type="update" (the changed PO replaces the order's lines) or "delete"
    (the PO is withdrawn) for a running order: 200 when taken (a resent document,
    same payloadID, answers the same), 404 for an unknown order, 409 with the
    reason once it has shipped or can no longer change, 403 for a wrong role."""
    handle = request.app.state.temporal.get_workflow_handle(order.workflow_id)
    if request_type == "update":
        update, arg = "change_order", BuyerChange(actor=actor, order=order)
    else:
        update, arg = "cancel_order", BuyerCancel(actor=actor, payload_id=order.payload_id or "")
    try:
        result = await run_update(request, order.workflow_id, update, arg, BuyerChangeResult)
    except ApiError as exc:
        # A cancel resent once the order has closed: it stays cancelled.
        if (exc.status, request_type) != (409, "delete") or (
            await _order_status(handle) != OrderStatus.CANCELLED.value
        ):
            raise
        return f"Already cancelled: {order.workflow_id}"
    if result is None:  # taken, not finished within the update wait
        return f"Accepted, still processing: {order.workflow_id}"
    if request_type == "update":
        holds = ", ".join(sorted({h.code.value for h in result.holds}))
        text = f"Updated: {order.workflow_id}" + (f" (on hold: {holds})" if holds else "")
    else:
        text = f"Cancelled: {order.workflow_id}"
    if not result.applied:
        text = f"Already received. {text}"
    return text


async def _order_status(handle: WorkflowHandle) -> str | None:
    with workflow_errors(handle.id):
        described = await handle.describe()
    return described.typed_search_attributes.get(search.ORDER_STATUS)


def _buyer_answer(order_id: str, text: str) -> Response:
    return cxml_response(200, "OK", text, headers={"X-Order-Id": quote(order_id, safe="")})


@router.get("", response_model=OrderList, summary="List orders from the read model")
async def list_orders(
    request: Request,
    actor: Annotated[Actor, Depends(current_actor)],
    account: Annotated[str | None, Query(max_length=40, pattern=r"^[A-Za-z0-9_.]+$")] = None,
    status: OrderStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrderList:
    async with request.app.state.pool.acquire() as conn:
        rows = await read_model.list_records(
            conn,
            "order",
            account_number=account,
            status=status.value if status else None,
            limit=limit + 1,
            offset=offset,
            access=await policy.access(request, actor, "GET", "/orders"),
        )
    items = [
        OrderListItem(
            order_id=r["workflow_id"],
            status=r["status"],
            account_number=r["account_number"],
            po_number=r["business_key"],
            summary=r["summary"],
            assignee=r["assignee"],
            due_at=r["due_at"],
            test=r["is_test"],
            updated_at=r["updated_at"],
        )
        for r in rows[:limit]
    ]
    return OrderList(items=items, next_offset=offset + limit if len(rows) > limit else None)


# ":path" because PO numbers may hold "/" (PO-77/2026). Clients send the id
# percent-encoded (the href of every answer); routing sees it decoded.
@router.get(
    "/{order_id:path}",
    response_model=OrderView,
    summary="An order's full state and audit trail",
    responses={404: {"model": ErrorBody, "description": "no such order"}},
)
async def get_order(
    request: Request, order_id: str, _: Annotated[Actor, Depends(current_actor)]
) -> OrderView:
    """From the read model, which every state change updates; just after intake,
    before the first update lands, from the workflow itself."""
    _check_order_id(order_id)
    # The row, unless Temporal says it is behind (api/consistency.py).
    view = await consistency.current_view(
        request.app.state.pool,
        request.app.state.temporal,
        order_id,
        view_query=OrderWorkflow.view,
    )
    if view is not None:
        return OrderView.model_validate(view)
    handle = request.app.state.temporal.get_workflow_handle(order_id)
    with workflow_errors(order_id):
        return await handle.query(OrderWorkflow.view, rpc_timeout=QUERY_TIMEOUT)


def _check_order_id(order_id: str) -> None:
    if not is_id(order_id, ORDER_ID):
        raise ApiError(
            404, f"{shown(order_id)} is not an order id (order-<account>-<po>)", "NotFound"
        )


class ShipmentProcessing(BaseModel):
    """A shipment report the order took but has not finished processing in time."""

    status: Literal["processing"] = "processing"
    order_id: str
    shipment_id: str
    detail: str
    href: str = Field(description="the order: its shipments and invoices")


@router.post(
    "/{order_id:path}/shipments",
    response_model=Invoice,
    status_code=201,
    summary="Report a shipment (lines, quantities, proof of delivery); answers with its invoice",
    responses={
        202: {
            "model": ShipmentProcessing,
            "description": "accepted, still being invoiced; resend the same report for the invoice",
        },
        403: {"model": ErrorBody, "description": "this role may not report shipments"},
        404: {"model": ErrorBody, "description": "no such order"},
        409: {
            "model": ErrorBody,
            "description": "the order cannot ship now, or the shipment id has other content",
        },
        503: {
            "model": ErrorBody,
            "description": "no answer in time and nothing accepted; safe to retry",
        },
    },
)
async def report_shipment(
    request: Request,
    order_id: str,
    shipment: ShipmentIn,
    actor: Annotated[Actor, Depends(require(Role.BRANCH_MANAGER, Role.SYSTEM))],
) -> Invoice | JSONResponse:
    """Answers within the configured update wait: the invoice (201); a refusal
    (403/409/422) at once; 202 when the order accepted the report but invoicing
    has not answered yet (resending the same shipment id is safe and answers with
    the invoice once it exists); 503 when no worker took the report in time."""
    _check_order_id(order_id)
    wait = request.app.state.settings.update_wait
    report = ShipmentReport(actor=actor, shipment=shipment.to_shipment())
    invoice = await run_update(request, order_id, "report_shipment", report, Invoice)
    if invoice is not None:
        return invoice
    shipment_id = report.shipment.shipment_id
    return JSONResponse(
        ShipmentProcessing(
            order_id=order_id,
            shipment_id=shipment_id,
            href=order_href(order_id),
            detail=(
                f"shipment {shipment_id} is accepted and still being processed (no invoice "
                f"within {wait.total_seconds():g} s); send the same report again (same "
                "shipment_id) to get its invoice once it exists, or read the order at href"
            ),
        ).model_dump(mode="json"),
        status_code=202,
    )


# ------------------------------------------------ flags and branch edits


class FlagIn(BaseModel):
    """A rep's flag on an order's error: systemic (IT, a platform) or human."""

    model_config = ConfigDict(extra="forbid")

    category: ErrorCategory
    platform: Platform
    comment: Comment


class EditRequestIn(BaseModel):
    """A branch manager's edit: new quantities for lines on the order, new lines."""

    model_config = ConfigDict(extra="forbid")

    lines: list[EditLine] = Field(min_length=1, max_length=100)
    reason: Comment


class UpdateProcessing(BaseModel):
    """Taken by the order, not finished within the update wait: read the order."""

    status: Literal["processing"] = "processing"
    order_id: str
    href: str


def _processing(order_id: str) -> JSONResponse:
    body = UpdateProcessing(order_id=order_id, href=order_href(order_id))
    return JSONResponse(body.model_dump(mode="json"), status_code=202)


_UPDATE_REFUSALS: dict[int | str, dict] = {
    202: {"model": UpdateProcessing, "description": "taken, still being recorded"},
    404: {"model": ErrorBody, "description": "no such order"},
    409: {"model": ErrorBody, "description": "the order is not in a state that allows it"},
}


@router.post(
    "/{order_id:path}/flags",
    response_model=ErrorFlag,
    status_code=201,
    summary="Flag the order's error as systemic or human (a systemic one is the team lead's task)",
    responses={403: {"model": ErrorBody, "description": "only an account rep"}, **_UPDATE_REFUSALS},
)
async def flag_error(
    request: Request,
    order_id: str,
    body: FlagIn,
    actor: Annotated[Actor, Depends(require(Role.ACCOUNT_REP))],
) -> ErrorFlag | JSONResponse:
    _check_order_id(order_id)
    flag = FlagError(actor=actor, **body.model_dump())
    recorded = await run_update(request, order_id, "flag_error", flag, ErrorFlag)
    return recorded if recorded is not None else _processing(order_id)


@router.post(
    "/{order_id:path}/edit-requests",
    response_model=EditRequest,
    status_code=201,
    summary="Ask for an edit once the pick ticket has printed (the rep applies it)",
    responses={
        403: {"model": ErrorBody, "description": "only a branch manager"},
        **_UPDATE_REFUSALS,
    },
)
async def request_edit(
    request: Request,
    order_id: str,
    body: EditRequestIn,
    actor: Annotated[Actor, Depends(require(Role.BRANCH_MANAGER))],
) -> EditRequest | JSONResponse:
    _check_order_id(order_id)
    edit = RequestEdit(actor=actor, lines=body.lines, reason=body.reason)
    recorded = await run_update(request, order_id, "request_edit", edit, EditRequest)
    return recorded if recorded is not None else _processing(order_id)
