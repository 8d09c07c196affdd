"""The CSR case workflow on the time-skipping server: the seed's user stories as
one life cycle, rejection from every open state, every refusal, reminders and
escalation over weekends and holidays, and continue-as-new keeping the record."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.csr.models import (
    CaseTeamMember,
    CsrEdit,
    CsrMove,
    CsrStatus,
    CsrView,
    EditCase,
    Registration,
)
from domain.csr.state import CsrPolicy, StartCsr
from domain.identity import Actor, Role
from domain.records import HumanTask
from domain.tasks import TaskDecision
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.workflow.conftest import eventually
from workflows.csr import CsrWorkflow

# The seed's people hold their keys (feedback parties are looked up with their roles).
pytestmark = pytest.mark.usefixtures("demo_people")

MARY = Actor(person_id="mary.jones", roles=frozenset({Role.SALES_REP}))
JOHN = Actor(person_id="john.smith", roles=frozenset({Role.CSR_APPROVER}))
FRANK = Actor(person_id="frank.miller", roles=frozenset({Role.CSR_ASSESSOR, Role.CSR_IMPLEMENTER}))
PETER = Actor(person_id="peter.wright", roles=frozenset({Role.CSR_APPROVER}))
SANDRA = Actor(person_id="sandra.cole", roles=frozenset({Role.SALES_REP}))
# A sales rep who is not on the case.
OTHER_REP = Actor(person_id="maria.lopez", roles=frozenset({Role.SALES_REP}))


def registration(**changes: Any) -> Registration:
    return Registration(
        account_number="401693",
        business_unit="Oil & Gas",
        title="Sour-service gaskets only",
        description="Propetro requires NACE MR0175 certified gaskets on every shipment.",
        main_shipping_site="PP-ODESSA",
        additional_shipping_sites=["PP-HQ"],
        related_products=["GS-2040"],
        account_associations=["401693"],
        case_team=[CaseTeamMember(person_id="maria.lopez", role="Account rep")],
    ).model_copy(update=changes)


async def start_csr(
    client: Client, settings: Settings, policy: dict[str, Any] | None = None, **changes: Any
) -> WorkflowHandle:
    number = uuid.uuid4().int % 10**9
    return await client.start_workflow(
        CsrWorkflow.run,
        StartCsr(
            case_number=number,
            registration=registration(**changes),
            registered_by=MARY,
            owner_email="mary.jones@example.com",
            policy=CsrPolicy(**(policy or {})),
        ),
        id=f"csr-{number:06d}",
        task_queue=settings.task_queue,
    )


async def move(handle: WorkflowHandle, actor: Actor, name: str, **fields: Any) -> CsrView:
    comment = fields.pop("comment", "")
    return await handle.execute_update(
        CsrWorkflow.make_move, CsrMove(move=name, actor=actor, comment=comment, fields=fields)
    )


async def refused(
    handle: WorkflowHandle, actor: Actor, name: str, **fields: Any
) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await move(handle, actor, name, **fields)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def view(handle: WorkflowHandle) -> CsrView:
    return await handle.query(CsrWorkflow.view)


async def open_tasks(handle: WorkflowHandle) -> list[HumanTask]:
    snapshot = await handle.query("read_model_snapshot")
    return [HumanTask.model_validate(t) for t in snapshot["open_tasks"]]


async def task_of(handle: WorkflowHandle, kind: str, assignee: str | None = None) -> HumanTask:
    async def found() -> HumanTask | None:
        return next(
            (
                t
                for t in await open_tasks(handle)
                if t.kind == kind and (assignee is None or t.assignee == assignee)
            ),
            None,
        )

    return await eventually(found, f"an open {kind} task")


async def decide(
    handle: WorkflowHandle, task: HumanTask, actor: Actor, decision: str, **fields: Any
) -> str:
    result = await handle.execute_update(
        "decide",
        TaskDecision(task_id=task.task_id, decision=decision, fields=fields, actor=actor),
        result_type=dict,
    )
    return result["status"]


async def to_status(handle: WorkflowHandle, status: CsrStatus) -> CsrView:
    """Drive a new case (as the seed's people) to `status`."""
    steps = [
        (CsrStatus.PENDING_PRE_APPROVAL, MARY, "submit", {}),
        (CsrStatus.UNDER_ASSESSMENT, JOHN, "pre_approve", {}),
        (CsrStatus.UNDER_ASSESSMENT, FRANK, "conclude", {"conclusion": "Feasible."}),
        (CsrStatus.APPROVAL_PENDING, FRANK, "submit_for_approval", {}),
        (CsrStatus.UNDER_IMPLEMENTATION, PETER, "approve", {}),
        (CsrStatus.IMPLEMENTED, FRANK, "complete_implementation", {}),
        (CsrStatus.INACTIVE, MARY, "deactivate", {}),
    ]
    current = await view(handle)
    for reached, actor, name, fields in steps:
        if current.status == status:
            break
        current = await move(handle, actor, name, **fields)
        assert current.status == reached
    assert current.status == status
    return current


# ------------------------------------------------------------ life cycle


async def test_the_seeds_user_stories_as_one_life_cycle(
    client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_csr(client, settings, related_products=[])
    # Mary registers: the account's SAP codes and classification come from the CRM.
    registered = await eventually(
        lambda: _with_account(handle), "account details fetched from the CRM"
    )
    assert registered.status == CsrStatus.REGISTRATION
    assert registered.account.sap_codes == ["SAP-100401693", "SAP-SH-7781"]
    assert registered.account.customer_classification == "A - Strategic"
    assert (await task_of(handle, "csr_registration")).assignee == "mary.jones"

    # No related product yet: submit is refused with that reason.
    no_product = await refused(handle, MARY, "submit")
    assert no_product.type == "InvalidMove" and "related product" in no_product.message
    edited = await handle.execute_update(
        CsrWorkflow.edit,
        EditCase(actor=MARY, changes=CsrEdit(related_products=["GS-2040", "FL-7007"])),
    )
    assert edited.related_products_count == 2

    # Submitted: locked, on John's queue with an email linking the case.
    submitted = await move(handle, MARY, "submit", comment="customer spec attached")
    assert submitted.status == CsrStatus.PENDING_PRE_APPROVAL
    assert submitted.current_step.people == ["john.smith"]
    pre = await task_of(handle, "csr_pre_approval")
    assert pre.assignee == "john.smith" and pre.due_at is not None
    assert pre.role == Role.CSR_APPROVER
    locked = await _edit_refused(handle, MARY, title="Another title")
    assert locked.type == "InvalidState" and "locked" in locked.message

    # John pre-approves through his task; Frank assesses.
    assert await decide(handle, pre, JOHN, "pre_approve", comment="ok") == "under_assessment"
    assessment = await task_of(handle, "csr_assessment")
    assert assessment.assignee == "frank.miller"

    # Frank asks John and Peter for feedback; each answers on their own task.
    await move(
        handle, FRANK, "request_feedback", parties=["john.smith", "peter.wright"],
        comment="can supply chain source certified gaskets?",
    )  # fmt: skip
    johns = await task_of(handle, "csr_feedback", "john.smith")
    await decide(handle, johns, JOHN, "give_feedback", feasible=True, comment="two suppliers")
    answered = await move(handle, PETER, "give_feedback", feasible=True, comment="margin ok")
    assert [(f.party, f.feasible) for f in answered.feedback] == [
        ("john.smith", True),
        ("peter.wright", True),
    ]

    # Concludes and submits for Peter's final approval.
    await move(handle, FRANK, "conclude", conclusion="Feasible with two certified suppliers.")
    pending = await move(handle, FRANK, "submit_for_approval")
    assert pending.status == CsrStatus.APPROVAL_PENDING
    final = await task_of(handle, "csr_final_approval")
    assert final.assignee == "peter.wright"
    assert await decide(handle, final, PETER, "approve", comment="go") == "under_implementation"

    # Frank implements: two tasks, both done before the case is implemented.
    await move(handle, FRANK, "add_implementation_task", title="Flag the account in OMS")
    await move(handle, FRANK, "add_implementation_task", title="Tell the Odessa branch")
    await move(handle, FRANK, "complete_implementation_task", task_number=1)
    still_open = await refused(handle, FRANK, "complete_implementation")
    assert still_open.type == "InvalidMove" and "2 (Tell the Odessa branch)" in still_open.message
    implementation = await task_of(handle, "csr_implementation")
    await decide(handle, implementation, FRANK, "complete_implementation_task", task_number=2)
    live = await move(handle, FRANK, "complete_implementation")
    assert live.status == CsrStatus.IMPLEMENTED

    # The CSR is live: Mary records satisfaction, and later deactivates it.
    await move(handle, MARY, "record_satisfaction", score=5, comment="buyer is happy")
    await move(handle, MARY, "deactivate", comment="requirement withdrawn")
    result = await handle.result()

    assert result.status == CsrStatus.INACTIVE
    assert [(a.step, a.approver, a.decision) for a in result.approval_history] == [
        ("registration", "mary.jones", "submitted for pre-approval"),
        ("pre_approval", "john.smith", "pre-approved"),
        ("assessment", "frank.miller", "submitted for final approval"),
        ("final_approval", "peter.wright", "approved"),
        ("implementation", "frank.miller", "implemented"),
        ("live", "mary.jones", "deactivated"),
    ]
    statuses = [(c.from_value, c.to_value) for c in result.case_history if c.field == "status"]
    assert statuses == [
        (None, "registration"),
        ("registration", "pending_pre_approval"),
        ("pending_pre_approval", "under_assessment"),
        ("under_assessment", "approval_pending"),
        ("approval_pending", "under_implementation"),
        ("under_implementation", "implemented"),
        ("implemented", "inactive"),
    ]
    fields = {c.field for c in result.case_history}
    assert {"related_products", "related_products_count", "conclusion", "sap_codes"} <= fields
    assert result.satisfaction[0].score == 5
    assert not await open_tasks(handle)
    emails = await sims.emails()
    link = f"/csrs/{handle.id}"
    for person, ask in [
        ("john.smith", "pre-approval"),
        ("frank.miller", "feasibility assessment"),
        ("peter.wright", "final approval"),
        ("frank.miller", "implement"),
    ]:
        assert any(
            f"{person}@example.com" in m["to"] and ask in m["subject"] and link in m["body"]
            for m in emails
        ), (person, ask)
    await record_history(client, handle.id, "csr-life-cycle-inactive")


async def _with_account(handle: WorkflowHandle) -> CsrView | None:
    current = await view(handle)
    return current if current.account else None


async def _edit_refused(handle: WorkflowHandle, actor: Actor, **changes: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await handle.execute_update(
            CsrWorkflow.edit, EditCase(actor=actor, changes=CsrEdit(**changes))
        )
    assert isinstance(caught.value.cause, ApplicationError)
    return caught.value.cause
