"""Ids in paths and text in query strings, bounded: a query parameter by its
type (its length, and free text as domain/text.py allows it), answered 422
naming it; an id in a path by `is_id`, answered 404 (there is no such thing)
before anything is looked up. Either way never an error from the database."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Query

from domain.text import SHORT, text, text_problem

# A workflow's id holds a PO number, which may hold any printable text (and "/").
WORKFLOW_ID_MAX = 200
# A task's id holds its workflow's id, a start time and the task's name.
TASK_ID_MAX = 1000

TaskIdText = text(TASK_ID_MAX, min_length=1, strip=False)
ShortTextQuery = Annotated[text(SHORT, min_length=1) | None, Query()]


def is_id(value: str, shape: str | None = None, max_length: int = WORKFLOW_ID_MAX) -> bool:
    """Whether `value` can be an id at all: one line of free text, at most
    `max_length` characters, the whole of it of `shape` (a regular expression)."""
    return (
        0 < len(value) <= max_length
        and text_problem(value) is None
        and (shape is None or re.fullmatch(shape, value) is not None)
    )


def shown(value: str) -> str:
    """An id as a refusal may repeat it: not at all when it is no text to show."""
    return value if text_problem(value) is None and len(value) <= WORKFLOW_ID_MAX else "this"
