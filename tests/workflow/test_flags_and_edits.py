"""A rep flags an order's error (systemic ones are the team lead's task), and a
branch manager's edit after the pick ticket printed goes through the rep:
re-validated, applied in OMS, a new pick ticket printed, the outcome on the order."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from domain.identity import Actor
from domain.order.models import (
    EditLine,
    EditRequest,
    EditStatus,
    ErrorCategory,
    ErrorFlag,
    FlagError,
    OrderStatus,
    Platform,
    RequestEdit,
)
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.factories import BRANCH, REP, shipment
from tests.workflow.conftest import activity_attempted, start_order, wait_for_status
from tests.workflow.test_holds import LEAD, decide, open_tasks, task_of, with_lines
from workflows.order import OrderWorkflow


async def flag(
    handle: WorkflowHandle,
    category: ErrorCategory,
    actor: Actor = REP,
    comment: str = "OMS dropped the ship-to",
) -> ErrorFlag:
    return await handle.execute_update(
        OrderWorkflow.flag_error,
        FlagError(actor=actor, category=category, platform=Platform.STERLING_OMS, comment=comment),
    )


async def request_edit(
    handle: WorkflowHandle, *lines: EditLine, actor: Actor = BRANCH, reason: str = "customer call"
) -> EditRequest:
    return await handle.execute_update(
        OrderWorkflow.request_edit, RequestEdit(actor=actor, lines=list(lines), reason=reason)
    )


def new_line(part: str = "PV-3300", quantity: int = 2, price: str = "189.00") -> EditLine:
    return EditLine(
        supplier_part_id=part, quantity=Decimal(quantity), uom="EA", unit_price=Decimal(price)
    )


def quantity(line_number: int, q: int) -> EditLine:
    return EditLine(line_number=line_number, quantity=Decimal(q))


async def refusal(update) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await update
    return refused.value.cause.type, refused.value.cause.message


# ---------------------------------------------------------------- flags


async def test_a_human_flag_is_recorded_and_a_systemic_one_is_the_team_leads_task(
    client: Client, settings: Settings
) -> None:
    # Flagged after the fact, once the branch has the order.
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)

    human = await flag(handle, ErrorCategory.HUMAN, comment="keyed the wrong price")
    assert human.flag_id.startswith("F-") and human.flagged_by == "maria.lopez"
    assert await open_tasks(handle) == []

    systemic = await flag(handle, ErrorCategory.SYSTEMIC)
    task = await task_of(handle, "systemic_error")
    assert (task.role, task.assignee) == ("team_lead", "tom.baker")
    assert task.payload["flag_id"] == systemic.flag_id != human.flag_id

    # Only the team lead acknowledges it; the rep may not.
    kind, _ = await refusal(decide(handle, task, "acknowledge", comment="seen"))
    assert kind == "Forbidden"
    await decide(handle, task, "acknowledge", actor=LEAD, comment="IT ticket INC-7")
    assert "systemic_error" not in [t.kind for t in await open_tasks(handle)]

    view = await handle.query(OrderWorkflow.view)
    assert [(f.category, f.platform) for f in view.flags] == [
        (ErrorCategory.HUMAN, Platform.STERLING_OMS),
        (ErrorCategory.SYSTEMIC, Platform.STERLING_OMS),
    ]
    assert view.flags[1].acknowledged_by == "tom.baker"
    assert view.flags[1].acknowledgement == "IT ticket INC-7"
    actions = [(a.actor, a.action) for a in view.audit]
    assert ("maria.lopez", "error flagged") in actions
    assert ("tom.baker", "systemic error acknowledged") in actions
    await record_history(client, handle.id, "order-flagged-systemic-acknowledged")


async def test_flags_refused_by_role_comment_and_state(client: Client, settings: Settings) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    for actor in (BRANCH, LEAD):
        kind, reason = await refusal(flag(handle, ErrorCategory.SYSTEMIC, actor=actor))
        assert (kind, reason) == ("Forbidden", "flag error needs the role account_rep")
    kind, _ = await refusal(flag(handle, ErrorCategory.HUMAN, comment="  "))
    assert kind == "CommentRequired"

    await handle.execute_update(
        OrderWorkflow.report_shipment, shipment("RUN-1", (1, 100), (2, 2), (3, 1))
    )
    assert (await handle.result()).flags == []


# ---------------------------------------------------------------- branch edits


async def test_a_branch_edit_applied_by_the_rep_reaches_oms_and_prints_a_new_pick_ticket(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    first_ticket = (await handle.query(OrderWorkflow.view)).pick_ticket_id

    asked = await request_edit(handle, quantity(1, 120), new_line(), reason="foreman wants more")
    assert asked.request_id.startswith("E-") and asked.status == EditStatus.REQUESTED
    assert asked.quantities == {1: Decimal(120)} and asked.new_lines[0].line_number == 4
    task = await task_of(handle, "branch_edit")
    assert (task.role, task.assignee) == ("account_rep", "maria.lopez")

    # The branch manager may not apply it; the rep must name a root cause.
    kind, _ = await refusal(
        decide(handle, task, "apply_edit", actor=BRANCH, root_cause="human", comment="x")
    )
    assert kind == "Forbidden"
    kind, _ = await refusal(decide(handle, task, "apply_edit", root_cause="both", comment="x"))
    assert kind == "InvalidDecision"

    result = await decide(handle, task, "apply_edit", root_cause="human", comment="rep keyed 100")
    assert result.status == OrderStatus.RELEASED
    view = await handle.query(OrderWorkflow.view)
    (edit,) = view.edit_requests
    assert (edit.status, edit.root_cause, edit.decided_by) == (
        EditStatus.APPLIED,
        ErrorCategory.HUMAN,
        "maria.lopez",
    )
    assert view.pick_ticket_id and view.pick_ticket_id != first_ticket
    assert edit.pick_ticket_id == view.pick_ticket_id
    assert edit.outcome == f"applied; pick ticket {view.pick_ticket_id} printed at {view.branch_id}"
    assert [(ln.line_number, ln.quantity) for ln in view.lines] == [
        (1, 120), (2, 2), (3, 1), (4, 2),
    ]  # fmt: skip
    oms = (await sims.oms_orders(handle.id))[0]
    assert [(ln["line_number"], Decimal(ln["quantity"])) for ln in oms["lines"]] == [
        (1, 120), (2, 2), (3, 1), (4, 2),
    ]  # fmt: skip
    assert await open_tasks(handle) == []

    # The branch ships the edited quantities, in PO units: the order completes.
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", (1, 100), (2, 2)))
    kind, reason = await refusal(
        handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-2", (4, 3)))
    )
    assert kind == "InvalidShipment" and "only 2 remains" in reason
    invoice = await handle.execute_update(
        OrderWorkflow.report_shipment, shipment("RUN-2", (1, 20), (3, 1), (4, 2))
    )
    assert invoice.amount == Decimal("20") * Decimal("2.35") + Decimal("189.00") * 3
    final = await handle.result()
    assert final.status == OrderStatus.COMPLETED
    await record_history(client, handle.id, "order-branch-edit-applied")


async def test_an_edit_that_fails_validation_is_refused_and_changes_nothing(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    before = await handle.query(OrderWorkflow.view)
    await request_edit(handle, new_line(price="150.00"))
    task = await task_of(handle, "branch_edit")

    kind, reason = await refusal(
        decide(handle, task, "apply_edit", root_cause="systemic", comment="go")
    )
    assert kind == "InvalidEdit"
    assert reason.startswith("the edited order fails validation: line 4:")
    assert "189.00" in reason
    after = await handle.query(OrderWorkflow.view)
    assert (after.lines, after.pick_ticket_id) == (before.lines, before.pick_ticket_id)
    assert after.edit_requests[0].status == EditStatus.REQUESTED
    assert len((await sims.oms_orders(handle.id))[0]["lines"]) == 3

    # The rep says why not; the branch manager reads it on the order.
    await decide(handle, task, "reject_edit", comment="contract price is 189.00; resend")
    edit = (await handle.query(OrderWorkflow.view)).edit_requests[0]
    assert (edit.status, edit.outcome) == (
        EditStatus.REJECTED,
        "rejected: contract price is 189.00; resend",
    )
    assert await open_tasks(handle) == []
    await record_history(client, handle.id, "order-branch-edit-refused-and-rejected")

    # The order as sent still completes.
    await handle.execute_update(
        OrderWorkflow.report_shipment, shipment("RUN-1", (1, 100), (2, 2), (3, 1))
    )
    assert (await handle.result()).status == OrderStatus.COMPLETED


async def test_edit_requests_refused_by_role_state_and_lines(
    client: Client, settings: Settings
) -> None:
    held = await start_order(client, settings, **with_lines(line1={"unit_price": Decimal("2.10")}))
    await wait_for_status(held, OrderStatus.ON_HOLD)
    kind, reason = await refusal(request_edit(held, quantity(1, 120)))
    assert (kind, reason) == ("InvalidState", "cannot request edit: it is on_hold")

    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    for actor in (REP, LEAD):
        kind, _ = await refusal(request_edit(handle, quantity(1, 120), actor=actor))
        assert kind == "Forbidden"
    kind, _ = await refusal(request_edit(handle, quantity(1, 120), reason=" "))
    assert kind == "CommentRequired"
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", (1, 60)))
    for lines, why in [
        ((quantity(9, 1),), "line 9 is not on the order"),
        ((quantity(1, 50),), "line 1: 60 already delivered; the quantity cannot go below it"),
        ((quantity(2, 2),), "line 2 already has quantity 2"),
        ((quantity(3, 2), quantity(3, 4)), "line 3 appears twice in the edit"),
    ]:
        assert await refusal(request_edit(handle, *lines)) == ("InvalidEdit", why)
    assert (await handle.query(OrderWorkflow.view)).edit_requests == []

    # Lowering a line to what went out completes it once applied.
    await request_edit(handle, quantity(1, 60))
    await decide(
        handle, await task_of(handle, "branch_edit"), "apply_edit", root_cause="human", comment="ok"
    )
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-2", (2, 2), (3, 1)))
    assert (await handle.result()).status == OrderStatus.COMPLETED


async def test_a_shipment_during_an_edit_waits_for_it_and_the_order_still_completes(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    await request_edit(handle, new_line(), reason="one more valve")
    task = await task_of(handle, "branch_edit")

    # OMS answers slowly while the rep applies the edit; meanwhile the branch
    # reports everything the order had before the edit.
    await sims.fault("oms", latency_ms=1500)
    applying = asyncio.create_task(
        decide(handle, task, "apply_edit", root_cause="human", comment="ok")
    )
    await activity_attempted(client, handle, "oms.update_order")
    invoice = await handle.execute_update(
        OrderWorkflow.report_shipment, shipment("RUN-1", (1, 100), (2, 2), (3, 1))
    )
    await applying
    await sims.fault("oms", latency_ms=0)
    assert invoice.amount > 0
    # The shipment was taken after the edit: the new line is still to ship.
    view = await handle.query(OrderWorkflow.view)
    assert view.status == OrderStatus.PARTIALLY_SHIPPED
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-2", (4, 2)))
    assert (await handle.result()).status == OrderStatus.COMPLETED
