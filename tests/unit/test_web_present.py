"""How the work-queue page shows a task's SLA, names and decision forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.web.present import (
    countdown,
    decision_body,
    humanize,
    input_attributes,
    temporal_ui_link,
)
from domain.tasks import FieldSpec, decision

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def test_countdown_counts_down_then_marks_overdue() -> None:
    assert countdown(NOW + timedelta(hours=1, minutes=5, seconds=30), NOW).text == (
        "due in 1 h 05 min"
    )
    assert countdown(NOW + timedelta(days=2, hours=3), NOW).text == "due in 2 d 3 h"
    assert countdown(NOW + timedelta(seconds=20), NOW).text == "due in under a minute"
    late = countdown(NOW - timedelta(minutes=12), NOW)
    assert (late.text, late.overdue) == ("overdue by 12 min", True)
    assert not countdown(NOW + timedelta(minutes=1), NOW).overdue
    assert countdown(None, NOW).text == "no due time"


def test_names_read_as_words() -> None:
    assert humanize("approve_po_price") == "Approve PO price"
    assert humanize("resolve_hold_uom") == "Resolve hold UOM"
    assert humanize("map_part") == "Map part"


def test_decision_fields_become_inputs() -> None:
    assert input_attributes(FieldSpec(name="x", type="boolean", required=False))["type"] == (
        "checkbox"
    )
    # A price stays text as typed ("2.10"); the API says what is wrong with it.
    assert input_attributes(FieldSpec(name="x", type="decimal", required=True))["inputmode"] == (
        "decimal"
    )
    assert input_attributes(FieldSpec(name="x", type="integer", required=True))["type"] == (
        "number"
    )


def test_a_date_field_shows_what_it_takes() -> None:
    """A time needs its offset (the API refuses one without); the next contact
    date takes a day as well."""
    log_contact = decision("schedule_contact", "log_contact")
    assert log_contact is not None
    types = {f.name: f.type for f in log_contact.fields}
    assert (types["at"], types["next_contact_date"]) == ("datetime", "date_or_datetime")
    at = input_attributes(FieldSpec(name="at", type="datetime", required=True))
    assert at["placeholder"] == "2026-12-07T15:00-06:00"
    nxt = input_attributes(FieldSpec(name="n", type="date_or_datetime", required=False))
    assert nxt["placeholder"].startswith("2026-12-07 or ")


def test_a_form_becomes_the_task_apis_complete_body() -> None:
    map_part = decision("resolve_hold_part", "map_part")
    assert map_part is not None
    body = decision_body(
        "map_part",
        map_part.fields,
        {"part_id": " GS-2040 ", "add_to_cross_reference": "true", "comment": "", "x": "y"},
    )
    # Only the decision's own fields; an empty comment is no comment.
    assert body == {"decision": "map_part", "part_id": "GS-2040", "add_to_cross_reference": True}
    unticked = decision_body("map_part", map_part.fields, {"part_id": "GS-2040"})
    assert unticked["add_to_cross_reference"] is False

    set_price = decision("price_escalation", "set_price")
    assert set_price is not None
    # A required field left empty is sent empty, so the API names it in its refusal.
    body = decision_body("set_price", set_price.fields, {"unit_price": "", "comment": " ok "})
    assert body == {"decision": "set_price", "unit_price": "", "comment": "ok"}


def test_the_temporal_ui_link_names_the_workflow_encoded() -> None:
    base = "http://127.0.0.1:8233/namespaces/default/workflows/order-401693-PO%207%2F2026"
    assert temporal_ui_link("http://127.0.0.1:8233", "default", "order-401693-PO 7/2026", None) == (
        base
    )
    assert temporal_ui_link("http://127.0.0.1:8233", "default", "order-401693-PO 7/2026", "r1") == (
        f"{base}/r1/history"
    )
