"""The one free-text type (domain/text.py): what it refuses, and that every
door text comes in by uses it — API bodies, webhooks, the ERP's import, cXML,
Update arguments a workflow takes from any client."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from domain.account_change import InventoryLoading, ReportDiscrepancy
from domain.csr.models import CsrMove, Registration
from domain.identity import Actor, Role
from domain.open_order.models import ErpEvent, LogContact, OpenOrder, SmsVoiceEvent
from domain.order.cxml import CxmlError, parse_order_request, sample_order_request
from domain.order.models import BuyerCancel, FlagError, RequestEdit
from domain.tasks import TaskDecision
from domain.text import Comment, Note, OptionalComment, ShortText, text_problem

ACTOR = Actor(person_id="maria.lopez", roles=frozenset({Role.ACCOUNT_REP}))


class Form(BaseModel):
    name: ShortText
    comment: OptionalComment = ""
    note: Note | None = None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("a\x00b", "may not contain NUL (U+0000), found at position 2"),
        ("\x07", "may not contain a control character (U+0007), found at position 1"),
        ("x\x7f", "may not contain a control character (U+007F), found at position 2"),
        ("x\x9b", "may not contain a control character (U+009B), found at position 2"),
        ("abc\u202e", "may not contain a bidirectional control (U+202E), found at position 4"),
        ("\u2066x", "may not contain a bidirectional control (U+2066), found at position 1"),
        ("\ud83d", "may not contain a lone surrogate (U+D83D), found at position 1"),
        ("a\tb", "is one line: a tab (U+0009) at position 2 is not allowed here"),
        ("a\nb", "is one line: a line break (U+000A) at position 2 is not allowed here"),
        ("a\u2028b", "is one line: a line break (U+2028 line separator) at position 2 is not"
         " allowed here"),
    ],
)  # fmt: skip
def test_one_line_text_refuses_with_the_character_and_where(value: str, problem: str) -> None:
    assert text_problem(value) == problem
    with pytest.raises(ValidationError) as raised:
        Form(name=value)
    (err,) = raised.value.errors()
    assert (err["loc"], err["msg"]) == (("name",), problem)


def test_multi_line_text_takes_tabs_and_line_breaks_and_nothing_else() -> None:
    form = Form(name="Dana", comment="line 1\r\n\tline 2\n", note="a\nb")
    assert form.comment == "line 1\r\n\tline 2"  # surrounding whitespace stripped
    assert text_problem("ok\u00e9\u4e2d\U0001f600 \u200f", multiline=True) is None
    for bad in ("a\x00", "a\x0b", "a\x0c", "a\u202d", "\udfff"):
        with pytest.raises(ValidationError):
            Form(name="Dana", comment=bad)


def test_caps_by_kind() -> None:
    class Caps(BaseModel):
        short: ShortText
        comment: Comment
        note: Note

    ok = Caps(short="s" * 200, comment="c" * 2000, note="n" * 4000)
    assert len(ok.note) == 4000
    with pytest.raises(ValidationError) as raised:
        Caps(short="s" * 201, comment="c" * 2001, note="n" * 4001)
    assert [e["loc"][0] for e in raised.value.errors()] == ["short", "comment", "note"]
    with pytest.raises(ValidationError):
        Caps(short="   ", comment="x", note="x")  # blank is not a name


def test_every_door_into_a_workflow_refuses_a_nul() -> None:
    """What the API validates, a workflow's own models validate again, so a
    client that skips the API cannot hand a workflow a NUL either."""
    order = {
        "sales_order": "SO1", "store_id": "101", "type": "delivery",
        "guest": {"name": "Dana\x00", "phones": ["2145550101"]},
        "lines": [{"line_number": 1, "sku": "SOFA", "quantity": 1}],
    }  # fmt: skip
    doors = [
        (OpenOrder, order, ("guest", "name")),  # POST /open-orders and the ERP's import
        (ErpEvent, {"event_id": "e1", "sales_order": "SO1", "type": "product_arrived",
                    "note": "\x00"}, ("note",)),
        (SmsVoiceEvent, {"event_id": "s1", "sales_order": "SO1", "type": "reply",
                         "phone": "2145550101", "text": "yes\x00"}, ("text",)),
        (FlagError, {"actor": ACTOR, "category": "human", "platform": "other",
                     "comment": "\x00"}, ("comment",)),
        (RequestEdit, {"actor": ACTOR, "lines": [{"line_number": 1, "quantity": 2}],
                       "reason": "\x00"}, ("reason",)),
        (BuyerCancel, {"actor": ACTOR, "payload_id": "p\x00"}, ("payload_id",)),
        (LogContact, {"actor": ACTOR, "channel": "chat", "outcome": "reached",
                      "at": "2026-12-07T10:00:00Z", "contact_status": "C\x00B"},
         ("contact_status",)),
        (InventoryLoading, {"bid": "B1", "inventory": ["ok", "\x00"], "actor": ACTOR},
         ("inventory", 1)),
        (ReportDiscrepancy, {"kind": "billing", "description": "\x00", "actor": ACTOR},
         ("description",)),
        (TaskDecision, {"task_id": "t", "decision": "acknowledge", "actor": ACTOR,
                        "fields": {"comment": "ok\x00"}}, ("fields",)),
        (CsrMove, {"move": "submit", "actor": ACTOR, "fields": {"parties": ["\x00"]}},
         ("fields",)),
        (Registration, {"account_number": "401693", "business_unit": "BU", "title": "T\x00",
                        "description": "d", "main_shipping_site": "s"}, ("title",)),
    ]  # fmt: skip
    for model, data, loc in doors:
        with pytest.raises(ValidationError) as raised:
            model.model_validate(data)
        assert [e["loc"] for e in raised.value.errors()] == [loc], model.__name__
        assert "NUL (U+0000)" in raised.value.errors()[0]["msg"], model.__name__


@pytest.mark.parametrize(
    ("where", "reference", "reason"),
    [
        ('<Comments xml:lang="en">', '<Comments xml:lang="en">&#x202E;',
         "may not contain a bidirectional control (U+202E)"),
        ("<Description xml:lang=\"en\">", "<Description xml:lang=\"en\">&#x9B;",
         "may not contain a control character (U+009B)"),
    ],
)  # fmt: skip
def test_a_buyers_cxml_is_refused_for_what_its_text_holds(
    where: str, reference: str, reason: str
) -> None:
    doc = sample_order_request().decode()
    assert where in doc
    with pytest.raises(CxmlError) as raised:
        parse_order_request(doc.replace(where, reference, 1).encode()).to_purchase_order("401693")
    assert raised.value.status == 400 and reason in raised.value.text, raised.value.text
