"""One open sales order, from the sale until the guest has the merchandise
(spec/open-order.md).

Awaiting product (the ATP date, or the ERP's "product arrived") → scheduling
(OOM contacts the guest; every attempt logged) → booked (delivery, pickup or
transfer) → confirmed (by the end of the prior business day, every number in
the guest's file tried) → closed when the ERP reports possession. A guest not
home, or not at the distribution center, is followed up and rescheduled.

Coded orders: HOLD goes to the store (CWC) after 5 unanswered attempts over a
week including a daytime, an evening and a weekend attempt; BALDUE and CANCEL
after 3 days not dealt with; SVC waits for the service outcome; faulty orders
and no-fits go to CWC at once. From CWC the store manager resolves the order.

Agents' and the store's moves are Updates (validated: role, state, comment);
the ERP's and the SMS/voice provider's events are Signals, each taken once.
The main run only waits (on the ATP date, a code's deadline, or a change),
sends what the moves queued for the guest, and continues as new with the
whole record before its history grows large.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.kernel import FAILED, SOPFLOW, SopWorkflow, SystemRefused
from workflows.updates_once import IDS_FROM_UPDATE_IDS, id_from_update

with workflow.unsafe.imports_passed_through():
    from activities.contracts import erp, sms_voice
    from activities.contracts.erp import AuditComment, AuditComments
    from activities.contracts.sms_voice import SmsMessage, VoiceCall
    from domain import search
    from domain.identity import Actor, Role
    from domain.open_order import rules
    from domain.open_order.models import (
        AVAILABLE,
        FINAL_STATUSES,
        WORKING,
        Appointment,
        AppointmentKind,
        BookAppointment,
        Channel,
        CloseConfirmation,
        ConfirmationDue,
        ContactAttempt,
        DeliveryStatus,
        ErpEvent,
        ErpEventType,
        EventReceived,
        LogContact,
        MoveResult,
        OpenOrderStatus,
        OpenOrderView,
        OrderCode,
        OrderType,
        Outcome,
        Resolution,
        ResolveCwc,
        ServiceOutcome,
        SetCode,
        SmsVoiceEvent,
        SmsVoiceEventType,
        mask_phone,
    )
    from domain.open_order.state import Notice, OpenOrderState, StartOpenOrder
    from domain.records import HumanTask, RecordFields
    from domain.tasks import TaskDecision

ERP = "erp"
PROVIDER = "sms-voice provider"
# How far back an agent may log an attempt they made, and ahead (clock skew).
LOG_BACK = timedelta(days=30)
LOG_AHEAD = timedelta(minutes=5)
# Event ids remembered for redelivery: far more than a provider redelivers.
EVENTS_KEPT = 2000
CONFIRM_WORDS = {"y", "yes", "c", "confirm", "confirmed"}
# The kind of the one task a person works on the order at a time.
TASK_KINDS = {
    "schedule_contact",
    "hold_contact",
    "balance_due",
    "cancel_request",
    "confirmation_call",
    "cwc_resolution",
}
POSSESSION = {
    ErpEventType.DELIVERED: DeliveryStatus.DELIVERED,
    ErpEventType.PICKED_UP: DeliveryStatus.PICKED_UP,
    ErpEventType.TRANSFERRED: DeliveryStatus.TRANSFERRED,
}
KIND_FOR_TYPE = {
    OrderType.DELIVERY: AppointmentKind.DELIVERY,
    OrderType.PICKUP: AppointmentKind.PICKUP,
    OrderType.TRANSFER: AppointmentKind.TRANSFER,
}


def refused(reason: str, type: str) -> ApplicationError:
    return ApplicationError(reason, type=type)


@workflow.defn
class OpenOrderWorkflow(SopWorkflow):
    kind = "open_order"
    default_queue = "oom"
    # A decision that logs a contact names it from its Update id: that patch
    # must be asked before the first decision could be the one to ask it.
    decision_patches = (IDS_FROM_UPDATE_IDS,)
    log_comments = False  # agents' comments may name the guest
    state: OpenOrderState

    @workflow.init
    def __init__(self, start: StartOpenOrder) -> None:
        self.start = start
        self.order = start.order
        self.calendar = start.calendar
        self.init_kernel(
            start.state or self.new_state(OpenOrderState, balance_owing=start.order.balance_owing),
            start.policy,
        )
        self.hold_rule = rules.HoldRule(start.policy.hold_attempts, start.policy.hold_over)
        self._wakeups = 0
        self._attributes_shown: dict[str, Any] = {}
        self._mirroring = False

    # ------------------------------------------------------------------ run
    @workflow.run
    async def run(self, start: StartOpenOrder) -> OpenOrderView:
        await self.run_to_end(self._process)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()

    async def _process(self) -> None:
        st = self.state
        if not st.audit:
            n = len(self.order.lines)
            self.begin(
                self.start.submitted_by,
                "received",
                f"{self.order.type.value} order, {n} line{'s' if n != 1 else ''}, "
                f"store {self.order.store_id}, ATP {self.order.atp_date() or 'not known yet'}",
            )
            if self.order.code:
                self._set_code(self.order.code, self.start.submitted_by, "coded in the ERP")
            self._advance()
            await self.sync()  # readable at once
        mirror = asyncio.create_task(self._mirror_to_erp())
        while st.status not in FINAL_STATUSES:
            await self._send_outbox()
            if self._advance():
                await self.sync()
            if st.status in FINAL_STATUSES:
                break
            await self._wait(self._next_deadline())
        # The ERP's comments log gets the last word too.
        await workflow.wait_condition(lambda: not self._erp_behind())
        mirror.cancel()
        await self.finish(st.status, str(st.status), "")

    async def _wait(self, deadline: datetime | None) -> None:
        """Until something changes, `deadline` passes, or the history has grown
        long: then continue as new with the whole record."""
        seen = self._wakeups
        timeout = deadline - workflow.now() if deadline else None
        if timeout is not None and timeout <= timedelta(0):
            return
        try:
            await workflow.wait_condition(
                lambda: (
                    self._wakeups != seen or bool(self.state.outbox) or self.continue_as_new_due()
                ),
                timeout=timeout,
                timeout_summary=self._deadline_summary(),
            )
        except TimeoutError:
            return
        if self.continue_as_new_due():
            # Not in the middle of a write to the ERP: the next run resumes it.
            await workflow.wait_condition(
                lambda: workflow.all_handlers_finished() and not self._mirroring
            )
            self.note(
                SOPFLOW,
                "continued as new",
                f"history of {workflow.info().get_current_history_length()} events",
            )
            workflow.continue_as_new(self.carry_over())

    def _changed(self) -> None:
        self._wakeups += 1

    # ------------------------------------------- the ERP's audit comments log
    def _erp_behind(self) -> bool:
        st = self.state
        return st.erp_mirror and st.erp_mirrored < len(st.audit)

    async def _mirror_to_erp(self) -> None:
        """Every change to the order goes into the ERP's audit comments log
        too (the SOP's rule), in batches, in order, each batch once. An ERP
        outage is waited out visibly; an ERP that does not know the order
        leaves the log here complete, and says so once."""
        st = self.state
        while True:
            await workflow.wait_condition(self._erp_behind)
            start, end = st.erp_mirrored, len(st.audit)
            batch = AuditComments(
                idempotency_key=self.key(f"erp-comments:{start}-{end}"),
                sales_order=self.order.sales_order,
                comments=[
                    AuditComment(actor=e.actor, action=e.action, comment=e.comment, at=e.at)
                    for e in st.audit[start:end]
                ],
            )
            self._mirroring = True
            try:
                await self.call(
                    erp.ADD_COMMENTS,
                    batch,
                    summary=f"ERP audit comments log: {end - start} entr{'y' if end - start == 1 else 'ies'}",
                )
                st.erp_mirrored = end
            except SystemRefused as err:
                st.erp_mirror = False
                self.note(
                    SOPFLOW,
                    "ERP comments log not written",
                    f"the ERP refused: {err.reason}; this audit log is the whole record",
                )
                self._changed()
            finally:
                self._mirroring = False

    # -------------------------------------------------------------- timing
    def _atp_at(self) -> datetime | None:
        atp = self.order.atp_date()
        return self.calendar.at(atp, self.calendar.opens) if atp else None

    def _code_deadline(self) -> datetime | None:
        st = self.state
        if st.code in (OrderCode.BALDUE, OrderCode.CANCEL) and st.code_since:
            return st.code_since + self.policy.code_deadline
        return None

    def _next_deadline(self) -> datetime | None:
        st = self.state
        moments: list[datetime] = []
        if st.status == OpenOrderStatus.AWAITING_PRODUCT and not st.product_arrived:
            if (atp := self._atp_at()) is not None:
                moments.append(atp)
        if st.status in WORKING and (deadline := self._code_deadline()) is not None:
            moments.append(deadline)
        return min(moments) if moments else None

    def _deadline_summary(self) -> str:
        st = self.state
        if st.status in WORKING and st.code in (OrderCode.BALDUE, OrderCode.CANCEL):
            return f"{st.code.value} not dealt with in {self.policy.code_deadline} → CWC"
        return f"ATP date {self.order.atp_date()}: merchandise available"

    def _advance(self) -> bool:
        """The moves time and state make by themselves; True when one was made."""
        st = self.state
        before = len(st.audit)
        now = workflow.now()
        if st.status == OpenOrderStatus.AWAITING_PRODUCT:
            atp = self._atp_at()
            if st.product_arrived or (atp is not None and now >= atp):
                why = (
                    "product arrived" if st.product_arrived else f"ATP date {self.order.atp_date()}"
                )
                self.move(OpenOrderStatus.SCHEDULING, "merchandise available", why)
        deadline = self._code_deadline()
        if st.status in WORKING and deadline is not None and now >= deadline:
            assert st.code is not None
            self._to_cwc(
                f"{st.code.value} not dealt with within {self.policy.code_deadline.days} days"
            )
        if st.code == OrderCode.HOLD and st.status in WORKING:
            progress = rules.hold_progress(st.contacts, self.calendar, self.hold_rule)
            if progress.met:
                self._to_cwc(
                    f"HOLD: {progress.attempts} unanswered attempts over a week, "
                    "daytime, evening and weekend"
                )
        self._refresh()
        return len(st.audit) != before

    # ------------------------------------------------------------ the moves
    def _to_cwc(self, reason: str, actor: Actor | str = SOPFLOW) -> None:
        st = self.state
        st.cwc_reason = reason
        st.delivery_status = DeliveryStatus.CWC
        self.move(OpenOrderStatus.CWC, "to CWC", f"{reason}; the store manager resolves it", actor)
        self._refresh()

    def _set_code(self, code: OrderCode | None, actor: Actor | str, comment: str) -> None:
        st = self.state
        before = st.code
        st.code = code
        st.code_since = workflow.now() if code else None
        if code:
            what = f"{before.value} → {code.value}" if before else code.value
            self.note(actor, "code set", f"{what}: {comment}")
        else:
            self.note(actor, "code cleared", f"{before.value if before else '-'}: {comment}")
        self._refresh()

    def _confirm(self, actor: Actor | str, how: str) -> None:
        st = self.state
        assert st.appointment is not None
        st.appointment.confirmed_at = workflow.now()
        st.delivery_status = DeliveryStatus.CONFIRMED
        self.move(OpenOrderStatus.CONFIRMED, "appointment confirmed", how, actor)
        self._refresh()

    def _record_attempt(
        self,
        *,
        channel: Channel,
        phone: str | None,
        outcome: Outcome,
        at: datetime,
        contact_status: str,
        by: str,
        comment: str = "",
        next_contact_date: datetime | None = None,
        call_id: str | None = None,
        attempt_id: str | None = None,
    ) -> ContactAttempt:
        st = self.state
        attempt = ContactAttempt(
            attempt_id=attempt_id or f"A{len(st.contacts) + 1}",
            channel=channel,
            phone=phone,
            outcome=outcome,
            at=at,
            contact_status=contact_status,
            next_contact_date=next_contact_date,
            comment=comment,
            by=by,
            slot=self.calendar.slot(at),
            call_id=call_id,
        )
        st.contacts.append(attempt)
        return attempt

    @staticmethod
    def _describe(a: ContactAttempt) -> str:
        number = f" {mask_phone(a.phone)}" if a.phone else ""
        nxt = (
            f"; next contact {a.next_contact_date.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            if a.next_contact_date
            else ""
        )
        said = f"; {a.comment}" if a.comment else ""
        return (
            f"{a.attempt_id} {a.channel.value}{number} {a.outcome.value} "
            f"({a.slot.value}, {a.at.astimezone(UTC):%Y-%m-%d %H:%M} UTC); "
            f"status {a.contact_status}{nxt}{said}"
        )

    def _result(self, attempt: ContactAttempt | None = None) -> MoveResult:
        st = self.state
        text, due = self.next_action()
        return MoveResult(
            workflow_id=workflow.info().workflow_id,
            status=st.status,
            delivery_status=st.delivery_status,
            code=st.code,
            next_action=text,
            next_action_due=due,
            attempt=attempt,
        )

    def _refuse(self, move: str, actor: Actor, comment: str) -> None:
        found = rules.refusal(move, self.state.status, actor, comment)
        if found is not None:
            raise refused(found.reason, found.type)

    # ---------------------------------------------------- log a contact
    @workflow.update
    async def log_contact(self, c: LogContact) -> MoveResult:
        async with self._decision_lock:
            attempt = self._log_contact(c)
            await self.sync()
            return self._result(attempt)

    @log_contact.validator
    def _validate_log_contact(self, c: LogContact) -> None:
        self._check_contact(c)

    def _check_contact(self, c: LogContact) -> None:
        self._refuse("log_contact", c.actor, c.comment)
        now = workflow.now()
        if c.channel in (Channel.CALL, Channel.SMS):
            if not c.phone:
                raise refused(f"a {c.channel.value} names the number used", "InvalidContact")
            if c.phone not in self.order.guest.phones:
                raise refused(
                    f"{mask_phone(c.phone)} is not a number in the guest's file", "InvalidContact"
                )
        if c.at > now + LOG_AHEAD:
            raise refused("an attempt cannot be logged before it is made", "InvalidContact")
        if c.at < now - LOG_BACK:
            raise refused(f"an attempt older than {LOG_BACK.days} days", "InvalidContact")
        follow_up = self._follow_up_at(c)
        if follow_up is not None and follow_up <= c.at:
            day = (
                ""
                if follow_up == c.next_contact_date
                else (
                    f" (a day counts from the store's opening, {self.calendar.opens:%H:%M} "
                    f"{self.calendar.timezone})"
                )
            )
            raise refused(
                f"the next contact date must come after the attempt{day}", "InvalidContact"
            )
        if c.outcome == Outcome.PLACED:
            raise refused("placed is the provider's outcome, not an agent's", "InvalidContact")
        if c.outcome == Outcome.CONFIRMED and self.state.status != OpenOrderStatus.BOOKED:
            raise refused("there is no booked appointment to confirm", "InvalidContact")

    def _follow_up_at(self, c: LogContact) -> datetime | None:
        """The next contact date as a moment: a day alone is the store's
        opening time that day, in the store's time zone."""
        nxt = c.next_contact_date
        if nxt is None or isinstance(nxt, datetime):
            return nxt
        return self.calendar.at(nxt, self.calendar.opens)

    def _log_contact(self, c: LogContact) -> ContactAttempt:
        st = self.state
        # A person's attempt is named from their request (a retry names it the
        # same); the workflow's own calls keep counting.
        attempt_id = None
        if workflow.patched(IDS_FROM_UPDATE_IDS):
            attempt_id = id_from_update("A")
            if known := next((a for a in st.contacts if a.attempt_id == attempt_id), None):
                return known
        follow_up = self._follow_up_at(c)
        attempt = self._record_attempt(
            attempt_id=attempt_id,
            channel=c.channel,
            phone=c.phone,
            outcome=c.outcome,
            at=c.at,
            contact_status=c.contact_status,
            by=str(c.actor),
            comment=c.comment.strip(),
            next_contact_date=follow_up,
        )
        # The contact date is the follow-up the last attempt committed to.
        st.contact_date = follow_up
        self.note(c.actor, "contact logged", self._describe(attempt))
        if c.outcome == Outcome.CONFIRMED and st.status == OpenOrderStatus.BOOKED:
            self._confirm(c.actor, f"confirmed by the guest ({attempt.attempt_id})")
        self._advance()
        self._changed()
        return attempt

    # ---------------------------------------------------- book an appointment
    @workflow.update
    async def book_appointment(self, b: BookAppointment) -> MoveResult:
        async with self._decision_lock:
            self._book(b)
            await self.sync()
            return self._result()

    @book_appointment.validator
    def _validate_book(self, b: BookAppointment) -> None:
        self._check_book(b)

    def _check_book(self, b: BookAppointment) -> None:
        st = self.state
        self._refuse("book_appointment", b.actor, b.comment)
        if st.code is not None:
            raise refused(
                f"the order is coded {st.code.value}: clear the code before booking",
                "InvalidState",
            )
        if b.window_end <= b.window_start:
            raise refused("the window must end after it starts", "InvalidAppointment")
        if b.window_start <= workflow.now():
            raise refused("the window must be in the future", "InvalidAppointment")
        wanted = KIND_FOR_TYPE.get(self.order.type)
        if wanted is not None and b.kind != wanted:
            raise refused(
                f"a {self.order.type.value} order books a {wanted.value}, not a {b.kind.value}",
                "InvalidAppointment",
            )

    def _book(self, b: BookAppointment) -> None:
        st = self.state
        cal = self.calendar
        confirm_by = cal.confirmation_deadline(b.window_start)
        st.appointment = Appointment(
            kind=b.kind,
            window_start=b.window_start,
            window_end=b.window_end,
            booked_by=str(b.actor),
            booked_at=workflow.now(),
            confirm_by=confirm_by,
        )
        st.confirmation_since = None
        st.follow_up = None
        st.delivery_status = DeliveryStatus.SCHEDULED
        local = cal.local(b.window_start)
        window = f"{local:%a %Y-%m-%d %H:%M}–{cal.local(b.window_end):%H:%M} {cal.timezone}"
        self.move(
            OpenOrderStatus.BOOKED,
            f"{b.kind.value} booked",
            f"{window}; confirm by {confirm_by:%Y-%m-%d %H:%M} UTC; {b.comment.strip()}",
            b.actor,
        )
        # Booked after its confirmation list ran: the call is due at once.
        if cal.today(workflow.now()) >= cal.local(confirm_by).date():
            st.confirmation_since = workflow.now()
        guest = self.order.guest
        if guest.sms_consent:
            self._queue_sms(
                f"booked:{len(st.audit)}",
                f"Your {b.kind.value} for order {self.order.sales_order} is booked: {window}.",
            )
        self._refresh()
        self._changed()

    # ---------------------------------------------------------- codes
    @workflow.update
    async def set_code(self, s: SetCode) -> MoveResult:
        async with self._decision_lock:
            self._set_code(s.code, s.actor, s.comment.strip())
            self._advance()
            self._changed()
            await self.sync()
            return self._result()

    @set_code.validator
    def _validate_set_code(self, s: SetCode) -> None:
        self._refuse("set_code", s.actor, s.comment)
        if s.code == self.state.code:
            raise refused(
                f"the order is already coded {s.code.value}" if s.code else "the order has no code",
                "InvalidState",
            )

    # ---------------------------------------------------- the store (CWC)
    @workflow.update
    async def resolve_cwc(self, r: ResolveCwc) -> MoveResult:
        async with self._decision_lock:
            self._resolve(r)
            await self.sync()
            return self._result()

    @resolve_cwc.validator
    def _validate_resolve(self, r: ResolveCwc) -> None:
        self._refuse("resolve_cwc", r.actor, r.comment)

    def _resolve(self, r: ResolveCwc) -> None:
        st = self.state
        said = f"{r.resolution.value}: {r.comment.strip()}"
        st.cwc_reason = None
        st.code, st.code_since = None, None
        st.appointment = None
        st.confirmation_since = None
        if r.resolution in (Resolution.CANCEL, Resolution.REFUND):
            st.delivery_status = (
                DeliveryStatus.REFUNDED
                if r.resolution == Resolution.REFUND
                else DeliveryStatus.CANCELLED
            )
            self.move(OpenOrderStatus.CANCELLED, "resolved by the store", said, r.actor)
        elif r.resolution == Resolution.REPLACE:
            st.product_arrived = False
            self.order = self.order.model_copy(
                update={
                    "lines": [
                        ln.model_copy(update={"atp_date": r.atp_date}) for ln in self.order.lines
                    ]
                }
            )
            st.delivery_status = DeliveryStatus.OPEN
            self.move(OpenOrderStatus.AWAITING_PRODUCT, "resolved by the store", said, r.actor)
        else:
            st.delivery_status = DeliveryStatus.OPEN
            st.follow_up = "the store rescheduled it: book the guest again"
            self.move(OpenOrderStatus.SCHEDULING, "resolved by the store", said, r.actor)
        self._advance()
        self._changed()

    # ------------------------------------------------ tasks and decisions
    def check_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        move = self._decision_move(task, d, fields)
        validate = {
            LogContact: self._check_contact,
            BookAppointment: self._check_book,
            SetCode: self._validate_set_code,
            ResolveCwc: self._validate_resolve,
            CloseConfirmation: self._check_close_confirmation,
        }[type(move)]
        validate(move)  # type: ignore[operator]
        if d.decision == "cancel_order":
            self._refuse("cancel_order", d.actor, fields.comment)

    async def on_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        move = self._decision_move(task, d, fields)
        if d.decision == "cancel_order":
            st = self.state
            st.delivery_status = DeliveryStatus.CANCELLED
            st.code, st.code_since = None, None
            self.move(
                OpenOrderStatus.CANCELLED,
                "cancelled at the guest's request",
                fields.comment.strip(),
                d.actor,
            )
            self._refresh()
            self._changed()
        elif isinstance(move, LogContact):
            self._log_contact(move)
        elif isinstance(move, BookAppointment):
            self._book(move)
        elif isinstance(move, SetCode):
            self._set_code(move.code, move.actor, move.comment.strip())
            self._advance()
            self._changed()
        elif isinstance(move, ResolveCwc):
            self._resolve(move)
        elif isinstance(move, CloseConfirmation):
            self._close_confirmation(move)
        await self.sync()

    def _decision_move(self, task: HumanTask, d: TaskDecision, fields: Any) -> Any:
        values = fields.model_dump()
        if d.decision == "log_contact":
            return LogContact(actor=d.actor, **values)
        if d.decision == "book_appointment":
            return BookAppointment(actor=d.actor, **values)
        if d.decision in ("clear_code", "cancel_order"):
            return SetCode(actor=d.actor, code=None, comment=values["comment"])
        if d.decision == "close_unconfirmed":
            return CloseConfirmation(actor=d.actor, comment=values["comment"])
        return ResolveCwc(actor=d.actor, resolution=Resolution(d.decision), **values)

    def _check_close_confirmation(self, c: CloseConfirmation) -> None:
        st = self.state
        self._refuse("close_confirmation", c.actor, c.comment)
        if st.confirmation_since is None:
            raise refused("no confirmation call is open", "InvalidState")
        untried = rules.untried_numbers(
            self.order.guest.phones, self._tried(), st.confirmation_since
        )
        if untried:
            raise refused(
                "not every number in the guest's file has been tried: "
                + ", ".join(mask_phone(p) for p in untried),
                "InvalidConfirmation",
            )

    def _close_confirmation(self, c: CloseConfirmation) -> None:
        st = self.state
        assert st.appointment is not None
        st.appointment.unconfirmed_at = workflow.now()
        self.note(
            c.actor,
            "confirmation closed unconfirmed",
            f"every number tried, the guest not reached; {c.comment.strip()}",
        )
        self._refresh()
        self._changed()

    def _tried(self) -> list[ContactAttempt]:
        """Attempts that reached a number (an automated call only once it has an outcome)."""
        return [c for c in self.state.contacts if c.outcome != Outcome.PLACED]

    # ------------------------------------------------------------- signals
    @workflow.signal
    async def confirmation_due(self, due: ConfirmationDue) -> None:
        """The daily confirmation list names this order: automated calls to
        every number in the guest's file, and the agent's confirmation task."""
        st = self.state
        async with self._decision_lock:
            if (
                st.status != OpenOrderStatus.BOOKED
                or st.appointment is None
                or st.confirmation_since is not None
            ):
                return
            st.confirmation_since = workflow.now()
            for phone in self.order.guest.phones:
                attempt = self._record_attempt(
                    channel=Channel.CALL,
                    phone=phone,
                    outcome=Outcome.PLACED,
                    at=workflow.now(),
                    contact_status="AUTO-CONF",
                    by=PROVIDER,
                )
                st.outbox.append(
                    Notice(
                        key=self.key(f"confirm-call:{attempt.attempt_id}"),
                        kind="call",
                        phone=phone,
                        body=f"confirmation of {st.appointment.kind.value} for order "
                        f"{self.order.sales_order}",
                        attempt_id=attempt.attempt_id,
                    )
                )
            self.note(
                SOPFLOW,
                "on the confirmation list",
                f"list of {due.list_date}: automated calls to "
                f"{len(self.order.guest.phones)} number(s); confirm by "
                f"{st.appointment.confirm_by:%Y-%m-%d %H:%M} UTC",
            )
            self._refresh()
            self._changed()
            await self.sync()

    @workflow.signal
    async def system_event(self, ev: EventReceived) -> None:
        """An ERP or SMS/voice webhook; a redelivered one changes nothing."""
        st = self.state
        async with self._decision_lock:
            if ev.event_id in st.event_ids:
                return
            st.event_ids = [*st.event_ids[-(EVENTS_KEPT - 1) :], ev.event_id]
            if st.status in FINAL_STATUSES:
                self.note(ev.actor, "event ignored", f"{ev.event_id}: the order is {st.status}")
            elif ev.erp is not None:
                self._on_erp(ev.erp, ev.actor)
            elif ev.sms_voice is not None:
                self._on_sms_voice(ev.sms_voice, ev.actor)
            self._advance()
            self._changed()
            await self.sync()

    def _on_erp(self, e: ErpEvent, actor: Actor) -> None:
        st = self.state
        ref = f"ERP event {e.event_id}"
        note = f"; {e.note}" if e.note else ""
        if e.type == ErpEventType.PAYMENT_POSTED:
            assert e.amount is not None
            st.balance_owing = max(st.balance_owing - e.amount, type(st.balance_owing)(0))
            self.note(actor, "payment posted", f"{e.amount} paid, {st.balance_owing} owing ({ref})")
            if st.code == OrderCode.BALDUE and st.balance_owing == 0:
                self._set_code(None, actor, f"balance paid ({ref})")
        elif e.type == ErpEventType.ATP_CHANGED:
            self._atp_changed(e, actor, ref)
        elif e.type == ErpEventType.PRODUCT_ARRIVED:
            st.product_arrived = True
            self.note(actor, "product arrived", ref + note)
        elif e.type in POSSESSION:
            st.delivery_status = POSSESSION[e.type]
            st.code, st.code_since = None, None
            self.move(OpenOrderStatus.CLOSED, e.type.value, ref + note, actor)
        elif e.type in (ErpEventType.NOT_HOME, ErpEventType.NO_SHOW):
            if st.status in (OpenOrderStatus.BOOKED, OpenOrderStatus.CONFIRMED):
                what = (
                    "not home for the delivery"
                    if e.type == ErpEventType.NOT_HOME
                    else "did not pick up at the distribution center"
                )
                st.appointment = None
                st.confirmation_since = None
                st.delivery_status = DeliveryStatus.OPEN
                st.follow_up = f"the guest {what}: follow up and reschedule"
                self.move(
                    OpenOrderStatus.SCHEDULING, e.type.value, f"{st.follow_up} ({ref})", actor
                )
            else:
                self.note(actor, e.type.value, f"no appointment to miss ({ref})")
        elif e.type == ErpEventType.SERVICE_OUTCOME:
            assert e.outcome is not None
            self.note(actor, "service outcome", f"{e.outcome.value} ({ref}){note}")
            if e.outcome == ServiceOutcome.PASSED:
                if st.code == OrderCode.SVC:
                    self._set_code(None, actor, f"service passed ({ref})")
            elif st.status in WORKING:
                self._to_cwc(f"service found it {e.outcome.value.replace('_', ' ')}", actor)
        elif e.type in (ErpEventType.FAULTY, ErpEventType.NO_FIT):
            if st.status in WORKING:
                self._to_cwc(f"{e.type.value.replace('_', ' ')} order ({ref}){note}", actor)
        elif e.type == ErpEventType.CANCEL_REQUESTED:
            if st.code != OrderCode.CANCEL and st.status in WORKING:
                self._set_code(OrderCode.CANCEL, actor, f"the guest asked to cancel ({ref})")

    def _atp_changed(self, e: ErpEvent, actor: Actor, ref: str) -> None:
        st = self.state
        assert e.atp_date is not None
        lines = [
            ln.model_copy(update={"atp_date": e.atp_date})
            if e.line_number in (None, ln.line_number)
            else ln
            for ln in self.order.lines
        ]
        self.order = self.order.model_copy(update={"lines": lines})
        which = f"line {e.line_number}" if e.line_number else "every line"
        self.note(actor, "ATP changed", f"{which}: {e.atp_date} ({ref})")
        atp = self._atp_at()
        later = atp is not None and atp > workflow.now()
        if later and st.status == OpenOrderStatus.SCHEDULING and not st.product_arrived:
            self.move(
                OpenOrderStatus.AWAITING_PRODUCT,
                "waiting for the merchandise again",
                f"ATP revised to {self.order.atp_date()}",
                actor,
            )
        if later and self.order.guest.sms_consent:
            self._queue_sms(
                f"atp:{e.event_id}",
                f"Update on order {self.order.sales_order}: your merchandise is now expected "
                f"on {self.order.atp_date()}. We will contact you to schedule.",
            )

    def _on_sms_voice(self, e: SmsVoiceEvent, actor: Actor) -> None:
        st = self.state
        at = e.at or workflow.now()
        if e.type == SmsVoiceEventType.REPLY:
            attempt = self._record_attempt(
                channel=Channel.SMS,
                phone=e.phone if e.phone in self.order.guest.phones else None,
                outcome=Outcome.REPLIED,
                at=at,
                contact_status="SMS-REPLY",
                by="guest",
                comment=e.text.strip(),
            )
            self.note(actor, "guest replied", self._describe(attempt))
            if e.text.strip().lower() in CONFIRM_WORDS and st.status == OpenOrderStatus.BOOKED:
                self._confirm(actor, f"the guest confirmed by SMS ({attempt.attempt_id})")
            elif st.status in AVAILABLE:
                st.follow_up = "the guest replied by SMS: answer them"
            return
        placed = next((c for c in st.contacts if c.call_id and c.call_id == e.call_id), None)
        if placed is None:
            self.note(actor, "call outcome for an unknown call", f"call {e.call_id}")
            return
        assert e.outcome is not None
        placed.outcome = e.outcome
        placed.at = at
        placed.slot = self.calendar.slot(at)
        self.note(actor, "automated call ended", self._describe(placed))
        if e.outcome == Outcome.CONFIRMED and st.status == OpenOrderStatus.BOOKED:
            self._confirm(actor, f"the guest confirmed on the automated call ({placed.attempt_id})")

    # ------------------------------------------------------- to the guest
    def _queue_sms(self, operation: str, body: str) -> None:
        guest = self.order.guest
        self.state.outbox.append(
            Notice(key=self.key(f"sms:{operation}"), kind="sms", phone=guest.phones[0], body=body)
        )

    async def _send_outbox(self) -> None:
        st = self.state
        while st.outbox:
            notice = st.outbox[0]
            if notice.kind == "sms":
                sent = await self.notify(
                    sms_voice.SEND_SMS,
                    SmsMessage(idempotency_key=notice.key, to=notice.phone, body=notice.body),
                    summary=f"SMS to the guest ({mask_phone(notice.phone)})",
                )
                if sent is not FAILED:
                    self.note(SOPFLOW, "SMS sent", f"to {mask_phone(notice.phone)}: {notice.body}")
            else:
                placed = await self.notify(
                    sms_voice.PLACE_CALL,
                    VoiceCall(
                        idempotency_key=notice.key,
                        to=notice.phone,
                        script=notice.body,
                        reference=f"{workflow.info().workflow_id}:{notice.attempt_id}",
                    ),
                    summary=f"Automated confirmation call ({mask_phone(notice.phone)})",
                )
                attempt = next(c for c in st.contacts if c.attempt_id == notice.attempt_id)
                if placed is FAILED:
                    attempt.outcome = Outcome.NO_ANSWER
                    attempt.comment = "the automated call could not be placed"
                else:
                    attempt.call_id = placed.call_id  # type: ignore[union-attr]
            st.outbox.pop(0)
            await self.sync()

    # --------------------------------------------------------------- tasks
    def _wanted_task(self) -> tuple[str, Role, datetime | None, str] | None:
        """The one task a person should now work on this order: (kind, role,
        due, what to do), or None while it waits on a system or the calendar."""
        st = self.state
        if st.status == OpenOrderStatus.CWC:
            opened = self._open_work_task()
            due = (
                opened.due_at
                if opened and opened.kind == "cwc_resolution"
                else workflow.now() + self.policy.cwc_due_in
            )
            return ("cwc_resolution", Role.STORE_MANAGER, due, self.next_action()[0])
        if st.status not in WORKING:
            return None
        text, due = self.next_action()
        if st.code == OrderCode.HOLD:
            return ("hold_contact", Role.OOM_AGENT, due, text)
        if st.code == OrderCode.BALDUE:
            return ("balance_due", Role.OOM_AGENT, due, text)
        if st.code == OrderCode.CANCEL:
            return ("cancel_request", Role.OOM_AGENT, due, text)
        if st.code == OrderCode.SVC:
            return None
        if st.status == OpenOrderStatus.SCHEDULING:
            return ("schedule_contact", Role.OOM_AGENT, due, text)
        if self._confirmation_pending():
            return ("confirmation_call", Role.OOM_AGENT, due, text)
        return None

    def _confirmation_pending(self) -> bool:
        st = self.state
        a = st.appointment
        return (
            st.status == OpenOrderStatus.BOOKED
            and a is not None
            and st.confirmation_since is not None
            and a.confirmed_at is None
            and a.unconfirmed_at is None
        )

    def _open_work_task(self) -> HumanTask | None:
        return next((t for t in self.state.open_tasks if t.kind in TASK_KINDS), None)

    def _refresh(self) -> None:
        """Keep the one work task, the search attributes and the details in step
        with the order."""
        st = self.state
        wanted = self._wanted_task()
        current = self._open_work_task()
        if current and (wanted is None or wanted[0] != current.kind):
            self.close_task(
                current.task_id, f"{st.status}" + (f" ({st.code.value})" if st.code else "")
            )
            current = None
        if wanted is not None:
            kind, role, due, text = wanted
            payload = {
                "sales_order": self.order.sales_order,
                "store_id": self.order.store_id,
                "next_action": text,
                "code": st.code.value if st.code else None,
            }
            if current is None:
                st.seq += 1
                store_task = role == Role.STORE_MANAGER
                self.open_task(
                    f"{kind}#{st.seq}",
                    kind=kind,
                    role=role,
                    due_at=due,
                    assignee=self.calendar.manager_id if store_task else None,
                    queue=f"store-{self.order.store_id}" if store_task else None,
                    payload=payload,
                )
            elif current.due_at != due or current.payload != payload:
                # Only the due time is in a search attribute: the text may be
                # reworded without changing what the workflow commands.
                moved = current.due_at != due
                current.due_at = due
                current.payload = payload
                if moved:
                    self._task_attributes()
        self._attributes()
        self.refresh_details()

    def _attributes(self) -> None:
        st = self.state
        wanted: dict[str, Any] = {
            "delivery": st.delivery_status.value,
            "code": st.code.value if st.code else None,
            "contact_date": st.contact_date,
        }
        if wanted == self._attributes_shown:
            return
        self._attributes_shown = wanted
        workflow.upsert_search_attributes(
            [
                search.STORE_ID.value_set(self.order.store_id),
                search.DELIVERY_STATUS.value_set(st.delivery_status.value),
                search.ORDER_CODE.value_set([st.code.value])
                if st.code
                else search.ORDER_CODE.value_unset(),
                search.CONTACT_DATE.value_set(st.contact_date)
                if st.contact_date
                else search.CONTACT_DATE.value_unset(),
            ]
        )

    # ---------------------------------------------------------------- reads
    def next_action(self) -> tuple[str, datetime | None]:
        """What has to happen next, and by when (the UI's details and the task text)."""
        st = self.state
        now = workflow.now()
        cal = self.calendar
        if st.status in FINAL_STATUSES:
            return (f"none: {st.delivery_status.value}", None)
        if st.status == OpenOrderStatus.CWC:
            return (f"CWC ({st.cwc_reason}): reschedule, cancel, refund or replace", None)
        if st.code == OrderCode.HOLD:
            progress = rules.hold_progress(st.contacts, cal, self.hold_rule)
            due = rules.hold_next_due(progress, cal, self._since())
            if st.contact_date and st.contact_date > due:
                due = st.contact_date
            return (f"HOLD: {rules.hold_next_attempt(progress, now)}", due)
        if st.code in (OrderCode.BALDUE, OrderCode.CANCEL):
            deadline = self._code_deadline()
            assert deadline is not None
            return (
                f"{st.code.value}: {rules.code_deadline_text(st.code.value, deadline)}",
                deadline,
            )
        if st.code == OrderCode.SVC:
            return ("SVC: waiting for the service outcome, then schedule", None)
        if st.status == OpenOrderStatus.AWAITING_PRODUCT:
            atp = self.order.atp_date()
            return (f"waiting for the merchandise (ATP {atp or 'not known yet'})", self._atp_at())
        if st.status == OpenOrderStatus.SCHEDULING:
            what = st.follow_up or f"contact the guest to book the {self.order.type.value}"
            return (what, st.contact_date or cal.next_calling_time(self._since()))
        a = st.appointment
        assert a is not None
        window = f"{a.kind.value} {cal.local(a.window_start):%Y-%m-%d %H:%M} {cal.timezone}"
        if st.status == OpenOrderStatus.CONFIRMED:
            return (f"{window} confirmed; waiting for the ERP to report it done", a.window_end)
        if self._confirmation_pending():
            assert st.confirmation_since is not None
            text = rules.confirmation_text(
                self.order.guest.phones, self._tried(), st.confirmation_since
            )
            return (f"{window}: {text}", a.confirm_by)
        if a.unconfirmed_at:
            return (f"{window}: unconfirmed, every number tried", a.window_end)
        return (f"{window}: on the confirmation list the day before", a.confirm_by)

    def _since(self) -> datetime:
        """Where the next contact is counted from: the last attempt, else when the
        wait for it began (so a due time stays put while nothing happens)."""
        st = self.state
        if st.contacts:
            return max(c.at for c in st.contacts)
        task = self._open_work_task()
        return task.opened_at if task else workflow.now()

    def ship_date(self) -> Any:
        st = self.state
        if st.appointment:
            return self.calendar.local(st.appointment.window_start).date()
        return self.order.atp_date()

    @workflow.query
    def view(self) -> OpenOrderView:
        st = self.state
        text, due = self.next_action()
        last = st.contacts[-1].contact_status if st.contacts else None
        return OpenOrderView(
            workflow_id=workflow.info().workflow_id,
            sales_order=self.order.sales_order,
            store_id=self.order.store_id,
            type=self.order.type,
            status=st.status,
            delivery_status=st.delivery_status,
            code=st.code,
            code_since=st.code_since,
            contact_status=last,
            contact_date=st.contact_date,
            next_action=text,
            next_action_due=due,
            guest=self.order.guest,
            lines=self.order.lines,
            atp_date=self.order.atp_date(),
            ship_date=self.ship_date(),
            balance_owing=st.balance_owing,
            appointment=st.appointment,
            cwc_reason=st.cwc_reason,
            contacts=st.contacts,
            audit=st.audit,
            created_at=st.created_at,
            closed_at=st.closed_at,
        )

    def record_fields(self) -> RecordFields:
        text, due = self.next_action()
        task = self._open_work_task()
        return RecordFields(
            business_key=self.order.sales_order,
            summary=self.order.summary(),
            assignee=(task.assignee or task.queue or task.role.value) if task else None,
            due_at=due,
            view=self.view().model_dump(mode="json", exclude={"audit"}),
        )

    def details(self) -> str:
        st = self.state
        text, due = self.next_action()
        rows = [
            f"**Next:** {text}" + (f" — due {due:%Y-%m-%d %H:%M} UTC" if due else ""),
            "",
            f"Status: {st.status} · delivery {st.delivery_status.value}"
            + (f" · code {st.code.value}" if st.code else ""),
            f"Store {self.order.store_id} · {self.order.type.value} · "
            f"{len(st.contacts)} contact attempt(s)",
        ]
        if st.contact_date:
            rows.append(f"Contact date: {st.contact_date:%Y-%m-%d %H:%M} UTC")
        return "\n".join(rows)

    def carry_over(self) -> StartOpenOrder:
        return self.start.model_copy(update={"order": self.order, "state": self.state})
