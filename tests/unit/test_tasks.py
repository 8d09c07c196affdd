"""The decision registry: what each task kind lets a person decide, with the
fields each decision takes, and models that validate a decision's body."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.order.models import HoldCode
from domain.tasks import DECISIONS, decision, decisions_for, hold_task_kind


def described(kind: str) -> dict[str, list[tuple[str, str, bool]]]:
    return {d.name: [(f.name, f.type, f.required) for f in d.fields] for d in decisions_for(kind)}


def test_hold_decisions_are_the_ones_issue_6_names() -> None:
    assert described("resolve_hold_part") == {
        "map_part": [("part_id", "string", True), ("add_to_cross_reference", "boolean", False)],
        "recheck": [],
    }
    assert described("resolve_hold_pool") == {
        "choose_pool": [("pool_id", "string", True)],
        "recheck": [],
    }
    assert described("resolve_hold_uom") == {
        "fix_uom": [("uom", "string", True), ("quantity", "decimal", True)],
        "recheck": [],
    }
    assert described("resolve_hold_address") == {
        "choose_ship_to": [("address_id", "string", True)],
        "recheck": [],
    }
    assert described("resolve_hold_price") == {
        "correct_price": [("unit_price", "decimal", True)],
        "escalate": [("comment", "string", True)],
        "recheck": [],
    }
    assert described("price_escalation") == {
        "approve_po_price": [("comment", "string", True)],
        "set_price": [("unit_price", "decimal", True), ("comment", "string", True)],
        "reject_line": [("comment", "string", True)],
    }


def test_every_hold_code_has_a_task_kind_that_accepts_recheck() -> None:
    for code in HoldCode:
        kind = hold_task_kind(code)
        assert kind == f"resolve_hold_{code.value.lower()}"
        assert decisions_for(kind)[-1].name == "recheck", kind


def test_a_kind_without_an_entry_accepts_no_decision() -> None:
    assert decisions_for("sla_breach_someday") == []
    assert decision("resolve_hold_price", "approve_po_price") is None
    assert decision("nothing", "recheck") is None


def test_decision_names_are_unique_per_kind() -> None:
    for kind, specs in DECISIONS.items():
        names = [d.name for d in specs]
        assert len(names) == len(set(names)), kind


def test_each_decision_model_validates_its_fields() -> None:
    map_part = decision("resolve_hold_part", "map_part")
    assert map_part is not None
    parsed = map_part.model.model_validate({"part_id": " HX-1001 "})
    assert parsed.model_dump() == {"part_id": "HX-1001", "add_to_cross_reference": False}

    set_price = decision("price_escalation", "set_price")
    assert set_price is not None
    assert set_price.model.model_validate(
        {"unit_price": "2.35", "comment": "contract price"}
    ).model_dump() == {"unit_price": Decimal("2.35"), "comment": "contract price"}

    recheck = decision("resolve_hold_uom", "recheck")
    assert recheck is not None and recheck.model.model_validate({}).model_dump() == {}


@pytest.mark.parametrize(
    "kind, name, body",
    [
        ("resolve_hold_part", "map_part", {}),  # part_id missing
        ("resolve_hold_part", "map_part", {"part_id": "  "}),
        ("resolve_hold_pool", "choose_pool", {"pool_id": "P1", "extra": 1}),
        ("resolve_hold_uom", "fix_uom", {"uom": "EA", "quantity": "0"}),
        ("resolve_hold_uom", "fix_uom", {"uom": "EA", "quantity": "lots"}),
        ("resolve_hold_price", "correct_price", {"unit_price": "-1"}),
        ("resolve_hold_price", "escalate", {"comment": ""}),
        ("resolve_hold_price", "escalate", {"comment": "   "}),
        ("price_escalation", "set_price", {"unit_price": "2.35"}),  # no comment
        ("price_escalation", "reject_line", {}),
        ("resolve_hold_address", "recheck", {"address_id": "X"}),
    ],
)
def test_an_invalid_decision_body_is_refused(kind: str, name: str, body: dict) -> None:
    spec = decision(kind, name)
    assert spec is not None
    with pytest.raises(ValidationError):
        spec.model.model_validate(body)
