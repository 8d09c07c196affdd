"""A request retried with its Idempotency-Key (an Update sent again under the id
the API derives from it) is applied once, also after the run continued as new:
Temporal forgets Update ids at a new run, the workflow's own memory does not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain import updates_once
from domain.account_change import AccountChangeStatus, Discrepancy, ReportDiscrepancy
from domain.csr.models import CsrMove
from domain.open_order.models import OpenOrderStatus
from domain.order.models import (
    ErrorCategory,
    ErrorFlag,
    FlagError,
    OrderStatus,
    Platform,
)
from sopflow.config import Settings
from tests.conftest import record_history
from tests.factories import REP
from tests.open_orders import open_order
from tests.workflow.conftest import start_order, wait_for_status
from tests.workflow.test_account_change import SSM, start_request, status_is
from tests.workflow.test_csr import FRANK, JOHN, MARY, move, start_csr
from tests.workflow.test_csr import decide as csr_decide
from tests.workflow.test_csr import task_of as csr_task
from tests.workflow.test_open_order import contact, until, view_of
from tests.workflow.test_open_order import start as start_open_order
from workflows.account_change import AccountChangeWorkflow
from workflows.csr import CsrWorkflow
from workflows.open_order import OpenOrderWorkflow
from workflows.order import OrderWorkflow


def flag_of(comment: str) -> FlagError:
    return FlagError(
        actor=REP, category=ErrorCategory.HUMAN, platform=Platform.STERLING_OMS, comment=comment
    )


async def send(handle: WorkflowHandle, update: Any, arg: Any, update_id: str | None) -> Any:
    return await handle.execute_update(update, arg, id=update_id)


async def test_a_flag_retried_after_continue_as_new_is_recorded_once(
    client: Client, settings: Settings
) -> None:
    started = await start_order(client, settings, policy={"history_limit": 60})
    handle = client.get_workflow_handle_for(OrderWorkflow.run, started.id)
    await wait_for_status(handle, OrderStatus.RELEASED)
    first_run = (await handle.describe()).run_id
    keyed = updates_once.update_id("key-1", "body-1")

    first: ErrorFlag = await send(handle, OrderWorkflow.flag_error, flag_of("keyed"), keyed)
    # An answer over 1 KB is remembered as applied, not kept.
    big = updates_once.update_id("key-big", "body-big")
    await send(handle, OrderWorkflow.flag_error, flag_of("x" * 1500), big)
    # Flags without a key until the history is long enough to continue as new.
    for n in range(30):
        if (await handle.describe()).run_id != first_run:
            break
        await send(handle, OrderWorkflow.flag_error, flag_of(f"unkeyed {n}"), None)
    else:
        raise AssertionError("the order never continued as new")
    before = (await handle.query(OrderWorkflow.view)).flags

    again: ErrorFlag = await send(handle, OrderWorkflow.flag_error, flag_of("keyed"), keyed)
    assert again == first
    view = await handle.query(OrderWorkflow.view)
    assert view.flags == before and [f.flag_id for f in view.flags].count(first.flag_id) == 1
    flagged = [a for a in view.audit if a.action == "error flagged" and first.flag_id in a.comment]
    assert len(flagged) == 1

    with pytest.raises(WorkflowUpdateFailedError) as applied:
        await send(handle, OrderWorkflow.flag_error, flag_of("x" * 1500), big)
    assert applied.value.cause.type == updates_once.ALREADY_APPLIED
    assert (await handle.query(OrderWorkflow.view)).flags == before

    # The same key with another body is refused, in the new run too.
    other = updates_once.update_id("key-1", "body-2")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await send(handle, OrderWorkflow.flag_error, flag_of("other"), other)
    assert refused.value.cause.type == updates_once.KEY_REUSED
    assert (await handle.query(OrderWorkflow.view)).flags == before
    await record_history(client, handle.id, "order-flags-named-from-update-ids", first_run)
    await record_history(client, handle.id, "order-flag-retried-after-continue-as-new")


async def test_flags_sent_without_a_key_are_two_flags(client: Client, settings: Settings) -> None:
    handle = await start_order(client, settings)
    await wait_for_status(handle, OrderStatus.RELEASED)
    one = await send(handle, OrderWorkflow.flag_error, flag_of("same words"), None)
    two = await send(handle, OrderWorkflow.flag_error, flag_of("same words"), None)
    assert one.flag_id != two.flag_id
    assert len((await handle.query(OrderWorkflow.view)).flags) == 2


async def test_a_discrepancy_retried_with_its_key_is_reported_once(
    client: Client, settings: Settings
) -> None:
    handle = await start_request(client, settings)
    report = ReportDiscrepancy(kind="billing", description="402110 bills to the old NA", actor=SSM)
    keyed = updates_once.update_id("key-d", "body-d")
    first: Discrepancy = await send(handle, AccountChangeWorkflow.report_discrepancy, report, keyed)
    view = await status_is(handle, AccountChangeStatus.ON_HOLD)
    again: Discrepancy = await send(handle, AccountChangeWorkflow.report_discrepancy, report, keyed)
    assert again == first
    assert [d.discrepancy_id for d in view.discrepancies] == [first.discrepancy_id]
    assert len((await handle.query(AccountChangeWorkflow.view)).discrepancies) == 1
    await record_history(client, handle.id, "account-change-discrepancy-named-from-update-id")


async def test_a_contact_attempt_retried_with_its_key_is_logged_once(
    env: WorkflowEnvironment, client: Client, settings: Settings
) -> None:
    handle = await start_open_order(client, settings, open_order())
    await until(handle, lambda v: v.status == OpenOrderStatus.SCHEDULING, "available")
    attempt = contact(await env.get_current_time() - timedelta(minutes=5))
    keyed = updates_once.update_id("key-c", "body-c")
    first = await send(handle, OpenOrderWorkflow.log_contact, attempt, keyed)
    again = await send(handle, OpenOrderWorkflow.log_contact, attempt, keyed)
    assert again == first
    contacts = (await view_of(handle)).contacts
    assert len(contacts) == 1 and contacts[0].attempt_id.startswith("A-")
    await record_history(client, handle.id, "open_order-contact-named-from-update-id")


@pytest.mark.usefixtures("demo_people")
async def test_feedback_asked_again_with_its_key_opens_one_task_per_party(
    client: Client, settings: Settings
) -> None:
    handle = await start_csr(client, settings)
    await move(handle, MARY, "submit", comment="customer spec attached")
    pre = await csr_task(handle, "csr_pre_approval")
    await csr_decide(handle, pre, JOHN, "pre_approve", comment="ok")
    await csr_task(handle, "csr_assessment")
    ask = CsrMove(
        move="request_feedback",
        actor=FRANK,
        comment="can supply chain source certified gaskets?",
        fields={"parties": ["john.smith", "peter.wright"]},
    )
    keyed = updates_once.update_id("key-f", "body-f")
    first = await send(handle, CsrWorkflow.make_move, ask, keyed)
    again = await send(handle, CsrWorkflow.make_move, ask, keyed)
    assert again == first
    asked = (await handle.query(CsrWorkflow.view)).feedback
    assert sorted(f.party for f in asked) == ["john.smith", "peter.wright"]
    assert len({f.request_id for f in asked}) == 2
    assert all(f.request_id.startswith("F-") for f in asked)
    await record_history(client, handle.id, "csr-feedback-named-from-update-id")
