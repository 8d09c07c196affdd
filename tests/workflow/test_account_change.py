"""An account-change request from the RAM's request to the SSM's hand-over:
the IM's iSeries update, the CRM transfer checked (and sent again when the
records did not arrive), a discrepancy holding the request until the IM
resolves it, the SSM told the data is ready and of inventory loading for a bid."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from db import read_model
from domain.account_change import (
    AccountChangePolicy,
    AccountChangeRequest,
    AccountChangeStatus,
    AccountChangeView,
    InventoryLoading,
    ReportDiscrepancy,
    StartAccountChange,
)
from domain.identity import Actor, Role
from domain.records import HumanTask, ReadModelSync
from domain.tasks import DecisionResult, TaskDecision
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.workflow.conftest import eventually
from workflows.account_change import AccountChangeWorkflow
from workflows.account_change_digest import AccountChangeDigestWorkflow

RAM = Actor(person_id="rachel.adams", roles=frozenset({Role.ACCOUNT_MANAGER}))
IM = Actor(person_id="ian.moore", roles=frozenset({Role.IMPLEMENTATION_MANAGER}))
SSM = Actor(person_id="sara.mills", roles=frozenset({Role.SALES_SUPPORT_MANAGER}))


async def start_request(client: Client, settings: Settings, **policy: Any) -> WorkflowHandle:
    request_id = f"AC-{uuid.uuid4().hex[:8]}"
    return await client.start_workflow(
        AccountChangeWorkflow.run,
        StartAccountChange(
            request_id=request_id,
            request=AccountChangeRequest(
                kind="add",
                national_account="NA-7001",
                accounts=["401693", "402110"],
                comment="Propetro and Rio Grande join the Permian NA",
            ),
            requested_by=RAM,
            policy=AccountChangePolicy(**policy),
        ),
        id=f"account-change-{request_id}",
        task_queue=settings.task_queue,
    )


async def open_task(handle: WorkflowHandle, kind: str) -> HumanTask:
    """The open task of `kind` once the directory has routed it (a task is open a
    moment before its routing lands, longer on a busy machine)."""

    async def find() -> HumanTask | None:
        snapshot = await handle.query("read_model_snapshot", result_type=ReadModelSync)
        return next(
            (t for t in snapshot.open_tasks if t.kind == kind and "routing" in t.payload), None
        )

    return await eventually(find, f"an open {kind} task, routed")  # type: ignore[return-value]


async def decide(
    handle: WorkflowHandle, task: HumanTask, decision: str, actor: Actor, **fields: Any
) -> DecisionResult:
    result = await handle.execute_update(
        "decide",
        TaskDecision(task_id=task.task_id, decision=decision, fields=fields, actor=actor),
        result_type=DecisionResult,
    )
    await handle.signal("carry_out")  # as the API does once answered
    return result


async def status_is(handle: WorkflowHandle, status: AccountChangeStatus) -> AccountChangeView:
    async def check() -> AccountChangeView | None:
        view = await handle.query(AccountChangeWorkflow.view)
        return view if view.status == status else None

    return await eventually(check, f"status {status}")  # type: ignore[return-value]


async def test_a_request_runs_to_the_ssms_hand_over_pausing_on_a_discrepancy(
    env: WorkflowEnvironment,
    client: Client,
    settings: Settings,
    pool: asyncpg.Pool,
    sims: Simulators,
) -> None:
    # The first transfer is accepted by the CRM but never arrives.
    (await sims.http.put("/crm/accounts-transfer/_lose-next", json={"count": 1})).raise_for_status()
    handle = await start_request(client, settings, crm_check_after=timedelta(minutes=5))
    im_task = await open_task(handle, "im_update_iseries")
    assert im_task.assignee == "ian.moore"  # the IM, through the directory
    assert im_task.payload["accounts"] == ["401693", "402110"]

    # A billing discrepancy holds the request: the IM's update is refused until it is resolved.
    found = await handle.execute_update(
        AccountChangeWorkflow.report_discrepancy,
        ReportDiscrepancy(kind="billing", description="402110 bills to the old NA", actor=SSM),
    )
    await status_is(handle, AccountChangeStatus.ON_HOLD)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await decide(handle, im_task, "update_iseries", IM)
    assert refused.value.cause.type == "InvalidState"
    assert f"held by discrepancy {found.discrepancy_id} (billing)" in refused.value.cause.message
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            AccountChangeWorkflow.report_discrepancy,
            ReportDiscrepancy(kind="billing", description="x", actor=Actor(person_id="bob")),
        )
    assert refused.value.cause.type == "Forbidden"
    fix = await open_task(handle, "im_resolve_discrepancy")
    assert fix.assignee == "ian.moore" and fix.payload["id"] == found.discrepancy_id
    await decide(handle, fix, "resolve", IM, comment="billing moved to the NA")
    await status_is(handle, AccountChangeStatus.REQUESTED)

    # The IM updates iSeries (the activity against the iSeries simulator).
    result = await decide(handle, im_task, "update_iseries", IM)
    assert result.status == AccountChangeStatus.ISERIES_UPDATED
    assert sims.state.iseries_accounts.members["NA-7001"] == {"401693", "402110"}

    # The CRM check fails once (the lost transfer); the second transfer arrives.
    await env.sleep(timedelta(minutes=6))
    await env.sleep(timedelta(minutes=6))
    view = await status_is(handle, AccountChangeStatus.READY_FOR_REPORTS)
    assert view.crm_verified and len(sims.state.crm_accounts.transfers) == 2
    assert sims.state.crm_accounts.members["NA-7001"] == {"401693", "402110"}
    ssm_task = await open_task(handle, "ssm_handover")
    assert ssm_task.assignee == "sara.mills"

    async def ssm_email() -> dict | None:
        return next(
            (m for m in await sims.emails() if "Data ready for report generation" in m["subject"]),
            None,
        )

    mail = await eventually(ssm_email, "the SSM's email")
    assert mail["to"] == ["sara.mills@example.com"]  # type: ignore[index]

    # Inventory loading for a bid: the SSM hears which inventory.
    await handle.signal(
        AccountChangeWorkflow.inventory_loading,
        InventoryLoading(bid="BID-88", inventory=["HX-1001 x 400", "PV-3300 x 12"], actor=IM),
    )

    async def inventory_email() -> dict | None:
        return next((m for m in await sims.emails() if "BID-88" in m["subject"]), None)

    told = await eventually(inventory_email, "the SSM told of the inventory")
    assert "PV-3300 x 12" in told["body"]  # type: ignore[index]

    await decide(handle, ssm_task, "accept_handover", SSM, comment="reports from Monday")
    final = await handle.result()
    assert final.status == AccountChangeStatus.HANDED_OVER
    assert final.handed_over_to == "sara.mills"
    async with pool.acquire() as conn:
        trail = [
            (r["actor"], r["action"])
            for r in await read_model.audit_trail(conn, handle.id)
            if r["action"] != "task routed"
        ]
    assert trail == [
        ("rachel.adams", "requested"),
        ("sara.mills", "discrepancy reported"),
        ("ian.moore", "discrepancy resolved"),
        ("ian.moore", "iseries updated"),
        ("sopflow", "transferred to CRM"),
        ("sopflow", "crm check failed"),
        ("sopflow", "transferred to CRM"),
        ("sopflow", "crm checked"),
        ("sopflow", "ssm notified"),
        ("sopflow", "ssm emailed"),
        ("ian.moore", "inventory loading began"),
        ("sopflow", "ssm told of inventory"),
        ("sara.mills", "hand-over accepted"),
        ("sara.mills", "handed over"),
    ]
    await record_history(client, handle.id, "account-change-handed-over")


async def test_the_daily_digest_sends_the_im_and_the_ssm_the_open_requests(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_request(client, settings)
    await open_task(handle, "im_update_iseries")
    request_id = handle.id.removeprefix("account-change-")
    sent = await client.execute_workflow(
        AccountChangeDigestWorkflow.run,
        id=f"account-change-digest-{uuid.uuid4().hex[:6]}",
        task_queue=settings.task_queue,
    )
    assert sent >= 2
    mails = {m["to"][0]: m for m in await sims.emails() if "Open account-change" in m["subject"]}
    assert {"ian.moore@example.com", "sara.mills@example.com"} <= set(mails)
    line = next(ln for ln in mails["ian.moore@example.com"]["body"].splitlines()
                if request_id in ln)  # fmt: skip
    assert "[requested]" in line and "waiting on ian.moore" in line


async def test_records_that_never_arrive_go_to_the_im_who_retries_then_confirms_by_hand(
    env: WorkflowEnvironment, client: Client, settings: Settings, sims: Simulators
) -> None:
    (await sims.http.put("/crm/accounts-transfer/_lose-next", json={"count": 9})).raise_for_status()
    handle = await start_request(client, settings, crm_tries=2)
    im_task = await open_task(handle, "im_update_iseries")
    # The IM updated iSeries by hand: nothing is sent to the iSeries.
    await decide(handle, im_task, "confirm_manual_update", IM, comment="keyed in iSeries")
    assert "NA-7001" not in sims.state.iseries_accounts.members
    for _ in range(3):
        await env.sleep(timedelta(minutes=2))
    crm_task = await open_task(handle, "im_crm_transfer")
    assert crm_task.assignee == "ian.moore" and crm_task.payload["transfers"] == 2
    view = await handle.query(AccountChangeWorkflow.view)
    assert view.iseries_manual and not view.crm_verified
    # The IM has it tried again: two more transfers (new ones, not replays), lost too.
    await decide(handle, crm_task, "retry_transfer", IM)
    for _ in range(3):
        await env.sleep(timedelta(minutes=2))

    async def second_escalation() -> HumanTask | None:
        task = await open_task(handle, "im_crm_transfer")
        return task if task.task_id != crm_task.task_id else None

    crm_task = await eventually(second_escalation, "the IM asked again")  # type: ignore[assignment]
    assert len(sims.state.crm_accounts.transfers) == 4
    await decide(handle, crm_task, "confirm_manual_transfer", IM, comment="loaded in Salesforce")
    view = await status_is(handle, AccountChangeStatus.READY_FOR_REPORTS)
    assert view.crm_verified and len(sims.state.crm_accounts.transfers) == 4
    ssm_task = await open_task(handle, "ssm_handover")
    await decide(handle, ssm_task, "accept_handover", SSM, comment="ok")
    final = await handle.result()
    assert final.status == AccountChangeStatus.HANDED_OVER
    await record_history(client, handle.id, "account-change-crm-confirmed-by-hand")
