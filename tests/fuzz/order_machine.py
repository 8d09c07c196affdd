"""The order workflow under random interleavings of everything that can reach
it: decisions from every role (allowed and not), buyer changes and cancels,
shipments (Update and system feed), flags, branch edits, outages and
recoveries of each simulator, the CSC manager's fallback to iSeries, worker
restarts, hostile text in every field, and Updates retried with the same id."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from temporalio.client import WorkflowHandle

from domain.identity import Actor, Role
from domain.incident import ApproveFallback, incident_workflow_id
from domain.kernel import KernelPolicy
from domain.order.models import (
    BuyerCancel,
    BuyerChange,
    EditLine,
    ErrorCategory,
    FlagError,
    OrderStatus,
    OrderView,
    Platform,
    ProofOfDelivery,
    RequestEdit,
    Shipment,
    ShipmentLine,
    ShipmentReport,
)
from domain.records import HumanTask, ReadModelSync
from domain.tasks import DECISIONS, DecisionResult, TaskClaim, TaskDecision
from tests.factories import BRANCH, NETWORK, REP, propetro_order, start
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
from tests.fuzz.hostile import hostile_text, plain_text
from workflows.order import OrderWorkflow

LEAD = Actor(person_id="tom.baker", roles=frozenset({Role.TEAM_LEAD}))
MANAGER = Actor(person_id="carol.nguyen", roles=frozenset({Role.CSC_MANAGER}))
OTHER_REP = Actor(person_id="james.chen", roles=frozenset({Role.ACCOUNT_REP}))
NOBODY = Actor(person_id="mallory", roles=frozenset())
ACTORS = [REP, OTHER_REP, LEAD, BRANCH, NETWORK, MANAGER, NOBODY]
# The systems an order calls, each of which may go down and come back.
# An outage sooner than the default two minutes: fewer retries to replay
# before the order joins the platform's incident.
OUTAGE_AFTER = timedelta(seconds=30)
SYSTEMS = ["oms", "iseries", "email", "helpdesk", "network"]

# Decision fields each kind takes when valid; the fuzzer also sends them
# with hostile text and with nothing.
VALID_FIELDS: dict[str, list[dict[str, Any]]] = {
    "choose_ship_to": [{"address_id": "PP-ODESSA"}, {"address_id": "PP-HQ"}],
    "map_part": [{"part_id": "GS-2040"}, {"part_id": "HX-1001"}],
    "choose_pool": [{"pool_id": "ODS-FAB"}],
    "fix_uom": [{"uom": "EA", "quantity": "1"}, {"uom": "CS", "quantity": "2"}],
    "correct_price": [{"unit_price": "2.35"}, {"unit_price": "2.10"}],
    "set_price": [{"unit_price": "2.35", "comment": "agreed"}],
    "apply_edit": [{"root_cause": "human", "comment": "ok"}],
}
TEXT_FIELDS = ("comment", "address_id", "part_id", "pool_id", "uom")


def held_lines(kind: str) -> dict[str, Any]:
    line1, line2, line3 = propetro_order().lines
    if kind == "price":
        return {"lines": [line1.model_copy(update={"unit_price": Decimal("2.10")}), line2, line3]}
    if kind == "part":
        return {
            "lines": [line1, line2.model_copy(update={"customer_part_number": "PP-UNKNOWN"}), line3]
        }
    return {}


class OrderMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.fx = FIXTURES["order"]
        self.run = self.fx.bridge.run
        self.stack = Stack(self.fx)
        self.run(self.stack.start())
        self.handle: WorkflowHandle | None = None
        self.down: set[str] = set()
        self.incidents: set[str] = set()
        # What the order was told and took: accepted Update ids per kind.
        self.accepted: dict[str, set[str]] = {"flag_error": set(), "request_edit": set()}
        # Sent without an answer in time: taken or not, the order may show them.
        self.maybe: dict[str, set[str]] = {"flag_error": set(), "request_edit": set()}
        self.last: tuple[str, Any, str, type | None, Answer] | None = None
        self.unanswered: list[str] = []
        self.ids = 0
        # Entered in iSeries by the fallback while OMS was down (as the order says).
        self.in_iseries_only = False

    # ------------------------------------------------------------- helpers
    def _id(self, what: str) -> str:
        self.ids += 1
        return f"fuzz-{what}-{self.ids}"

    def _send(self, name: str, arg: Any, result_type: type | None = None) -> Answer:
        update_id = self._id(name)
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

    def _view(self) -> OrderView | None:
        async def q() -> OrderView | None:
            try:
                return await self.handle.query(OrderWorkflow.view)
            except Exception:
                return None

        return self.run(q())

    def _tasks(self) -> list[HumanTask]:
        async def q() -> list[HumanTask]:
            try:
                snap = await self.handle.query("read_model_snapshot", result_type=ReadModelSync)
            except Exception:
                return []
            return snap.open_tasks

        return self.run(q())

    def _settle(self) -> None:
        # Lets the workflow take what a step sent before the invariants look.
        self.run(asyncio.sleep(0.05))

    # --------------------------------------------------------------- start
    @initialize(
        holds=st.sampled_from(["none", "price", "part"]),
        # OMS down at the start is the way to its fallback to iSeries: twice as likely.
        down_at_start=st.sampled_from(
            [(), ("oms",), ("oms", "email"), ("iseries",), ("email", "helpdesk")]
        ),
        # The edge refuses hostile text in a new order (and a start input that the
        # workflow's own models refuse fails its workflow task: test_findings.py).
        comments=plain_text,
    )
    def start_order(self, holds: str, down_at_start: tuple[str, ...], comments: str) -> None:
        self._start(holds, down_at_start, comments)

    def _start(self, holds: str, down_at_start: tuple[str, ...], comments: str) -> None:
        for system in down_at_start:
            self.run(self.fx.sims.fault(system, down=True))
            self.down.add(system)
        order = propetro_order(f"F{uuid.uuid4().hex[:8]}", **held_lines(holds))
        # Free text the buyer's cXML carries, straight to the workflow.
        order = order.model_copy(update={"comments": comments})
        self.handle = self.run(
            self.stack.client.start_workflow(
                OrderWorkflow.run,
                start(order, outage_after=OUTAGE_AFTER),
                id=order.workflow_id,
                task_queue=self.stack.settings.task_queue,
            )
        )
        self._settle()

    def teardown(self) -> None:
        self.run(self.stack.stop())

    # --------------------------------------------------------------- rules
    @rule(data=st.data())
    def decide(self, data: st.DataObject) -> None:
        tasks = self._tasks()
        if tasks:
            task = data.draw(st.sampled_from(tasks), label="task")
            kind = task.kind
            task_id = task.task_id
        else:
            kind, task_id = "none", data.draw(st.sampled_from(["no-such-task", ""]), label="task")
        names = [d.name for d in DECISIONS.get(kind, [])] + ["recheck", "made_up"]
        decision = data.draw(st.sampled_from(names), label="decision")
        fields = data.draw(
            st.one_of(
                st.sampled_from(VALID_FIELDS.get(decision, [{}])),
                st.builds(lambda k, v: {k: v}, st.sampled_from(TEXT_FIELDS), hostile_text),
                st.just({"comment": "fine"}),
            ),
            label="fields",
        )
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
        arg = TaskDecision.model_construct(
            task_id=task_id, decision=decision, fields=fields, actor=actor
        )
        answer = self._send("decide", arg, DecisionResult)
        if answer.accepted:
            self.run(self.handle.signal("carry_out"))
        self._settle()

    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        tasks = self._tasks()
        if not tasks:
            return
        task = data.draw(st.sampled_from(tasks), label="task")
        actor = data.draw(st.sampled_from(ACTORS), label="actor")
        assignee = data.draw(st.sampled_from([None, "ann", "maria.lopez"]), label="assignee")
        self._send(
            "claim_task",
            TaskClaim.model_construct(task_id=task.task_id, actor=actor, assignee=assignee),
            HumanTask,
        )

    @rule(
        actor=st.sampled_from(ACTORS),
        category=st.sampled_from(list(ErrorCategory)),
        comment=hostile_text,
    )
    def flag(self, actor: Actor, category: ErrorCategory, comment: str) -> None:
        arg = FlagError.model_construct(
            actor=actor, category=category, platform=Platform.CONEXIOM, comment=comment
        )
        self._send("flag_error", arg)
        self._settle()

    @rule(
        actor=st.sampled_from([BRANCH, BRANCH, REP]),
        line=st.integers(1, 4),
        quantity=st.sampled_from(["1", "50", "120", "0", "-3"]),
        reason=hostile_text,
    )
    def request_edit(self, actor: Actor, line: int, quantity: str, reason: str) -> None:
        arg = RequestEdit.model_construct(
            actor=actor,
            lines=[EditLine.model_construct(line_number=line, quantity=Decimal(quantity))],
            reason=reason,
        )
        self._send("request_edit", arg)
        self._settle()

    @rule(
        actor=st.sampled_from([BRANCH, BRANCH, NETWORK, REP]),
        shipment_id=st.one_of(st.sampled_from(["RUN-1", "RUN-2"]), hostile_text),
        part=st.booleans(),
        signed_by=hostile_text,
        as_signal=st.booleans(),
    )
    def ship(
        self, actor: Actor, shipment_id: str, part: bool, signed_by: str, as_signal: bool
    ) -> None:
        lines = [(1, 50)] if part else [(1, 100), (2, 2), (3, 1)]
        report = ShipmentReport.model_construct(
            actor=actor,
            shipment=Shipment.model_construct(
                shipment_id=shipment_id,
                lines=[ShipmentLine(line_number=n, quantity=Decimal(q)) for n, q in lines],
                proof_of_delivery=ProofOfDelivery.model_construct(
                    signed_by=signed_by, signed_at=datetime(2026, 11, 26, 15, tzinfo=UTC)
                ),
                carrier=None,
                tracking_number=None,
            ),
        )
        if as_signal:  # a system feed that does not wait for an answer
            self.run(self.handle.signal(OrderWorkflow.shipment_reported, report))
        else:
            self._send("report_shipment", report)
        self._settle()

    @rule(
        actor=st.sampled_from([NETWORK, NETWORK, REP]),
        payload=st.sampled_from(["p-change-1", "p-change-2", "p-cancel-1"]),
        quantity=st.sampled_from(["100", "150"]),
        price=st.sampled_from(["2.35", "2.10"]),
        comments=hostile_text,
    )
    def change(self, actor: Actor, payload: str, quantity: str, price: str, comments: str) -> None:
        view = self._view()
        if view is None:
            return
        line1, *rest = view.order.lines
        line1 = line1.model_copy(update={"quantity": Decimal(quantity), "unit_price": Decimal(price)})
        order = view.order.model_copy(
            update={"payload_id": payload, "lines": [line1, *rest], "comments": comments}
        )
        self._send("change_order", BuyerChange.model_construct(actor=actor, order=order))
        self._settle()

    @rule(
        actor=st.sampled_from([NETWORK, NETWORK, BRANCH]),
        payload=st.sampled_from(["p-cancel-1", "p-change-1", "p-cancel-2"]),
    )
    def cancel(self, actor: Actor, payload: str) -> None:
        self._send("cancel_order", BuyerCancel.model_construct(actor=actor, payload_id=payload))
        self._settle()

    @precondition(lambda self: self.in_iseries_only)
    @rule(payload=st.sampled_from(["p-cancel-1", "p-cancel-3"]))
    def cancel_what_the_fallback_entered(self, payload: str) -> None:
        """The buyer withdraws a PO that is at the branch through iSeries only
        (issue 17: this once wedged the order)."""
        self._send("cancel_order", BuyerCancel.model_construct(actor=NETWORK, payload_id=payload))
        self._settle()

    @rule(system=st.sampled_from(SYSTEMS))
    def outage(self, system: str) -> None:
        self.run(self.fx.sims.fault(system, down=True))
        self.down.add(system)

    @precondition(lambda self: bool(self.down))
    @rule(data=st.data())
    def recovery(self, data: st.DataObject) -> None:
        system = data.draw(st.sampled_from(sorted(self.down)), label="system")
        if system == "oms":
            self.in_iseries_only = False  # reconciled into OMS soon
        self.run(self.fx.sims.fault(system, down=False))
        self.down.discard(system)
        self._settle()

    @rule(wait=st.sampled_from([timedelta(seconds=5), timedelta(minutes=1), timedelta(minutes=3),
                                timedelta(minutes=31), timedelta(hours=3)]))  # fmt: skip
    def time_passes(self, wait: timedelta) -> None:
        self.run(self.stack.env.sleep(wait))
        self._settle()

    @precondition(lambda self: "oms" in self.down and not self.in_iseries_only)
    @rule(actor=st.sampled_from([MANAGER, MANAGER, REP]), comment=hostile_text)
    def fallback_to_iseries(self, actor: Actor, comment: str) -> None:
        """The CSC manager approves manual entry in iSeries while OMS is down."""
        self.run(self._fallback(actor, comment))

    async def _fallback(self, actor: Actor, comment: str) -> None:
        for _ in range(2):
            view = await self.handle.query(OrderWorkflow.view)
            if view.incident_id:
                break
            # Past the outage threshold the order joins the platform's incident.
            await self.stack.env.sleep(OUTAGE_AFTER + timedelta(seconds=15))
            for _ in range(40):
                view = await self.handle.query(OrderWorkflow.view)
                if view.incident_id:
                    break
                await asyncio.sleep(0.05)
        if not view.incident_id:
            trace(f"fallback: no incident ({view.status}, waiting on {view.waiting_on})")
            return
        wid = incident_workflow_id(view.waiting_on or "sterling_oms")
        self.incidents.add(wid)
        incident = self.stack.client.get_workflow_handle(wid)
        arg = ApproveFallback.model_construct(
            actor=actor, incident_id=view.incident_id, comment=comment, orders=[self.handle.id]
        )
        answer = await update(incident, "approve_fallback", arg, self._id("fallback"))
        trace(f"approve_fallback: {answer.refused or 'accepted'}")
        if not answer.accepted:
            return
        # The order takes it once its current try at OMS ends.
        await self.stack.env.sleep(OUTAGE_AFTER + timedelta(seconds=15))
        for _ in range(60):
            view = await self.handle.query(OrderWorkflow.view)
            if view.iseries_fallback and view.iseries_fallback.iseries_order_id:
                self.in_iseries_only = view.oms_order_id is None
                break
            await asyncio.sleep(0.05)
        trace(f"fallback: {view.status}, in iSeries only: {self.in_iseries_only}")

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
        self._settle()

    # ---------------------------------------------------------- invariants
    @invariant()
    def nothing_broke(self) -> None:
        if self.handle is None:
            return
        problems = self.run(self._problems(), timeout=300)
        assert not problems, failure_message("order", problems)

    def _incident_ids(self) -> list[str]:
        return sorted(
            self.incidents | {incident_workflow_id("sterling_oms"), incident_workflow_id("iseries")}
        )

    async def _problems(self) -> list[str]:
        client = self.stack.client
        problems: list[str] = []
        for wid in [self.handle.id, *self._incident_ids()]:
            problems += await history_problems(client, wid)
        if problems:
            return problems + [f"unanswered Updates: {self.unanswered}"] * bool(self.unanswered)
        try:
            view = await self.handle.query(OrderWorkflow.view)
        except Exception:
            return problems
        problems += self._applied_once(view)
        problems += await read_model_problems(self.fx.pool, self.handle, self.stack.env,
                                              KernelPolicy())  # fmt: skip
        return problems

    def _applied_once(self, view: OrderView) -> list[str]:
        """Each accepted Update once in the audit, and the simulators' records
        agree with the order's."""
        problems = []
        actions = [a.action for a in view.audit]
        flags = len(self.accepted["flag_error"])
        maybe = len(self.maybe["flag_error"] - self.accepted["flag_error"])
        if not (
            len(view.flags) == actions.count("error flagged")
            and flags <= len(view.flags) <= flags + maybe
        ):
            problems.append(
                f"{flags} flags accepted, the order has {len(view.flags)}, "
                f"its audit {actions.count('error flagged')}"
            )
        edits = len(self.accepted["request_edit"])
        maybe = len(self.maybe["request_edit"] - self.accepted["request_edit"])
        if not (
            len(view.edit_requests) == actions.count("edit requested")
            and edits <= len(view.edit_requests) <= edits + maybe
        ):
            problems.append(
                f"{edits} edit requests accepted, the order has {len(view.edit_requests)}, "
                f"its audit {actions.count('edit requested')}"
            )
        sims = self.fx.sims.state
        invoices = [i for i in sims.iseries.invoices.values() if i.order_ref == self.handle.id]
        by_shipment = [i.shipment_id for i in invoices]
        if len(by_shipment) != len(set(by_shipment)):
            problems.append(f"a shipment invoiced twice in iSeries: {sorted(by_shipment)}")
        if len(invoices) < len(view.invoices):
            problems.append(f"the order shows {len(view.invoices)} invoices, iSeries {len(invoices)}")
        oms = [o for o in sims.oms.orders.values() if o.external_ref == self.handle.id]
        if len(oms) > 1:
            problems.append(f"{len(oms)} OMS orders for one PO: {[o.oms_order_id for o in oms]}")
        iseries = [o for o in sims.iseries.orders.values() if o.external_ref == self.handle.id]
        if len(iseries) > 1:
            problems.append(f"{len(iseries)} iSeries orders for one PO")
        if view.status == OrderStatus.CANCELLED:
            live = [o.oms_order_id for o in oms if o.status != "cancelled"]
            if live and not view.iseries_fallback:
                problems.append(f"the order is cancelled, OMS order {live} is not")
        return problems


class OrderInIseriesMachine(OrderMachine):
    """The same, from an order that OMS's outage sent to the branch through
    iSeries (the CSC manager's fallback): the state where the order's steps
    that go to OMS must wait or go elsewhere."""

    @initialize(
        holds=st.sampled_from(["none", "price"]),
        comments=plain_text,
        # Hypothesis tries the first choice first: the bounded run starts with
        # the buyer withdrawing the PO at once (issue 17: once a wedged order).
        then=st.sampled_from(["the buyer cancels", "nothing yet"]),
    )
    def start_order(self, holds: str, comments: str, then: str) -> None:  # type: ignore[override]
        self._start(holds, ("oms",), comments)
        self.run(self._fallback(MANAGER, "the branch needs it today"))
        if then == "the buyer cancels" and self.in_iseries_only:
            self.cancel_what_the_fallback_entered("p-cancel-0")
