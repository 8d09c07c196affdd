"""The open-order rules as pure functions: who may make which move, the HOLD
attempt rule (5 attempts over at least a week, including a daytime, an evening
and a weekend attempt, in the store's zone, hours and holidays), the coded
orders' deadlines, and confirmation on every number in the guest's file."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.calendar import Slot, StoreCalendar
from domain.identity import Actor
from domain.open_order.models import (
    CWC_MOVES,
    MOVES,
    UNANSWERED,
    ContactAttempt,
    OpenOrderStatus,
    Outcome,
    mask_phone,
)
from domain.transitions import Refusal

REQUIRED_SLOTS = (Slot.DAYTIME, Slot.EVENING, Slot.WEEKEND)


def refusal(move: str, status: str, actor: Actor, comment: str) -> Refusal | None:
    """Why `actor` may not make `move` now (None: they may). From CWC the
    store manager moves the order; before, the OOM agent."""
    if status == OpenOrderStatus.CWC and move in CWC_MOVES.moves:
        return CWC_MOVES.refusal(move, status, actor, comment)
    if move in MOVES.moves:
        return MOVES.refusal(move, status, actor, comment)
    return CWC_MOVES.refusal(move, status, actor, comment)


# ------------------------------------------------------------------- HOLD
@dataclass(frozen=True)
class HoldRule:
    attempts: int = 5
    over: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class HoldProgress:
    attempts: int
    required: int
    missing: tuple[Slot, ...]
    # When the attempts have spanned the required week (None: no attempt yet).
    week_ends: datetime | None
    span_met: bool

    @property
    def met(self) -> bool:
        """Every attempt the SOP asks for has been made, unanswered: → CWC."""
        return self.attempts >= self.required and self.span_met and not self.missing


def unanswered_run(contacts: list[ContactAttempt]) -> list[ContactAttempt]:
    """The unanswered attempts since the guest was last reached, in time order."""
    run: list[ContactAttempt] = []
    for c in sorted(contacts, key=lambda c: c.at):
        if c.outcome in UNANSWERED:
            run.append(c)
        elif c.outcome != Outcome.PLACED:
            run = []  # reached, replied or confirmed: the count starts again
    return run


def hold_progress(
    contacts: list[ContactAttempt], calendar: StoreCalendar, rule: HoldRule = HoldRule()
) -> HoldProgress:
    run = unanswered_run(contacts)
    slots = {calendar.slot(c.at) for c in run}
    first = run[0].at if run else None
    return HoldProgress(
        attempts=len(run),
        required=rule.attempts,
        missing=tuple(s for s in REQUIRED_SLOTS if s not in slots),
        week_ends=first + rule.over if first else None,
        span_met=first is not None and run[-1].at - first >= rule.over,
    )


def _listed(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def hold_next_attempt(progress: HoldProgress, now: datetime) -> str:
    """What the agent's next HOLD attempt must be, e.g. "an evening attempt is
    still missing; 2 of 5 attempts, 3 days left in the week"."""
    if progress.met:
        return f"{progress.attempts} of {progress.required} attempts over a week: goes to CWC"
    parts: list[str] = []
    if progress.missing:
        kinds = [("an " if s.value[0] in "aeiou" else "a ") + s.value for s in progress.missing]
        verb = "is" if len(kinds) == 1 else "are"
        parts.append(f"{_listed(kinds)} attempt {verb} still missing")
    elif progress.attempts >= progress.required:
        assert progress.week_ends is not None
        parts.append(f"one more attempt on or after {progress.week_ends:%Y-%m-%d %H:%M} UTC")
    else:
        parts.append("any attempt")
    tally = (
        f"{progress.attempts} of {progress.required} attempts"
        if progress.attempts <= progress.required
        else f"{progress.attempts} attempts ({progress.required} needed)"
    )
    if progress.week_ends is None:
        parts.append(f"{tally}, the week starts with the first")
    else:
        left = progress.week_ends - now
        if left > timedelta(0):
            days = math.ceil(left / timedelta(days=1))
            parts.append(f"{tally}, {days} day{'s' if days != 1 else ''} left in the week")
        else:
            parts.append(f"{tally}, the week is complete")
    return "; ".join(parts)


def hold_next_due(progress: HoldProgress, calendar: StoreCalendar, now: datetime) -> datetime:
    """When the next HOLD attempt is due: the soonest moment of a missing kind,
    or once the attempts must still span the week, its end; else now (within
    calling hours)."""
    if progress.missing:
        found = [calendar.next_slot_start(now, s) for s in progress.missing]
        moments = [m for m in found if m is not None]
        if moments:
            return min(moments)
    if progress.attempts >= progress.required and progress.week_ends and not progress.span_met:
        return calendar.next_calling_time(max(now, progress.week_ends))
    return calendar.next_calling_time(now)


# ------------------------------------------------------------- confirmation
def untried_numbers(
    phones: list[str], contacts: list[ContactAttempt], since: datetime
) -> list[str]:
    """The guest's numbers with no call or SMS since `since`."""
    tried = {c.phone for c in contacts if c.at >= since and c.phone}
    return [p for p in phones if p not in tried]


def confirmation_text(phones: list[str], contacts: list[ContactAttempt], since: datetime) -> str:
    untried = untried_numbers(phones, contacts, since)
    if not untried:
        return "every number has been tried; confirm, or close it unconfirmed"
    masked = ", ".join(mask_phone(p) for p in untried)
    return f"confirm the appointment; numbers not yet tried: {masked}"


def code_deadline_text(code: str, deadline: datetime) -> str:
    what = {"BALDUE": "collect the balance", "CANCEL": "deal with the cancel request"}[code]
    return f"{what} by {deadline:%Y-%m-%d %H:%M} UTC, or the store takes it (CWC)"
