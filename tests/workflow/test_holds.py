"""People resolve an order's holds through their tasks: each fix re-checked
against the reference data, OMS's draft following, the team lead deciding
escalated prices, and the order going on when the last hold is gone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from domain.identity import Actor, Role
from domain.order.models import OrderStatus
from domain.records import HumanTask, ReadModelSync
from domain.tasks import DecisionResult, TaskDecision
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.factories import BRANCH, REP, propetro_order
from tests.workflow.conftest import eventually, start_order, wait_for_status
from workflows.order import OrderWorkflow

LEAD = Actor(person_id="tom.baker", roles=frozenset({Role.TEAM_LEAD}))


def with_lines(**changes_by_line: dict[str, Any]) -> dict[str, Any]:
    lines = list(propetro_order().lines)
    for n, changes in changes_by_line.items():
        i = int(n.removeprefix("line")) - 1
        lines[i] = lines[i].model_copy(update=changes)
    return {"lines": lines}


async def open_tasks(handle: WorkflowHandle) -> list[HumanTask]:
    snapshot = await handle.query("read_model_snapshot", result_type=ReadModelSync)
    return snapshot.open_tasks


async def task_of(handle: WorkflowHandle, kind: str) -> HumanTask:
    async def find() -> HumanTask | None:
        return next((t for t in await open_tasks(handle) if t.kind == kind), None)

    return await eventually(find, f"an open {kind} task")  # type: ignore[return-value]


async def decide(
    handle: WorkflowHandle,
    task: HumanTask,
    decision: str,
    actor: Actor = REP,
    carry_out: bool = True,
    **fields: Any,
) -> DecisionResult:
    result = await handle.execute_update(
        "decide",
        TaskDecision(task_id=task.task_id, decision=decision, fields=fields, actor=actor),
        result_type=DecisionResult,
    )
    if carry_out:  # as the API does once answered (else the workflow's timer does)
        await handle.signal("carry_out")
    return result


async def test_an_escalated_price_approved_by_the_team_lead_confirms_the_order(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(
        client, settings, **with_lines(line1={"unit_price": Decimal("2.10")})
    )
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    rep_task = await task_of(handle, "resolve_hold_price")

    # The rep's own fix must be the contract price.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, rep_task, "correct_price", unit_price="2.20")
    assert refused.value.cause.type == "HoldNotCured"
    assert "contract price 2.35" in refused.value.cause.message

    # Not the branch's to decide, nor the team lead's while it is the rep's.
    for actor in (BRANCH, LEAD):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(handle, rep_task, "escalate", actor=actor, comment="x")
        assert refused.value.cause.type == "Forbidden"

    await decide(handle, rep_task, "escalate", comment="buyer insists on 2.10")

    async def routed() -> HumanTask | None:
        # Routed through the directory just after the rep's answer.
        task = await task_of(handle, "price_escalation")
        return task if task.assignee else None

    lead_task = await eventually(routed, "the escalation routed")
    assert lead_task.role == Role.TEAM_LEAD and lead_task.assignee == "tom.baker"
    assert rep_task.task_id not in {t.task_id for t in await open_tasks(handle)}
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, lead_task, "approve_po_price", comment="ok")  # a rep
    assert refused.value.cause.type == "Forbidden"

    result = await decide(handle, lead_task, "approve_po_price", actor=LEAD, comment="one-off")
    # Answered as soon as the order took it; confirming follows.
    assert result.status == OrderStatus.ON_HOLD
    assert result.next_step == "every hold is resolved: confirming the order in OMS"
    await wait_for_status(handle, OrderStatus.RELEASED)
    view = await handle.query(OrderWorkflow.view)
    actions = [a.action for a in view.audit if a.action != "buyer documents not sent"]
    assert actions[actions.index("held") :] == [
        "held", "task routed", "csc notified", "ticket opened", "price escalated",
        "task routed", "hold resolved",
        "confirmed", "ticket resolved", "released",
    ]  # fmt: skip
    assert [o["status"] for o in await sims.oms_orders(handle.id)] == ["released"]
    assert sims.state.helpdesk.tickets[view.helpdesk_ticket_id].status == 4  # Resolved
    assert await open_tasks(handle) == []
    # (order-price-approved-by-team-lead is the same story before the answer came first.)
    await record_history(client, handle.id, "order-price-approved-answered-first")


async def test_a_part_mapped_by_the_rep_is_rechecked_and_sent_to_oms(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings, **with_lines(line3={"supplier_part_id": "NOPE-1"}))
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    task = await task_of(handle, "resolve_hold_part")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, task, "map_part", part_id="NOPE-2")
    assert refused.value.cause.type == "HoldNotCured"
    assert (await handle.query(OrderWorkflow.view)).status == OrderStatus.ON_HOLD

    await decide(handle, task, "map_part", part_id="PV-3300")
    await wait_for_status(handle, OrderStatus.RELEASED)
    oms = (await sims.oms_orders(handle.id))[0]
    assert [ln["part_id"] for ln in oms["lines"]][2] == "PV-3300"
    await record_history(client, handle.id, "order-part-mapped")


async def test_a_price_matching_an_open_quote_confirms_with_no_task(
    client: Client, settings: Settings
) -> None:
    handle = await start_order(
        client, settings, **with_lines(line3={"unit_price": Decimal("175.00")})
    )
    await wait_for_status(handle, OrderStatus.RELEASED)
    view = await handle.query(OrderWorkflow.view)
    confirmed = [a for a in view.audit if a.action == "price confirmed"]
    assert len(confirmed) == 1 and "Q-ODS-2291" in confirmed[0].comment
    assert "held" not in [a.action for a in view.audit]
    await record_history(client, handle.id, "order-price-confirmed-by-quote")


async def test_a_rejected_line_leaves_the_order(client: Client, settings: Settings) -> None:
    handle = await start_order(
        client, settings, **with_lines(line1={"unit_price": Decimal("2.10")})
    )
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    await decide(handle, await task_of(handle, "resolve_hold_price"), "escalate", comment="?")
    lead_task = await task_of(handle, "price_escalation")
    await decide(handle, lead_task, "reject_line", actor=LEAD, comment="not at that price")
    await wait_for_status(handle, OrderStatus.RELEASED)
    # Lines 2 and 3 are all there is to ship now.
    from tests.factories import shipment

    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", (2, 2), (3, 1)))
    assert (await handle.result()).status == OrderStatus.COMPLETED
