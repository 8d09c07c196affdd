"""Who gets a task (spec accounts-and-teams.md): the account's own contact for
the task's role; else the primary member with the task's capability for the
account's region; else a cross-trained backup; else the team's queue. Anyone
away is passed over, and the answer says who was and why. Pure: the activity
loads a `Directory` snapshot and asks `route`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from domain.identity import Role

# What a kind of task needs done, when its role alone does not say it.
CAPABILITY_BY_KIND: dict[str, str] = {
    "branch_edit": "order_processing",
    "sla_breach": "escalation",
    "price_escalation": "escalation",
    "systemic_error": "escalation",
}
CAPABILITY_BY_ROLE: dict[Role, str] = {
    Role.ACCOUNT_REP: "order_processing",
    Role.TEAM_LEAD: "escalation",
    Role.IMPLEMENTATION_MANAGER: "account_implementation",
    Role.SALES_SUPPORT_MANAGER: "sales_support",
}


def capability_for(kind: str, role: Role) -> str | None:
    if kind.startswith("resolve_hold_"):
        return "order_processing"
    return CAPABILITY_BY_KIND.get(kind) or CAPABILITY_BY_ROLE.get(role)


class Member(BaseModel):
    person_id: str
    name: str = ""
    email: str | None = None
    part_time: bool = False
    away_until: datetime | None = None
    away_comment: str = ""
    open_tasks: int = 0

    def away_at(self, at: datetime) -> bool:
        return self.away_until is not None and self.away_until > at


class Holder(Member):
    """A member who does the capability for the region (or for every region)."""

    level: Literal["primary", "backup"]
    region: str = "*"


class Directory(BaseModel):
    """What routing one task needs to know, as the directory says it now."""

    account_number: str | None = None
    region: str | None = None
    contact: Member | None = None  # the account's contact for the task's role
    holders: list[Holder] = []  # who has the capability for the region
    team_queue: str | None = None


class Skipped(BaseModel):
    person_id: str
    why: str


class Routing(BaseModel):
    """Who the task went to, and why (in the task's payload and the audit trail)."""

    assignee: str | None = None
    assignee_email: str | None = None
    queue: str | None = None
    rule: Literal["account_contact", "primary", "backup", "team_queue", "default"]
    reason: str
    capability: str | None = None
    skipped: list[Skipped] = []

    def describe(self) -> str:
        passed = "; ".join(f"{s.person_id} skipped: {s.why}" for s in self.skipped)
        return self.reason + (f" ({passed})" if passed else "")


def _away(member: Member) -> str:
    until = f"away until {member.away_until:%Y-%m-%d %H:%M %Z}".rstrip()
    return until + (f": {member.away_comment}" if member.away_comment else "")


def route(
    directory: Directory,
    *,
    role: Role,
    capability: str | None,
    at: datetime,
    fallback_queue: str | None,
) -> Routing:
    skipped: list[Skipped] = []
    where = f"account {directory.account_number}" if directory.account_number else "this task"
    region = directory.region or "any region"
    contact = directory.contact
    if contact is not None:
        if not contact.away_at(at):
            return Routing(
                assignee=contact.person_id,
                assignee_email=contact.email,
                rule="account_contact",
                reason=f"{contact.person_id} is the {role.value} of {where}",
                capability=capability,
            )
        skipped.append(Skipped(person_id=contact.person_id, why=_away(contact)))
    for level in ("primary", "backup"):
        # Full-time members first, then whoever has the fewest open tasks.
        candidates = sorted(
            (h for h in directory.holders if h.level == level),
            key=lambda h: (h.part_time, h.open_tasks, h.person_id),
        )
        for holder in candidates:
            if holder.away_at(at):
                if all(s.person_id != holder.person_id for s in skipped):
                    skipped.append(Skipped(person_id=holder.person_id, why=_away(holder)))
                continue
            what = "cross-trained backup" if level == "backup" else "primary"
            part = " (part time)" if holder.part_time else ""
            return Routing(
                assignee=holder.person_id,
                assignee_email=holder.email,
                rule=level,  # type: ignore[arg-type]
                reason=f"{holder.person_id}{part} is the {what} for {capability} in {region}",
                capability=capability,
                skipped=skipped,
            )
    if directory.team_queue:
        return Routing(
            queue=directory.team_queue,
            rule="team_queue",
            reason=f"nobody free for {capability or role.value} in {region}: "
            f"the team's queue {directory.team_queue}",
            capability=capability,
            skipped=skipped,
        )
    return Routing(
        queue=fallback_queue,
        rule="default",
        reason=f"nobody in the directory for {capability or role.value} in {region}: "
        + (f"queue {fallback_queue}" if fallback_queue else f"anyone with the role {role.value}"),
        capability=capability,
        skipped=skipped,
    )


ROLE_BY_KIND: dict[str, Role] = {
    "sla_breach": Role.TEAM_LEAD,
    "price_escalation": Role.TEAM_LEAD,
    "systemic_error": Role.TEAM_LEAD,
    "branch_edit": Role.ACCOUNT_REP,
}


def role_for_kind(kind: str) -> Role:
    """The role a task of `kind` is for, where the kind says it (else a rep's)."""
    if kind in ROLE_BY_KIND:
        return ROLE_BY_KIND[kind]
    for prefix, role in (
        ("im_", Role.IMPLEMENTATION_MANAGER),
        ("ssm_", Role.SALES_SUPPORT_MANAGER),
    ):
        if kind.startswith(prefix):
            return role
    return Role.ACCOUNT_REP
