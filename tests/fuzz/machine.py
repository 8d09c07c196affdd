"""What the machines of the workflow types other than the order share: a
workflow started on a fresh stack, decisions and claims on its open tasks from
every role, outages and recoveries of the systems it calls, time passing,
worker restarts, the last Update again with the same id, and the invariants
(no WorkflowTaskFailed, no Failed but a business refusal, the read model equal
to the workflow's view when settled). Each type adds what only it receives and
what "applied once" means for it (`applied_once`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from domain.identity import Actor
from domain.incident import incident_workflow_id
from domain.kernel import KernelPolicy
from domain.records import HumanTask, ReadModelSync
from domain.tasks import DECISIONS, DecisionResult, TaskClaim, TaskDecision
from tests.fuzz.harness import (
    FIXTURES,
    Answer,
    Stack,
    failure_message,
    history_problems,
    read_model_problems,
    trace,
    update,
)
from tests.fuzz.hostile import hostile_text

# An outage sooner than the default two minutes: fewer retries to replay.
OUTAGE_AFTER = timedelta(seconds=30)
# Every platform whose incident a workflow may open or join (an activity
# contract's `system`); an incident nobody opened is skipped.
INCIDENT_PLATFORMS = ("sterling_oms", "iseries", "crm", "erp", "smsvoice", "email", "calendar")
WAITS = [timedelta(seconds=5), timedelta(minutes=1), timedelta(minutes=3),
         timedelta(minutes=31), timedelta(hours=3)]  # fmt: skip


class WorkflowMachine(RuleBasedStateMachine):
    """A subclass sets `kind` (its FIXTURES key), `actors`, `systems` (fault
    names of the simulators it calls), `valid_fields` per decision, and starts
    its workflow in an @initialize rule through `begin`."""

    kind: ClassVar[str]
    actors: ClassVar[list[Actor]]
    systems: ClassVar[list[str]]
    valid_fields: ClassVar[dict[str, list[dict[str, Any]]]] = {}
    text_fields: ClassVar[tuple[str, ...]] = ("comment",)
    # Update names whose accepted ids the machine counts for `applied_once`.
    counted: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        super().__init__()
        self.fx = FIXTURES[self.kind]
        self.run = self.fx.bridge.run
        self.stack = Stack(self.fx)
        self.run(self.stack.start())
        self.handle: WorkflowHandle | None = None
        self.down: set[str] = set()
        self.accepted: dict[str, set[str]] = {name: set() for name in self.counted}
        self.maybe: dict[str, set[str]] = {name: set() for name in self.counted}
        self.last: tuple[str, Any, str, type | None, Answer] | None = None
        self.unanswered: list[str] = []
        self.ids = 0

    # ------------------------------------------------------------- helpers
    def begin(self, workflow: Any, arg: Any, workflow_id: str, down: tuple[str, ...]) -> None:
        for system in down:
            self.run(self.fx.sims.fault(system, down=True))
            self.down.add(system)
        self.handle = self.run(
            self.stack.client.start_workflow(
                workflow, arg, id=workflow_id, task_queue=self.stack.settings.task_queue
            )
        )
        self.settle()

    def new_id(self, what: str) -> str:
        self.ids += 1
        return f"fuzz-{what}-{self.ids}"

    def send(self, name: str, arg: Any, result_type: type | None = None) -> Answer:
        update_id = self.new_id(name)
        answer = self.run(update(self.handle, name, arg, update_id, result_type))
        trace(f"{name}: {answer.refused or ('unanswered' if answer.unanswered else 'accepted')}")
        self._record(name, update_id, answer)
        self.last = (name, arg, update_id, result_type, answer)
        return answer

    def _record(self, name: str, update_id: str, answer: Answer) -> None:
        if answer.accepted and name in self.accepted:
            self.accepted[name].add(update_id)
        if answer.unanswered:
            self.unanswered.append(f"{name} ({update_id})")
            if name in self.maybe:
                self.maybe[name].add(update_id)

    def signal(self, name: str, *arg: Any) -> None:
        async def send() -> None:
            try:
                await self.handle.signal(name, *arg)
            except RPCError as err:  # the run has ended (a last decision ends some)
                trace(f"{name}: {err}")

        self.run(send())
        self.settle()

    def tasks(self) -> list[HumanTask]:
        async def q() -> list[HumanTask]:
            try:
                snap = await self.handle.query("read_model_snapshot", result_type=ReadModelSync)
            except Exception:
                return []
            return snap.open_tasks

        return self.run(q())

    def query(self, name: str, result_type: type) -> Any:
        async def q() -> Any:
            try:
                return await self.handle.query(name, result_type=result_type)
            except Exception:
                return None

        return self.run(q())

    def settle(self) -> None:
        # Lets the workflow take what a step sent before the invariants look.
        self.run(asyncio.sleep(0.05))

    def teardown(self) -> None:
        self.run(self.stack.stop())

    # --------------------------------------------------------------- rules
    @rule(data=st.data())
    def decide(self, data: st.DataObject) -> None:
        tasks = self.tasks()
        if tasks:
            task = data.draw(st.sampled_from(tasks), label="task")
            kind, task_id = task.kind, task.task_id
        else:
            kind, task_id = "none", data.draw(st.sampled_from(["no-such-task", ""]), label="task")
        names = [d.name for d in DECISIONS.get(kind, [])] + ["made_up"]
        decision = data.draw(st.sampled_from(names), label="decision")
        fields = data.draw(
            st.one_of(
                st.sampled_from(self.valid_fields.get(decision, [{}])),
                st.builds(lambda k, v: {k: v}, st.sampled_from(self.text_fields), hostile_text),
                st.just({"comment": "fine"}),
            ),
            label="fields",
        )
        actor = data.draw(st.sampled_from(self.actors), label="actor")
        arg = TaskDecision.model_construct(
            task_id=task_id, decision=decision, fields=fields, actor=actor
        )
        answer = self.send("decide", arg, DecisionResult)
        if answer.accepted:
            self.signal("carry_out")
        self.settle()

    @rule(data=st.data())
    def decide_as_asked(self, data: st.DataObject) -> None:
        """Someone of the task's role decides with valid fields: the way on,
        so that an example reaches the later steps of its workflow."""
        tasks = self.tasks()
        if not tasks:
            return
        task = data.draw(st.sampled_from(tasks), label="task")
        fit = [a for a in self.actors if task.role in a.roles] or self.actors
        actor = data.draw(st.sampled_from(fit), label="actor")
        names = [d.name for d in DECISIONS.get(task.kind, [])] or ["made_up"]
        decision = data.draw(st.sampled_from(names), label="decision")
        fields = data.draw(
            st.sampled_from(self.valid_fields.get(decision, [{}])),
            label="fields",
        )
        arg = TaskDecision.model_construct(
            task_id=task.task_id, decision=decision, fields=fields, actor=actor
        )
        if self.send("decide", arg, DecisionResult).accepted:
            self.signal("carry_out")
        self.settle()

    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        tasks = self.tasks()
        if not tasks:
            return
        task = data.draw(st.sampled_from(tasks), label="task")
        actor = data.draw(st.sampled_from(self.actors), label="actor")
        assignee = data.draw(st.sampled_from([None, "ann", actor.person_id]), label="assignee")
        self.send(
            "claim_task",
            TaskClaim.model_construct(task_id=task.task_id, actor=actor, assignee=assignee),
            HumanTask,
        )

    @rule(data=st.data())
    def outage(self, data: st.DataObject) -> None:
        system = data.draw(st.sampled_from(self.systems), label="system")
        self.run(self.fx.sims.fault(system, down=True))
        self.down.add(system)

    @precondition(lambda self: bool(self.down))
    @rule(data=st.data())
    def recovery(self, data: st.DataObject) -> None:
        system = data.draw(st.sampled_from(sorted(self.down)), label="system")
        self.run(self.fx.sims.fault(system, down=False))
        self.down.discard(system)
        self.settle()

    @rule(wait=st.sampled_from(WAITS))
    def time_passes(self, wait: timedelta) -> None:
        self.run(self.stack.env.sleep(wait))
        self.settle()

    @rule()
    def restart_worker(self) -> None:
        self.run(self.stack.restart_worker())

    @precondition(lambda self: self.last is not None)
    @rule()
    def retry_last_update(self) -> None:
        """The client did not hear the answer and sends the same Update again."""
        name, arg, update_id, result_type, first = self.last
        again = self.run(update(self.handle, name, arg, update_id, result_type))
        self._record(name, update_id, again)
        if first.accepted and again.accepted and first.result is not None:
            assert again.result == first.result, f"a retried {name} answered otherwise"
        self.settle()

    # ---------------------------------------------------------- invariants
    @invariant()
    def nothing_broke(self) -> None:
        if self.handle is None:
            return
        problems = self.run(self._problems(), timeout=300)
        assert not problems, failure_message(self.kind, problems)

    async def _problems(self) -> list[str]:
        client = self.stack.client
        problems: list[str] = []
        for wid in [self.handle.id, *(incident_workflow_id(p) for p in INCIDENT_PLATFORMS)]:
            problems += await history_problems(client, wid)
        if problems:
            return problems + [f"unanswered Updates: {self.unanswered}"] * bool(self.unanswered)
        problems += await self.applied_once()
        problems += await read_model_problems(self.fx.pool, self.handle, self.stack.env,
                                              KernelPolicy())  # fmt: skip
        return problems

    def counts(self, name: str) -> tuple[int, int]:
        """Accepted Updates of `name`, and those sent without an answer in time
        (taken or not: the workflow may show them)."""
        return len(self.accepted[name]), len(self.maybe[name] - self.accepted[name])

    async def applied_once(self) -> list[str]:
        return []
