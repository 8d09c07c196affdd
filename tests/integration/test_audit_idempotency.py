"""The audit table keeps one entry per position of a workflow's trail, however
often and from whichever workflow task it is written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from db import read_model
from domain.records import AuditEntry, ReadModelSync, WorkflowRecord

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def sync(
    workflow_id: str, revision: int, offset: int, *entries: AuditEntry, created_at: datetime = T0
) -> ReadModelSync:
    record = WorkflowRecord(
        workflow_id=workflow_id, kind="order", status="released", revision=revision,
        created_at=created_at, updated_at=created_at + timedelta(seconds=revision),
    )  # fmt: skip
    return ReadModelSync(
        record=record, audit=list(entries), audit_offset=offset, origin_run_id="run-1"
    )


def entry(action: str, at: datetime, comment: str = "") -> AuditEntry:
    return AuditEntry(at=at, actor="sopflow", action=action, comment=comment)


async def test_an_entry_written_again_at_a_later_workflow_time_is_kept_once(
    pool: asyncpg.Pool,
) -> None:
    """A workflow task writes entry 1 through its local activity, then its worker
    dies; the retried task makes the same entry at its own (later) time."""
    wid = f"order-audit-{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        # Even the first task: the retry starts the workflow's clock later.
        await read_model.apply_sync(conn, sync(wid, 1, 0, entry("received", T0)))
        later = T0 + timedelta(seconds=10)
        await read_model.apply_sync(
            conn, sync(wid, 1, 0, entry("received", later), created_at=later)
        )
        lost_task = T0 + timedelta(seconds=1)
        retried_task = T0 + timedelta(seconds=11)
        await read_model.apply_sync(conn, sync(wid, 2, 1, entry("released", lost_task, "PT-1")))
        await read_model.apply_sync(conn, sync(wid, 2, 1, entry("released", retried_task, "PT-1")))
        # What the retried task did differently at the next position is its own entry.
        await read_model.apply_sync(conn, sync(wid, 3, 2, entry("shipped", retried_task, "S1")))

        trail = await read_model.audit_trail(conn, wid)

    assert [(r["action"], r["comment"]) for r in trail] == [
        ("received", ""), ("released", "PT-1"), ("shipped", "S1"),
    ]  # fmt: skip


async def test_an_order_sent_again_after_it_failed_has_a_trail_of_its_own(
    pool: asyncpg.Pool,
) -> None:
    wid = f"order-audit-{uuid.uuid4().hex[:8]}"
    first = sync(wid, 1, 0, entry("received", T0), entry("failed", T0))
    again = sync(wid, 1, 0, entry("received", T0 + timedelta(hours=1))).model_copy(
        update={"origin_run_id": "run-2"}
    )
    async with pool.acquire() as conn:
        await read_model.apply_sync(conn, first)
        await read_model.apply_sync(conn, again)
        trail = await read_model.audit_trail(conn, wid)
    assert [r["action"] for r in trail] == ["received", "failed", "received"]
