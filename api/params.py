"""Ids in paths and text in query strings: each bounded in its type (its length,
and free text as domain/text.py allows it), so a hostile value is answered with
a 422 naming the parameter (or a 404 for an id of the wrong shape), never with
an error from the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from domain.text import SHORT, text

# A workflow's id holds a PO number, which may hold any printable text (and "/").
WORKFLOW_ID_MAX = 200
# A task's id holds its workflow's id, a start time and the task's name.
TASK_ID_MAX = 1000

WorkflowIdText = text(WORKFLOW_ID_MAX, min_length=1, strip=False)
TaskIdText = text(TASK_ID_MAX, min_length=1, strip=False)

OrderIdPath = Annotated[WorkflowIdText, Path(description="the order's id, percent-encoded")]
OpenOrderIdPath = Annotated[WorkflowIdText, Path(description="open-order-<sales order>")]
CsrIdPath = Annotated[WorkflowIdText, Path(description="csr-<case number>")]
TaskIdPath = Annotated[TaskIdText, Path(description="the task's id, percent-encoded")]
PayloadIdPath = Annotated[
    text(SHORT, min_length=1, strip=False), Path(description="the document's payloadID")
]
ShortTextQuery = Annotated[text(SHORT, min_length=1) | None, Query()]
IncidentIdPath = Annotated[WorkflowIdText, Path(description="incident-<platform>-<opened>")]
