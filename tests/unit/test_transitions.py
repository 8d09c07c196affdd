"""Transition tables: the same refusal for the same move, whoever asks."""

from __future__ import annotations

from domain.identity import Actor, Role
from domain.order.models import MOVES, OrderStatus
from domain.transitions import Move, TransitionTable

BRANCH = Actor(person_id="bob", roles=frozenset({Role.BRANCH_MANAGER}))
REP = Actor(person_id="maria", roles=frozenset({Role.ACCOUNT_REP}))


def test_a_shipment_is_taken_only_from_a_branch_or_a_system_once_released() -> None:
    assert MOVES.refusal("report_shipment", OrderStatus.RELEASED, BRANCH) is None
    assert MOVES.refusal("report_shipment", OrderStatus.PARTIALLY_SHIPPED, BRANCH) is None
    early = MOVES.refusal("report_shipment", OrderStatus.ON_HOLD, BRANCH)
    assert early is not None and early.type == "InvalidState" and "on_hold" in early.reason
    wrong = MOVES.refusal("report_shipment", OrderStatus.RELEASED, REP)
    assert wrong is not None and wrong.type == "Forbidden"


def test_the_role_is_checked_before_the_state_and_a_comment_last() -> None:
    table = TransitionTable(
        [Move("approve", frozenset({"pending"}), frozenset({Role.TEAM_LEAD}), needs_comment=True)]
    )
    lead = Actor(person_id="lee", roles=frozenset({Role.TEAM_LEAD}))
    assert table.refusal("approve", "closed", REP).type == "Forbidden"  # type: ignore[union-attr]
    assert table.refusal("approve", "closed", lead).type == "InvalidState"  # type: ignore[union-attr]
    assert table.refusal("approve", "pending", lead, "  ").type == "CommentRequired"  # type: ignore[union-attr]
    assert table.refusal("approve", "pending", lead, "price agreed with buyer") is None
    assert table.available("pending", lead) == ["approve"]
    assert table.available("pending", REP) == []
