"""How the work-queue page shows things: SLA countdowns, names, form fields.
Pure, so the rules are unit-tested without a browser."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from domain.tasks import FieldSpec


@dataclass(frozen=True)
class Countdown:
    text: str
    overdue: bool


def _span(seconds: int) -> str:
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min" if mins else "under a minute"


def countdown(due_at: datetime | None, now: datetime) -> Countdown:
    """'due in 1 h 05 min', or 'overdue by 12 min' once the due time has passed."""
    if due_at is None:
        return Countdown("no due time", False)
    left = int((due_at - now).total_seconds())
    if left < 0:
        return Countdown(f"overdue by {_span(-left)}", True)
    return Countdown(f"due in {_span(left)}", False)


def humanize(name: str) -> str:
    """A decision's or kind's name as words: 'approve_po_price' → 'Approve PO price'."""
    words = [w.upper() if w in {"po", "uom", "sla", "oms"} else w for w in name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def input_attributes(field: FieldSpec) -> dict[str, str]:
    """The HTML input for a decision field of the task API's `decisions`."""
    if field.type == "boolean":
        return {"type": "checkbox", "value": "true"}
    if field.type == "integer":
        return {"type": "number", "step": "1", "inputmode": "numeric"}
    if field.type == "decimal":
        # Text, not number: "2.10" stays as typed, and the API says what is wrong.
        return {"type": "text", "inputmode": "decimal", "autocomplete": "off"}
    if field.type in DATE_EXAMPLES:  # what the API takes (docs/input.md), shown
        return {"type": "text", "autocomplete": "off", "placeholder": DATE_EXAMPLES[field.type]}
    return {"type": "text", "autocomplete": "off"}


# A time with its UTC offset; a day alone where the field takes either.
DATE_EXAMPLES = {
    "datetime": "2026-12-07T15:00-06:00",
    "date": "2026-12-07",
    "date_or_datetime": "2026-12-07 or 2026-12-07T15:00-06:00",
}


def decision_body(name: str, fields: list[FieldSpec], form: Mapping[str, Any]) -> dict[str, Any]:
    """A decision form as the task API's `complete` body: `{"decision", "comment",
    ...fields}`. An unticked box is false; an empty optional field is left out;
    an empty required one is sent, so the API says what it needs."""
    body: dict[str, Any] = {"decision": name}
    comment = str(form.get("comment") or "").strip()
    if comment:
        body["comment"] = comment
    for field in fields:
        if field.name == "comment":
            continue
        raw = form.get(field.name)
        if field.type == "boolean":
            body[field.name] = raw in ("true", "on")
            continue
        value = str(raw or "").strip()
        if value or field.required:
            body[field.name] = value
    return body


def temporal_ui_link(base: str, namespace: str, workflow_id: str, run_id: str | None) -> str:
    """The workflow's page in the Temporal UI: its current run's history when the
    read model knows the run, else the workflow (the UI finds its latest run)."""
    link = f"{base}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"
    return f"{link}/{quote(run_id, safe='')}/history" if run_id else link
