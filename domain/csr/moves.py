"""The CSR state machine as a transition table (which move in which status, by
which role, with a comment or not), each move's fields, and the rules a move
must meet on the case itself (who holds the step, what must be on the case).
Pure: the workflow's Update validators, the moves endpoint and the task API
ask the same rules and give the same refusal."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from domain import text
from domain.csr.models import (
    OPEN_STATUSES,
    STEP_OF,
    CsrStatus,
    PersonId,
    ShortText,
    Step,
    Text,
)
from domain.csr.state import CsrState
from domain.identity import Actor, Role
from domain.transitions import Move, Refusal, TransitionTable

S = CsrStatus
# Anyone a case may name (a feedback party, a step's person); the person check
# below decides.
ANYONE = frozenset(Role) - {Role.SYSTEM}

MOVES = TransitionTable(
    [
        Move("submit", frozenset({S.REGISTRATION}), frozenset({Role.SALES_REP})),
        Move("pre_approve", frozenset({S.PENDING_PRE_APPROVAL}), frozenset({Role.CSR_APPROVER})),
        Move("request_feedback", frozenset({S.UNDER_ASSESSMENT}), frozenset({Role.CSR_ASSESSOR})),
        Move("give_feedback", frozenset({S.UNDER_ASSESSMENT}), ANYONE),
        Move("conclude", frozenset({S.UNDER_ASSESSMENT}), frozenset({Role.CSR_ASSESSOR})),
        Move(
            "submit_for_approval", frozenset({S.UNDER_ASSESSMENT}), frozenset({Role.CSR_ASSESSOR})
        ),
        Move("approve", frozenset({S.APPROVAL_PENDING}), frozenset({Role.CSR_APPROVER})),
        Move(
            "add_implementation_task",
            frozenset({S.UNDER_IMPLEMENTATION}),
            frozenset({Role.CSR_IMPLEMENTER}),
        ),
        Move(
            "complete_implementation_task",
            frozenset({S.UNDER_IMPLEMENTATION}),
            frozenset({Role.CSR_IMPLEMENTER}),
        ),
        Move(
            "complete_implementation",
            frozenset({S.UNDER_IMPLEMENTATION}),
            frozenset({Role.CSR_IMPLEMENTER}),
        ),
        Move("record_satisfaction", frozenset({S.IMPLEMENTED}), frozenset({Role.SALES_REP})),
        Move("deactivate", frozenset({S.IMPLEMENTED}), frozenset({Role.SALES_REP})),
        Move("reject", frozenset(OPEN_STATUSES), ANYONE, needs_comment=True),
        # The sales manager's answer to an escalation (not a change of status).
        Move("acknowledge", frozenset(OPEN_STATUSES), ANYONE, needs_comment=True),
    ]
)

# Where each move leads.
TARGET: dict[str, CsrStatus] = {
    "submit": S.PENDING_PRE_APPROVAL,
    "pre_approve": S.UNDER_ASSESSMENT,
    "submit_for_approval": S.APPROVAL_PENDING,
    "approve": S.UNDER_IMPLEMENTATION,
    "complete_implementation": S.IMPLEMENTED,
    "deactivate": S.INACTIVE,
    "reject": S.CLOSED_REJECTED,
}

Note = text.OptionalComment
Comment = text.Comment


class MoveFields(BaseModel):
    """A move's fields; anything else in a body is a mistake."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    comment: Note = ""


class WithComment(MoveFields):
    comment: Comment


class RequestFeedback(MoveFields):
    parties: list[PersonId] = Field(min_length=1, max_length=20)


class GiveFeedback(MoveFields):
    feasible: bool


class Conclude(MoveFields):
    conclusion: Text


class AddImplementationTask(MoveFields):
    title: ShortText


class CompleteImplementationTask(MoveFields):
    task_number: int = Field(ge=1, le=100_000)


class RecordSatisfaction(MoveFields):
    score: int = Field(ge=1, le=5)


FIELDS: dict[str, type[MoveFields]] = {
    "submit": MoveFields,
    "pre_approve": MoveFields,
    "request_feedback": RequestFeedback,
    "give_feedback": GiveFeedback,
    "conclude": Conclude,
    "submit_for_approval": MoveFields,
    "approve": MoveFields,
    "add_implementation_task": AddImplementationTask,
    "complete_implementation_task": CompleteImplementationTask,
    "complete_implementation": MoveFields,
    "record_satisfaction": RecordSatisfaction,
    "deactivate": MoveFields,
    "reject": WithComment,
    "acknowledge": WithComment,
}

# The task each step opens (`csr_<step>`) and the moves it takes as decisions.
TASK_MOVES: dict[str, list[str]] = {
    "csr_registration": ["submit", "reject"],
    "csr_pre_approval": ["pre_approve", "reject"],
    "csr_assessment": ["request_feedback", "conclude", "submit_for_approval", "reject"],
    "csr_feedback": ["give_feedback"],
    "csr_final_approval": ["approve", "reject"],
    "csr_implementation": [
        "add_implementation_task",
        "complete_implementation_task",
        "complete_implementation",
        "reject",
    ],
    "csr_live": ["record_satisfaction", "deactivate"],
    "csr_escalation": ["acknowledge", "reject"],
}


def task_kind(step: Step) -> str:
    return f"csr_{step.value}"


def _label(move: str) -> str:
    return move.replace("_", " ")


def _names(ids: list[str] | set[str]) -> str:
    return ", ".join(sorted(ids)) or "nobody"


def holder_refusal(move: str, actor: Actor, st: CsrState) -> Refusal | None:
    """Whether `actor` is the person this move belongs to: the step's people
    (the approver rules' or the case's own), a named feedback party, or for
    reject and deactivate also the business unit's sales manager."""
    me = actor.person_id
    managers = {p.person_id for p in st.sales_managers}
    if move == "give_feedback":
        if any(
            f.party == me and f.answered_at is None and not f.closed_unanswered for f in st.feedback
        ):
            return None
        return Refusal("Forbidden", f"{me} has no open feedback request on this case")
    if move == "acknowledge":
        if me in managers:
            return None
        return Refusal("Forbidden", f"escalations are the sales manager's ({_names(managers)})")
    step = STEP_OF.get(CsrStatus(st.status))
    if step in (Step.REGISTRATION, Step.LIVE):
        holders = st.case_people
        whose = "the case owner's and the case team's"
    else:
        holders = {p.person_id for p in st.step_people}
        whose = f"the {step.value.replace('_', ' ') if step else 'step'} people's"
    if me in holders or (move in ("reject", "deactivate") and me in managers):
        return None
    extra = (
        f"; or the sales manager ({_names(managers)})" if move in ("reject", "deactivate") else ""
    )
    return Refusal("Forbidden", f"{_label(move)} is {whose} ({_names(holders)}{extra}), not {me}'s")


def content_refusal(move: str, fields: MoveFields, st: CsrState) -> Refusal | None:
    """What the case must hold before the move (422 InvalidMove with the reason)."""
    if move == "submit" and not st.registration.related_products:
        return Refusal(
            "InvalidMove",
            "submit needs at least one related product on the case "
            "(add related_products with PATCH /csrs/{id})",
        )
    if move == "submit_for_approval" and not st.conclusion:
        return Refusal(
            "InvalidMove",
            "submit for approval needs the global feasibility conclusion (conclude first)",
        )
    if move == "complete_implementation":
        still = [t for t in st.implementation_tasks if t.completed_at is None]
        if still:
            names = ", ".join(f"{t.task_number} ({t.title})" for t in still[:10])
            return Refusal("InvalidMove", f"implementation tasks still open: {names}")
    if move == "complete_implementation_task":
        number = fields.task_number  # type: ignore[attr-defined]
        task = next((t for t in st.implementation_tasks if t.task_number == number), None)
        if task is None:
            return Refusal("InvalidMove", f"no implementation task {number} on this case")
        if task.completed_at is not None:
            return Refusal(
                "InvalidState",
                f"implementation task {number} was completed by {task.completed_by}",
            )
    return None


def refusal(move: str, actor: Actor, fields: MoveFields, st: CsrState) -> Refusal | None:
    """Every refusal a move can meet without asking a system, in the order a
    person should hear them: role, status, person, comment, the case's content."""
    if move not in MOVES.moves:
        return Refusal("InvalidMove", f"no move {move!r} (one of {', '.join(MOVES.moves)})")
    refused = MOVES.refusal(move, str(st.status), actor, "-")
    if refused:
        return refused
    refused = holder_refusal(move, actor, st)
    if refused:
        return refused
    if MOVES.moves[move].needs_comment and not fields.comment.strip():
        return Refusal("CommentRequired", f"{_label(move)} needs a comment")
    return content_refusal(move, fields, st)
