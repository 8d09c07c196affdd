"""One Customer Specific Requirement case, from registration to inactive (or
closed - rejected), for as many years as it lives.

The sales rep registers it (account details come from the CRM) and edits it
while in registration; submitting locks it for pre-approval. The business
unit's approver rules say who pre-approves, assesses (collecting feedback from
named parties and writing the global feasibility conclusion), gives the final
approval and implements (implementation tasks, all done before it is
implemented). The live case takes satisfaction feedback until it is
deactivated. Any open step can be rejected. Each waiting step is a task on its
people's queue with an email; a pending approval or assessment reminds them
every business day past its due date and escalates to the sales manager.

People's moves are Updates (`move`, `edit`, and each step's task through
`decide`) whose validators refuse the wrong person, status or content before
history; the main run only sends the emails the moves decided, keeps the read
model, and continues as new with the whole record before its history grows large.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.kernel import FAILED, SOPFLOW, SopWorkflow, SystemRefused
from workflows.updates_once import IDS_FROM_UPDATE_IDS, id_from_update

with workflow.unsafe.imports_passed_through():
    from activities.contracts import crm, csr, email
    from activities.contracts.crm import FetchAccount
    from activities.contracts.csr import (
        BusinessDays,
        Deadlines,
        ResolvePeople,
        StepPeopleRequest,
    )
    from activities.contracts.email import EmailMessage
    from domain.csr import moves as rules
    from domain.csr.models import (
        EDITABLE,
        FINAL_STATUSES,
        REMINDED,
        RULED_STEPS,
        SALES_MANAGER,
        STEP_OF,
        ApprovalEntry,
        CaseChange,
        CsrMove,
        CsrStatus,
        CsrView,
        CurrentStep,
        EditCase,
        FeedbackRequest,
        ImplementationTask,
        OutgoingEmail,
        Person,
        Reminder,
        Satisfaction,
        Step,
    )
    from domain.csr.state import CsrState, StartCsr
    from domain.identity import Actor, Role
    from domain.records import HumanTask, RecordFields
    from domain.tasks import TaskDecision

# The role a step's task asks for (who may see and complete it).
STEP_ROLE = {
    Step.REGISTRATION: Role.SALES_REP,
    Step.PRE_APPROVAL: Role.CSR_APPROVER,
    Step.ASSESSMENT: Role.CSR_ASSESSOR,
    Step.FINAL_APPROVAL: Role.CSR_APPROVER,
    Step.IMPLEMENTATION: Role.CSR_IMPLEMENTER,
    Step.LIVE: Role.SALES_REP,
}
STEP_ASK = {
    Step.PRE_APPROVAL: "needs your pre-approval",
    Step.ASSESSMENT: "needs your feasibility assessment",
    Step.FINAL_APPROVAL: "needs your final approval",
    Step.IMPLEMENTATION: "is yours to implement",
}
# What each status-changing move is called in the approval history.
DECISION_WORD = {
    "submit": "submitted for pre-approval",
    "pre_approve": "pre-approved",
    "submit_for_approval": "submitted for final approval",
    "approve": "approved",
    "complete_implementation": "implemented",
    "deactivate": "deactivated",
    "reject": "rejected",
}
# A feedback party's task asks for the first of their roles in this order.
_ROLE_PREFERENCE = (
    Role.CSR_ASSESSOR,
    Role.CSR_APPROVER,
    Role.CSR_IMPLEMENTER,
    Role.SALES_REP,
)


def _role_of(person: Person) -> Role:
    held = {r for r in person.roles if r in Role.__members__.values()}
    for role in _ROLE_PREFERENCE:
        if role.value in held:
            return role
    return Role(sorted(held)[0]) if held else Role.SALES_REP


def _shown(value: Any) -> str | None:
    """A field's value as the case history shows it."""
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(
            f"{v.person_id} ({v.role})" if hasattr(v, "person_id") else str(v) for v in value
        )
    return str(value)[:500]


@workflow.defn
class CsrWorkflow(SopWorkflow):
    kind = "csr"
    # A decision that asks for feedback names it from its Update id: that
    # patch must be asked before the first decision could be the one to ask it.
    decision_patches = (IDS_FROM_UPDATE_IDS,)
    state: CsrState

    @workflow.init
    def __init__(self, start: StartCsr) -> None:
        self.start = start
        self.init_kernel(
            start.state
            or self.new_state(
                CsrState,
                case_number=start.case_number,
                owner=start.registered_by.person_id,
                registration=start.registration,
            ),
            start.policy,
        )
        self._dirty = False  # the clock changed the record: the main run writes it

    # ------------------------------------------------------------------ run
    @workflow.run
    async def run(self, start: StartCsr) -> CsrView:
        await self.run_to_end(self._process)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()

    async def _process(self) -> None:
        st = self.state
        if not st.audit:
            actor = self.start.registered_by
            reg = st.registration
            self.begin(actor, "registered", f"{reg.title} · account {reg.account_number}")
            self._changed(actor, "status", None, st.status)
            self._open_step_task(Step.REGISTRATION, "")
            await self.sync()  # readable at once
        # Account details and the sales manager while people work on the case.
        enrich = None if st.account_checked else asyncio.create_task(self._enrich())
        watcher: asyncio.Task[None] | None = None
        watching: str | None = None
        while st.status not in FINAL_STATUSES:
            if watching != st.status:
                if watcher:
                    watcher.cancel()
                watching = st.status
                watcher = (
                    asyncio.create_task(self._watch_step(watching))
                    if watching in REMINDED
                    else None
                )
            await self.wait_until(self._woken(watching))
            if self.continue_as_new_due():
                # A steady stream of moves keeps the outbox busy: the history
                # limit goes first (the outbox travels with the record).
                await self.wait_until(lambda: False)
            await self._send_outbox()
            if self._dirty or self.unsynced():
                self._dirty = False
                await self.sync()
        for task in (watcher, enrich):
            if task:
                task.cancel()
        await self._send_outbox()
        await self.finish(st.status, "closed", "")

    def _woken(self, status: str) -> Callable[[], bool]:
        """What the main run waits for: the step done, an email to send, or the
        clock's change to write."""
        st = self.state
        return lambda: st.status != status or bool(st.outbox) or self._dirty

    async def _enrich(self) -> None:
        """The account as the CRM knows it (SAP codes, classification), and the
        business unit's sales manager (rejects, escalations)."""
        st = self.state
        reg = st.registration
        with contextlib.suppress(SystemRefused):
            managers = await self.call(
                csr.STEP_PEOPLE,
                StepPeopleRequest(business_unit=reg.business_unit, step=SALES_MANAGER),
                summary=f"Sales manager of {reg.business_unit}",
            )
            st.sales_managers = managers.people
        try:
            account = await self.call(
                crm.FETCH_ACCOUNT,
                FetchAccount(account_number=reg.account_number),
                summary=f"Fetch account {reg.account_number} from the CRM",
            )
        except SystemRefused as err:
            self.note(SOPFLOW, "account details not found", err.reason)
        else:
            st.account = account
            self._changed(SOPFLOW, "sap_codes", None, account.sap_codes)
            self._changed(SOPFLOW, "customer_classification", None, account.customer_classification)
            self.note(
                SOPFLOW,
                "account details fetched",
                f"{account.name}: SAP {', '.join(account.sap_codes) or '-'}; "
                f"{account.customer_classification or 'unclassified'}",
            )
        st.account_checked = True
        self.refresh_details()
        self._dirty = True

    # -------------------------------------------------------------- moves
    @workflow.update(name="move")
    async def make_move(self, m: CsrMove) -> CsrView:
        """A person's move on the case (POST /csrs/{id}/moves); answers the
        case as it is after it."""
        fields = self._fields(m.move, m.fields, m.comment)
        async with self._decision_lock:
            await self._perform(m.move, m.actor, fields, None)
        return self.view()

    @make_move.validator
    def _validate_move(self, m: CsrMove) -> None:
        self._refuse(m.move, m.actor, self._fields(m.move, m.fields, m.comment))

    def check_claim(self, task: HumanTask, person_id: str) -> None:
        # A step offered to several people is taken by (or given to) one of them.
        candidates = task.payload.get("candidates")
        if candidates and person_id not in candidates:
            raise ApplicationError(
                f"this task is offered to {', '.join(candidates)}", type="Forbidden"
            )

    def check_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        self._refuse(d.decision, d.actor, self._with_comment(fields, d.comment))

    async def on_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        # The kernel holds the decision lock: moves and decisions go one at a time.
        await self._perform(d.decision, d.actor, self._with_comment(fields, d.comment), task)

    @staticmethod
    def _with_comment(fields: Any, comment: str) -> Any:
        if not fields.comment and comment.strip():
            return fields.model_copy(update={"comment": comment.strip()})
        return fields

    def _fields(self, move: str, given: dict[str, Any], comment: str) -> rules.MoveFields:
        model = rules.FIELDS.get(move)
        if model is None:
            raise ApplicationError(
                f"no move {move!r} (one of {', '.join(rules.FIELDS)})", type="InvalidMove"
            )
        values = dict(given)
        if comment and not values.get("comment"):
            values["comment"] = comment
        try:
            return model.model_validate(values)
        except ValidationError as err:
            errors = err.errors()
            if all(
                e["loc"] == ("comment",) and e["type"] in ("missing", "string_too_short")
                for e in errors
            ):
                raise ApplicationError(
                    f"{move.replace('_', ' ')} needs a comment", type="CommentRequired"
                ) from None
            # Each field and what is wrong with it (not pydantic's whole text).
            why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:10])
            raise ApplicationError(f"{move}: {why}", type="InvalidMove") from None

    def _refuse(self, move: str, actor: Actor, fields: rules.MoveFields) -> None:
        refused = rules.refusal(move, actor, fields, self.state)
        if refused:
            raise ApplicationError(refused.reason, type=refused.type)

    async def _perform(self, move: str, actor: Actor, fields: Any, task: HumanTask | None) -> None:
        # Checked again: another move may have gone first while this one waited.
        self._refuse(move, actor, fields)
        if move in rules.TARGET:
            await self._transition(move, actor, fields)
        else:
            await getattr(self, f"_{move}")(actor, fields, task)
        self.refresh_details()
        await self.sync()

    async def _transition(self, move: str, actor: Actor, fields: Any) -> None:
        """A move to another status: the next step's people first (refused
        before anything changes when the rules name nobody), then the status,
        the approval history, the tasks, the clock and the emails."""
        st = self.state
        target = rules.TARGET[move]
        step_before = STEP_OF[CsrStatus(st.status)]
        step = STEP_OF.get(target)
        people: list[Person] = []
        if step in RULED_STEPS:
            try:
                found = await self.call(
                    csr.STEP_PEOPLE,
                    StepPeopleRequest(business_unit=st.registration.business_unit, step=step),
                    summary=f"Who holds {step.value.replace('_', ' ')} in "
                    f"{st.registration.business_unit}",
                )
            except SystemRefused as err:
                raise ApplicationError(err.reason, type="NoApprovers") from None
            people = found.people
            st.sales_managers = found.sales_managers or st.sales_managers
        due: list[datetime] = []
        if target in REMINDED:
            p = self.policy
            due = await self._business_days(
                workflow.now(),
                [p.due_business_days, p.due_business_days + p.escalate_after_business_days],
                f"{step.value.replace('_', ' ') if step else target} due date",
            )
        outcome = f"{move} by {actor}"
        if move == "submit_for_approval":
            self._close_feedback("the assessment was submitted for final approval")
        self.close_all_tasks(outcome)
        self._changed(actor, "status", st.status, target)
        st.approval_history.append(
            ApprovalEntry(
                step=step_before.value,
                approver=actor.person_id,
                decision=DECISION_WORD[move],
                comment=fields.comment,
                at=workflow.now(),
            )
        )
        self.move(target, DECISION_WORD[move], fields.comment, actor)
        st.step_people = people
        st.step_due_at = st.next_reminder_at = due[0] if due else None
        st.escalate_at = due[1] if due else None
        st.escalated = False
        if step is not None:
            self._open_step_task(step, outcome)
            self._tell_step_people(step)
        if move == "reject":
            self._email_owner("rejected", f"it was rejected by {actor}: {fields.comment}")
        if target == CsrStatus.IMPLEMENTED:
            self._email_owner("live", "it is live: record the customer's satisfaction feedback")

    async def _request_feedback(self, actor: Actor, fields: Any, task: HumanTask | None) -> None:
        st = self.state
        wanted = list(dict.fromkeys(fields.parties))
        try:
            found = await self.call(
                csr.RESOLVE_PEOPLE,
                ResolvePeople(person_ids=wanted),
                summary=f"Look up feedback parties {', '.join(wanted)}",
            )
        except SystemRefused as err:
            raise ApplicationError(err.reason, type="UnknownPerson") from None
        named = workflow.patched(IDS_FROM_UPDATE_IDS)
        for party in found.people:
            request_id = (
                id_from_update("F", party.person_id) if named else f"F{len(st.feedback) + 1}"
            )
            request = FeedbackRequest(
                request_id=request_id,
                party=party.person_id,
                party_name=party.name,
                requested_by=actor.person_id,
                requested_at=workflow.now(),
                question=fields.comment,
            )
            st.feedback.append(request)
            self.open_task(
                f"feedback:{request.request_id}",
                kind="csr_feedback",
                role=_role_of(party),
                assignee=party.person_id,
                due_at=st.step_due_at,
                payload={**self._task_payload(Step.ASSESSMENT), **request.model_dump(mode="json")},
            )
            self._queue_email(
                f"feedback:{request.request_id}",
                [party],
                f"{self._case_label()}: your feedback is asked for",
                f"{actor} asks for your feasibility feedback"
                + (f": {fields.comment}" if fields.comment else "")
                + f"\n\n{self._link()}",
            )
        names = ", ".join(p.person_id for p in found.people)
        self.note(
            actor, "feedback requested", names + (f": {fields.comment}" if fields.comment else "")
        )

    async def _give_feedback(self, actor: Actor, fields: Any, task: HumanTask | None) -> None:
        st = self.state
        me = actor.person_id
        asked = [f for f in st.feedback if f.party == me and f.answered_at is None]
        if task is not None:
            asked = [f for f in asked if f.request_id == task.payload.get("request_id")] or asked
        request = asked[0]
        request.feasible = fields.feasible
        request.comment = fields.comment
        request.answered_at = workflow.now()
        self.close_task(f"{self.task_prefix()}feedback:{request.request_id}", f"answered by {me}")
        verdict = "feasible" if fields.feasible else "not feasible"
        self._changed(actor, f"feedback {request.request_id}", None, verdict)
        self.note(
            actor,
            "feedback given",
            f"{request.request_id}: {verdict}" + (f"; {fields.comment}" if fields.comment else ""),
        )

    async def _conclude(self, actor: Actor, fields: Any, task: HumanTask | None) -> None:
        st = self.state
        self._changed(actor, "conclusion", st.conclusion, fields.conclusion)
        st.conclusion = fields.conclusion
        self.note(actor, "conclusion written", fields.conclusion[:500])

    async def _add_implementation_task(
        self, actor: Actor, fields: Any, task: HumanTask | None
    ) -> None:
        st = self.state
        number = len(st.implementation_tasks) + 1
        st.implementation_tasks.append(
            ImplementationTask(
                task_number=number,
                title=fields.title,
                added_by=actor.person_id,
                added_at=workflow.now(),
                comment=fields.comment,
            )
        )
        self._changed(actor, f"implementation task {number}", None, fields.title)
        self.note(actor, "implementation task added", f"{number}: {fields.title}")

    async def _complete_implementation_task(
        self, actor: Actor, fields: Any, task: HumanTask | None
    ) -> None:
        item = next(
            t for t in self.state.implementation_tasks if t.task_number == fields.task_number
        )
        item.completed_by = actor.person_id
        item.completed_at = workflow.now()
        if fields.comment:
            item.comment = fields.comment
        self._changed(actor, f"implementation task {item.task_number}", "open", "completed")
        self.note(
            actor,
            "implementation task completed",
            f"{item.task_number}: {item.title}" + (f"; {fields.comment}" if fields.comment else ""),
        )

    async def _record_satisfaction(self, actor: Actor, fields: Any, task: HumanTask | None) -> None:
        st = self.state
        before = st.satisfaction[-1].score if st.satisfaction else None
        st.satisfaction.append(
            Satisfaction(
                score=fields.score,
                comment=fields.comment,
                recorded_by=actor.person_id,
                recorded_at=workflow.now(),
            )
        )
        self._changed(actor, "customer_satisfaction", before, fields.score)
        self.note(
            actor,
            "satisfaction recorded",
            f"{fields.score}/5" + (f"; {fields.comment}" if fields.comment else ""),
        )

    async def _acknowledge(self, actor: Actor, fields: Any, task: HumanTask | None) -> None:
        for open_task in list(self.state.open_tasks):
            if open_task.kind == "csr_escalation":
                self.close_task(open_task.task_id, f"acknowledged by {actor}")
        self.note(actor, "escalation acknowledged", fields.comment)

    # --------------------------------------------------------------- edits
    @workflow.update
    async def edit(self, e: EditCase) -> CsrView:
        """Change the registration while the case is in registration (PATCH)."""
        st = self.state
        async with self._decision_lock:
            self._refuse_edit(e)
            reg = st.registration
            changed: dict[str, Any] = {}
            for name in EDITABLE:
                new = getattr(e.changes, name)
                if new is None or new == getattr(reg, name):
                    continue
                self._changed(e.actor, name, _shown(getattr(reg, name)), _shown(new))
                if name == "related_products":
                    self._changed(
                        e.actor, "related_products_count", len(reg.related_products), len(new)
                    )
                changed[name] = new
            if changed:
                st.registration = reg.model_copy(update=changed)
                self.note(e.actor, "case edited", ", ".join(changed))
                self.refresh_details()
                await self.sync()
        return self.view()

    @edit.validator
    def _validate_edit(self, e: EditCase) -> None:
        self._refuse_edit(e)

    def _refuse_edit(self, e: EditCase) -> None:
        st = self.state
        if st.status != CsrStatus.REGISTRATION:
            raise ApplicationError(
                f"the case is locked ({st.status}): it can be edited only in registration",
                type="InvalidState",
            )
        if e.actor.person_id not in st.case_people:
            owners = ", ".join(sorted(st.case_people))
            raise ApplicationError(
                f"only the case owner or the case team ({owners}) may edit it", type="Forbidden"
            )
        if not any(getattr(e.changes, name) is not None for name in EDITABLE):
            raise ApplicationError("nothing to change", type="InvalidMove")

    # ------------------------------------------------------ reminders
    async def _watch_step(self, status: str) -> None:
        """A pending approval or assessment: its people are reminded from the
        due date on, every `remind_every` business days; the sales manager is
        told once, `escalate_after` business days past due. Durable timers,
        cancelled when the step is done."""
        st = self.state
        step = STEP_OF[CsrStatus(status)]
        what = step.value.replace("_", " ")
        with contextlib.suppress(asyncio.CancelledError):
            while st.status == status:
                times = [st.next_reminder_at] + ([] if st.escalated else [st.escalate_at])
                pending = [t for t in times if t is not None]
                if not pending:
                    return
                at = min(pending)
                escalating = not st.escalated and st.escalate_at == at
                await self._sleep_until(
                    at,
                    f"{what}: escalate to the sales manager" if escalating else f"{what}: remind",
                )
                now = workflow.now()
                if not st.escalated and st.escalate_at and st.escalate_at <= now:
                    self._escalate(step)
                if st.next_reminder_at and st.next_reminder_at <= now:
                    # Computed before anything is recorded: a run that continues
                    # as new meanwhile sends this reminder, once.
                    following = await self._business_days(
                        st.next_reminder_at,
                        [self.policy.remind_every_business_days],
                        f"{what}: next reminder",
                    )
                    self._remind(step)
                    st.next_reminder_at = following[0]
                self.refresh_details()
                self._dirty = True

    def _remind(self, step: Step) -> None:
        st = self.state
        n = sum(1 for r in st.reminders if r.kind == "reminder") + 1
        to = [p.person_id for p in st.step_people]
        st.reminders.append(Reminder(step=step.value, kind="reminder", at=workflow.now(), to=to))
        overdue = f"due {st.step_due_at:%Y-%m-%d %H:%M %Z}" if st.step_due_at else "overdue"
        self.note(
            SOPFLOW, "reminder", f"{step.value.replace('_', ' ')} {overdue}; to {', '.join(to)}"
        )
        self._queue_email(
            f"reminder:{n}",
            st.step_people,
            f"Reminder: {self._case_label()} {STEP_ASK.get(step, 'waits for you')}",
            f"This was {overdue}.\n\n{self._link()}",
        )

    def _escalate(self, step: Step) -> None:
        st = self.state
        st.escalated = True
        managers = st.sales_managers
        to = [p.person_id for p in managers]
        st.reminders.append(Reminder(step=step.value, kind="escalation", at=workflow.now(), to=to))
        holders = ", ".join(p.person_id for p in st.step_people)
        self.note(
            SOPFLOW,
            "escalated",
            f"{step.value.replace('_', ' ')} with {holders} is overdue; "
            f"to the sales manager {', '.join(to) or '(none in the rules)'}",
        )
        if managers:
            self.open_task(
                f"escalation:{step.value}",
                kind="csr_escalation",
                role=_role_of(managers[0]),
                assignee=managers[0].person_id if len(managers) == 1 else None,
                due_at=None,
                payload={**self._task_payload(step), "candidates": to, "holders": holders},
            )
        self._queue_email(
            f"escalation:{step.value}",
            managers,
            f"Escalation: {self._case_label()} is overdue at {step.value.replace('_', ' ')}",
            f"{holders} had it due {st.step_due_at:%Y-%m-%d %H:%M %Z}.\n\n{self._link()}"
            if st.step_due_at
            else self._link(),
        )

    async def _business_days(
        self, start: datetime, days: list[int], summary: str
    ) -> list[datetime]:
        found = await workflow.execute_local_activity(
            csr.BUSINESS_DAYS.name,
            BusinessDays(start=start, days=days, calendar=self.policy.calendar),
            result_type=Deadlines,
            start_to_close_timeout=csr.BUSINESS_DAYS.start_to_close,
            retry_policy=csr.BUSINESS_DAYS.retry,
            summary=f"Business days: {summary}",
        )
        return found.at

    async def _sleep_until(self, at: datetime, summary: str) -> None:
        delay = at - workflow.now()
        if delay > timedelta(0):
            await workflow.sleep(delay, summary=summary)

    # ------------------------------------------------------- tasks, emails
    def _open_step_task(self, step: Step, outcome: str) -> None:
        st = self.state
        if step in RULED_STEPS:
            candidates = [p.person_id for p in st.step_people]
        else:
            candidates = [st.owner]
        self.open_task(
            f"step:{step.value}",
            kind=rules.task_kind(step),
            role=STEP_ROLE[step],
            assignee=candidates[0] if len(candidates) == 1 else None,
            due_at=st.step_due_at,
            payload={**self._task_payload(step), "candidates": candidates},
        )

    def _task_payload(self, step: Step) -> dict[str, Any]:
        st = self.state
        reg = st.registration
        return {
            "csr_id": workflow.info().workflow_id,
            "case_number": st.case_number,
            "title": reg.title,
            "account_number": reg.account_number,
            "business_unit": reg.business_unit,
            "step": step.value,
            "href": f"/csrs/{workflow.info().workflow_id}",
        }

    def _close_feedback(self, why: str) -> None:
        for request in self.state.feedback:
            if request.answered_at is None and not request.closed_unanswered:
                request.closed_unanswered = True
                self.note(
                    SOPFLOW, "feedback not given", f"{request.request_id} ({request.party}): {why}"
                )

    def _tell_step_people(self, step: Step) -> None:
        if step not in STEP_ASK:
            return
        st = self.state
        due = f" by {st.step_due_at:%Y-%m-%d %H:%M %Z}" if st.step_due_at else ""
        self._queue_email(
            f"step:{step.value}",
            st.step_people,
            f"{self._case_label()} {STEP_ASK[step]}",
            f"{st.registration.title}\n{st.registration.description[:1000]}\n\n"
            f"Please act{due}: {self._link()}",
        )

    def _email_owner(self, what: str, text: str) -> None:
        email_address = self.start.owner_email
        if email_address:
            self._queue_email(
                f"owner:{what}",
                [Person(person_id=self.state.owner, email=email_address)],
                f"{self._case_label()}: {what}",
                f"{text}\n\n{self._link()}",
            )

    def _queue_email(self, key: str, people: list[Person], subject: str, body: str) -> None:
        to = [p.email for p in people if p.email]
        if not to:
            return
        st = self.state
        st.emails_queued += 1
        st.outbox.append(
            OutgoingEmail(
                key=self.key(f"email:{st.emails_queued}:{key}"), to=to, subject=subject, body=body
            )
        )

    async def _send_outbox(self) -> None:
        st = self.state
        while st.outbox:
            msg = st.outbox[0]
            sent = await self.notify(
                email.SEND,
                EmailMessage(
                    idempotency_key=msg.key, to=msg.to, subject=msg.subject, body=msg.body
                ),
                summary=f"Email {', '.join(msg.to)}: {msg.subject[:80]}",
            )
            st.outbox.pop(0)
            if sent is not FAILED:
                self.note(SOPFLOW, "email sent", f"{msg.subject} → {', '.join(msg.to)}")

    def _link(self) -> str:
        return f"{self.policy.case_url_base}/csrs/{workflow.info().workflow_id}"

    def _case_label(self) -> str:
        return f"CSR {self.state.case_number:06d} ({self.state.registration.title[:80]})"

    def _changed(self, actor: Actor | str, field: str, before: Any, after: Any) -> None:
        self.state.case_history.append(
            CaseChange(
                at=workflow.now(),
                actor=str(actor),
                field=field,
                from_value=_shown(before),
                to_value=_shown(after),
            )
        )

    # --------------------------------------------------------------- reads
    @workflow.query
    def view(self) -> CsrView:
        st = self.state
        reg = st.registration
        step = STEP_OF.get(CsrStatus(st.status))
        current = None
        if step is not None:
            people = [p.person_id for p in st.step_people] if step in RULED_STEPS else [st.owner]
            current = CurrentStep(
                step=step.value, people=people, due_at=st.step_due_at, escalated=st.escalated
            )
        return CsrView(
            csr_id=workflow.info().workflow_id,
            case_number=st.case_number,
            status=st.status,
            owner=st.owner,
            account_number=reg.account_number,
            account=st.account,
            business_unit=reg.business_unit,
            title=reg.title,
            description=reg.description,
            main_shipping_site=reg.main_shipping_site,
            additional_shipping_sites=reg.additional_shipping_sites,
            related_products=reg.related_products,
            related_products_count=len(reg.related_products),
            account_associations=reg.account_associations,
            case_team=reg.case_team,
            current_step=current,
            conclusion=st.conclusion,
            feedback=st.feedback,
            implementation_tasks=st.implementation_tasks,
            satisfaction=st.satisfaction,
            approval_history=st.approval_history,
            case_history=st.case_history,
            reminders=st.reminders,
            waiting_on=st.waiting_on,
            created_at=st.created_at,
            closed_at=st.closed_at,
            audit=st.audit,
        )

    # ------------------------------------------------------- kernel hooks
    def summary(self) -> str:
        st = self.state
        reg = st.registration
        account = st.account.name if st.account and st.account.name else reg.account_number
        return f"CSR {st.case_number:06d} · {reg.title} · {account} · {reg.business_unit}"

    def record_fields(self) -> RecordFields:
        st = self.state
        view = self.view()
        holders = view.current_step.people if view.current_step else []
        return RecordFields(
            account_number=st.registration.account_number,
            business_key=f"{st.case_number:06d}",
            summary=self.summary(),
            assignee=", ".join(holders) or None,
            due_at=st.step_due_at,
            view=view.model_dump(mode="json", exclude={"audit"}),
        )

    def details(self) -> str:
        st = self.state
        reg = st.registration
        lines = [f"**{st.status}** · {self.summary()}"]
        if st.account:
            lines.append(
                f"Account: {st.account.name} ({reg.account_number}) · SAP "
                f"{', '.join(st.account.sap_codes) or '-'} · "
                f"{st.account.customer_classification or 'unclassified'}"
            )
        step = STEP_OF.get(CsrStatus(st.status))
        if step is not None:
            people = [p.person_id for p in st.step_people] if step in RULED_STEPS else [st.owner]
            due = f", due {st.step_due_at:%Y-%m-%d %H:%M %Z}" if st.step_due_at else ""
            line = f"Phase: {step.value.replace('_', ' ')} — with {', '.join(people)}{due}"
            if st.escalated:
                managers = ", ".join(p.person_id for p in st.sales_managers)
                line += f" · **escalated** to {managers}"
            lines.append(line)
        lines.append(f"Related products: {len(reg.related_products)}")
        if st.feedback:
            answered = sum(1 for f in st.feedback if f.answered_at)
            lines.append(f"Feedback: {answered}/{len(st.feedback)} answered")
        if st.implementation_tasks:
            done = sum(1 for t in st.implementation_tasks if t.completed_at)
            lines.append(f"Implementation tasks: {done}/{len(st.implementation_tasks)} done")
        if st.reminders:
            lines.append(f"Reminders sent: {len(st.reminders)}")
        return "\n".join(lines)

    def carry_over(self) -> StartCsr:
        return self.start.model_copy(update={"state": self.state})
