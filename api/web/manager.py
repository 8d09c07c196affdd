"""Manager views: the tasks a lead watches across the team, each a filter of
the same task API (so they see what the API lets them see). A view is shown to
the roles it names.

Extension point: the incident workflow (open incidents with their fallback
decision, CSC manager) and the weekly review (its charts) register their views
here when they land; nothing is shown for them before."""

from __future__ import annotations

from dataclasses import dataclass

from domain.identity import Actor, Role


@dataclass(frozen=True)
class ManagerView:
    slug: str
    title: str
    about: str
    roles: frozenset[Role]
    kinds: tuple[str, ...]


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
]


def views_for(actor: Actor) -> list[ManagerView]:
    return [v for v in VIEWS if actor.has_any(*v.roles)]
