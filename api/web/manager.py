"""Manager views: what a lead or manager watches across the team. A task view
is a filter of the task API (they see what the API lets them see); the
incident and weekly-review views call their routers' own functions (GET
/incidents, GET /reports/weekly/team). A view is shown to the roles it names,
which are the roles its API allows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from api import incidents, reports
from api.errors import ApiError
from domain.identity import Actor, Role
from domain.incident import IncidentStatus
from domain.reports import week_of

Loader = Callable[[Request, Actor], Awaitable[Any]]


@dataclass(frozen=True)
class ManagerView:
    slug: str
    title: str
    about: str
    roles: frozenset[Role]
    kinds: tuple[str, ...] = ()
    # A view that is not a task list: its loader and the template showing it.
    load: Loader | None = None
    template: str = ""


async def open_incidents(request: Request, actor: Actor) -> list[Any]:
    """Every incident not closed, newest first, each as GET /incidents/{id}
    shows it (with its fallback decisions)."""
    found = []
    for status in (IncidentStatus.OPEN, IncidentStatus.RECONCILING):
        listing = await incidents.list_incidents(
            request, actor, platform=None, status=status, limit=50, offset=0
        )
        found += listing.items
    found.sort(key=lambda i: i.opened_at, reverse=True)
    views = []
    for item in found:
        try:
            views.append(await incidents.get_incident(request, item.incident_id, actor))
        except ApiError:
            continue  # its view not written yet: listed on the next load
    return views


@dataclass(frozen=True)
class RepBar:
    rep_id: str
    orders: int
    orders_before: int
    percent: int  # of the busiest rep's orders this week, in steps of 5 (the bar's CSS class)


@dataclass(frozen=True)
class WeeklyReview:
    week: str
    rows: list[Any]
    bars: list[RepBar]


def rep_bars(rows: list[Any]) -> list[RepBar]:
    this: dict[str, int] = {}
    before: dict[str, int] = {}
    for row in rows:
        this[row.rep_id] = this.get(row.rep_id, 0) + (row.this_week.orders if row.this_week else 0)
        before[row.rep_id] = before.get(row.rep_id, 0) + (
            row.week_before.orders if row.week_before else 0
        )
    top = max([*this.values(), *before.values(), 1])
    return [
        RepBar(rep, this[rep], before[rep], round(this[rep] * 20 / top) * 5) for rep in sorted(this)
    ]


async def weekly_review(request: Request, actor: Actor) -> WeeklyReview:
    """The team lead's weekly review (GET /reports/weekly/team's function) of
    the week asked for (`?week=2026-W48`), this week by default."""
    week = request.query_params.get("week") or week_of(
        datetime.now(UTC), request.app.state.settings.center_timezone
    )
    rows = await reports.team_view(request, week, actor)
    return WeeklyReview(week, rows, rep_bars(rows))


VIEWS: list[ManagerView] = [
    ManagerView(
        "escalations",
        "Escalations",
        "Prices a rep escalated, and systemic errors a rep flagged.",
        frozenset({Role.TEAM_LEAD}),
        ("price_escalation", "systemic_error"),
    ),
    ManagerView(
        "sla-breaches",
        "SLA breaches",
        "Orders whose holds were not resolved within their SLA.",
        frozenset({Role.TEAM_LEAD}),
        ("sla_breach",),
    ),
    ManagerView(
        "incidents",
        "Open incidents",
        "Platform outages not yet over, and who approved manual entry in iSeries.",
        frozenset(incidents.READERS),
        load=open_incidents,
        template="_manage_incidents.html",
    ),
    ManagerView(
        "weekly-review",
        "Weekly review",
        "Your team's week per rep and account, with the week before beside it.",
        frozenset({Role.TEAM_LEAD}),
        load=weekly_review,
        template="_manage_weekly.html",
    ),
]


def views_for(actor: Actor) -> list[ManagerView]:
    return [v for v in VIEWS if actor.has_any(*v.roles)]
