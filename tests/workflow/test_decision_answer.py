"""A person's decision is answered in a workflow task that holds the answer and
a timer, nothing else (each command there costs the server about as much as a
bare Update's whole task). What the decision sets going, its read-model write,
search attributes and the order's next step, starts when the caller, answered,
signals `carry_out` (the API does), or when the timer fires if nobody does."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from db import read_model
from domain.order.models import OrderStatus
from sopflow.config import Settings
from tests.conftest import record_history
from tests.factories import REP
from tests.workflow.conftest import eventually, start_order, wait_for_status
from tests.workflow.test_holds import LEAD, decide, task_of, with_lines

ALONE = [
    "WORKFLOW_EXECUTION_UPDATE_ACCEPTED",
    "WORKFLOW_EXECUTION_UPDATE_COMPLETED",
    "TIMER_STARTED",
]


async def events(handle: WorkflowHandle) -> list[str]:
    return [
        EventType.Name(e.event_type).removeprefix("EVENT_TYPE_")
        async for e in handle.fetch_history_events()
    ]


def answer_task(history: list[str], nth: int) -> list[str]:
    """What the workflow task that answered the nth Update (from 1) recorded:
    its events after it completed, up to the next workflow task (a signal that
    came meanwhile is not its)."""
    completed = [i for i, e in enumerate(history) if e == "WORKFLOW_EXECUTION_UPDATE_COMPLETED"]
    at = completed[nth - 1]
    start = max(i for i in range(at) if history[i] == "WORKFLOW_TASK_COMPLETED") + 1
    end = next(
        (i for i in range(at, len(history)) if history[i] == "WORKFLOW_TASK_SCHEDULED"),
        len(history),
    )
    return [e for e in history[start:end] if e != "WORKFLOW_EXECUTION_SIGNALED"]


async def open_kinds(pool: asyncpg.Pool, workflow_id: str) -> set[str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT kind FROM human_tasks WHERE workflow_id = $1 AND closed_at IS NULL",
            workflow_id,
        )
    return {r["kind"] for r in rows}


async def held(client: Client, settings: Settings, pool: asyncpg.Pool) -> WorkflowHandle:
    """An order held for one price, once it has done all it does on hold (the
    ticket opened, the rep's task routed) and waits for the rep."""
    handle = await start_order(
        client, settings, **with_lines(line1={"unit_price": Decimal("2.10")})
    )
    await wait_for_status(handle, OrderStatus.ON_HOLD)

    async def quiet() -> bool:
        async with pool.acquire() as conn:
            record = await read_model.get_record(conn, handle.id)
            routed = await conn.fetchval(
                "SELECT assignee FROM human_tasks WHERE workflow_id = $1", handle.id
            )
        return bool(record and record["view"]["helpdesk_ticket_id"] and routed)

    await eventually(quiet, "the order waiting for its rep")
    return handle


async def test_the_answer_comes_alone_and_the_callers_word_carries_the_decision_out(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    handle = await held(client, settings, pool)
    rep_task = await task_of(handle, "resolve_hold_price")
    # `decide` (tests/workflow/test_holds.py) signals carry_out once answered, as the API does.
    await decide(handle, rep_task, "escalate", comment="buyer insists on 2.10")
    history = await events(handle)
    assert answer_task(history, 1) == ALONE

    async def escalated_in_read_model() -> bool:
        return await open_kinds(pool, handle.id) == {"price_escalation"}

    await eventually(escalated_in_read_model, "the escalation in the read model")
    lead_task = await task_of(handle, "price_escalation")
    await decide(handle, lead_task, "approve_po_price", actor=LEAD, comment="one-off")
    await wait_for_status(handle, OrderStatus.RELEASED)
    history = await events(handle)
    assert answer_task(history, 2) == ALONE
    # Each word came and cancelled its timer: nothing waited a second.
    assert history.count("WORKFLOW_EXECUTION_SIGNALED") == 2
    assert "TIMER_FIRED" not in history[history.index("WORKFLOW_EXECUTION_UPDATE_ACCEPTED") :]
    assert await open_kinds(pool, handle.id) == set()
    await record_history(client, handle.id, "order-price-approved-answer-alone")


async def test_without_the_callers_word_the_decision_is_carried_out_by_its_timer(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    handle = await held(client, settings, pool)
    rep_task = await task_of(handle, "resolve_hold_price")
    await decide(handle, rep_task, "escalate", comment="buyer insists", carry_out=False)

    async def escalated_in_read_model() -> bool:
        return await open_kinds(pool, handle.id) == {"price_escalation"}

    # The timer is a second (the server may round it up to the next one).
    await eventually(escalated_in_read_model, "the escalation in the read model", tries=100)
    history = await events(handle)
    assert "TIMER_FIRED" in history and "WORKFLOW_EXECUTION_SIGNALED" not in history
    view_task = await task_of(handle, "price_escalation")
    assert view_task.assignee == "tom.baker"  # routed once carried out


async def test_a_refused_decision_sets_nothing_going(
    client: Client, settings: Settings, pool: asyncpg.Pool
) -> None:
    handle = await held(client, settings, pool)
    rep_task = await task_of(handle, "resolve_hold_price")
    # Refused by the handler (the fix does not cure the hold), after its recheck.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, rep_task, "correct_price", actor=REP, unit_price="2.20")
    assert refused.value.cause.type == "HoldNotCured"
    assert answer_task(await events(handle), 1) == ["WORKFLOW_EXECUTION_UPDATE_COMPLETED"]
