"""One PunchOut purchase order, from the buyer's cXML to the last invoice.

Received → validated → created in OMS (confirmed, or a draft on hold) → released
to iSeries with the pick ticket printed at the branch → shipments reported by
the branch, each invoiced → completed when every line is delivered.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import email, helpdesk, iseries, oms, read_model, reference
    from activities.contracts.email import EmailMessage
    from activities.contracts.helpdesk import TicketRequest
    from activities.contracts.iseries import InvoiceRequest, PickTicketRequest
    from activities.contracts.oms import OmsCreateOrder, OmsOrderAction
    from activities.contracts.reference import ValidateOrder
    from domain import search
    from domain.identity import Actor, Role
    from domain.order import delivery
    from domain.order.models import (
        AuditEntry,
        Hold,
        Invoice,
        OrderStatus,
        OrderView,
        ResolvedLine,
        Shipment,
        ShipmentReport,
        StartOrder,
    )
    from domain.records import ClosedTask, HumanTask, ReadModelSync, WorkflowRecord

SHIPPING_ROLES = (Role.BRANCH_MANAGER, Role.SYSTEM)
SHIPPABLE = (OrderStatus.RELEASED, OrderStatus.PARTIALLY_SHIPPED)
SOPFLOW = "sopflow"


def failure_reason(err: ActivityError) -> str:
    """The refusal a system gave, as a person reads it."""
    cause = err.cause
    return str(cause.message if isinstance(cause, ApplicationError) else cause or err)


@workflow.defn
class OrderWorkflow:
    @workflow.init
    def __init__(self, start: StartOrder) -> None:
        self._order = start.order
        self._policy = start.policy
        self._status = OrderStatus.RECEIVED
        self._received_at = workflow.now()
        self._sla_due_at: datetime | None = None
        self._account_name = ""
        self._branch_id: str | None = None
        self._rep_id: str | None = None
        self._holds: list[Hold] = []
        self._lines: list[ResolvedLine] = []
        self._oms_order_id: str | None = None
        self._iseries_order_id: str | None = None
        self._pick_ticket_id: str | None = None
        self._helpdesk_ticket_id: int | None = None
        self._shipments: list[Shipment] = []
        self._invoices: list[Invoice] = []
        self._audit: list[AuditEntry] = []
        # Read-model bookkeeping: what has been handed to the sync activity.
        self._revision = 0
        self._audit_sent = 0
        self._tasks_to_open: list[HumanTask] = []
        self._tasks_to_close: list[ClosedTask] = []

    # ------------------------------------------------------------------ run
    @workflow.run
    async def run(self, start: StartOrder) -> OrderView:
        try:
            await self._process(start)
        except ActivityError as err:
            # A system refused for good (no retry can fix it): end visibly, in
            # the read model and the audit trail too, for an operator to act on.
            reason = failure_reason(err)
            self._move(OrderStatus.FAILED, "failed", reason)
            await self._sync()
            raise ApplicationError(f"order failed: {reason}", type="SystemRefused") from err
        self._move(OrderStatus.COMPLETED, "completed", "every line delivered and invoiced")
        await self._sync()
        # A resent shipment report may still be answering.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()

    async def _process(self, start: StartOrder) -> None:
        self._record(
            start.submitted_by,
            "received",
            OrderStatus.RECEIVED,
            "test order" if self._order.test else f"payload {self._order.payload_id or '-'}",
        )
        workflow.set_current_details(self._details())
        await self._sync()

        validation = await self._activity(
            reference.VALIDATE_ORDER,
            ValidateOrder(order=self._order, default_sla=self._policy.sla),
            summary="Validate against reference data (account, address, part, pool, UOM, price)",
        )
        self._account_name = validation.account_name
        self._branch_id = validation.branch_id
        self._rep_id = validation.rep_id
        self._lines = validation.lines
        self._sla_due_at = self._received_at + validation.sla

        created = await self._activity(
            oms.CREATE_ORDER,
            OmsCreateOrder(
                idempotency_key=workflow.info().workflow_id,
                order=self._order,
                lines=self._lines,
                branch_id=self._branch_id,
                confirmed=not validation.holds,
            ),
            summary="Create order in Sterling OMS" + (" (draft)" if validation.holds else ""),
        )
        self._oms_order_id = created.oms_order_id

        if validation.holds:
            await self._hold(validation.holds, validation.rep_email)
            # Resolving holds is the next step of the SOP; until then the order
            # waits here with its holds listed and a task per hold.
            await workflow.wait_condition(lambda: not self._holds)

        self._move(OrderStatus.CONFIRMED, "confirmed", f"OMS order {self._oms_order_id} confirmed")
        await self._sync()
        await self._release_to_branch()
        await workflow.wait_condition(
            lambda: (
                delivery.fully_delivered(self._order, self._delivered())
                and workflow.all_handlers_finished()
            )
        )

    async def _hold(self, holds: list[Hold], rep_email: str | None) -> None:
        self._holds = holds
        codes = ", ".join(sorted({h.code.value for h in holds}))
        self._move(OrderStatus.ON_HOLD, "held", f"validation failed: {codes}")
        for i, hold in enumerate(holds, start=1):
            self._tasks_to_open.append(
                HumanTask(
                    task_id=f"{workflow.info().workflow_id}:hold:{i}",
                    workflow_id=workflow.info().workflow_id,
                    kind=f"resolve_hold_{hold.code.value.lower()}",
                    role=Role.ACCOUNT_REP,
                    assignee=self._rep_id,
                    queue=None if self._rep_id else "csc",
                    due_at=self._sla_due_at,
                    opened_at=workflow.now(),
                    payload=hold.model_dump(mode="json"),
                )
            )
        await self._sync()
        details = "\n".join(
            f"- {h.code.value}"
            + (f" (line {h.line_number})" if h.line_number else "")
            + f": {h.reason}"
            for h in holds
        )
        subject = f"PunchOut order on hold: {self._order.summary(self._account_name)} — {codes}"
        await self._activity(
            email.SEND,
            EmailMessage(
                idempotency_key=f"{workflow.info().workflow_id}:on-hold",
                to=[self._policy.csc_inbox],
                subject=subject,
                body=f"{self._order.summary(self._account_name)} failed validation:\n{details}",
            ),
            summary="Notify CSC inbox of the validation failure",
        )
        self._helpdesk_ticket_id = await self._activity(
            helpdesk.OPEN_TICKET,
            TicketRequest(
                idempotency_key=workflow.info().workflow_id,
                subject=subject,
                description=details,
                requester_email=self._policy.csc_inbox,
                assignee_email=rep_email,
            ),
            summary="Open helpdesk ticket for the account rep",
        )

    async def _release_to_branch(self) -> None:
        assert self._oms_order_id and self._branch_id
        release = await self._activity(
            oms.RELEASE_ORDER,
            OmsOrderAction(
                idempotency_key=f"{workflow.info().workflow_id}:release",
                oms_order_id=self._oms_order_id,
            ),
            summary=f"Release OMS order {self._oms_order_id} to iSeries",
        )
        self._iseries_order_id = release.iseries_order_id
        ticket = await self._activity(
            iseries.PRINT_PICK_TICKET,
            PickTicketRequest(
                idempotency_key=f"{workflow.info().workflow_id}:pick",
                iseries_order_id=release.iseries_order_id,
                branch_id=self._branch_id,
            ),
            summary=f"Print pick ticket at branch {self._branch_id}",
        )
        self._pick_ticket_id = ticket.pick_ticket_id
        self._move(
            OrderStatus.RELEASED,
            "released",
            f"iSeries order {release.iseries_order_id}; pick ticket {ticket.pick_ticket_id} "
            f"printed at {self._branch_id}",
        )
        await self._sync()

    # ------------------------------------------------------------ shipments
    @workflow.update
    async def report_shipment(self, report: ShipmentReport) -> Invoice:
        """A branch reports parts that went out; answers with the shipment's invoice."""
        shipment_id = report.shipment.shipment_id
        if self._recorded(shipment_id):
            # An identical resend (the validator refuses any other): same answer,
            # once the first report's invoice is there.
            await workflow.wait_condition(
                lambda: (
                    delivery.invoice_for(self._invoices, shipment_id) is not None
                    or not self._recorded(shipment_id)
                )
            )
            invoice = delivery.invoice_for(self._invoices, shipment_id)
            if invoice is None:
                raise ApplicationError(f"shipment {shipment_id} was refused", type="InvoiceRefused")
            return invoice
        return await self._accept_shipment(report)

    @report_shipment.validator
    def _validate_shipment(self, report: ShipmentReport) -> None:
        problem = self._shipment_problem(report)
        if problem and problem[0] != "DuplicateShipment":
            raise ApplicationError(problem[1], type=problem[0])

    @workflow.signal
    async def shipment_reported(self, report: ShipmentReport) -> None:
        """The same report, sent by a system feed that does not wait for an answer."""
        problem = self._shipment_problem(report)
        if problem and problem[0] != "DuplicateShipment":
            self._record(report.actor, "shipment refused", self._status, problem[1])
            await self._sync()
        elif not problem:
            with contextlib.suppress(ApplicationError):  # refusals are in the audit trail
                await self._accept_shipment(report)

    def _shipment_problem(self, report: ShipmentReport) -> tuple[str, str] | None:
        """(refusal type, reason) when this report cannot be taken."""
        shipment = report.shipment
        if not report.actor.has_any(*SHIPPING_ROLES):
            return ("Forbidden", "only a branch manager or a system reports shipments")
        previous = next((s for s in self._shipments if s.shipment_id == shipment.shipment_id), None)
        if previous is not None:
            if delivery.same_shipment(previous, shipment):
                return ("DuplicateShipment", f"shipment {shipment.shipment_id} is already recorded")
            return (
                "ShipmentConflict",
                f"shipment {shipment.shipment_id} was already reported with other content",
            )
        if self._status not in SHIPPABLE:
            return ("InvalidState", f"order is {self._status.value}; it cannot ship yet")
        problem = delivery.shipment_problem(self._order, self._delivered(), shipment)
        return ("InvalidShipment", problem) if problem else None

    async def _accept_shipment(self, report: ShipmentReport) -> Invoice:
        shipment = report.shipment
        # Counted as delivered before invoicing, so a concurrent report is
        # checked against what is really left.
        self._shipments.append(shipment)
        assert self._iseries_order_id
        try:
            invoice = await self._activity(
                iseries.INVOICE_SHIPMENT,
                InvoiceRequest(
                    idempotency_key=f"{workflow.info().workflow_id}:{shipment.shipment_id}",
                    iseries_order_id=self._iseries_order_id,
                    order_ref=workflow.info().workflow_id,
                    currency=self._order.currency,
                    shipment=shipment,
                    unit_prices=delivery.unit_prices(self._order),
                ),
                summary=f"Invoice shipment {shipment.shipment_id}",
            )
        except ActivityError as err:
            self._shipments.remove(shipment)
            reason = f"shipment {shipment.shipment_id} could not be invoiced: {failure_reason(err)}"
            self._record(report.actor, "shipment refused", self._status, reason)
            await self._sync()
            raise ApplicationError(reason, type="InvoiceRefused") from None
        self._invoices.append(invoice)
        self._move(
            OrderStatus.PARTIALLY_SHIPPED,
            "shipped",
            f"shipment {shipment.shipment_id}: {len(shipment.lines)} line(s), signed by "
            f"{shipment.proof_of_delivery.signed_by}; invoice {invoice.invoice_number} "
            f"{invoice.amount} {invoice.currency}",
            actor=report.actor,
        )
        await self._sync()
        return invoice

    def _recorded(self, shipment_id: str) -> bool:
        return any(s.shipment_id == shipment_id for s in self._shipments)

    def _delivered(self) -> dict[int, Decimal]:
        return delivery.delivered(self._shipments)

    # --------------------------------------------------------------- reads
    @workflow.query
    def view(self) -> OrderView:
        return OrderView(
            order_id=workflow.info().workflow_id,
            status=self._status,
            order=self._order,
            received_at=self._received_at,
            sla_due_at=self._sla_due_at,
            account_name=self._account_name,
            branch_id=self._branch_id,
            oms_order_id=self._oms_order_id,
            pick_ticket_id=self._pick_ticket_id,
            holds=self._holds,
            lines=self._lines,
            delivered=self._delivered(),
            helpdesk_ticket_id=self._helpdesk_ticket_id,
            shipments=self._shipments,
            invoices=self._invoices,
            audit=self._audit,
        )

    # ------------------------------------------------------------- helpers
    def _record(
        self,
        actor: Actor | str,
        action: str,
        to_status: OrderStatus | None,
        comment: str = "",
        from_status: OrderStatus | None = None,
    ) -> None:
        self._audit.append(
            AuditEntry(
                at=workflow.now(),
                actor=str(actor),
                action=action,
                from_status=from_status.value if from_status else None,
                to_status=to_status.value if to_status else None,
                comment=comment,
            )
        )

    def _move(
        self, status: OrderStatus, action: str, comment: str, actor: Actor | str = SOPFLOW
    ) -> None:
        before, self._status = self._status, status
        self._record(actor, action, status, comment, from_status=before)
        if status != before:
            workflow.upsert_search_attributes([search.ORDER_STATUS.value_set(status.value)])
            workflow.logger.info("order %s → %s (%s)", before.value, status.value, comment)
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        lines = [f"**{self._status.value}** · {self._order.summary(self._account_name)}"]
        if self._account_name:
            lines.append(f"Account: {self._account_name} ({self._order.account_number})")
        if self._branch_id:
            lines.append(f"Branch: {self._branch_id}")
        if self._oms_order_id:
            lines.append(f"OMS order: {self._oms_order_id}")
        for hold in self._holds:
            lines.append(f"- hold {hold.code.value}: {hold.reason}")
        if self._shipments:
            left = delivery.outstanding(self._order, self._delivered())
            lines.append(
                f"Shipments: {len(self._shipments)}, invoices: {len(self._invoices)}, "
                f"lines still open: {len(left)}"
            )
        return "\n".join(lines)

    async def _sync(self) -> None:
        """Hand the current state to the read model (row, new audit entries, tasks)."""
        self._revision += 1
        info = workflow.info()
        sync = ReadModelSync(
            record=WorkflowRecord(
                workflow_id=info.workflow_id,
                kind="order",
                status=self._status.value,
                revision=self._revision,
                created_at=self._received_at,
                updated_at=workflow.now(),
                account_number=self._order.account_number,
                business_key=self._order.po_number,
                summary=self._order.summary(self._account_name),
                assignee=self._rep_id if self._status == OrderStatus.ON_HOLD else None,
                due_at=self._sla_due_at if self._status == OrderStatus.ON_HOLD else None,
                is_test=self._order.test,
                # The audit trail travels separately, a few new entries at a time.
                view=self.view().model_dump(mode="json", exclude={"audit"}),
            ),
            audit=self._audit[self._audit_sent :],
            audit_offset=self._audit_sent,
            open_tasks=self._tasks_to_open,
            closed_tasks=self._tasks_to_close,
        )
        # Taken before awaiting, so a concurrent sync sends only what is newer.
        self._audit_sent = len(self._audit)
        self._tasks_to_open, self._tasks_to_close = [], []
        # A local activity: a short idempotent write to our own database needs no
        # task-queue round trip, and a busy order keeps a small history.
        await workflow.execute_local_activity(
            read_model.SYNC.name,
            sync,
            start_to_close_timeout=self._policy.activity_timeout,
            retry_policy=RetryPolicy(maximum_interval=self._policy.max_retry_interval),
            summary=f"Read model: {self._status.value}",
        )

    async def _activity(self, contract: Any, arg: Any, *, summary: str) -> Any:
        return await workflow.execute_activity(
            contract.name,
            arg,
            result_type=contract.output,
            start_to_close_timeout=self._policy.activity_timeout,
            retry_policy=RetryPolicy(maximum_interval=self._policy.max_retry_interval),
            summary=summary,
        )
