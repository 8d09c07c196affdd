"""One PunchOut purchase order, from the buyer's cXML to the last invoice.

Received → validated → created in OMS (confirmed, or a draft on hold with the CSC
told, a helpdesk ticket and a task per hold) → released to iSeries with the pick
ticket printed at the branch → shipments reported by the branch, each invoiced →
completed when every line is delivered.

Each step is skipped when the state says it is done, so a run that continues as
new picks up where the last one stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.kernel import FAILED, ROUTING, SOPFLOW, SopWorkflow, SystemRefused
from workflows.order_documents import DOCUMENT_TASKS, RESEND_AS_NEW, BuyerDocuments
from workflows.order_incident import FallbackApproved, IncidentHooks
from workflows.updates_once import made_once

with workflow.unsafe.imports_passed_through():
    from activities.contracts import email, helpdesk, iseries, oms, reference
    from activities.contracts.email import EmailMessage
    from activities.contracts.helpdesk import ResolveTicket, TicketRequest
    from activities.contracts.iseries import InvoiceRequest, IseriesCancelOrder, PickTicketRequest
    from activities.contracts.oms import OmsCreateOrder, OmsOrderAction, OmsUpdateOrder
    from activities.contracts.reference import (
        AddCrossReference,
        FindPriceEvidence,
        RecheckOrder,
        ValidateOrder,
    )
    from domain import search
    from domain.identity import Actor, Role
    from domain.order import delivery, edits
    from domain.order.fixes import OrderFixes
    from domain.order.models import (
        FINAL_STATUSES,
        MOVES,
        BuyerCancel,
        BuyerChange,
        BuyerChangeResult,
        EditRequest,
        EditStatus,
        ErrorCategory,
        ErrorFlag,
        FlagError,
        Hold,
        HoldCode,
        Invoice,
        OrderStatus,
        OrderView,
        PurchaseOrder,
        RequestEdit,
        ResolvedLine,
        ShipmentReport,
        ValidationResult,
    )
    from domain.order.state import OrderState, StartOrder
    from domain.records import HumanTask, RecordFields
    from domain.tasks import TaskDecision, hold_task_kind


def decision_text(what: str, decision: str, fields: Any, comment: str) -> str:
    """`PRICE line 1: set_price unit_price=2.35; agreed with the buyer`."""
    values = " ".join(
        f"{k}={v}" for k, v in fields.model_dump(mode="json", exclude={"comment"}).items()
    )
    said = getattr(fields, "comment", None) or comment
    return f"{what}: {decision}" + (f" {values}" if values else "") + (f"; {said}" if said else "")


class BuyerCancelled(Exception):
    """Raised at the main run's wait once the buyer's cancel is done: the run ends."""


# Patches (CONTRIBUTING.md): what a run started before them does not do.
SLA = "hold-sla-and-attributes"
APPROVAL_IS_FINAL = "approval-without-recheck"
# A buyer's cancel of an order entered in iSeries while OMS was down (before,
# it failed the workflow task): cancelled in iSeries, in OMS once reconciled.
CANCEL_IN_ISERIES = "cancel-fallback-in-iseries"


@workflow.defn
class OrderWorkflow(BuyerDocuments, IncidentHooks, SopWorkflow):  # documents (11), outages (7)
    kind = "order"
    default_queue = "csc"
    decision_patches = (SLA, APPROVAL_IS_FINAL, RESEND_AS_NEW)
    state: OrderState

    @workflow.init
    def __init__(self, start: StartOrder) -> None:
        self.start = start
        self.order = start.order
        self.init_kernel(start.state or self.new_state(OrderState), start.policy)

    # ------------------------------------------------------------------ run
    @workflow.run
    async def run(self, start: StartOrder) -> OrderView:
        await self.run_to_end(self._process_unless_cancelled)
        # A resent shipment report may still be answering.
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()

    async def _process(self) -> None:
        st = self.state
        self.resume_documents()  # buyer documents (workflows/order_documents.py)
        if not st.audit:
            self.begin(
                self.start.submitted_by,
                "received",
                "test order" if self.order.test else f"payload {self.order.payload_id or '-'}",
            )
            await self.sync()  # readable at once, with or without a worker
        if st.oms_order_id is None and not self.entered_in_iseries_only():
            await self._validate_and_create()
        if st.holds:
            # People resolve the holds through their tasks (`decide`), against
            # the SLA's clock.
            sla = asyncio.create_task(self._watch_sla()) if workflow.patched(SLA) else None
            await self.wait_until(lambda: not st.holds)
            if sla:
                sla.cancel()
            self._hold_tasks("holds resolved")
        if st.status == OrderStatus.ON_HOLD:
            await self._confirm_after_holds()
        if st.status == OrderStatus.RECEIVED:
            self.move(OrderStatus.CONFIRMED, "confirmed", f"OMS order {st.oms_order_id} confirmed")
        self.confirm_to_buyer()
        if st.pick_ticket_id is None:
            await self._release_to_branch()
        self.start_reconciling()  # issue 7: entered in iSeries → into OMS once it is back
        await self.wait_until(
            lambda: (
                delivery.fully_delivered(self._current(), self._delivered())
                and workflow.all_handlers_finished()
                and not self.reconciling()
            )
        )
        await self.documents_settled()
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

        # Issue 7: while OMS is down, the CSC manager may have a clean order
        # entered in iSeries instead (workflows/order_incident.py).
        self._fallback_ok = not validation.holds
        try:
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
        except FallbackApproved as approved:
            return await self.enter_in_iseries(approved.notice)
        finally:
            self._fallback_ok = False
        st.oms_order_id = created.oms_order_id
        if created.found:
            self.note(
                SOPFLOW,
                "found in oms",
                f"PO {self.order.po_number} is already OMS order {created.oms_order_id} "
                f"({created.status}): carried on from it, no second order",
            )
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
        if workflow.patched(SLA):
            self._hold_attributes()
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
                assignee_email=self._holder_email(),
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
        await self.at_the_branch(
            release.iseries_order_id, f"iSeries order {release.iseries_order_id}"
        )

    async def at_the_branch(self, iseries_order_id: str, how: str, then: str = "") -> None:
        """The pick ticket prints at the branch: the order is released."""
        st = self.state
        ticket = await self.call(
            iseries.PRINT_PICK_TICKET,
            PickTicketRequest(
                idempotency_key=self.key("pick-ticket"),
                iseries_order_id=iseries_order_id,
                branch_id=st.branch_id,
                first=True,
            ),
            summary=f"Print pick ticket at branch {st.branch_id}",
        )
        st.pick_ticket_id = ticket.pick_ticket_id
        self.move(
            OrderStatus.RELEASED,
            "released",
            f"{how}; pick ticket {ticket.pick_ticket_id} printed at {st.branch_id}{then}",
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
                    self._named(st.team_lead_id),
                    hold,
                )
            else:
                wanted[f"hold:{key}"] = (
                    hold_task_kind(hold.code),
                    Role.ACCOUNT_REP,
                    self._named(st.rep_id),
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
                due_at=st.sla_due_at,
                payload=hold.model_dump(mode="json"),
            )

    async def on_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        # Flags and branch edits decide in their own section (below), buyer
        # documents in theirs (workflows/order_documents.py).
        if task.kind in DOCUMENT_TASKS:
            return await self.decide_document(task, d, fields)
        if task.kind == "systemic_error":
            return await self._acknowledge_flag(task, d, fields)
        if task.kind == "branch_edit":
            return await self._decide_edit(task, d, fields)
        st = self.state
        if d.decision == "acknowledge":  # an SLA breach, seen by the team lead
            self.close_task(task.task_id, f"acknowledged by {d.actor}")
            self.note(d.actor, "sla breach acknowledged", fields.comment)
            await self.sync()
            return
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
        if d.decision == "approve_po_price" and workflow.patched(APPROVAL_IS_FINAL):
            # The team lead's word is the PRICE rule for that line: nothing to
            # re-check, and OMS's draft already carries the PO price.
            held = [
                h for h in st.holds if not (h.code == hold.code and (h.line_number or 0) == line)
            ]
            return await self._take_fixes(d, fields, hold, fixes, st.lines, held, st.branch_id)
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
        # Cured: OMS's draft follows, then the order takes the fixes.
        branch_id = result.branch_id or st.branch_id
        oms_order_id = self._in_oms("a fix")
        await self.call(
            oms.UPDATE_ORDER,
            OmsUpdateOrder(oms_order_id=oms_order_id, lines=result.lines, branch_id=branch_id),
            summary=f"Update OMS draft {oms_order_id} ({d.decision})",
        )
        await self._take_fixes(d, fields, hold, fixes, result.lines, result.holds, branch_id)

    async def _take_fixes(
        self,
        d: TaskDecision,
        fields: Any,
        hold: Hold,
        fixes: OrderFixes,
        lines: list[ResolvedLine],
        holds: list[Hold],
        branch_id: str | None,
    ) -> None:
        """The order takes a decision's fixes (it goes on when its last hold is
        gone); tasks follow the holds; the answer waits for where it went."""
        st = self.state
        line = hold.line_number or 0
        key = f"{hold.code.value}:{line}"
        st.fixes, st.lines, st.holds, st.branch_id = fixes, lines, holds, branch_id
        what = f"{hold.code.value}" + (f" line {line}" if line else "")
        self.note(
            d.actor,
            "hold resolved",
            decision_text(what, d.decision, fields, d.comment),
        )
        if key in st.escalated:
            st.escalated.remove(key)
        self._hold_tasks(f"{d.decision} by {d.actor}")
        if workflow.patched(SLA):
            self._hold_attributes()
        self.refresh_details()
        await self.sync()
        if not st.holds and not self.answering:
            # Before ANSWER_FIRST the answer said where the order went: confirmed.
            await workflow.wait_condition(lambda: st.status != OrderStatus.ON_HOLD)

    def _named(self, person: str | None) -> str | None:
        """Who a task is opened for: since routing, nobody (the team directory
        picks the rep or team lead, or whoever stands in for them); before it,
        the account's contact as validation found them."""
        return None if workflow.patched(ROUTING) else person

    def _hold_attributes(self) -> None:
        codes = sorted({h.code.value for h in self.state.holds})
        self.upsert([search.HOLD_CODES.value_set(codes)])

    async def _watch_sla(self) -> None:
        """The SLA (from receipt to confirmed): a reminder to the rep at 75%, an
        escalation to the team lead at 100%. Cancelled when the order confirms."""
        st = self.state
        assert st.sla_due_at
        with contextlib.suppress(asyncio.CancelledError):
            if not st.sla_reminded:
                share = self.policy.sla_reminder_at
                await self._sleep_until(
                    st.created_at + (st.sla_due_at - st.created_at) * share,
                    f"SLA {share:.0%}: remind the rep",
                )
                st.sla_reminded = True
                left = st.sla_due_at - workflow.now()
                self.note(SOPFLOW, "sla reminder", f"{left} left to resolve the holds")
                if self._holder_email():
                    await self.notify(
                        email.SEND,
                        EmailMessage(
                            idempotency_key=self.key("email:sla-reminder"),
                            to=[self._holder_email()],
                            subject=f"Holds due in {left}: {self.order.summary(st.account_name)}",
                            body=self.details(),
                        ),
                        summary="Remind the rep of the SLA",
                    )
                await self.sync()
            if not st.sla_breached:
                await self._sleep_until(st.sla_due_at, "SLA due: escalate to the team lead")
                st.sla_breached = True
                self.upsert([search.SLA_BREACHED.value_set(True)])
                self.note(
                    SOPFLOW, "sla breached", f"holds not resolved by {st.sla_due_at:%H:%M %Z}"
                )
                self.open_task(
                    "sla_breach",
                    kind="sla_breach",
                    role=Role.TEAM_LEAD,
                    assignee=self._named(st.team_lead_id),
                    payload={"holds": [h.model_dump(mode="json") for h in st.holds]},
                )
                await self.notify(
                    email.SEND,
                    EmailMessage(
                        idempotency_key=self.key("email:sla-breach"),
                        to=[self.policy.csc_inbox],
                        subject=f"SLA breached: {self.order.summary(st.account_name)}",
                        body=f"Team lead: {st.team_lead_id or 'none on file'}\n{self.details()}",
                    ),
                    summary="Escalate the SLA breach",
                )
                self.refresh_details()
                await self.sync()

    async def _sleep_until(self, at: datetime, summary: str) -> None:
        delay = at - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay, summary=summary)

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

    # ------------------------------------------------ flags and branch edits
    @workflow.update
    async def flag_error(self, flag: FlagError) -> ErrorFlag:
        """A rep flags the order's error as systemic (IT, a platform) or human;
        a systemic one is the team lead's to acknowledge."""
        st = self.state
        flag_id, known = made_once("F", st.flags, lambda f: f.flag_id)
        if known is not None:
            return known
        recorded = ErrorFlag(
            flag_id=flag_id,
            category=flag.category,
            platform=flag.platform,
            comment=flag.comment.strip(),
            flagged_by=str(flag.actor),
            flagged_at=workflow.now(),
        )
        st.flags.append(recorded)
        self.note(
            flag.actor,
            "error flagged",
            f"{recorded.flag_id} {flag.category.value} ({flag.platform.value}): {recorded.comment}",
        )
        if flag.category == ErrorCategory.SYSTEMIC:
            self.open_task(
                f"systemic:{recorded.flag_id}",
                kind="systemic_error",
                role=Role.TEAM_LEAD,
                assignee=self._named(st.team_lead_id),
                payload=recorded.model_dump(mode="json"),
            )
        await self.sync()
        return recorded

    @flag_error.validator
    def _validate_flag(self, flag: FlagError) -> None:
        self._refuse_move("flag_error", flag.actor, flag.comment)

    async def _acknowledge_flag(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        flag = next(f for f in self.state.flags if f.flag_id == task.payload["flag_id"])
        flag.acknowledged_by = str(d.actor)
        flag.acknowledged_at = workflow.now()
        flag.acknowledgement = fields.comment
        self.close_task(task.task_id, f"acknowledged by {d.actor}")
        self.note(d.actor, "systemic error acknowledged", f"{flag.flag_id}: {fields.comment}")
        await self.sync()

    @workflow.update
    async def request_edit(self, edit: RequestEdit) -> EditRequest:
        """The branch manager asks for an edit (a quantity, a new line) once the
        pick ticket has printed; the rep applies it or says why not."""
        st = self.state
        taken = [ln.line_number for ln in self.order.lines] + [
            ln.line_number for r in st.edit_requests for ln in r.new_lines
        ]
        request_id, known = made_once("E", st.edit_requests, lambda r: r.request_id)
        if known is not None:
            return known
        request = EditRequest(
            request_id=request_id,
            reason=edit.reason.strip(),
            requested_by=str(edit.actor),
            requested_at=workflow.now(),
            quantities=edits.quantities(edit.lines),
            new_lines=edits.number_new_lines(edit.lines, taken),
        )
        st.edit_requests.append(request)
        self.note(
            edit.actor,
            "edit requested",
            f"{request.request_id}: {_describe_edit(request)}; {request.reason}",
        )
        self.open_task(
            f"edit:{request.request_id}",
            kind="branch_edit",
            role=Role.ACCOUNT_REP,
            assignee=self._named(st.rep_id),
            payload=request.model_dump(mode="json"),
        )
        await self.sync()
        return request

    @request_edit.validator
    def _validate_edit_request(self, edit: RequestEdit) -> None:
        self._refuse_move("request_edit", edit.actor, edit.reason)
        problem = edits.request_problem(self._current(), self._delivered(), edit.lines)
        if problem:
            raise ApplicationError(problem, type="InvalidEdit")

    def check_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        if task.kind == "branch_edit":
            self._refuse_move(d.decision, d.actor)
            if d.decision == "apply_edit":
                self._refuse_edit(self._edit_request(task))
                self._in_oms("the edit")
        elif task.kind.startswith("resolve_hold_") and d.decision != "recheck":
            self._in_oms("a fix")

    def _in_oms(self, what: str) -> str:
        """The order's OMS order id. What goes to Sterling OMS is refused while
        the order is not there (entered in iSeries during an outage and not
        reconciled yet), saying why."""
        st = self.state
        if st.oms_order_id is not None:
            return st.oms_order_id
        if self.entered_in_iseries_only():
            fallback = st.outage.fallback
            where = f"iSeries order {fallback.iseries_order_id}" if fallback else "iSeries"
            raise ApplicationError(
                f"the order is not in Sterling OMS yet (entered in iSeries during the outage as "
                f"{where}); {what} can be applied once it is reconciled into OMS",
                type="InvalidState",
            )
        raise ApplicationError(
            f"the order is not in Sterling OMS yet; {what} waits", type="InvalidState"
        )

    async def _decide_edit(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        request = self._edit_request(task)
        if d.decision == "apply_edit":
            await self._apply_edit(request, d, fields)
        else:
            request.outcome = f"rejected: {fields.comment}"
            self._edit_decided(request, d, EditStatus.REJECTED)
            self.note(d.actor, "edit rejected", f"{request.request_id}: {fields.comment}")
        self.close_task(task.task_id, f"{d.decision} by {d.actor}")
        await self.sync()

    async def _apply_edit(self, request: EditRequest, d: TaskDecision, fields: Any) -> None:
        """Re-validate the edited order (refused with the reason, nothing
        changed), apply it in OMS (which passes it to iSeries), print a new pick
        ticket, and record the root cause."""
        st = self.state
        fixes = edits.edited_fixes(st.fixes, self._current(), request)
        edited = edits.with_added(self._as_edited(), request.new_lines)
        try:
            result = await self.call(
                reference.RECHECK_ORDER,
                RecheckOrder(order=edited, fixes=fixes, default_sla=self.policy.sla),
                summary=f"Re-check the order with branch edit {request.request_id}",
            )
        except SystemRefused as err:
            raise ApplicationError(err.reason, type="InvalidEdit") from None
        if result.holds:
            reasons = "; ".join(h.reason for h in result.holds)
            raise ApplicationError(
                f"the edited order fails validation: {reasons}", type="InvalidEdit"
            )
        # Shipments may have come in meanwhile.
        self._refuse_move("apply_edit", d.actor)
        self._refuse_edit(request)
        branch_id = result.branch_id or st.branch_id
        oms_order_id = self._in_oms("the edit")
        if not (st.iseries_order_id and branch_id):
            raise ApplicationError("the order is not at a branch yet", type="InvalidState")
        try:
            await self.call(
                oms.UPDATE_ORDER,
                OmsUpdateOrder(oms_order_id=oms_order_id, lines=result.lines, branch_id=branch_id),
                summary=f"Apply branch edit {request.request_id} to OMS order {oms_order_id}",
            )
        except SystemRefused as err:
            raise ApplicationError(
                f"OMS refused the edit: {err.reason}", type="InvalidEdit"
            ) from None
        st.fixes, st.lines = fixes, result.lines
        request.root_cause = ErrorCategory(fields.root_cause)
        self._edit_decided(request, d, EditStatus.APPLIED)
        self.note(
            d.actor,
            "edit applied",
            f"{request.request_id} ({fields.root_cause} error): {_describe_edit(request)}; "
            f"{fields.comment}",
        )
        try:
            ticket = await self.call(
                iseries.PRINT_PICK_TICKET,
                PickTicketRequest(
                    idempotency_key=self.attempt_key("pick-ticket"),
                    iseries_order_id=st.iseries_order_id,
                    branch_id=branch_id,
                ),
                summary=f"Print the edited pick ticket at branch {branch_id}",
            )
        except SystemRefused as err:
            request.outcome = f"applied in OMS; the new pick ticket did not print: {err.reason}"
            self.note(SOPFLOW, "pick ticket not printed", f"{request.request_id}: {err.reason}")
            return
        st.pick_ticket_id = request.pick_ticket_id = ticket.pick_ticket_id
        request.outcome = f"applied; pick ticket {ticket.pick_ticket_id} printed at {branch_id}"
        self.note(SOPFLOW, "pick ticket printed", f"{request.request_id}: {request.outcome}")

    def _edit_decided(self, request: EditRequest, d: TaskDecision, status: EditStatus) -> None:
        request.status = status
        request.decided_by = str(d.actor)
        request.decided_at = workflow.now()

    def _edit_request(self, task: HumanTask) -> EditRequest:
        rid = task.payload["request_id"]
        return next(r for r in self.state.edit_requests if r.request_id == rid)

    def _refuse_edit(self, request: EditRequest) -> None:
        problem = edits.problem(self._current(), self._delivered(), request.quantities)
        if problem:
            raise ApplicationError(problem, type="InvalidEdit")

    def _refuse_move(self, move: str, actor: Actor, comment: str = "") -> None:
        refused = MOVES.refusal(move, self.state.status, actor, comment)
        if refused:
            raise ApplicationError(refused.reason, type=refused.type)

    def _as_edited(self) -> PurchaseOrder:
        """The order as sent, with the lines applied branch edits added."""
        return edits.with_added(self.order, edits.added_lines(self.state.edit_requests))

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
        if self.state.iseries_order_id is None:
            return ("InvalidState", "the order is not at a branch yet")
        problem = delivery.shipment_problem(self._current(), self._delivered(), shipment)
        return ("InvalidShipment", problem) if problem else None

    async def _accept_shipment(self, report: ShipmentReport) -> Invoice:
        # Not while a decision, a buyer's change or a branch edit is changing the
        # order: the report is checked again against the order as it then is.
        async with self._decision_lock:
            problem = self._shipment_problem(report)
            if problem and problem[0] != "DuplicateShipment":
                self.note(report.actor, "shipment refused", problem[1])
                await self.sync()
                raise ApplicationError(problem[1], type=problem[0])
            if problem:  # the same report, taken meanwhile: the same answer
                return await self.report_shipment(report)
            return await self._invoice_shipment(report)

    async def _invoice_shipment(self, report: ShipmentReport) -> Invoice:
        st = self.state
        shipment = report.shipment
        # Counted as delivered before invoicing, so a concurrent report is
        # checked against what is really left.
        if st.iseries_order_id is None:  # the validator's check, made again after waiting
            raise ApplicationError("the order is not at a branch yet", type="InvalidState")
        st.shipments.append(shipment)
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
        self.shipment_to_buyer(shipment, invoice, complete=done)
        if not done:  # the last shipment's write is the order's final one
            await self.sync()
        return invoice

    def _current(self) -> PurchaseOrder:
        """The order as it stands after people's fixes (rejected lines gone) and
        the branch's applied edits."""
        return self.state.fixes.applied(self._as_edited())

    def _recorded(self, shipment_id: str) -> bool:
        return any(s.shipment_id == shipment_id for s in self.state.shipments)

    def _delivered(self) -> dict[int, Decimal]:
        return delivery.delivered(self.state.shipments)

    # ------------------------------------------------------ buyer changes
    # The buyer sends the PO again changed (cXML type="update") while it waits on
    # its holds, or withdraws it (type="delete") until something has shipped.
    # Each is taken while the main run waits (on holds or deliveries), never in
    # the middle of one of its calls, and one at a time with people's decisions.
    # A confirmed order is on its way to the branch (it is released at once), so
    # from then on a change is refused; the branch's edit path takes it.
    _parked = 0  # how many of the main run's waits are waiting now
    _cancelling = False  # a buyer's cancel is being made: the waits hold still

    async def wait_until(self, condition: Any, *, summary: str = "") -> None:
        """The main run's waits; they end the run once the buyer has cancelled."""
        st = self.state
        self._parked += 1
        try:
            await super().wait_until(
                lambda: (
                    (condition() and not self._cancelling) or st.status == OrderStatus.CANCELLED
                ),
                summary=summary,
            )
        finally:
            self._parked -= 1
        if st.status == OrderStatus.CANCELLED:
            raise BuyerCancelled()

    async def _process_unless_cancelled(self) -> None:
        try:
            await self._process()
        except BuyerCancelled:
            self.reject_to_buyer("cancelled by the buyer")
            await self.documents_settled()
            await self.cancel_in_oms_once_reconciled()  # entered in iSeries during an outage
            await self.finish(OrderStatus.CANCELLED, "cancelled", "cancelled by the buyer")
        except SystemRefused as err:
            self.reject_to_buyer(f"{err.system} refused the order: {err.reason}")
            await self.documents_settled()
            raise

    @workflow.update
    async def change_order(self, change: BuyerChange) -> BuyerChangeResult:
        """The buyer's changed PO replaces the order's lines: re-validated, OMS's
        draft updated, holds recomputed and their tasks adjusted. People's fixes
        stay on the lines the buyer sent unchanged (and the ship-to choice while
        the ship-to is the same); a changed or new line is checked afresh."""
        st = self.state
        new = change.order
        payload_id = new.payload_id or ""
        async with self._decision_lock:
            await self._until_parked()
            if payload_id in st.buyer_changes:
                return self._buyer_answer(applied=False)
            refused = self._buyer_refusal("change_order", change.actor)
            if refused:
                raise refused
            oms_order_id = self._in_oms("a change")
            fixes, kept = self._fixes_kept(new)
            try:
                result = await self._recheck_change(new, fixes)
                result, fixes, found = await self._buyer_price_evidence(new, fixes, result)
            except SystemRefused as err:
                raise ApplicationError(err.reason, type="InvalidChange") from None
            branch_id = result.branch_id or st.branch_id
            try:
                await self.call(
                    oms.UPDATE_ORDER,
                    OmsUpdateOrder(
                        oms_order_id=oms_order_id, lines=result.lines, branch_id=branch_id
                    ),
                    summary=f"Update OMS draft {oms_order_id} (buyer's change {payload_id})",
                )
            except SystemRefused as err:
                raise ApplicationError(
                    f"Sterling OMS refused the change: {err.reason}", type="InvalidState"
                ) from None
            what = self._lines_changed(self.order, new)
            self.order = new
            st.fixes, st.lines, st.holds = fixes, result.lines, result.holds
            st.branch_id = branch_id
            # An escalation stays the team lead's only while its line is unchanged.
            keys = {f"{h.code.value}:{h.line_number or 0}" for h in st.holds}
            st.escalated = [k for k in st.escalated if k in keys and int(k.split(":")[1]) in kept]
            st.buyer_changes.append(payload_id)
            for evidence in found:
                self.note(SOPFLOW, "price confirmed", evidence)
            holds = ", ".join(
                f"{h.code.value}" + (f" line {h.line_number}" if h.line_number else "")
                for h in st.holds
            )
            self.note(
                change.actor,
                "order changed",
                f"buyer's change, payload {payload_id}: {what}; "
                + (f"holds now {holds}" if holds else "no holds left"),
            )
            self._hold_tasks(f"order changed by the buyer (payload {payload_id})")
            self._hold_task_payloads()
            if workflow.patched(SLA):
                self._hold_attributes()
            self.refresh_details()
            await self.sync()
            return self._buyer_answer()

    @change_order.validator
    def _validate_change_order(self, change: BuyerChange) -> None:
        st = self.state
        new = change.order
        if not change.actor.has_any(Role.SYSTEM):
            raise ApplicationError("change order needs the role system", type="Forbidden")
        if (new.account_number, new.po_number) != (
            self.order.account_number,
            self.order.po_number,
        ):
            raise ApplicationError(
                f"this change is for PO {new.po_number} of account {new.account_number}, "
                f"not this order's",
                type="InvalidChange",
            )
        if not new.payload_id:
            raise ApplicationError("a buyer's change needs its payloadID", type="InvalidChange")
        if new.payload_id in st.buyer_changes:
            return  # a resend: answered as the first was
        refused = self._buyer_refusal("change_order", change.actor)
        if refused:
            raise refused

    @workflow.update
    async def cancel_order(self, cancel: BuyerCancel) -> BuyerChangeResult:
        """The buyer withdraws the PO: cancelled in OMS, its tasks closed, its
        helpdesk ticket resolved, and the order ends `cancelled`."""
        st = self.state
        async with self._decision_lock:
            await self._until_parked()
            if cancel.payload_id in st.buyer_changes:
                return self._buyer_answer(applied=False)
            refused = self._buyer_refusal("cancel_order", cancel.actor)
            if refused:
                raise refused
            self._cancelling = True
            try:
                if self.entered_in_iseries_only() and workflow.patched(CANCEL_IN_ISERIES):
                    where = await self._cancel_in_iseries(cancel)
                else:
                    where = await self._cancel_in_oms(cancel, self._in_oms("a cancel"))
            except ApplicationError:
                self._cancelling = False
                raise
            st.buyer_changes.append(cancel.payload_id)
            if st.status == OrderStatus.ON_HOLD and st.helpdesk_ticket_id:
                resolved = await self.notify(
                    helpdesk.RESOLVE_TICKET,
                    ResolveTicket(ticket_id=st.helpdesk_ticket_id),
                    summary=f"Resolve helpdesk ticket {st.helpdesk_ticket_id} (order cancelled)",
                )
                if resolved is not FAILED:
                    self.note(
                        SOPFLOW,
                        "ticket resolved",
                        f"helpdesk ticket {st.helpdesk_ticket_id}: the buyer cancelled the PO",
                    )
            st.holds = []
            st.escalated = []
            self.close_all_tasks(f"order cancelled by the buyer (payload {cancel.payload_id})")
            if workflow.patched(SLA):
                self._hold_attributes()
            self.move(
                OrderStatus.CANCELLED,
                "cancelled",
                f"cancelled by the buyer, payload {cancel.payload_id}; {where}",
                actor=cancel.actor,
            )
            self._cancelling = False
            # The main run ends the order (its last read-model write).
            return self._buyer_answer()

    async def _cancel_in_oms(self, cancel: BuyerCancel, oms_order_id: str) -> str:
        try:
            await self.call(
                oms.CANCEL_ORDER,
                OmsOrderAction(idempotency_key=self.key("oms-cancel"), oms_order_id=oms_order_id),
                summary=f"Cancel OMS order {oms_order_id} (buyer's {cancel.payload_id})",
            )
        except SystemRefused as err:
            raise ApplicationError(
                f"Sterling OMS refused to cancel: {err.reason}", type="InvalidState"
            ) from None
        return f"OMS order {oms_order_id} cancelled"

    async def _cancel_in_iseries(self, cancel: BuyerCancel) -> str:
        """Entered in iSeries while OMS was down and not in OMS yet: the branch's
        order is cancelled now; OMS's once the order is reconciled into it (the
        main run waits for that before the order ends)."""
        fallback = self.state.outage.fallback
        assert fallback and fallback.iseries_order_id  # entered_in_iseries_only()
        try:
            await self.call(
                iseries.CANCEL_ORDER,
                IseriesCancelOrder(
                    idempotency_key=self.key("iseries-cancel"),
                    iseries_order_id=fallback.iseries_order_id,
                ),
                summary=f"Cancel iSeries order {fallback.iseries_order_id} "
                f"(buyer's {cancel.payload_id})",
            )
        except SystemRefused as err:
            raise ApplicationError(
                f"iSeries refused to cancel: {err.reason}", type="InvalidState"
            ) from None
        fallback.cancelled_at = workflow.now()
        return (
            f"iSeries order {fallback.iseries_order_id} cancelled (entered there during the "
            "outage); Sterling OMS follows once the order is reconciled into it"
        )

    @cancel_order.validator
    def _validate_cancel_order(self, cancel: BuyerCancel) -> None:
        if not cancel.actor.has_any(Role.SYSTEM):
            raise ApplicationError("cancel order needs the role system", type="Forbidden")
        if cancel.payload_id in self.state.buyer_changes:
            return  # a resend: answered as the first was
        refused = self._buyer_refusal("cancel_order", cancel.actor)
        if refused:
            raise refused

    async def _until_parked(self) -> None:
        """Until the main run waits (or the order has ended)."""
        st = self.state
        await workflow.wait_condition(lambda: self._parked > 0 or st.status in FINAL_STATUSES)

    def _buyer_refusal(self, move: str, actor: Actor) -> ApplicationError | None:
        """Why the buyer's change or cancel cannot be taken now, or None."""
        st = self.state
        refused = MOVES.refusal(move, st.status, actor)
        if refused and refused.type == "Forbidden":
            return ApplicationError(refused.reason, type="Forbidden")
        if st.shipments or st.status in (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.COMPLETED):
            shipped = ", ".join(s.shipment_id for s in st.shipments)
            return ApplicationError(
                f"already shipped: PO {self.order.po_number} has shipments ({shipped}); "
                "contact the customer service center",
                type="InvalidState",
            )
        if st.status in FINAL_STATUSES:
            return ApplicationError(f"the order is closed ({st.status})", type="InvalidState")
        if move == "change_order" and (
            refused or (st.status == OrderStatus.ON_HOLD and not st.holds)
        ):
            where = (
                f"released to branch {st.branch_id} (pick ticket {st.pick_ticket_id})"
                if st.pick_ticket_id
                else "confirmed and on its way to the branch"
            )
            return ApplicationError(
                f"the order is {where}; changes now go through the customer service center",
                type="InvalidState",
            )
        if refused:
            return ApplicationError(refused.reason, type=refused.type)
        return None

    def _buyer_answer(self, applied: bool = True) -> BuyerChangeResult:
        st = self.state
        return BuyerChangeResult(
            order_id=workflow.info().workflow_id,
            status=st.status,
            holds=st.holds,
            applied=applied,
        )

    def _fixes_kept(self, new: PurchaseOrder) -> tuple[OrderFixes, set[int]]:
        """People's fixes that still apply to the changed PO: those of lines sent
        again unchanged, and the ship-to choice while the ship-to is the same.
        Also answers the line numbers kept."""
        st = self.state
        before = {ln.line_number: ln for ln in self.order.lines}
        kept = {ln.line_number for ln in new.lines if before.get(ln.line_number) == ln}
        ship_to = (
            st.fixes.ship_to_address_id
            if new.ship_to.address_id == self.order.ship_to.address_id
            else None
        )
        fixes = OrderFixes(
            ship_to_address_id=ship_to,
            lines={n: fix for n, fix in st.fixes.lines.items() if n in kept},
        )
        return fixes, kept

    @staticmethod
    def _lines_changed(before: PurchaseOrder, after: PurchaseOrder) -> str:
        old = {ln.line_number: ln for ln in before.lines}
        new = {ln.line_number: ln for ln in after.lines}
        parts = []
        for label, numbers in (
            ("added", sorted(set(new) - set(old))),
            ("changed", sorted(n for n in set(new) & set(old) if new[n] != old[n])),
            ("removed", sorted(set(old) - set(new))),
        ):
            if numbers:
                s = "s" if len(numbers) > 1 else ""
                parts.append(f"line{s} {', '.join(map(str, numbers))} {label}")
        if after.ship_to != before.ship_to:
            parts.append(f"ship-to {after.ship_to.address_id}")
        return "; ".join(parts) or "same lines"

    async def _recheck_change(self, new: PurchaseOrder, fixes: OrderFixes) -> ValidationResult:
        return await self.call(
            reference.RECHECK_ORDER,
            RecheckOrder(order=new, fixes=fixes, default_sla=self.policy.sla),
            summary="Re-validate the order as the buyer changed it",
        )

    async def _buyer_price_evidence(
        self, new: PurchaseOrder, fixes: OrderFixes, result: ValidationResult
    ) -> tuple[ValidationResult, OrderFixes, list[str]]:
        """A changed line's PRICE hold resolves itself on a quote or invoice at its
        price, as at intake. Answers the result, the fixes and what was found."""
        found: list[str] = []
        as_of = (new.order_date or self.state.created_at).date()
        for hold in [h for h in result.holds if h.code == HoldCode.PRICE]:
            line = next(ln for ln in result.lines if ln.line_number == hold.line_number)
            evidence = await self.call(
                reference.FIND_PRICE_EVIDENCE,
                FindPriceEvidence(
                    account_number=new.account_number,
                    branch_id=result.branch_id,
                    line=line,
                    as_of=as_of,
                ),
                summary=f"Look for a quote or invoice at the PO price (line {line.line_number})",
            )
            if evidence.evidence:
                fixes = fixes.with_line(line.line_number, price_evidence=evidence.evidence)
                found.append(f"line {line.line_number}: {evidence.evidence.describe()}")
        if found:
            result = await self._recheck_change(new, fixes)
        return result, fixes, found

    def _hold_task_payloads(self) -> None:
        """A hold the change left in place but worded anew: its open task shows it."""
        holds = {f"{h.code.value}:{h.line_number or 0}": h for h in self.state.holds}
        prefix = self.task_prefix()
        for task in self.state.open_tasks:
            name = task.task_id.removeprefix(prefix)
            kind, _, key = name.partition(":")
            if kind in ("hold", "escalation") and key in holds:
                routing = {"routing": task.payload["routing"]} if "routing" in task.payload else {}
                task.payload = holds[key].model_dump(mode="json") | routing

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
            incident_id=st.outage.incident_id,
            iseries_fallback=st.outage.fallback,
            holds=st.holds,
            lines=st.lines,
            delivered=self._delivered(),
            shipments=st.shipments,
            invoices=st.invoices,
            flags=st.flags,
            edit_requests=st.edit_requests,
            buyer_changes=st.buyer_changes,
            buyer_documents=self.document_views(),
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
            # Whoever holds its tasks now (a backup while the rep is away).
            assignee=self._holder() if on_hold else None,
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
        lines += self.incident_details()
        holders = {
            (t.payload.get("code"), t.payload.get("line_number")): t.assignee or t.queue or t.role
            for t in st.open_tasks
        }
        for hold in st.holds:
            who = holders.get((hold.code.value, hold.line_number), "nobody yet")
            lines.append(f"- hold {hold.code.value}: {hold.reason} — with {who}")
        if st.shipments:
            left = delivery.outstanding(self._current(), self._delivered())
            lines.append(
                f"Shipments: {len(st.shipments)}, invoices: {len(st.invoices)}, "
                f"lines still open: {len(left)}"
            )
        if documents := self.documents_details():
            lines.append(documents)
        return "\n".join(lines)

    def next_step(self) -> str:
        st = self.state
        if st.status != OrderStatus.ON_HOLD:
            return ""
        if not st.holds:
            return "every hold is resolved: confirming the order in OMS"
        codes = ", ".join(sorted({h.code.value for h in st.holds}))
        return f"{len(st.holds)} hold(s) left: {codes}"

    def routing_account(self) -> str | None:
        return self.order.account_number

    def _holder_email(self) -> str | None:
        """Where the holds' ticket and reminder go: whoever routing gave the first
        hold task to (the backup while the rep is away), else the rep."""
        for task in self.state.open_tasks:
            routed = task.payload.get("routing", {}).get("assignee_email")
            if routed and task.kind.startswith("resolve_hold_"):
                return routed
        return self.state.rep_email

    def _holder(self) -> str | None:
        first = next((t for t in self.state.open_tasks if t.assignee or t.queue), None)
        return (first.assignee or first.queue) if first else self.state.rep_id

    def carry_over(self) -> StartOrder:
        # The order as the buyer last sent it (a change replaces it).
        return self.start.model_copy(update={"state": self.state, "order": self.order})


def _describe_edit(request: EditRequest) -> str:
    changes = [f"line {n} → {q}" for n, q in request.quantities.items()]
    added = [
        f"new line {ln.line_number}: {ln.supplier_part_id or ln.customer_part_number} "
        f"× {ln.quantity} {ln.uom} at {ln.unit_price}"
        for ln in request.new_lines
    ]
    return ", ".join(changes + added)
