"""Every task kind's page renders a form per decision it takes, each field with
its label, and a required comment where the decision needs one (kinds the
browser story does not reach included)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from api.tasks import Decision, TaskItem
from api.web.pages import templates
from domain.identity import Actor, Role
from domain.tasks import DECISIONS, TaskStatus, decisions_for

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
HOLD = {"code": "PRICE", "line_number": 1, "reason": "line 1: PO price 2.10 differs"}


def render(kind: str, payload: dict, **context: object) -> str:
    task = TaskItem(
        task_id=f"order-401693-PO 7/2026:run:{kind}",
        workflow_id="order-401693-PO 7/2026",
        kind=kind,
        role="team_lead",
        assignee=None,
        queue=None,
        due_at=NOW - timedelta(minutes=5),
        opened_at=NOW - timedelta(hours=2),
        status=TaskStatus.OPEN,
        closed_at=None,
        outcome=None,
        payload=payload,
        decisions=[Decision(name=d.name, fields=d.fields) for d in decisions_for(kind)],
        account_number="401693",
        summary="PO 7/2026 · Propetro Services (401693) · 3 lines",
    )
    actor = Actor(person_id="tom.baker", roles=frozenset({Role.TEAM_LEAD}))
    return templates.get_template("_task.html").render(
        task=task,
        actor=actor,
        now=NOW,
        csrf="t0ken",
        case=None,
        case_template=None,
        holds_role=True,
        may_give=True,
        temporal_ui="http://ui/namespaces/default/workflows/x",
        **context,
    )


@pytest.mark.parametrize("kind", sorted(DECISIONS))
def test_every_decision_is_a_labelled_form(kind: str) -> None:
    page = render(kind, {"holds": [HOLD]} if kind == "sla_breach" else HOLD)
    forms = re.findall(r"<form [^>]*class=\"decision box\".*?</form>", page, re.S)
    assert len(forms) == len(decisions_for(kind))
    for spec, form in zip(decisions_for(kind), forms, strict=True):
        assert f'name="decision" value="{spec.name}"' in form
        assert 'name="csrf_token" value="t0ken"' in form
        # The task id holds '/' and ' ': the form posts to it percent-encoded.
        assert 'action="/app/tasks/order-401693-PO%207%2F2026%3Arun%3A' in form
        ids = re.findall(r'<(?:input|textarea) id="([^"]+)"', form)
        for id_ in ids:
            assert f'<label for="{id_}">' in form, (kind, id_)
        needs_comment = any(f.name == "comment" for f in spec.fields)
        comment = re.search(r"<textarea[^>]*>", form)
        assert comment and ("required" in comment.group(0)) == needs_comment
    assert "Overdue" in page and "overdue by 5 min" in page


def test_an_sla_breach_lists_its_holds_and_a_refusal_shows_on_its_form() -> None:
    page = render(
        "sla_breach",
        {"holds": [HOLD]},
        refusal={"decision": "acknowledge", "reason": "this task is for the role team_lead",
                 "entered": {"comment": "seen <b>"}},
    )
    assert "<li>PRICE line 1: line 1: PO price 2.10 differs</li>" in page
    assert "Refused: this task is for the role team_lead" in page
    assert "seen &lt;b&gt;</textarea>" in page  # kept, and escaped
