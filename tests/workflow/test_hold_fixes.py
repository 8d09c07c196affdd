"""Every hold code opened and resolved through its task: POOL (choose_pool),
UOM (fix_uom), ADDRESS (choose_ship_to), ACCOUNT (recheck once the reference
data is fixed), and the team lead's set_price on an escalated price. Each fix
that does not cure its hold is refused with the reason and changes nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from domain.order.models import Address, HoldCode, OrderStatus, OrderView
from domain.records import HumanTask
from sopflow.config import Settings
from tests.conftest import Simulators
from tests.workflow.conftest import eventually, start_order, wait_for_status
from tests.workflow.test_holds import LEAD, decide, open_tasks, task_of, with_lines
from workflows.order import OrderWorkflow


async def not_cured(
    handle: WorkflowHandle, sims: Simulators, task: HumanTask, decision: str, **fields: Any
) -> str:
    """Refused with HoldNotCured; the order, its tasks and OMS's draft as before.
    Answers the reason."""

    async def settled() -> OrderView | None:
        # Tasks open a moment before the hold's notifications are done.
        view = await handle.query(OrderWorkflow.view)
        return view if any(a.action == "ticket opened" for a in view.audit) else None

    before = await eventually(settled, "the order settled on hold")
    tasks_before = await open_tasks(handle)
    oms_before = await sims.oms_orders(handle.id)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, task, decision, **fields)
    assert refused.value.cause.type == "HoldNotCured"
    assert await handle.query(OrderWorkflow.view) == before
    assert await open_tasks(handle) == tasks_before
    assert await sims.oms_orders(handle.id) == oms_before
    return refused.value.cause.message


async def only_task(handle: WorkflowHandle, kind: str, code: HoldCode) -> HumanTask:
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    task = await task_of(handle, kind)
    assert task.payload["code"] == code.value
    assert [t.kind for t in await open_tasks(handle)] == [kind]
    return task


async def test_a_part_in_two_pools_is_held_until_the_rep_chooses_one(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    # FL-7007 sits in ODS-MAIN and ODS-FAB at Odessa.
    handle = await start_order(
        client,
        settings,
        **with_lines(line3={"supplier_part_id": "FL-7007", "unit_price": Decimal("64.50")}),
    )
    task = await only_task(handle, "resolve_hold_pool", HoldCode.POOL)
    assert "multiple pool failure" in task.payload["reason"]
    assert "ODS-FAB, ODS-MAIN" in task.payload["reason"]

    reason = await not_cured(handle, sims, task, "recheck")
    assert "multiple pool failure" in reason
    reason = await not_cured(handle, sims, task, "choose_pool", pool_id="ODS-VALVES")
    assert reason == (
        "line 3: pool ODS-VALVES does not hold part FL-7007 at branch BR-ODS; "
        "its pools there are ODS-FAB, ODS-MAIN"
    )

    result = await decide(handle, task, "choose_pool", pool_id="ODS-FAB")
    # Answered once taken; the order confirms and goes to the branch after.
    assert result.status == OrderStatus.ON_HOLD
    assert result.next_step == "every hold is resolved: confirming the order in OMS"
    await wait_for_status(handle, OrderStatus.RELEASED)
    oms = (await sims.oms_orders(handle.id))[0]
    assert [ln["pool_id"] for ln in oms["lines"]] == ["ODS-MAIN", "ODS-MAIN", "ODS-FAB"]
    assert await open_tasks(handle) == []
    view = await handle.query(OrderWorkflow.view)
    resolved = [a for a in view.audit if a.action == "hold resolved"]
    assert len(resolved) == 1 and resolved[0].actor == "maria.lopez"
    assert "POOL line 3: choose_pool" in resolved[0].comment


async def test_a_unit_the_part_is_not_sold_in_is_fixed_by_the_rep(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    # PV-3300 is sold in EA only, and CS converts into nothing it is sold in.
    handle = await start_order(client, settings, **with_lines(line3={"uom": "CS"}))
    task = await only_task(handle, "resolve_hold_uom", HoldCode.UOM)
    assert task.payload["reason"] == "line 3: unit CS is not one part PV-3300 is sold in (EA)"

    reason = await not_cured(handle, sims, task, "recheck")
    assert reason == task.payload["reason"]
    reason = await not_cured(handle, sims, task, "fix_uom", uom="BX", quantity="1")
    assert reason == "line 3: unit BX is not one part PV-3300 is sold in (EA)"

    await decide(handle, task, "fix_uom", uom="EA", quantity="1")
    await wait_for_status(handle, OrderStatus.RELEASED)
    line3 = (await sims.oms_orders(handle.id))[0]["lines"][2]
    assert (line3["uom"], Decimal(line3["quantity"]), Decimal(line3["unit_price"])) == (
        "EA",
        1,
        Decimal("189.00"),
    )
    assert await open_tasks(handle) == []


async def test_an_unknown_ship_to_is_held_until_the_rep_chooses_one_of_the_accounts(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(
        client, settings, ship_to=Address(address_id="PP-NOWHERE", name="Propetro Yard 9")
    )
    task = await only_task(handle, "resolve_hold_address", HoldCode.ADDRESS)
    assert "the account's ship-to ids are PP-HQ, PP-ODESSA" in task.payload["reason"]
    assert (await handle.query(OrderWorkflow.view)).branch_id is None

    await not_cured(handle, sims, task, "recheck")
    # Another account's ship-to is not this account's.
    reason = await not_cured(handle, sims, task, "choose_ship_to", address_id="RGW-PLANT2")
    assert "ship-to RGW-PLANT2 is not one of account 401693's ship-to addresses" in reason

    await decide(handle, task, "choose_ship_to", address_id="PP-HQ")
    await wait_for_status(handle, OrderStatus.RELEASED)
    view = await handle.query(OrderWorkflow.view)
    assert view.branch_id == "BR-ODS" and view.pick_ticket_id
    assert [ln.pool_id for ln in view.lines] == ["ODS-MAIN", "ODS-MAIN", "ODS-VALVES"]
    assert await open_tasks(handle) == []


async def test_an_unknown_account_cannot_be_rechecked_into_existence(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings, account_number="999001")
    task = await only_task(handle, "resolve_hold_account", HoldCode.ACCOUNT)
    assert (task.assignee, task.queue) == (None, "csc")
    reason = await not_cured(handle, sims, task, "recheck")
    assert reason.startswith("account 999001 does not exist")
    # The account hold has no fix but a recheck.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, task, "choose_ship_to", address_id="PP-ODESSA")
    assert refused.value.cause.type == "InvalidDecision"


@pytest.fixture
async def inactive_account(pool: asyncpg.Pool) -> Any:
    """A copy of Propetro's account, inactive: its own number, rep, ship-to,
    cross-reference and contract prices. Removed afterwards."""
    number = f"49{uuid.uuid4().int % 10**4:04d}"
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO accounts (account_number, name, active, punchout_enabled, sla_minutes)"
            " VALUES ($1, 'Dormant Drilling', false, true, 120)",
            number,
        )
        for table, columns in [
            ("account_contacts", "contact_role, person_id"),
            ("ship_to_addresses", "address_id, name, lines, city, state, postal_code, branch_id"),
            ("customer_part_xref", "customer_part_number, part_id"),
            ("contract_prices", "part_id, uom, unit_price_cents"),
        ]:
            await conn.execute(
                f"INSERT INTO {table} (account_number, {columns})"
                f" SELECT $1, {columns} FROM {table} WHERE account_number = '401693'",
                number,
            )
    yield number
    async with pool.acquire() as conn, conn.transaction():
        for table in (
            "account_contacts",
            "ship_to_addresses",
            "customer_part_xref",
            "contract_prices",
            "accounts",
        ):
            await conn.execute(f"DELETE FROM {table} WHERE account_number = $1", number)


async def test_an_inactive_account_is_cured_by_a_recheck_once_reactivated(
    client: Client,
    settings: Settings,
    sims: Simulators,
    pool: asyncpg.Pool,
    inactive_account: str,
) -> None:
    handle = await start_order(client, settings, account_number=inactive_account)
    task = await only_task(handle, "resolve_hold_account", HoldCode.ACCOUNT)
    assert task.assignee == "maria.lopez"
    reason = await not_cured(handle, sims, task, "recheck")
    assert reason == f"account {inactive_account} is inactive"

    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE accounts SET active = true WHERE account_number = $1", inactive_account
        )
    await decide(handle, task, "recheck")
    await wait_for_status(handle, OrderStatus.RELEASED)
    view = await handle.query(OrderWorkflow.view)
    resolved = [a for a in view.audit if a.action == "hold resolved"]
    assert len(resolved) == 1 and "ACCOUNT: recheck" in resolved[0].comment
    assert [o["status"] for o in await sims.oms_orders(handle.id)] == ["released"]
    assert await open_tasks(handle) == []


async def test_the_team_lead_sets_the_price_of_an_escalated_line(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(
        client, settings, **with_lines(line1={"unit_price": Decimal("2.10")})
    )
    rep_task = await only_task(handle, "resolve_hold_price", HoldCode.PRICE)
    reason = await not_cured(handle, sims, rep_task, "recheck")
    assert "differs from contract price 2.35" in reason
    await decide(handle, rep_task, "escalate", comment="buyer asks 2.20")
    lead_task = await task_of(handle, "price_escalation")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, lead_task, "set_price", actor=LEAD, unit_price="0", comment="x")
    assert refused.value.cause.type == "InvalidDecision"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, lead_task, "set_price", actor=LEAD, unit_price="2.20")
    assert refused.value.cause.type == "InvalidDecision"  # a comment is required

    await decide(handle, lead_task, "set_price", actor=LEAD, unit_price="2.20", comment="split")
    await wait_for_status(handle, OrderStatus.RELEASED)
    line1 = (await sims.oms_orders(handle.id))[0]["lines"][0]
    assert Decimal(line1["unit_price"]) == Decimal("2.20")
    view = await handle.query(OrderWorkflow.view)
    assert view.lines[0].unit_price == Decimal("2.20")
    resolved = [a for a in view.audit if a.action == "hold resolved"]
    assert [a.actor for a in resolved] == ["tom.baker"]
    assert "set_price" in resolved[0].comment and "split" in resolved[0].comment
    assert await open_tasks(handle) == []
