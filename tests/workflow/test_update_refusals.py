"""Every Update of the order workflow refuses the wrong role straight through the
Temporal client, from its validator, so history never records it; and a closed
order (completed, or cancelled by the buyer) refuses every Update."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from domain.identity import Actor, Role
from domain.order.models import (
    Address,
    BuyerCancel,
    BuyerChange,
    EditLine,
    ErrorCategory,
    FlagError,
    OrderLine,
    OrderStatus,
    Platform,
    RequestEdit,
)
from domain.records import HumanTask
from domain.tasks import DECISIONS, OPEN_ORDER_DECISIONS, DecisionResult, TaskClaim, TaskDecision
from sopflow.config import Settings
from tests.conftest import Simulators
from tests.factories import BRANCH, EVERYTHING, NETWORK, REP, propetro_order, shipment
from tests.workflow.conftest import start_order, wait_for_status
from tests.workflow.test_holds import LEAD, decide, open_tasks, task_of
from workflows.kernel import KERNEL_TASKS
from workflows.order import OrderWorkflow

OTHER_REP = Actor(person_id="james.chen", roles=frozenset({Role.ACCOUNT_REP}))
ACCOUNT_CHANGE_AND_REVIEW_KINDS = {  # issue 10
    "im_update_iseries", "im_resolve_discrepancy", "im_crm_transfer", "ssm_handover", "one_on_one",
}  # fmt: skip

# A decision each kind accepts, with valid fields: only the role is wrong.
VALID: dict[str, tuple[str, dict[str, Any]]] = {
    "resolve_hold_account": ("recheck", {}),
    "resolve_hold_address": ("choose_ship_to", {"address_id": "PP-HQ"}),
    "resolve_hold_part": ("map_part", {"part_id": "GS-2040"}),
    "resolve_hold_pool": ("choose_pool", {"pool_id": "ODS-FAB"}),
    "resolve_hold_uom": ("fix_uom", {"uom": "EA", "quantity": "1"}),
    "resolve_hold_price": ("escalate", {"comment": "buyer insists"}),
    "price_escalation": ("approve_po_price", {"comment": "ok"}),
    "sla_breach": ("acknowledge", {"comment": "seen"}),
    "systemic_error": ("acknowledge", {"comment": "seen"}),
    "branch_edit": ("apply_edit", {"root_cause": "human", "comment": "ok"}),
    "buyer_document_refused": ("resend", {"comment": "buyer fixed it"}),
    "buyer_document_undelivered": ("acknowledge", {"comment": "seen"}),
}
WRONG_ROLES = {
    Role.ACCOUNT_REP: (BRANCH, LEAD, NETWORK),
    Role.TEAM_LEAD: (REP, BRANCH, NETWORK),
}
_ids = itertools.count(1)


def refused_id() -> str:
    return f"refused-{next(_ids)}"


async def accepted_update_ids(handle: WorkflowHandle) -> list[str]:
    return [
        event.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED
    ]


async def refused_by_validator(
    handle: WorkflowHandle, update: str, arg: Any, result_type: type | None = None
) -> tuple[str, str]:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, arg, id=refused_id(), result_type=result_type)
    return refused.value.cause.type, refused.value.cause.message


def held_lines() -> list[OrderLine]:
    """A hold of each line code: PRICE (1 and 5), PART (2), POOL (3), UOM (4)."""
    line1, line2, line3 = propetro_order().lines
    return [
        line1.model_copy(update={"unit_price": Decimal("2.10")}),
        line2.model_copy(update={"customer_part_number": "PP-UNKNOWN"}),
        line3.model_copy(update={"supplier_part_id": "FL-7007", "unit_price": Decimal("64.50")}),
        line3.model_copy(update={"line_number": 4, "uom": "CS"}),
        line1.model_copy(update={"line_number": 5, "unit_price": Decimal("2.20")}),
    ]


async def test_every_update_refuses_the_wrong_role_without_touching_history(
    env: WorkflowEnvironment,
    client: Client,
    settings: Settings,
    sims: Simulators,
    buyer_endpoint: str,
) -> None:
    # The buyer's network refuses the first document (C's confirmation).
    await sims.http.put("/network/answers", json={"code": 403, "text": "no", "times": 1})
    # A: every line hold, an escalated price, a systemic flag and an SLA breach.
    held = await start_order(client, settings, lines=held_lines())
    # B: an inactive account (Summit Mining) and a ship-to it does not have.
    dormant = await start_order(
        client, settings, account_number="403500", ship_to=Address(address_id="X-NOWHERE")
    )
    # C: released, with a branch edit waiting on the rep.
    released = await start_order(client, settings)
    await wait_for_status(held, OrderStatus.ON_HOLD)
    await wait_for_status(dormant, OrderStatus.ON_HOLD)
    await wait_for_status(released, OrderStatus.RELEASED)
    await task_of(released, "buyer_document_refused")
    # D: its confirmation never reaches the buyer (the network is down) within its patience.
    await sims.fault("network", down=True)
    undelivered = await start_order(
        client, settings, policy={"buyer_document_patience": timedelta(minutes=1)}
    )

    await decide(held, await task_of(held, "resolve_hold_price"), "escalate", comment="2.10?")
    await held.execute_update(
        OrderWorkflow.flag_error,
        FlagError(
            actor=REP,
            category=ErrorCategory.SYSTEMIC,
            platform=Platform.CONEXIOM,
            comment="part number mangled",
        ),
    )
    await env.sleep(timedelta(hours=2, minutes=5))
    await task_of(held, "sla_breach")
    await released.execute_update(
        OrderWorkflow.request_edit,
        RequestEdit(
            actor=BRANCH, lines=[EditLine(line_number=1, quantity=Decimal(120))], reason="more"
        ),
    )
    await task_of(released, "branch_edit")
    await task_of(undelivered, "buyer_document_undelivered")
    await sims.fault("network", down=False)

    handles = (held, dormant, released, undelivered)
    tasks: dict[str, tuple[WorkflowHandle, HumanTask]] = {}
    for handle in handles:
        for task in await open_tasks(handle):
            tasks.setdefault(task.kind, (handle, task))
    # Every kind of the order's tasks (CSR cases, open orders, account changes, the
    # weekly review and incidents refuse theirs in their own tests).
    order_kinds = {
        kind
        for kind in set(DECISIONS)
        - set(OPEN_ORDER_DECISIONS)
        - ACCOUNT_CHANGE_AND_REVIEW_KINDS
        - {"outage_fallback"}
        - KERNEL_TASKS  # faults of ours: tests/workflow/test_our_faults.py
        if not kind.startswith("csr_")
    }
    assert set(tasks) == order_kinds, "every task kind is open somewhere"
    accepted_before = {h.id: await accepted_update_ids(h) for h in handles}

    # decide: each task kind, each wrong role.
    for kind, (handle, task) in sorted(tasks.items()):
        name, fields = VALID[kind]
        for actor in WRONG_ROLES[task.role]:
            decision = TaskDecision(task_id=task.task_id, decision=name, fields=fields, actor=actor)
            refusal = await refused_by_validator(handle, "decide", decision, DecisionResult)
            assert refusal == ("Forbidden", f"this task is for the role {task.role.value}"), kind

    # The rest of the Updates, each in a state where the right role may call it.
    hold_task = tasks["resolve_hold_part"][1]
    edit_line = EditLine(line_number=1, quantity=Decimal(130))
    wrong: list[tuple[WorkflowHandle, str, Any, str]] = [
        (held, "claim_task", TaskClaim(task_id=hold_task.task_id, actor=BRANCH),
         "this task is for the role account_rep"),
        (held, "claim_task", TaskClaim(task_id=hold_task.task_id, actor=REP, assignee="ann"),
         "only a team lead may give a task to someone"),
        (released, "report_shipment", shipment("RUN-X", (1, 1), actor=REP),
         "report shipment needs the role branch_manager or system"),
        (released, "report_shipment", shipment("RUN-X", (1, 1), actor=LEAD),
         "report shipment needs the role branch_manager or system"),
    ]  # fmt: skip
    for actor in (BRANCH, LEAD, NETWORK):
        flag = FlagError(
            actor=actor, category=ErrorCategory.HUMAN, platform=Platform.OTHER, comment="x"
        )
        wrong.append((held, "flag_error", flag, "flag error needs the role account_rep"))
    for actor in (REP, LEAD, NETWORK):
        edit = RequestEdit(actor=actor, lines=[edit_line], reason="more")
        wrong.append((released, "request_edit", edit, "request edit needs the role branch_manager"))
    held_order = (await held.query(OrderWorkflow.view)).order
    for actor in (REP, LEAD, BRANCH):
        change = BuyerChange(actor=actor, order=held_order.model_copy(update={"payload_id": "p1"}))
        wrong.append((held, "change_order", change, "change order needs the role system"))
        cancel = BuyerCancel(actor=actor, payload_id="p2")
        wrong.append((held, "cancel_order", cancel, "cancel order needs the role system"))
    for handle, update, arg, reason in wrong:
        assert await refused_by_validator(handle, update, arg) == ("Forbidden", reason), update

    # Refused in the validator: not one of them reached history.
    assert len(accepted_before[held.id]) == 2  # the escalation and the flag
    for handle in handles:
        assert await accepted_update_ids(handle) == accepted_before[handle.id]
    # And nothing changed: every task is still open.
    for kind, (handle, task) in tasks.items():
        assert task.task_id in {t.task_id for t in await open_tasks(handle)}, kind


def every_update(task_id: str, order_payload: Any) -> list[tuple[str, Any]]:
    """Each Update with a role that may call it on a running order."""
    return [
        ("decide", TaskDecision(task_id=task_id, decision="recheck", actor=REP)),
        ("claim_task", TaskClaim(task_id=task_id, actor=REP)),
        ("report_shipment", shipment("RUN-LATE", (1, 1))),
        ("flag_error", FlagError(actor=REP, category=ErrorCategory.HUMAN,
                                 platform=Platform.OTHER, comment="late")),
        ("request_edit", RequestEdit(actor=BRANCH, lines=[EditLine(line_number=1,
                                     quantity=Decimal(500))], reason="late")),
        ("change_order", BuyerChange(actor=NETWORK, order=order_payload)),
        ("cancel_order", BuyerCancel(actor=NETWORK, payload_id="p-late-cancel")),
    ]  # fmt: skip


async def refused_when_closed(handle: WorkflowHandle, update: str, arg: Any) -> None:
    """A closed workflow takes no Update: the server does not find a run to take
    it (the API answers 409 "already closed")."""
    with pytest.raises(RPCError) as refused:
        await handle.execute_update(update, arg, id=refused_id())
    assert refused.value.status == RPCStatusCode.NOT_FOUND, (update, str(refused.value))


@pytest.mark.parametrize("ending", ["completed", "cancelled"])
async def test_a_closed_order_refuses_every_update(
    client: Client, settings: Settings, ending: str
) -> None:
    handle = await start_order(client, settings, lines=held_lines()[:2])
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    task = await task_of(handle, "resolve_hold_part")
    if ending == "completed":
        await decide(handle, task, "map_part", part_id="GS-2040")
        await decide(handle, await task_of(handle, "resolve_hold_price"), "correct_price",
                     unit_price="2.35")  # fmt: skip
        await wait_for_status(handle, OrderStatus.RELEASED)
        await handle.execute_update(
            OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING[:2])
        )
    else:
        await handle.execute_update(
            OrderWorkflow.cancel_order, BuyerCancel(actor=NETWORK, payload_id="p-cancel")
        )
    final = await handle.result()
    assert final.status == ending
    events = [e async for e in handle.fetch_history_events()]

    order = final.order.model_copy(update={"payload_id": "p-late-change"})
    for update, arg in every_update(task.task_id, order):
        await refused_when_closed(handle, update, arg)
    assert [e async for e in handle.fetch_history_events()] == events
