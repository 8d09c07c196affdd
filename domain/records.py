"""What workflows write to the read model: one row per workflow, one per human
task, and the audit entries, sent together by one idempotent activity."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from domain.identity import Role


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    from_status: str | None = None
    to_status: str | None = None
    comment: str = ""


class RecordFields(BaseModel):
    """What a workflow says of itself in its read-model row."""

    account_number: str | None = None
    business_key: str | None = None
    summary: str = ""
    assignee: str | None = None
    due_at: datetime | None = None
    is_test: bool = False
    view: dict[str, Any] | None = None  # the workflow's query result, as JSON


class WorkflowRecord(RecordFields):
    """A workflow's read-model row: what it says of itself, and where it is."""

    workflow_id: str
    kind: str
    status: str
    revision: int
    run_id: str | None = None
    created_at: datetime
    updated_at: datetime
    # Set once the workflow has ended (completed, failed, cancelled).
    closed_at: datetime | None = None


class HumanTask(BaseModel):
    task_id: str
    workflow_id: str
    kind: str
    role: Role
    opened_at: datetime
    assignee: str | None = None
    queue: str | None = None
    due_at: datetime | None = None
    payload: dict[str, Any] = {}


class ClosedTask(BaseModel):
    task_id: str
    closed_at: datetime
    outcome: str


class ReadModelSync(BaseModel):
    record: WorkflowRecord
    # Audit entries not yet written, with the position of the first one in
    # the workflow's log (their idempotency key).
    audit: list[AuditEntry] = []
    audit_offset: int = 0
    # The first run of the workflow's chain: with the position, the key of an
    # entry (stable across retried workflow tasks; new for an order sent again).
    origin_run_id: str | None = None
    open_tasks: list[HumanTask] = []
    closed_tasks: list[ClosedTask] = []
    # The read model refused this workflow's state for its content (a defect,
    # with an operator's task): written with what PostgreSQL cannot hold
    # replaced (`scrubbed`), so the row, its trail and that task still land.
    scrub: bool = False


# A NUL, escaped in JSON, not preceded by an escaped backslash of its own.
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def scrubbed(sync: ReadModelSync) -> ReadModelSync:
    """The write with every NUL (which PostgreSQL's text and jsonb cannot hold)
    replaced by U+FFFD, the replacement character a reader recognises."""
    text = _JSON_NUL.sub(lambda m: m.group(1) + "\\ufffd", sync.model_dump_json())
    return ReadModelSync.model_validate_json(text)
