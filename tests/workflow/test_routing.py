"""Routing through the kernel, shown on orders: a rep who is away gets no new
task; it lands with the cross-trained backup, with who and why in the task's
payload and the audit trail, and only the backup may decide it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import pytest
from temporalio.client import Client, WorkflowUpdateFailedError

from db import read_model
from db.directory import set_away
from domain.identity import Actor, Role
from domain.order.models import OrderStatus
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.workflow.conftest import eventually, start_order, wait_for_status
from tests.workflow.test_holds import decide, task_of, with_lines
from workflows.order import OrderWorkflow

WENDY = Actor(person_id="wendy", roles=frozenset({Role.ACCOUNT_REP}))
MARIA = Actor(person_id="maria.lopez", roles=frozenset({Role.ACCOUNT_REP}))


@pytest.fixture
async def maria_away(pool: asyncpg.Pool):  # type: ignore[no-untyped-def]
    async with pool.acquire() as conn:
        await set_away(conn, "maria.lopez", datetime(2099, 1, 4, tzinfo=UTC), "parental leave")
    try:
        yield
    finally:
        async with pool.acquire() as conn:
            await set_away(conn, "maria.lopez", None, "")


async def test_a_task_for_an_account_whose_rep_is_away_lands_with_the_cross_trained_backup(
    client: Client, settings: Settings, pool: asyncpg.Pool, sims: Simulators, maria_away: None
) -> None:
    handle = await start_order(
        client, settings, **with_lines(line1={"unit_price": Decimal("2.10")})
    )
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    task = await task_of(handle, "resolve_hold_price")
    assert task.assignee == "wendy"
    routing = task.payload["routing"]
    assert routing["rule"] == "backup"
    assert "cross-trained backup for order_processing in US-South" in routing["reason"]
    assert routing["skipped"][0]["person_id"] == "maria.lopez"
    assert "parental leave" in routing["skipped"][0]["why"]

    async def routed_in_trail() -> list:
        async with pool.acquire() as conn:
            trail = await read_model.audit_trail(conn, handle.id)
        return [r["comment"] for r in trail if r["action"] == "task routed"]

    comments = await eventually(routed_in_trail, "the routing in the audit trail")
    assert comments[0].startswith("resolve_hold_price → wendy: ")
    assert "maria.lopez skipped: away until 2099-01-04" in comments[0]
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT assignee, payload FROM human_tasks WHERE task_id = $1", task.task_id
        )
    assert row["assignee"] == "wendy"
    async with pool.acquire() as conn:
        record = await read_model.get_record(conn, handle.id)
    assert record["assignee"] == "wendy"  # the order's row shows who has it now

    # The helpdesk ticket is the backup's too.
    async def ticket() -> int | None:
        return (await handle.query(OrderWorkflow.view)).helpdesk_ticket_id

    ticket_id = await eventually(ticket, "the helpdesk ticket")
    wendy_agent = sims.state.helpdesk.agents["wendy@example.com"]
    assert sims.state.helpdesk.tickets[ticket_id].responder_id == wendy_agent.id

    # The away rep may not take it; the backup resolves it.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, task, "correct_price", actor=MARIA, unit_price="2.35")
    assert refused.value.cause.type == "Forbidden"
    await decide(handle, task, "correct_price", actor=WENDY, unit_price="2.35")
    await wait_for_status(handle, OrderStatus.RELEASED)
    view = await handle.query(OrderWorkflow.view)
    resolved = next(a for a in view.audit if a.action == "hold resolved")
    assert resolved.actor == "wendy"
    await record_history(client, handle.id, "order-hold-routed-to-backup")


async def test_with_the_rep_back_the_task_goes_to_the_accounts_own_rep(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(
        client, settings, **with_lines(line1={"unit_price": Decimal("2.10")})
    )
    task = await task_of(handle, "resolve_hold_price")
    assert task.assignee == "maria.lopez"
    assert task.payload["routing"]["rule"] == "account_contact"
