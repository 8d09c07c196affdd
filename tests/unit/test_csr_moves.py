"""The CSR state machine (domain/csr/moves.py): who may make which move in which
status, what the case must hold first, and the tasks' decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.csr import moves
from domain.csr.models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    CsrStatus,
    FeedbackRequest,
    ImplementationTask,
    Person,
    Registration,
)
from domain.csr.state import CsrState
from domain.identity import Actor, Role
from domain.tasks import decisions_for

MARY = Actor(person_id="mary.jones", roles=frozenset({Role.SALES_REP}))
JOHN = Actor(person_id="john.smith", roles=frozenset({Role.CSR_APPROVER}))
PETER = Actor(person_id="peter.wright", roles=frozenset({Role.CSR_APPROVER}))
FRANK = Actor(person_id="frank.miller", roles=frozenset({Role.CSR_ASSESSOR, Role.CSR_IMPLEMENTER}))
SANDRA = Actor(person_id="sandra.cole", roles=frozenset({Role.SALES_REP}))
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def case(status: CsrStatus, *people: str, **changes: object) -> CsrState:
    return CsrState(
        status=status,
        created_at=NOW,
        origin_run_id="r",
        case_number=1,
        owner="mary.jones",
        registration=Registration(
            account_number="401693",
            business_unit="Oil & Gas",
            title="t",
            description="d",
            main_shipping_site="s",
            related_products=["GS-2040"],
        ),
        step_people=[Person(person_id=p) for p in people],
        sales_managers=[Person(person_id="sandra.cole")],
        **changes,
    )


def refusal(move: str, actor: Actor, st: CsrState, **fields: object) -> str | None:
    found = moves.refusal(move, actor, moves.FIELDS[move](**fields), st)
    return found.type if found else None


def test_each_step_belongs_to_its_people() -> None:
    pending = case(CsrStatus.PENDING_PRE_APPROVAL, "john.smith")
    assert refusal("pre_approve", JOHN, pending) is None
    assert refusal("pre_approve", PETER, pending) == "Forbidden"  # the role, not the person
    assert refusal("pre_approve", FRANK, pending) == "Forbidden"  # not the role
    assert refusal("approve", JOHN, pending) == "InvalidState"
    either = case(CsrStatus.PENDING_PRE_APPROVAL, "john.smith", "peter.wright")
    assert refusal("pre_approve", PETER, either) is None


@pytest.mark.parametrize("status", sorted(OPEN_STATUSES))
def test_reject_is_open_to_the_steps_person_and_the_sales_manager_with_a_comment(
    status: CsrStatus,
) -> None:
    holder = {
        CsrStatus.REGISTRATION: MARY,
        CsrStatus.PENDING_PRE_APPROVAL: JOHN,
        CsrStatus.UNDER_ASSESSMENT: FRANK,
        CsrStatus.APPROVAL_PENDING: PETER,
        CsrStatus.UNDER_IMPLEMENTATION: FRANK,
    }[status]
    st = case(status, holder.person_id)
    assert refusal("reject", holder, st, comment="no") is None
    assert refusal("reject", SANDRA, st, comment="no") is None
    blank = moves.refusal("reject", holder, moves.MoveFields(), st)
    assert blank is not None and blank.type == "CommentRequired"
    stranger = Actor(person_id="x", roles=frozenset({Role.SALES_REP, Role.CSR_APPROVER}))
    assert refusal("reject", stranger, st, comment="no") == "Forbidden"


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES | {CsrStatus.IMPLEMENTED}))
def test_nothing_is_rejected_once_live_or_closed(status: CsrStatus) -> None:
    assert refusal("reject", MARY, case(status), comment="no") == "InvalidState"


def test_what_the_case_must_hold_before_a_move() -> None:
    empty = case(CsrStatus.REGISTRATION)
    empty.registration = empty.registration.model_copy(update={"related_products": []})
    assert refusal("submit", MARY, empty) == "InvalidMove"
    assert refusal("submit", MARY, case(CsrStatus.REGISTRATION)) is None
    assessing = case(CsrStatus.UNDER_ASSESSMENT, "frank.miller")
    assert refusal("submit_for_approval", FRANK, assessing) == "InvalidMove"
    assessing.conclusion = "Feasible."
    assert refusal("submit_for_approval", FRANK, assessing) is None
    task = ImplementationTask(task_number=1, title="x", added_by="f", added_at=NOW)
    implementing = case(CsrStatus.UNDER_IMPLEMENTATION, "frank.miller", implementation_tasks=[task])
    assert refusal("complete_implementation", FRANK, implementing) == "InvalidMove"
    assert refusal("complete_implementation_task", FRANK, implementing, task_number=2) == (
        "InvalidMove"
    )
    task.completed_at, task.completed_by = NOW, "frank.miller"
    assert refusal("complete_implementation", FRANK, implementing) is None
    assert refusal("complete_implementation_task", FRANK, implementing, task_number=1) == (
        "InvalidState"
    )


def test_feedback_is_given_only_by_a_named_party_with_an_open_request() -> None:
    asked = FeedbackRequest(request_id="F1", party="john.smith", requested_by="f", requested_at=NOW)
    st = case(CsrStatus.UNDER_ASSESSMENT, "frank.miller", feedback=[asked])
    assert refusal("give_feedback", JOHN, st, feasible=True) is None
    assert refusal("give_feedback", PETER, st, feasible=True) == "Forbidden"
    asked.answered_at = NOW
    assert refusal("give_feedback", JOHN, st, feasible=True) == "Forbidden"


def test_the_case_owner_and_team_hold_registration_and_the_live_case() -> None:
    st = case(CsrStatus.IMPLEMENTED)
    assert refusal("record_satisfaction", MARY, st, score=4) is None
    assert refusal("deactivate", SANDRA, st) is None  # the sales manager may close it
    other = Actor(person_id="james.chen", roles=frozenset({Role.SALES_REP}))
    assert refusal("record_satisfaction", other, st, score=4) == "Forbidden"
    with pytest.raises(ValueError):
        moves.FIELDS["record_satisfaction"](score=6)


def test_every_step_task_takes_its_moves_as_decisions() -> None:
    for kind, names in moves.TASK_MOVES.items():
        assert kind.startswith("csr_")
        assert [d.name for d in decisions_for(kind)] == names
        assert all(name in moves.MOVES.moves and name in moves.FIELDS for name in names)
    fields = {f.name: f for f in decisions_for("csr_assessment")[0].fields}
    assert fields["parties"].type == "array" and fields["parties"].required
    reject = next(d for d in decisions_for("csr_pre_approval") if d.name == "reject")
    assert [(f.name, f.required) for f in reject.fields] == [("comment", True)]


def test_text_with_control_characters_is_refused() -> None:
    with pytest.raises(ValueError):
        moves.FIELDS["reject"](comment="no\x00")
    assert moves.FIELDS["reject"](comment="line one\nline two").comment == "line one\nline two"
