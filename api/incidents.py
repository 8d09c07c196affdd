"""Platform outages: the incidents (read from the read model) and the CSC
manager's approval of manual entry in iSeries (the incident's
`approve_fallback` Update, which tells the orders).

An incident's id names one outage (`incident-sterling_oms-20261126T090000`);
the workflow behind it is the platform's (`incident-sterling_oms`), which the
platform's next outage reuses, so the row of each outage keeps its own id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, computed_field

from api.auth import require
from api.errors import ApiError, ErrorBody
from api.paging import Limit, Offset
from api.params import is_id, shown
from api.temporal_calls import run_update
from db import incidents as queries
from db import read_model
from domain.identity import Actor, Role
from domain.incident import ApproveFallback, IncidentStatus, IncidentView
from domain.text import SHORT, Comment, text

router = APIRouter(prefix="/incidents", tags=["incidents"])
# Who follows outages: team leads and CSC managers (their orders wait), IT
# support (they fix the platform), operators.
READERS = (Role.TEAM_LEAD, Role.CSC_MANAGER, Role.IT_SUPPORT, Role.OPERATOR)
INCIDENT_ID = r"^incident-[a-z_]+-\d{8}T\d{6}$"
PlatformName = Literal["sterling_oms", "conexiom", "iseries"]
OrderId = text(SHORT, min_length=1, strip=False)


def incident_href(incident_id: str) -> str:
    return f"/incidents/{incident_id}"


class IncidentListItem(BaseModel):
    incident_id: str
    platform: str
    status: str
    summary: str
    opened_at: datetime
    closed_at: datetime | None
    duration_seconds: float | None = None
    affected_orders: int
    affected_accounts: list[str]
    escalated_at: datetime | None = None
    fallback_approved_by: list[str] = []

    @computed_field(description="the incident's URL path")
    @property
    def href(self) -> str:
        return incident_href(self.incident_id)


class IncidentList(BaseModel):
    items: list[IncidentListItem]
    next_offset: int | None


class FallbackIn(BaseModel):
    """The CSC manager approves manual entry in iSeries for waiting orders."""

    model_config = ConfigDict(extra="forbid")

    comment: Comment
    orders: list[OrderId] | None = Field(
        default=None,
        min_length=1,
        max_length=5000,
        description="order ids waiting in this incident; leave out for every waiting order",
    )


class FallbackProcessing(BaseModel):
    status: Literal["processing"] = "processing"
    incident_id: str
    href: str


def _item(row: Any) -> IncidentListItem:
    view = row["view"] or {}
    return IncidentListItem(
        incident_id=row["workflow_id"],
        platform=row["business_key"] or view.get("platform", ""),
        status=row["status"],
        summary=row["summary"],
        opened_at=view.get("opened_at") or row["created_at"],
        closed_at=row["closed_at"],
        duration_seconds=view.get("duration_seconds"),
        affected_orders=len(view.get("affected_orders", [])),
        affected_accounts=view.get("affected_accounts", []),
        escalated_at=view.get("escalated_at"),
        fallback_approved_by=[f["decided_by"] for f in view.get("fallbacks", [])],
    )


@router.get("", response_model=IncidentList, summary="Platform outages, newest first")
async def list_incidents(
    request: Request,
    _: Annotated[Actor, Depends(require(*READERS))],
    platform: PlatformName | None = None,
    status: IncidentStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> IncidentList:
    async with request.app.state.pool.acquire() as conn:
        rows = await queries.list_incidents(
            conn,
            platform=platform,
            status=status.value if status else None,
            limit=limit + 1,
            offset=offset,
        )
    return IncidentList(
        items=[_item(r) for r in rows[:limit]],
        next_offset=offset + limit if len(rows) > limit else None,
    )


async def _incident(request: Request, incident_id: str) -> IncidentView:
    if not _is_incident_id(incident_id):
        raise ApiError(
            404,
            f"{shown(incident_id)} is not an incident id (incident-<platform>-<opened>)",
            "NotFound",
        )
    async with request.app.state.pool.acquire() as conn:
        row = await read_model.get_record(conn, incident_id)
        if row is None or row["kind"] != "incident" or row["view"] is None:
            raise ApiError(404, f"incident {incident_id} not found", "NotFound")
        trail = await read_model.audit_trail(conn, incident_id)
    return IncidentView.model_validate({**row["view"], "audit": [dict(r) for r in trail]})


def _is_incident_id(incident_id: str) -> bool:
    return is_id(incident_id, INCIDENT_ID)


@router.get(
    "/{incident_id}",
    response_model=IncidentView,
    summary="One outage: platform, duration, affected orders and accounts, notifications, "
    "the fallback decision, reconciliation progress, audit trail",
    responses={404: {"model": ErrorBody, "description": "no such incident"}},
)
async def get_incident(
    request: Request, incident_id: str, _: Annotated[Actor, Depends(require(*READERS))]
) -> IncidentView:
    return await _incident(request, incident_id)


@router.post(
    "/{incident_id}/fallback",
    response_model=IncidentView,
    summary="Approve manual entry in iSeries for waiting orders (CSC manager)",
    responses={
        202: {"model": FallbackProcessing, "description": "taken, orders still being told"},
        403: {"model": ErrorBody, "description": "only a CSC manager"},
        404: {"model": ErrorBody, "description": "no such incident"},
        409: {"model": ErrorBody, "description": "the incident is over, or not an OMS outage"},
        422: {"model": ErrorBody, "description": "no comment, or an order not waiting in it"},
    },
)
async def approve_fallback(
    request: Request,
    incident_id: str,
    body: FallbackIn,
    actor: Annotated[Actor, Depends(require(Role.CSC_MANAGER))],
) -> IncidentView | JSONResponse:
    """Each approved order enters itself in iSeries, prints its pick ticket and goes
    to the branch; once OMS is back it is reconciled into OMS exactly once."""
    incident = await _incident(request, incident_id)
    approval = ApproveFallback(
        actor=actor, incident_id=incident_id, comment=body.comment, orders=body.orders
    )
    view = await run_update(
        request, incident.workflow_id, "approve_fallback", approval, IncidentView
    )
    if view is not None:
        return view
    body_out = FallbackProcessing(incident_id=incident_id, href=incident_href(incident_id))
    return JSONResponse(body_out.model_dump(mode="json"), status_code=202)
