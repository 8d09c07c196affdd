"""Free text at the edge: one type for every field a person or a system types
into (comments, names, PO numbers, carriers, notes, reasons, query filters), in
the API's bodies and parameters and in every model a workflow takes by another
door (webhooks, signals, cXML).

What the text may hold:
- no control characters: NUL (PostgreSQL cannot store it), the rest of C0, DEL
  and C1; tab and line breaks only in multi-line text (comments, notes,
  descriptions);
- no bidirectional embeddings, overrides or isolates (U+202A–U+202E,
  U+2066–U+2069): they make text read otherwise than it is;
- no lone surrogates (not text: nothing can encode them);
- in one-line text, no line or paragraph separator (U+2028, U+2029).

Length caps by kind: names and short text 200 characters, comments 2,000,
notes and descriptions 4,000. A refusal is a validation error on its field, so
the API's 422 names the field and says which character it found where."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

SHORT = 200
COMMENT = 2000
NOTE = 4000

_BIDI = "\u202a-\u202e\u2066-\u2069"
_SURROGATES = "\ud800-\udfff"
_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}{_SURROGATES}]")
_MULTI_LINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}{_SURROGATES}]")
_NAMES = {"\t": "a tab", "\n": "a line break", "\r": "a line break", "\x00": "NUL"}


def _describe(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    if ch in _NAMES:
        return f"{_NAMES[ch]} ({code})"
    if "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069":
        return f"a bidirectional control ({code})"
    if "\ud800" <= ch <= "\udfff":
        return f"a lone surrogate ({code})"
    if ch in "\u2028\u2029":
        return f"a line break ({code} {unicodedata.name(ch).lower()})"
    return f"a control character ({code})"


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with `value` as free text, or None."""
    found = (_MULTI_LINE if multiline else _ONE_LINE).search(value)
    if found is None:
        return None
    ch = found.group()
    where = f"at position {found.start() + 1}"
    if not multiline and (ch in "\t\n\r\u2028\u2029"):
        return f"is one line: {_describe(ch)} {where} is not allowed here"
    return f"may not contain {_describe(ch)}, found {where}"


def check_text(value: Any, *, multiline: bool = False) -> Any:
    """`value` when it is acceptable free text (anything not a string is left
    to the field's own type); a validation error with the reason otherwise."""
    if isinstance(value, str) and (problem := text_problem(value, multiline=multiline)):
        raise PydanticCustomError("free_text", problem)
    return value


def _one_line(value: Any) -> Any:
    return check_text(value)


def _multi_line(value: Any) -> Any:
    return check_text(value, multiline=True)


def text(
    max_length: int,
    *,
    min_length: int = 0,
    multiline: bool = False,
    strip: bool = True,
    pattern: str | None = None,
) -> Any:
    """A free-text type: at most `max_length` characters (after surrounding
    whitespace is stripped, unless `strip` is off), at least `min_length`, one
    line unless `multiline`; `pattern` for text with a shape of its own."""
    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=strip, min_length=min_length, max_length=max_length, pattern=pattern
        ),
        # Outermost: the raw input is checked before anything is stripped.
        BeforeValidator(_multi_line if multiline else _one_line),
    ]


# Names, titles, short references: one line, never blank.
ShortText = text(SHORT, min_length=1)
Name = ShortText
# A code or reference another system gave (part, pool, shipment, carrier ids).
Reference = text(80, min_length=1)
# A comment a person writes; `OptionalComment` where the workflow itself says
# that a comment is required (its refusal names the move).
Comment = text(COMMENT, min_length=1, multiline=True)
OptionalComment = text(COMMENT, multiline=True)
# Notes and descriptions.
Note = text(NOTE, min_length=1, multiline=True)
OptionalNote = text(NOTE, multiline=True)


def strings_in(value: object) -> Iterable[tuple[str, str]]:
    """(where, text) for every string in a JSON-like value, keys too."""
    if isinstance(value, str):
        yield "", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key), str(key)
            for where, found in strings_in(item):
                yield f"{key}.{where}".rstrip("."), found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            for where, found in strings_in(item):
                yield f"{i}.{where}".rstrip("."), found


def check_free_form(value: Any, *, max_length: int = NOTE) -> Any:
    """A free-form JSON value (a decision's or a move's fields before their own
    model reads them): every string in it, keys too, is multi-line text of at
    most `max_length` characters."""
    for where, found in strings_in(value):
        problem = text_problem(found, multiline=True)
        if problem is None and len(found) > max_length:
            problem = f"is longer than {max_length} characters"
        if problem:
            raise PydanticCustomError("free_text", f"{where}: {problem}" if where else problem)
    return value
