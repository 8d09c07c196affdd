"""What every SOP workflow shares, written once: status moves with an audit entry,
human tasks opened when a wait starts and closed when it ends, search attributes
and current details kept current, the read-model sync, calls to other systems
that tell an outage from a refusal, and continue-as-new carrying the whole state.

A person's decision (`decide`) is answered in a workflow task that holds only
the answer and a timer; what it sets going waits for the caller's `carry_out`
signal or that timer (ANSWER_ALONE below).

A workflow subclasses `SopWorkflow`, keeps its pydantic state (a `KernelState`)
in `self.state`, and says what its read-model row shows (`record_fields`) and
what an operator reads in the Temporal UI (`details`). Its module then reads as
its SOP: wait for this, decide that, call this system.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from activities.contracts import CONFIGURATION_FAULT, OUR_FAULTS, ActivityContract
    from activities.contracts import directory as directory_contract
    from activities.contracts import incidents as incidents_contract
    from activities.contracts import read_model as read_model_contract
    from activities.contracts.directory import Routed, RouteRequest, RouteTasks
    from domain import search
    from domain.identity import Actor, Role
    from domain.incident import IncidentNotice, JoinFault
    from domain.kernel import KernelPolicy, KernelState
    from domain.records import (
        AuditEntry,
        ClosedTask,
        HumanTask,
        ReadModelSync,
        RecordFields,
        WorkflowRecord,
    )
    from domain.tasks import DecisionResult, TaskClaim, TaskDecision, decision

SOPFLOW = "sopflow"
# A decision is answered in the workflow task that takes it: its read-model write
# goes out as an activity after the answer, and what follows (a system call, a
# confirmation) runs after it too. Before, the answer waited for both.
ANSWER_FIRST = "decision-answers-first"
# The workflow task that takes a decision holds its answer and a timer, nothing
# else: what the decision sets going (its read-model write, search attributes,
# the next system call) waits until the caller, answered, signals `carry_out`,
# or until the timer fires when nobody does. Each command in the answer's task
# costs the server about as much as a bare Update's whole task. Asked when the
# first task opens, so that no patch marker (each upserts a search attribute)
# lands in a decision's task either.
ANSWER_ALONE = "decision-answer-alone"
CARRY_OUT_AFTER = timedelta(seconds=1)
# Patch (CONTRIBUTING.md): a task opened with nobody named is routed through the
# team directory; runs started before it keep their tasks as they were opened.
ROUTING = "task-routing"
# Patch: a read-model write refused for its content is a defect: an operator's
# task, and the state written scrubbed. Before, it was logged only.
READ_MODEL_DEFECTS = "read-model-defects"
# The operator's task for it; its `retry` asks for a clean write again.
READ_MODEL_TASK = "read_model_refused"
# A fault of ours met calling a system: the operator's, whose `retry` (once it
# is fixed) has the business object try the call again.
CONFIGURATION_TASK = "configuration_fault"
DEFECT_TASK = "defect"
AN_OPERATOR = "an operator"
KERNEL_TASKS = frozenset({READ_MODEL_TASK, CONFIGURATION_TASK, DEFECT_TASK})


class _Failed:
    """What `notify` answers when a notification failed for good."""

    def __repr__(self) -> str:
        return "FAILED"


FAILED = _Failed()
REASSIGNING_ROLES = (Role.TEAM_LEAD, Role.CSC_MANAGER, Role.OPERATOR)
O = TypeVar("O")


class SystemRefused(Exception):
    """A system said no for good (a non-retryable, typed refusal)."""

    def __init__(self, system: str, reason: str, type: str | None) -> None:
        super().__init__(reason)
        self.system = system
        self.reason = reason
        self.type = type


def failure_reason(err: BaseException) -> str:
    """The innermost message of an activity failure, as a person reads it."""
    cause = err
    while cause.__cause__ is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    return cause.message if isinstance(cause, ApplicationError) else str(cause)


def raise_if_cancelled(err: ActivityError) -> None:
    """An activity that failed because the workflow is being cancelled: the
    cancel goes on up (it is neither an outage nor a refusal)."""
    if is_cancelled_exception(err):
        raise asyncio.CancelledError() from err


def refusal(err: ActivityError) -> ApplicationError | None:
    """The business refusal behind an activity failure; None when it was an
    outage (retries ran out of time, or a retryable error was the last word)
    or a fault of ours (`our_fault`)."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable and cause.type not in OUR_FAULTS:
        return cause
    return None


def our_fault(err: ActivityError) -> ApplicationError | None:
    """A configuration fault or a defect of ours behind an activity failure:
    neither the system's outage nor its refusal."""
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type in OUR_FAULTS:
        return cause
    return None


def _write_failure(err: ActivityError | ApplicationError) -> tuple[bool, str]:
    """Whether a read-model write was refused for its content (else PostgreSQL
    did not answer), and why. A local activity's failure can come back
    unwrapped (seen when PostgreSQL refused connections): the same two cases."""
    if isinstance(err, ActivityError):
        raise_if_cancelled(err)
        return refusal(err) is not None, failure_reason(err)
    return err.non_retryable, err.message


S = TypeVar("S", bound=KernelState)


class SopWorkflow:
    """The base of every SOP workflow (see the module docstring)."""

    # Its status search attribute is search.STATUS_BY_KIND[kind], when it has one.
    kind: ClassVar[str]
    # Where a task goes when nobody is named for it (else: anyone with its role).
    default_queue: ClassVar[str | None] = None
    # Patches a decision may be the first to ask about: under ANSWER_ALONE they
    # are asked when the first task opens instead.
    decision_patches: ClassVar[tuple[str, ...]] = ()
    # Whether a move's comment goes into the log line (a person's free text may
    # hold a guest's name or number: such workflows keep it in the audit only).
    log_comments: ClassVar[bool] = True

    state: Any  # the workflow's own KernelState subclass
    policy: KernelPolicy

    # ---------------------------------------------------------------- set-up
    def init_kernel(self, state: KernelState, policy: KernelPolicy) -> None:
        self.state = state
        self.policy = policy
        self._catching_up: asyncio.Task[None] | None = None
        self._details_shown = ""
        # One read-model write at a time, so they land in the order they were made.
        self._sync_lock = asyncio.Lock()
        self._deciding: set[str] = set()
        self._decision_lock = asyncio.Lock()
        # Set while a decision is being taken under ANSWER_FIRST: writes go out
        # after the answer instead of holding it.
        self.answering = False
        self._write_pending = False
        self._routing_lock = asyncio.Lock()
        # ANSWER_ALONE: None until the first task opens (or a run resumes with
        # tasks open). `_holding` while a decision is being taken and `_settling`
        # until it is carried out: its write waits (`_write_pending`), search
        # attributes wait in `_held_attributes`, the main run's waits do not end.
        self.answer_alone: bool | None = None
        self._holding = False
        self._settling = False
        self._held_attributes: dict[str, SearchAttributeUpdate[Any]] = {}
        self._carry_out_timer: asyncio.Task[None] | None = None
        # Set by the configuration fault's word: the operator asked to try again.
        self._fault_retried = False

    @staticmethod
    def new_state(factory: Callable[..., S], **fields: Any) -> S:
        """A fresh state for the first run of a workflow."""
        info = workflow.info()
        return factory(
            created_at=workflow.now(),
            origin_run_id=info.first_execution_run_id,
            **fields,
        )

    # ------------------------------------------------------- what subclasses say
    def record_fields(self) -> RecordFields:
        raise NotImplementedError

    def details(self) -> str:
        raise NotImplementedError

    def record_id(self) -> str:
        """The id of its read-model row and audit trail: the workflow id, unless
        one workflow id serves many business objects in turn (an incident)."""
        return workflow.info().workflow_id

    def carry_over(self) -> Any:
        """The input of the next run after continue-as-new, holding self.state."""
        raise NotImplementedError

    def routing_account(self) -> str | None:
        """The account whose contacts and region route this workflow's tasks."""
        return None

    # ------------------------------------------------------------------ audit
    def begin(self, actor: Actor | str, action: str, comment: str = "") -> None:
        """The first audit entry of a new workflow."""
        self._audit(actor, action, comment, None, self.state.status)
        self.refresh_details()

    def note(self, actor: Actor | str, action: str, comment: str = "") -> None:
        """An audit entry without a change of status."""
        self._audit(actor, action, comment, None, None)

    def move(
        self, status: str, action: str, comment: str = "", actor: Actor | str = SOPFLOW
    ) -> None:
        """Change status, with an audit entry, the status search attribute and the
        current details kept current. Callers sync when the step is done."""
        before = self.state.status
        self.state.status = status
        self._audit(actor, action, comment, before, status)
        if status != before:
            attribute = search.STATUS_BY_KIND.get(self.kind)
            if attribute is not None:
                self.upsert([attribute.value_set(str(status))])
            said = comment if self.log_comments else "-"
            workflow.logger.info("%s %s → %s (%s)", self.kind, before, status, said)
        self.refresh_details()

    def _audit(
        self,
        actor: Actor | str,
        action: str,
        comment: str,
        from_status: str | None,
        to_status: str | None,
    ) -> None:
        self.state.audit.append(
            AuditEntry(
                at=workflow.now(),
                actor=str(actor),
                action=action,
                from_status=str(from_status) if from_status is not None else None,
                to_status=str(to_status) if to_status is not None else None,
                comment=comment,
            )
        )

    def refresh_details(self) -> None:
        details = self.details()
        waiting_on = self.state.waiting_on
        if waiting_on:
            why = "" if waiting_on.startswith(AN_OPERATOR) else " (not answering)"
            details += f"\n\n**Waiting on {waiting_on}**{why}"
        if details != self._details_shown:
            self._details_shown = details
            workflow.set_current_details(details)

    # ------------------------------------------------------------ human tasks
    def open_task(
        self,
        name: str,
        *,
        kind: str,
        role: Role,
        due_at: datetime | None = None,
        assignee: str | None = None,
        queue: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> str:
        """A person is now waited on: a task in their queue (or their role's)."""
        task_id = f"{self.task_prefix()}{name}"
        queue = queue or (None if assignee else self.default_queue)
        self._ask_decision_patches()
        if any(t.task_id == task_id for t in self.state.open_tasks):
            return task_id
        if assignee is None and workflow.patched(ROUTING):
            self.state.unrouted.append(task_id)
        self.state.open_tasks.append(
            HumanTask(
                task_id=task_id,
                workflow_id=workflow.info().workflow_id,
                kind=kind,
                role=role,
                assignee=assignee,
                queue=queue,
                due_at=due_at,
                opened_at=workflow.now(),
                payload=payload or {},
            )
        )
        self._task_attributes()
        return task_id

    def close_task(self, task_id: str, outcome: str) -> None:
        """The wait is over, whoever ended it."""
        if not any(t.task_id == task_id for t in self.state.open_tasks):
            return
        self.state.open_tasks = [t for t in self.state.open_tasks if t.task_id != task_id]
        self.state.closed_unsynced.append(
            ClosedTask(task_id=task_id, closed_at=workflow.now(), outcome=outcome)
        )
        self._task_attributes()

    def close_all_tasks(self, outcome: str) -> None:
        for task in list(self.state.open_tasks):
            self.close_task(task.task_id, outcome)

    def _task_attributes(self) -> None:
        """Assignee and due time of the soonest-due open task, for UI filters."""
        dated = [t for t in self.state.open_tasks if t.due_at]
        first = min(dated, key=lambda t: t.due_at) if dated else None  # type: ignore[arg-type,return-value]
        if first is None and self.state.open_tasks:
            first = self.state.open_tasks[0]
        self.upsert(
            [
                search.ASSIGNEE.value_set(first.assignee or first.queue or first.role.value)
                if first
                else search.ASSIGNEE.value_unset(),
                search.DUE_AT.value_set(first.due_at)
                if first and first.due_at
                else search.DUE_AT.value_unset(),
            ]
        )

    def upsert(self, updates: list[SearchAttributeUpdate[Any]]) -> None:
        """Keep search attributes current; while a decision is being answered
        they wait for the moment after the answer (one upsert for them all)."""
        if self._holding or self._settling:
            self._held_attributes.update({u.key.name: u for u in updates})
        else:
            workflow.upsert_search_attributes(updates)

    def _release_attributes(self) -> None:
        if self._held_attributes:
            workflow.upsert_search_attributes(list(self._held_attributes.values()))
            self._held_attributes = {}

    def _ask_decision_patches(self) -> None:
        if self.answer_alone is None:
            self.answer_alone = workflow.patched(ANSWER_ALONE)
            if self.answer_alone:
                for patch in (ANSWER_FIRST, ROUTING, *self.decision_patches):
                    workflow.patched(patch)

    def _after_answer(self, taken: bool) -> None:
        """A decision taken waits to be carried out; a refused one lets go at once
        of whatever waited meanwhile (its answer then has company, which is rare)."""
        if self._settling:
            return  # an earlier decision's carry-out takes this one's too
        if taken and (self._write_pending or self._held_attributes):
            self._settling = True
            self._carry_out_timer = asyncio.create_task(self._carry_out_later())
        else:
            self._carry_out()

    async def _carry_out_later(self) -> None:
        try:
            await workflow.sleep(CARRY_OUT_AFTER, summary="Carry out the decision answered")
        except asyncio.CancelledError:
            return
        self._carry_out()

    @workflow.signal(name="configuration_retry")
    def configuration_retry(self, notice: IncidentNotice) -> None:
        """The operator fixed the configuration a system refused: try again."""
        self._fault_retried = True

    @workflow.signal(name="carry_out")
    def carry_out(self) -> None:
        """A decision's caller has its answer: carry the decision out now."""
        if self._settling and self._carry_out_timer:
            self._carry_out_timer.cancel()
            self._carry_out()

    def _carry_out(self) -> None:
        self._settling = False
        self._release_attributes()
        if self._write_pending:
            asyncio.create_task(self._route_and_write_after_answer())

    def settled(self) -> bool:
        """False while a decision's answer holds back what follows it."""
        return not (self._holding or self._settling)

    def task_prefix(self) -> str:
        """What every task id of this workflow starts with: its id and when it
        was first started, so an order sent again after it failed gets tasks of
        its own (and a replay computes the same ids)."""
        return f"{workflow.info().workflow_id}:{self.state.created_at:%Y%m%dT%H%M%S%f}:"

    def task(self, task_id: str) -> HumanTask | None:
        return next((t for t in self.state.open_tasks if t.task_id == task_id), None)

    # ------------------------------------------------------ people's decisions
    @workflow.update(name="decide")
    async def decide(self, d: TaskDecision) -> DecisionResult:
        """A person completes a task with one of its decisions. Refusals that
        need no system (wrong role, closed task, bad fields, wrong state) come
        from the validator, before history; a fix a system shows does not cure
        the problem is refused by the handler and changes nothing."""
        task = self.task(d.task_id)
        spec = decision(task.kind, d.decision) if task else None
        if task is None or spec is None:  # the validator's checks, made again: it may have closed
            raise ApplicationError(f"task {d.task_id} is not open", type="InvalidState")
        self._deciding.add(d.task_id)
        try:
            # One decision at a time: each builds on what the last one left.
            async with self._decision_lock:
                if self.task(d.task_id) is None:
                    raise ApplicationError(
                        f"task {d.task_id} was closed by another decision", type="InvalidState"
                    )
                self.answering = workflow.patched(ANSWER_FIRST)
                self._holding = bool(self.answer_alone)
                taken = False
                try:
                    fields = spec.model.model_validate(d.fields)
                    if task.kind in KERNEL_TASKS:
                        await self._kernel_decision(task, d)
                    else:
                        await self.on_decision(task, d, fields)
                    taken = True
                except SystemRefused as err:  # a refusal the workflow did not word itself
                    raise ApplicationError(
                        f"{err.system} refused: {err.reason}", type="SystemRefused"
                    ) from None
                finally:
                    self.answering = False
                    self._holding = False
                    if self.answer_alone:
                        self._after_answer(taken)
        finally:
            self._deciding.discard(d.task_id)
        return DecisionResult(
            task_id=d.task_id,
            workflow_id=workflow.info().workflow_id,
            status=str(self.state.status),
            next_step=self.next_step(),
        )

    @decide.validator
    def _validate_decide(self, d: TaskDecision) -> None:
        task = self.task(d.task_id)
        if task is None:
            raise ApplicationError(f"task {d.task_id} is not open", type="InvalidState")
        if d.task_id in self._deciding:
            raise ApplicationError("a decision on this task is being made", type="Conflict")
        if not d.actor.has_any(task.role):
            raise ApplicationError(f"this task is for the role {task.role.value}", type="Forbidden")
        if task.assignee and task.assignee != d.actor.person_id:
            raise ApplicationError(f"this task is assigned to {task.assignee}", type="Forbidden")
        spec = decision(task.kind, d.decision)
        if spec is None:
            raise ApplicationError(
                f"{task.kind} does not take {d.decision!r}", type="InvalidDecision"
            )
        try:
            fields = spec.model.model_validate(d.fields)
        except ValueError as err:
            # Each field and what is wrong with it (not pydantic's whole text).
            errors = err.errors()[:10] if hasattr(err, "errors") else []
            why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
            raise ApplicationError(f"{d.decision}: {why or err}", type="InvalidDecision") from None
        if task.kind not in KERNEL_TASKS:
            self.check_decision(task, d, fields)

    async def _kernel_decision(self, task: HumanTask, d: TaskDecision) -> None:
        """An operator's `retry` of what the kernel found wrong on our side."""
        self.close_task(task.task_id, f"retry asked by {d.actor}")
        await self.on_operator_retry(task)
        if task.kind != READ_MODEL_TASK:
            self.note(d.actor, "retry", f"{task.payload.get('system', '')}: tried again")
        else:
            self.note(d.actor, "read model retried", "the state written again as it is")
            self.state.read_model_defect = None
        self.refresh_details()
        await self.sync()

    async def on_operator_retry(self, task: HumanTask) -> None:
        """A workflow's own part in an operator's `retry` (the kernel's tasks)."""

    def check_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        """A workflow's own refusals that need no system (raise ApplicationError)."""

    async def on_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        raise ApplicationError(f"{self.kind} takes no decisions", type="InvalidDecision")

    def next_step(self) -> str:
        """What the workflow does now, told with a decision's answer."""
        return ""

    @workflow.update(name="claim_task")
    async def claim_task(self, c: TaskClaim) -> HumanTask:
        """Take a task, or (a team lead) give it to someone; audited."""
        task = self.task(c.task_id)
        if task is None:  # closed since the validator looked
            raise ApplicationError(f"task {c.task_id} is not open", type="InvalidState")
        target = c.assignee or c.actor.person_id
        task.assignee = target
        self.note(
            c.actor,
            "task claimed" if target == c.actor.person_id else "task reassigned",
            f"{task.kind} → {target}",
        )
        self._task_attributes()
        await self.sync()
        return task

    @claim_task.validator
    def _validate_claim(self, c: TaskClaim) -> None:
        task = self.task(c.task_id)
        if task is None:
            raise ApplicationError(f"task {c.task_id} is not open", type="InvalidState")
        target = c.assignee or c.actor.person_id
        if target != c.actor.person_id:
            if not c.actor.has_any(*REASSIGNING_ROLES):
                raise ApplicationError(
                    "only a team lead may give a task to someone", type="Forbidden"
                )
            # Given to someone, the task passes the rule it would pass if they
            # claimed it themselves: they hold its role (the API looked up
            # their keys), and the workflow's own rule (a CSR step's candidates).
            if c.assignee_roles is not None and task.role not in c.assignee_roles:
                raise ApplicationError(
                    f"{target} does not hold the role {task.role.value} this task needs",
                    type="InvalidAssignee",
                )
        else:
            if not c.actor.has_any(task.role):
                raise ApplicationError(
                    f"this task is for the role {task.role.value}", type="Forbidden"
                )
            if task.assignee and task.assignee != target:
                raise ApplicationError(f"{task.assignee} holds this task", type="Conflict")
        self.check_claim(task, target)

    def check_claim(self, task: HumanTask, person_id: str) -> None:
        """A workflow's own refusal of a task going to `person_id` (claimed by
        them, or given to them: e.g. a task offered to some people only);
        raise ApplicationError."""

    # ------------------------------------------------------- other systems
    def key(self, operation: str) -> str:
        """The idempotency key of one business operation of this workflow: the
        same on every retry, new for a resent order (a new first run)."""
        return f"{workflow.info().workflow_id}:{self.state.origin_run_id}:{operation}"

    def attempt_key(self, operation: str) -> str:
        """The key of a new try of an operation that may be tried again with
        other content after a refusal (each try its own key)."""
        n = self.state.attempts.get(operation, 0) + 1
        self.state.attempts[operation] = n
        return self.key(f"{operation}#{n}")

    def _options(self, contract: ActivityContract[Any, Any]) -> dict[str, Any]:
        retry = contract.retry
        return {
            "result_type": contract.output,
            "start_to_close_timeout": min(contract.start_to_close, self.policy.activity_timeout),
            "retry_policy": RetryPolicy(
                initial_interval=retry.initial_interval,
                backoff_coefficient=retry.backoff_coefficient,
                maximum_interval=min(
                    retry.maximum_interval or self.policy.max_retry_interval,
                    self.policy.max_retry_interval,
                ),
                maximum_attempts=retry.maximum_attempts,
                non_retryable_error_types=retry.non_retryable_error_types,
            ),
        }

    async def call(self, contract: ActivityContract[Any, O], arg: Any, *, summary: str) -> O:
        """Call a system of record. A refusal raises `SystemRefused`; a system
        that keeps failing past the outage threshold is an outage: the workflow
        says it is waiting on that system, and tries again until it answers."""
        while True:
            try:
                result = await workflow.execute_activity(
                    contract.name,
                    arg,
                    schedule_to_close_timeout=self.policy.outage_after,
                    summary=summary,
                    **self._options(contract),
                )
            except ActivityError as err:
                raise_if_cancelled(err)
                fault = our_fault(err)
                if fault is not None:
                    await self.wait_for_operator(contract.system, fault)
                    continue
                refused = refusal(err)
                if refused is not None:
                    raise SystemRefused(contract.system, refused.message, refused.type) from err
                await self.on_outage(contract.system, failure_reason(err))
                continue
            if self.state.waiting_on == contract.system:
                await self.on_recovered(contract.system)
            return result

    async def wait_for_operator(self, system: str, fault: ApplicationError) -> None:
        """A fault of ours (a credential or address a system refuses, a defect
        in our code): the business object waits, visibly, for an operator's
        `retry`; never a refusal that ends it, never counted as the system's
        outage. A configuration fault is the system's one task for every object
        it stops (workflows/configuration_fault.py); a defect, this object's."""
        st = self.state
        configuration = fault.type == CONFIGURATION_FAULT
        what = (
            f"{system} refuses our configuration" if configuration else f"a defect calling {system}"
        )
        before = st.waiting_on
        st.waiting_on = f"{AN_OPERATOR}: {what}"
        self.note(SOPFLOW, "waiting on an operator", f"{what}: {fault.message}")
        workflow.logger.error(
            "%s waits for an operator: %s: %s", workflow.info().workflow_id, what, fault.message
        )
        self.refresh_details()
        if configuration:
            self._fault_retried = False
            await self.sync()
            await self.notify(
                incidents_contract.JOIN_CONFIGURATION_FAULT,
                JoinFault(workflow_id=workflow.info().workflow_id, system=system,
                          reason=fault.message),
                summary=f"Join {system}'s configuration fault",
            )  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._fault_retried,
                    timeout=self.policy.fault_recheck,
                    timeout_summary=f"Try {system} again",
                )
        else:
            task_id = self.open_task(
                f"{DEFECT_TASK}:{len(st.audit)}",
                kind=DEFECT_TASK,
                role=Role.OPERATOR,
                payload={"system": system, "error": fault.message[:2000], "type": fault.type},
            )
            await self.sync()
            await workflow.wait_condition(lambda: self.task(task_id) is None)
        st.waiting_on = before
        self.refresh_details()

    async def on_outage(self, system: str, reason: str) -> None:
        """A system has not answered for `outage_after`. Said once per outage."""
        if self.state.waiting_on != system:
            self.state.waiting_on = system
            self.note(SOPFLOW, "waiting on system", f"{system} is not answering: {reason}")
            self.refresh_details()
            await self.sync()

    async def on_recovered(self, system: str) -> None:
        self.state.waiting_on = None
        self.note(SOPFLOW, "system answered", f"{system} is answering again")
        self.refresh_details()
        await self.sync()

    async def notify(
        self, contract: ActivityContract[Any, O], arg: Any, *, summary: str
    ) -> O | _Failed:
        """A notification (email, helpdesk): tried for a while; a failure for good
        is recorded in the audit trail and the work goes on."""
        try:
            return await workflow.execute_activity(
                contract.name, arg, summary=summary, **self._options(contract)
            )
        except ActivityError as err:
            raise_if_cancelled(err)
            self.note(SOPFLOW, "notification failed", f"{summary}: {failure_reason(err)}")
            return FAILED

    # ------------------------------------------------------------ read model
    def read_model_sync(self) -> ReadModelSync:
        st = self.state
        info = workflow.info()
        fields = self.record_fields()
        # Built from values the workflow's own models already validated: no
        # second validation, and the view (a large dict) is not copied again.
        return ReadModelSync.model_construct(
            record=WorkflowRecord.model_construct(
                workflow_id=self.record_id(),
                kind=self.kind,
                status=str(st.status),
                revision=st.revision,
                run_id=info.run_id,
                created_at=st.created_at,
                updated_at=workflow.now(),
                closed_at=st.closed_at,
                **{name: getattr(fields, name) for name in type(fields).model_fields},
            ),
            audit=st.audit[st.audit_synced :],
            audit_offset=st.audit_synced,
            origin_run_id=st.origin_run_id,
            open_tasks=list(st.open_tasks),
            closed_tasks=list(st.closed_unsynced),
            scrub=st.read_model_defect is not None,
        )

    @workflow.query(name="read_model_snapshot")
    def read_model_snapshot(self) -> ReadModelSync:
        """The whole read model of this workflow, for the reconciler."""
        snapshot = self.read_model_sync()
        return snapshot.model_copy(update={"audit": self.state.audit, "audit_offset": 0})

    async def sync(self) -> bool:
        """Hand the current state to the read model: its row, new audit entries,
        open and closed tasks (routed first, when nobody was named for them).
        Bounded: when PostgreSQL does not answer within `sync_patience` the
        workflow goes on and catches up in the background. Returns whether the
        read model took it.

        While a decision is being answered the routing and the write go out
        after the answer (as activities, which do not hold the workflow task as
        local ones do), and this returns at once."""
        if self.answering:
            self._write_after_answer()
            return True
        if self.state.unrouted:
            await self._route_tasks()
        return await self._write() == "written"

    def _write_after_answer(self) -> None:
        # One write takes every change a decision made, however often it syncs.
        if not self._write_pending:
            self._write_pending = True
            if not (self._holding or self._settling):  # else once carried out
                asyncio.create_task(self._route_and_write_after_answer())

    async def _route_and_write_after_answer(self) -> None:
        # From here a later change needs a write of its own (this one may
        # already have routed the tasks it found).
        self._write_pending = False
        if self.state.unrouted:
            await self._route_tasks(after_answer=True)
        await self._write(after_answer=True)

    # ---------------------------------------------------------------- routing
    async def _route_tasks(self, *, after_answer: bool = False) -> None:
        """Ask the team directory who gets each task opened with nobody named:
        the account's contact, a primary member, a cross-trained backup or the
        team's queue, passing over whoever is away. Who and why go into the
        task's payload and the audit trail. Bounded: when PostgreSQL does not
        answer, the tasks stay with their queue or role, and the trail says so."""
        async with self._routing_lock:
            st = self.state
            pending = [t for t in st.open_tasks if t.task_id in st.unrouted and not t.assignee]
            st.unrouted = []
            if not pending:
                return
            request = RouteTasks(
                tasks=[
                    RouteRequest(
                        task_id=t.task_id,
                        kind=t.kind,
                        role=t.role,
                        account_number=self.routing_account(),
                        fallback_queue=t.queue,
                        at=workflow.now(),
                    )
                    for t in pending
                ]
            )
            contract = directory_contract.ROUTE
            try:
                options: dict[str, Any] = dict(
                    result_type=Routed,
                    start_to_close_timeout=min(contract.start_to_close, self.policy.sync_patience),
                    retry_policy=contract.retry,
                    summary=f"Route {len(pending)} task(s) through the team directory",
                )
                if after_answer:
                    routed = await workflow.execute_activity(contract.name, request, **options)
                else:
                    routed = await workflow.execute_local_activity(
                        contract.name, request, **options
                    )
            except (ActivityError, ApplicationError) as err:  # a local one's may come unwrapped
                _, reason = _write_failure(err)
                kinds = ", ".join(t.kind for t in pending)
                self.note(
                    SOPFLOW,
                    "routing unavailable",
                    f"{kinds}: the directory did not answer ({reason}); "
                    "left with their queue or role",
                )
                return
            for task in pending:
                r = routed.routings.get(task.task_id)
                if r is None or self.task(task.task_id) is None or task.assignee:
                    continue  # closed or claimed meanwhile
                task.assignee, task.queue = r.assignee, r.queue
                task.payload = {**task.payload, "routing": r.model_dump(mode="json")}
                who = r.assignee or r.queue or task.role.value
                self.note(SOPFLOW, "task routed", f"{task.kind} → {who}: {r.describe()}")
            self._task_attributes()
            self.refresh_details()

    async def _write(self, *, after_answer: bool = False) -> str:
        """ "written", "unavailable" (catching up later, without limit) or
        "refused" (the read model cannot hold this state: a defect, recorded
        for an operator; never an error of the workflow or of an Update)."""
        async with self._sync_lock:
            st = self.state
            st.revision += 1
            sync = self.read_model_sync()
            try:
                await self._send(sync, after_answer=after_answer)
            except (ActivityError, ApplicationError) as err:
                refused, reason = _write_failure(err)
                if not refused:
                    self._catch_up_later()
                    return "unavailable"
                if sync.scrub or not await self._read_model_refused(reason, after_answer):
                    return "refused"
            else:
                self._acknowledged(sync)
            return "written"

    async def _send(self, sync: ReadModelSync, *, after_answer: bool) -> None:
        options: dict[str, Any] = dict(
            start_to_close_timeout=min(
                read_model_contract.SYNC.start_to_close, self.policy.sync_patience
            ),
            retry_policy=read_model_contract.SYNC.retry,
            summary=f"Read model: {self.state.status}" + (" (scrubbed)" if sync.scrub else ""),
        )
        if after_answer:
            await workflow.execute_activity(read_model_contract.SYNC.name, sync, **options)
        else:
            await workflow.execute_local_activity(read_model_contract.SYNC.name, sync, **options)

    def _acknowledged(self, sync: ReadModelSync) -> None:
        # Later writes send only what is newer.
        st = self.state
        st.audit_synced = max(st.audit_synced, sync.audit_offset + len(sync.audit))
        sent = {t.task_id for t in sync.closed_tasks}
        st.closed_unsynced = [t for t in st.closed_unsynced if t.task_id not in sent]

    async def _read_model_refused(self, reason: str, after_answer: bool) -> bool:
        """PostgreSQL refused this state for its content (a NUL from a system's
        answer, say): our defect, not the business's. Logged with the workflow
        id, an operator's task opened, and the state written again with what
        PostgreSQL cannot hold replaced; the business goes on either way.
        Whether that write landed."""
        workflow_id = workflow.info().workflow_id
        workflow.logger.error(
            "read model refused the write of %s: %s", workflow_id, reason,
            extra={"workflow_id": workflow_id},
        )  # fmt: skip
        if not workflow.patched(READ_MODEL_DEFECTS):
            return False
        st = self.state
        if st.read_model_defect is None:
            st.read_model_defect = reason
            self.note(SOPFLOW, "read model refused", f"a defect, for an operator: {reason}")
            self.open_task(
                f"{READ_MODEL_TASK}:{st.revision}",
                kind=READ_MODEL_TASK,
                role=Role.OPERATOR,
                payload={"workflow_id": workflow_id, "error": reason[:2000]},
            )
            self.refresh_details()
        st.revision += 1
        sync = self.read_model_sync()
        try:
            await self._send(sync, after_answer=after_answer)
        except (ActivityError, ApplicationError) as err:
            refused, reason = _write_failure(err)
            workflow.logger.error("read model refused the scrubbed write of %s too: %s",
                                  workflow_id, reason)  # fmt: skip
            if not refused:
                self._catch_up_later()
            return False
        self._acknowledged(sync)
        return True

    def unsynced(self) -> bool:
        st = self.state
        return st.audit_synced < len(st.audit) or bool(st.closed_unsynced)

    def _catch_up_later(self) -> None:
        if self._catching_up is None or self._catching_up.done():
            self._catching_up = asyncio.create_task(self._catch_up())

    async def _catch_up(self) -> None:
        delay = self.policy.sync_catch_up_every
        while True:
            await workflow.sleep(delay, summary="Read model lagging: try again")
            if await self._write() != "unavailable":
                return
            delay = min(delay * 2, timedelta(minutes=10))

    async def final_sync(self) -> None:
        """The last write must land: the workflow waits for PostgreSQL rather
        than end with a read model that still shows it open."""
        if self._settling and self._carry_out_timer:  # it ends: nothing may be left waiting
            self._carry_out_timer.cancel()
            self._settling = False
        self._release_attributes()
        self.state.closed_at = workflow.now()
        delay = self.policy.sync_catch_up_every
        while await self._write() == "unavailable":
            await workflow.sleep(delay, summary="Read model unavailable: final write pending")
            delay = min(delay * 2, timedelta(minutes=10))

    # -------------------------------------------------------------- lifecycle
    async def finish(
        self, status: str, action: str, comment: str, actor: Actor | str = SOPFLOW
    ) -> None:
        """End: the last move, every task closed, the final write."""
        if self.state.status != status:
            self.move(status, action, comment, actor)
        self.close_all_tasks(f"workflow {status}")
        await self.final_sync()

    async def cancelled(self) -> None:
        """Cancelled from Temporal (an operator): record it and leave the read
        model closed. Activities started now are not cancelled."""
        self.move("cancelled", "cancelled", "cancelled in Temporal", "operator")
        self.close_all_tasks("workflow cancelled")
        await self.final_sync()

    async def run_to_end(self, process: Callable[[], Awaitable[None]]) -> None:
        """Run the SOP. A refusal for good ends it `failed`, visibly (and the
        workflow fails, so the business object may be sent again); a cancel
        from Temporal ends it `cancelled`. Either way the read model is closed."""
        # A run that continued as new shows where it is, and finishes any write
        # the run before could not make.
        if self.state.open_tasks:
            self._ask_decision_patches()
        self.refresh_details()
        if self.unsynced():
            await self.sync()
        try:
            await process()
        except asyncio.CancelledError:
            await self.cancelled()
            raise
        except SystemRefused as err:
            reason = f"{err.system} refused: {err.reason}"
            await self.finish("failed", "failed", reason)
            raise ApplicationError(f"{self.kind} failed: {reason}", type="SystemRefused") from None

    def continue_as_new_ready(self) -> bool:
        """Whether the workflow's own background work (besides Update and Signal
        handlers) is at a point where the run may end; a subclass says."""
        return True

    def continue_as_new_due(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.policy.history_limit
        )

    async def wait_until(self, condition: Callable[[], bool], *, summary: str = "") -> None:
        """Wait for `condition`; when the history has grown long meanwhile,
        continue as new with the whole state (the next run resumes from it)."""
        while True:
            # A decision just answered is carried out before the run goes on.
            await workflow.wait_condition(
                lambda: (condition() or self.continue_as_new_due()) and self.settled()
            )
            if condition():
                return
            await workflow.wait_condition(
                lambda: workflow.all_handlers_finished() and self.continue_as_new_ready()
            )
            if condition():
                return
            self.note(
                SOPFLOW,
                "continued as new",
                f"history of {workflow.info().get_current_history_length()} events",
            )
            # Written by the next run, which starts with the unwritten part.
            workflow.continue_as_new(self.carry_over())
