"""One PunchOut purchase order, from the buyer's cXML to the last invoice.

Received → validated → created in OMS (confirmed, or a draft on hold with the CSC
told, a helpdesk ticket and a task per hold) → released to iSeries with the pick
ticket printed at the branch → shipments reported by the branch, each invoiced →
completed when every line is delivered.

Each step is skipped when the state says it is done, so a run that continues as
new picks up where the last one stopped.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.kernel import SOPFLOW, SopWorkflow, SystemRefused

with workflow.unsafe.imports_passed_through():
    from activities.contracts import email, helpdesk, iseries, oms, reference
    from activities.contracts.email import EmailMessage
    from activities.contracts.helpdesk import TicketRequest
    from activities.contracts.iseries import InvoiceRequest, PickTicketRequest
    from activities.contracts.oms import OmsCreateOrder, OmsOrderAction
    from activities.contracts.reference import ValidateOrder
    from domain.identity import Role
    from domain.order import delivery
    from domain.order.models import (
        MOVES,
        Hold,
        Invoice,
        OrderState,
        OrderStatus,
        OrderView,
        ShipmentReport,
        StartOrder,
    )
    from domain.records import RecordFields


@workflow.defn
class OrderWorkflow(SopWorkflow):
    kind = "order"
    state: OrderState

    @workflow.init
    def __init__(self, start: StartOrder) -> None:
        self.start = start
        self.order = start.order
        self.init_kernel(start.state or self.new_state(OrderState), start.policy)

    # ------------------------------------------------------------------ run
    @workflow.run
    async def run(self, start: StartOrder) -> OrderView:
        await self.run_to_end(self._process)
        # A resent shipment report may still be answering.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()

    async def _process(self) -> None:
        st = self.state
        if not st.audit:
            self.begin(
                self.start.submitted_by,
                "received",
                "test order" if self.order.test else f"payload {self.order.payload_id or '-'}",
            )
            await self.sync()  # readable at once, with or without a worker
        if st.oms_order_id is None:
            await self._validate_and_create()
        if st.holds:
            # Resolving holds is the next step of the SOP; until then the order
            # waits here with its holds listed and a task per hold.
            await self.wait_until(lambda: not st.holds)
            self.close_all_tasks("holds resolved")
        if st.status in (OrderStatus.RECEIVED, OrderStatus.ON_HOLD):
            self.move(OrderStatus.CONFIRMED, "confirmed", f"OMS order {st.oms_order_id} confirmed")
        if st.pick_ticket_id is None:
            await self._release_to_branch()
        await self.wait_until(
            lambda: (
                delivery.fully_delivered(self.order, self._delivered())
                and workflow.all_handlers_finished()
            )
        )
        await self.finish(OrderStatus.COMPLETED, "completed", "every line delivered and invoiced")

    async def _validate_and_create(self) -> None:
        st = self.state
        validation = await self.call(
            reference.VALIDATE_ORDER,
            ValidateOrder(order=self.order, default_sla=self.policy.sla),
            summary="Validate against reference data (account, address, part, pool, UOM, price)",
        )
        st.account_name = validation.account_name
        st.branch_id = validation.branch_id
        st.rep_id = validation.rep_id
        st.rep_email = validation.rep_email
        st.lines = validation.lines
        st.sla_due_at = st.created_at + validation.sla

        created = await self.call(
            oms.CREATE_ORDER,
            OmsCreateOrder(
                idempotency_key=self.key("oms-create"),
                order=self.order,
                lines=st.lines,
                branch_id=st.branch_id,
                confirmed=not validation.holds,
            ),
            summary="Create order in Sterling OMS" + (" (draft)" if validation.holds else ""),
        )
        st.oms_order_id = created.oms_order_id
        if validation.holds:
            await self._hold(validation.holds)

    async def _hold(self, holds: list[Hold]) -> None:
        st = self.state
        st.holds = holds
        codes = ", ".join(sorted({h.code.value for h in holds}))
        self.move(
            OrderStatus.ON_HOLD,
            "held",
            f"validation failed: {codes}; OMS keeps draft {st.oms_order_id}",
        )
        for i, hold in enumerate(holds, start=1):
            self.open_task(
                f"hold:{i}",
                kind=f"resolve_hold_{hold.code.value.lower()}",
                role=Role.ACCOUNT_REP,
                assignee=st.rep_id,
                queue=None if st.rep_id else "csc",
                due_at=st.sla_due_at,
                payload=hold.model_dump(mode="json"),
            )
        await self.sync()

        # Each reason names its line, part number or ship-to id.
        details = "\n".join(f"- {h.code.value}: {h.reason}" for h in holds)
        summary = self.order.summary(st.account_name)
        subject = f"PunchOut order on hold: {summary} — {codes}"
        sent = await self.notify(
            email.SEND,
            EmailMessage(
                idempotency_key=self.key("email:on-hold"),
                to=[self.policy.csc_inbox],
                subject=subject,
                body=f"{summary} failed validation:\n{details}",
            ),
            summary="Notify CSC inbox of the validation failure",
        )
        if sent is not None:
            self.note(SOPFLOW, "csc notified", f"email {sent} to {self.policy.csc_inbox}")
        ticket = await self.notify(
            helpdesk.OPEN_TICKET,
            TicketRequest(
                idempotency_key=self.key("ticket:on-hold"),
                subject=subject,
                description=details,
                requester_email=self.policy.csc_inbox,
                assignee_email=st.rep_email,
            ),
            summary="Open helpdesk ticket for the account rep",
        )
        if ticket is not None:
            st.helpdesk_ticket_id = ticket
            self.note(
                SOPFLOW, "ticket opened", f"helpdesk ticket {ticket} for {st.rep_id or 'the CSC'}"
            )
        self.refresh_details()
        await self.sync()

    async def _release_to_branch(self) -> None:
        st = self.state
        assert st.oms_order_id and st.branch_id
        release = await self.call(
            oms.RELEASE_ORDER,
            OmsOrderAction(idempotency_key=self.key("oms-release"), oms_order_id=st.oms_order_id),
            summary=f"Release OMS order {st.oms_order_id} to iSeries",
        )
        st.iseries_order_id = release.iseries_order_id
        ticket = await self.call(
            iseries.PRINT_PICK_TICKET,
            PickTicketRequest(
                idempotency_key=self.key("pick-ticket"),
                iseries_order_id=release.iseries_order_id,
                branch_id=st.branch_id,
            ),
            summary=f"Print pick ticket at branch {st.branch_id}",
        )
        st.pick_ticket_id = ticket.pick_ticket_id
        self.move(
            OrderStatus.RELEASED,
            "released",
            f"iSeries order {release.iseries_order_id}; pick ticket {ticket.pick_ticket_id} "
            f"printed at {st.branch_id}",
        )
        await self.sync()

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
                    delivery.invoice_for(self.state.invoices, shipment_id) is not None
                    or not self._recorded(shipment_id)
                )
            )
            invoice = delivery.invoice_for(self.state.invoices, shipment_id)
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
            self.note(report.actor, "shipment refused", problem[1])
            await self.sync()
        elif not problem:
            with contextlib.suppress(ApplicationError):  # refusals are in the audit trail
                await self._accept_shipment(report)

    def _shipment_problem(self, report: ShipmentReport) -> tuple[str, str] | None:
        """(refusal type, reason) when this report cannot be taken."""
        shipment = report.shipment
        refused = MOVES.refusal("report_shipment", self.state.status, report.actor)
        if refused and refused.type == "Forbidden":
            return (refused.type, refused.reason)
        previous = next(
            (s for s in self.state.shipments if s.shipment_id == shipment.shipment_id), None
        )
        if previous is not None:
            if delivery.same_shipment(previous, shipment):
                return ("DuplicateShipment", f"shipment {shipment.shipment_id} is already recorded")
            return (
                "ShipmentConflict",
                f"shipment {shipment.shipment_id} was already reported with other content",
            )
        if refused:
            return (refused.type, refused.reason)
        problem = delivery.shipment_problem(self.order, self._delivered(), shipment)
        return ("InvalidShipment", problem) if problem else None

    async def _accept_shipment(self, report: ShipmentReport) -> Invoice:
        st = self.state
        shipment = report.shipment
        # Counted as delivered before invoicing, so a concurrent report is
        # checked against what is really left.
        st.shipments.append(shipment)
        assert st.iseries_order_id
        try:
            invoice = await self.call(
                iseries.INVOICE_SHIPMENT,
                InvoiceRequest(
                    idempotency_key=self.attempt_key(f"invoice:{shipment.shipment_id}"),
                    iseries_order_id=st.iseries_order_id,
                    order_ref=workflow.info().workflow_id,
                    currency=self.order.currency,
                    shipment=shipment,
                    unit_prices=delivery.unit_prices(self.order),
                ),
                summary=f"Invoice shipment {shipment.shipment_id}",
            )
        except SystemRefused as err:
            st.shipments.remove(shipment)
            reason = f"shipment {shipment.shipment_id} could not be invoiced: {err.reason}"
            self.note(report.actor, "shipment refused", reason)
            await self.sync()
            raise ApplicationError(reason, type="InvoiceRefused") from None
        st.invoices.append(invoice)
        done = delivery.fully_delivered(self.order, self._delivered())
        self.move(
            OrderStatus.COMPLETED if done else OrderStatus.PARTIALLY_SHIPPED,
            "shipped",
            f"shipment {shipment.shipment_id}: {len(shipment.lines)} line(s), signed by "
            f"{shipment.proof_of_delivery.signed_by}; invoice {invoice.invoice_number} "
            f"{invoice.amount} {invoice.currency}",
            actor=report.actor,
        )
        if not done:  # the last shipment's write is the order's final one
            await self.sync()
        return invoice

    def _recorded(self, shipment_id: str) -> bool:
        return any(s.shipment_id == shipment_id for s in self.state.shipments)

    def _delivered(self) -> dict[int, Decimal]:
        return delivery.delivered(self.state.shipments)

    # --------------------------------------------------------------- reads
    @workflow.query
    def view(self) -> OrderView:
        st = self.state
        return OrderView(
            order_id=workflow.info().workflow_id,
            status=st.status,
            order=self.order,
            received_at=st.created_at,
            sla_due_at=st.sla_due_at,
            account_name=st.account_name,
            branch_id=st.branch_id,
            oms_order_id=st.oms_order_id,
            pick_ticket_id=st.pick_ticket_id,
            helpdesk_ticket_id=st.helpdesk_ticket_id,
            waiting_on=st.waiting_on,
            holds=st.holds,
            lines=st.lines,
            delivered=self._delivered(),
            shipments=st.shipments,
            invoices=st.invoices,
            audit=st.audit,
        )

    # ------------------------------------------------------- kernel hooks
    def record_fields(self) -> RecordFields:
        st = self.state
        on_hold = st.status == OrderStatus.ON_HOLD
        return RecordFields(
            account_number=self.order.account_number,
            business_key=self.order.po_number,
            summary=self.order.summary(st.account_name),
            assignee=st.rep_id if on_hold else None,
            due_at=st.sla_due_at if on_hold else None,
            is_test=self.order.test,
            # The audit trail travels separately, a few new entries at a time.
            view=self.view().model_dump(mode="json", exclude={"audit"}),
        )

    def details(self) -> str:
        st = self.state
        lines = [f"**{st.status}** · {self.order.summary(st.account_name)}"]
        if st.account_name:
            lines.append(f"Account: {st.account_name} ({self.order.account_number})")
        if st.branch_id:
            lines.append(f"Branch: {st.branch_id}")
        if st.oms_order_id:
            lines.append(f"OMS order: {st.oms_order_id}")
        if st.helpdesk_ticket_id:
            lines.append(f"Helpdesk ticket: {st.helpdesk_ticket_id}")
        for hold in st.holds:
            lines.append(f"- hold {hold.code.value}: {hold.reason}")
        if st.shipments:
            left = delivery.outstanding(self.order, self._delivered())
            lines.append(
                f"Shipments: {len(st.shipments)}, invoices: {len(st.invoices)}, "
                f"lines still open: {len(left)}"
            )
        return "\n".join(lines)

    def carry_over(self) -> StartOrder:
        return self.start.model_copy(update={"state": self.state})
