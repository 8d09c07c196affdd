"""The weekly review: per account and rep, JSON or CSV (`Accept: text/csv`);
computed on first read of a week (and by the Monday Schedule), from the audit
log and the read model. The team lead's view puts the week before beside it."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api.auth import current_actor
from api.errors import ApiError, ErrorBody
from db import reports
from domain.identity import Actor, Role
from domain.reports import COLUMNS, WeeklyRow, flat, parse_week, week_before, week_bounds

router = APIRouter(prefix="/reports", tags=["reports"])
Week = Annotated[
    str,
    Query(
        min_length=8,
        max_length=8,
        pattern=r"^[0-9]{4}-W[0-9]{2}$",
        examples=["2026-W48"],
        description="ISO week, 2000-W01 to 2099-W52",
    ),
]
READERS = (Role.TEAM_LEAD, Role.CSC_MANAGER, Role.OPERATOR, Role.ACCOUNT_REP)


class TeamRow(BaseModel):
    rep_id: str
    account_number: str
    this_week: WeeklyRow | None
    week_before: WeeklyRow | None


def _week(week: str) -> str:
    try:
        parse_week(week)
    except ValueError as err:
        raise ApiError(422, f"query.week: {err}", "ValidationError") from None
    return week


async def rows_for(request: Request, week: str, refresh: bool = False) -> list[WeeklyRow]:
    settings = request.app.state.settings
    async with request.app.state.pool.acquire() as conn:
        if refresh or not await reports.week_computed(conn, week):
            start, end = week_bounds(week, settings.center_timezone)
            return await reports.compute_week(conn, week, start, end)
        return await reports.week_rows(conn, week)


def as_csv(rows: list[WeeklyRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(flat(row))
    return out.getvalue()


@router.get(
    "/weekly",
    response_model=list[WeeklyRow],
    summary="The weekly review: one row per account and rep (JSON, or CSV with Accept: text/csv)",
    responses={
        200: {"content": {"text/csv": {}}},
        403: {"model": ErrorBody, "description": "not a team lead, manager, operator or rep"},
    },
)
async def weekly(
    request: Request,
    week: Week,
    actor: Annotated[Actor, Depends(current_actor)],
    refresh: Annotated[bool, Query(description="compute the week again")] = False,
) -> Response | list[WeeklyRow]:
    if not actor.has_any(*READERS):
        raise ApiError(403, "the weekly review is for team leads, managers and reps", "Forbidden")
    rows = await rows_for(request, _week(week), refresh)
    if not actor.has_any(Role.TEAM_LEAD, Role.CSC_MANAGER, Role.OPERATOR):
        rows = [r for r in rows if r.rep_id == actor.person_id]  # a rep sees their own
    if "text/csv" in request.headers.get("accept", ""):
        return Response(
            as_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="weekly-review-{week}.csv"'},
        )
    return rows


@router.get(
    "/weekly/team",
    response_model=list[TeamRow],
    summary="A team lead's view: their team's rows with the week before beside them",
    responses={403: {"model": ErrorBody, "description": "only a team lead"}},
)
async def team_view(
    request: Request, week: Week, actor: Annotated[Actor, Depends(current_actor)]
) -> list[TeamRow]:
    if not actor.has_any(Role.TEAM_LEAD):
        raise ApiError(403, "the team view is a team lead's", "Forbidden")
    this = await rows_for(request, _week(week))
    before = await rows_for(request, week_before(week))
    async with request.app.state.pool.acquire() as conn:
        team = set(await reports.team_of_lead(conn, actor.person_id))
    keys = sorted({(r.rep_id, r.account_number) for r in this + before if r.rep_id in team})
    now = {(r.rep_id, r.account_number): r for r in this}
    then = {(r.rep_id, r.account_number): r for r in before}
    return [
        TeamRow(rep_id=rep, account_number=acct, this_week=now.get((rep, acct)),
                week_before=then.get((rep, acct)))
        for rep, acct in keys
    ]  # fmt: skip
