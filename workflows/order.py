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
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.kernel import FAILED, SOPFLOW, SopWorkflow, SystemRefused

with workflow.unsafe.imports_passed_through():
    from activities.contracts import email, helpdesk, iseries, oms, reference
    from activities.contracts.email import EmailMessage
    from activities.contracts.helpdesk import ResolveTicket, TicketRequest
    from activities.contracts.iseries import InvoiceRequest, PickTicketRequest
    from activities.contracts.oms import OmsCreateOrder, OmsOrderAction, OmsUpdateOrder
    from activities.contracts.reference import (
        AddCrossReference,
        FindPriceEvidence,
        RecheckOrder,
        ValidateOrder,
    )
    from domain.identity import Role
    from domain.order import delivery
    from domain.order.fixes import OrderFixes
    from domain.order.models import (
        MOVES,
        Hold,
        HoldCode,
        Invoice,
        OrderStatus,
        OrderView,
        PurchaseOrder,
        ShipmentReport,
        ValidationResult,
    )
    from domain.order.state import OrderState, StartOrder
    from domain.records import HumanTask, RecordFields
    from domain.tasks import TaskDecision, hold_task_kind


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
            # People resolve the holds through their tasks (`decide`).
            await self.wait_until(lambda: not st.holds)
            self.close_all_tasks("holds resolved")
        if st.status == OrderStatus.ON_HOLD:
            await self._confirm_after_holds()
        if st.status == OrderStatus.RECEIVED:
            self.move(OrderStatus.CONFIRMED, "confirmed", f"OMS order {st.oms_order_id} confirmed")
        if st.pick_ticket_id is None:
            await self._release_to_branch()
        await self.wait_until(
            lambda: (
                delivery.fully_delivered(self._current(), self._delivered())
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
        st.team_lead_id = validation.team_lead_id
        st.sla_due_at = st.created_at + validation.sla
        if any(h.code == HoldCode.PRICE for h in validation.holds) and workflow.patched(
            "price-evidence"
        ):
            validation = await self._price_evidence(validation)
        st.lines = validation.lines

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
        self._hold_tasks("")
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
        if sent is not FAILED:
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
        if ticket is not FAILED:
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

    # ---------------------------------------------------------------- holds
    async def _price_evidence(self, validation: ValidationResult) -> ValidationResult:
        """A PRICE hold the branch already agreed to (an open quote, a processed
        invoice at the PO price) resolves itself, citing it."""
        st = self.state
        fixes = st.fixes
        as_of = (self.order.order_date or st.created_at).date()
        for hold in [h for h in validation.holds if h.code == HoldCode.PRICE]:
            line = next(ln for ln in validation.lines if ln.line_number == hold.line_number)
            found = await self.call(
                reference.FIND_PRICE_EVIDENCE,
                FindPriceEvidence(
                    account_number=self.order.account_number,
                    branch_id=validation.branch_id,
                    line=line,
                    as_of=as_of,
                ),
                summary=f"Look for a quote or invoice at the PO price (line {line.line_number})",
            )
            if found.evidence:
                fixes = fixes.with_line(line.line_number, price_evidence=found.evidence)
                self.note(
                    SOPFLOW,
                    "price confirmed",
                    f"line {line.line_number}: {found.evidence.kind} "
                    f"{found.evidence.reference} at {found.evidence.unit_price}",
                )
        if fixes == st.fixes:
            return validation
        st.fixes = fixes
        return await self._recheck(fixes)

    async def _recheck(self, fixes: OrderFixes) -> ValidationResult:
        return await self.call(
            reference.RECHECK_ORDER,
            RecheckOrder(order=self.order, fixes=fixes, default_sla=self.policy.sla),
            summary="Re-check the order with the fixes made so far",
        )

    def _hold_tasks(self, outcome: str) -> None:
        """One task per open hold (the rep's, or the team lead's once a price is
        escalated); tasks of holds that are gone close with `outcome`."""
        st = self.state
        wanted: dict[str, tuple[str, Role, str | None, Hold]] = {}
        for hold in st.holds:
            key = f"{hold.code.value}:{hold.line_number or 0}"
            if key in st.escalated:
                wanted[f"escalation:{key}"] = (
                    "price_escalation",
                    Role.TEAM_LEAD,
                    st.team_lead_id,
                    hold,
                )
            else:
                wanted[f"hold:{key}"] = (
                    hold_task_kind(hold.code),
                    Role.ACCOUNT_REP,
                    st.rep_id,
                    hold,
                )
        prefix = self.task_prefix()
        for task in list(st.open_tasks):
            name = task.task_id.removeprefix(prefix)
            if name.startswith(("hold:", "escalation:")) and name not in wanted:
                self.close_task(task.task_id, outcome)
        for name, (kind, role, assignee, hold) in wanted.items():
            self.open_task(
                name,
                kind=kind,
                role=role,
                assignee=assignee,
                queue=None if assignee else "csc",
                due_at=st.sla_due_at,
                payload=hold.model_dump(mode="json"),
            )

    async def on_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        st = self.state
        hold = Hold.model_validate(task.payload)
        line = hold.line_number or 0
        key = f"{hold.code.value}:{line}"
        if d.decision == "escalate":
            st.escalated.append(key)
            self.note(d.actor, "price escalated", f"line {line}: {fields.comment}")
            self._hold_tasks(f"escalated by {d.actor}")
            self.refresh_details()
            await self.sync()
            return
        fixes = st.fixes.with_decision(d.decision, line, fields)
        if d.decision == "map_part" and fields.add_to_cross_reference:
            part_number = hold.part_number or ""
            try:
                await self.call(
                    reference.ADD_CROSS_REFERENCE,
                    AddCrossReference(
                        account_number=self.order.account_number,
                        customer_part_number=part_number,
                        part_id=fields.part_id,
                        actor=d.actor,
                        comment=d.comment,
                    ),
                    summary=f"Add {part_number} → {fields.part_id} to the cross-reference",
                )
            except SystemRefused as err:
                raise ApplicationError(err.reason, type="HoldNotCured") from None
        try:
            result = await self._recheck(fixes)
        except SystemRefused as err:
            raise ApplicationError(err.reason, type="HoldNotCured") from None
        still = next(
            (h for h in result.holds if h.code == hold.code and (h.line_number or 0) == line),
            None,
        )
        if still is not None:
            raise ApplicationError(still.reason, type="HoldNotCured")
        # Cured: OMS's draft follows, then the order takes the fixes (the order
        # goes on when its last hold is gone), tasks follow the holds.
        branch_id = result.branch_id or st.branch_id
        assert st.oms_order_id
        await self.call(
            oms.UPDATE_ORDER,
            OmsUpdateOrder(oms_order_id=st.oms_order_id, lines=result.lines, branch_id=branch_id),
            summary=f"Update OMS draft {st.oms_order_id} ({d.decision})",
        )
        st.fixes, st.lines, st.holds, st.branch_id = fixes, result.lines, result.holds, branch_id
        what = f"{hold.code.value}" + (f" line {line}" if line else "")
        self.note(
            d.actor,
            "hold resolved",
            f"{what}: {d.decision} {fields.model_dump(mode='json', exclude={'comment'}) or ''}"
            + (f"; {d.comment}" if d.comment else "")
            + (f"; {fields.comment}" if getattr(fields, "comment", None) else ""),
        )
        if key in st.escalated:
            st.escalated.remove(key)
        self._hold_tasks(f"{d.decision} by {d.actor}")
        self.refresh_details()
        await self.sync()
        if not st.holds:
            # The answer says where the order went: confirmed (or further).
            await workflow.wait_condition(lambda: st.status != OrderStatus.ON_HOLD)

    async def _confirm_after_holds(self) -> None:
        st = self.state
        assert st.oms_order_id
        await self.call(
            oms.CONFIRM_ORDER,
            OmsOrderAction(idempotency_key=self.key("oms-confirm"), oms_order_id=st.oms_order_id),
            summary=f"Confirm OMS order {st.oms_order_id}",
        )
        self.move(
            OrderStatus.CONFIRMED,
            "confirmed",
            f"holds resolved; OMS order {st.oms_order_id} confirmed",
        )
        if st.helpdesk_ticket_id:
            resolved = await self.notify(
                helpdesk.RESOLVE_TICKET,
                ResolveTicket(ticket_id=st.helpdesk_ticket_id),
                summary=f"Resolve helpdesk ticket {st.helpdesk_ticket_id}",
            )
            if resolved is not FAILED:
                self.note(SOPFLOW, "ticket resolved", f"helpdesk ticket {st.helpdesk_ticket_id}")
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
        problem = delivery.shipment_problem(self._current(), self._delivered(), shipment)
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
                    unit_prices=delivery.unit_prices(self._current()),
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
        done = delivery.fully_delivered(self._current(), self._delivered())
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

    def _current(self) -> PurchaseOrder:
        """The order as it stands after people's fixes (rejected lines gone)."""
        return self.state.fixes.applied(self.order)

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
            left = delivery.outstanding(self._current(), self._delivered())
            lines.append(
                f"Shipments: {len(st.shipments)}, invoices: {len(st.invoices)}, "
                f"lines still open: {len(left)}"
            )
        return "\n".join(lines)

    def carry_over(self) -> StartOrder:
        return self.start.model_copy(update={"state": self.state})
