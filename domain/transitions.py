"""Transition tables: which move a workflow accepts in which state, from whom,
and whether it needs a comment. Pure, so a workflow's Update validator and the
task API ask the same table and give the same refusal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.identity import Actor, Role


@dataclass(frozen=True)
class Move:
    name: str
    # States the move is accepted in.
    allowed_in: frozenset[str]
    roles: frozenset[Role]
    needs_comment: bool = False


@dataclass(frozen=True)
class Refusal:
    """Why a move is refused; `type` is what the API maps to a status
    (Forbidden 403, InvalidState 409, CommentRequired 422)."""

    type: str
    reason: str


class TransitionTable:
    def __init__(self, moves: Iterable[Move]) -> None:
        self.moves = {m.name: m for m in moves}

    def refusal(self, move: str, state: str, actor: Actor, comment: str = "") -> Refusal | None:
        """None when `actor` may make `move` in `state`; else why not. The role
        is checked first: a person without it learns nothing about the state."""
        spec = self.moves[move]
        if not actor.has_any(*spec.roles):
            allowed = " or ".join(sorted(r.value for r in spec.roles))
            return Refusal("Forbidden", f"{move.replace('_', ' ')} needs the role {allowed}")
        if state not in spec.allowed_in:
            return Refusal("InvalidState", f"cannot {move.replace('_', ' ')}: it is {state}")
        if spec.needs_comment and not comment.strip():
            return Refusal("CommentRequired", f"{move.replace('_', ' ')} needs a comment")
        return None

    def available(self, state: str, actor: Actor) -> list[str]:
        """The moves `actor` may make now (what a task offers them)."""
        return [name for name in self.moves if self.refusal(name, state, actor, "-") is None]
