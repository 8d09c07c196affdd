"""One platform outage (Sterling OMS, Conexiom, iSeries), from the first order
that finds it down to the last order entered in iSeries being put into OMS.

Opened by an order's signal-with-start (workflow id `incident-{platform}`; every
order that finds the platform down joins the open one) → an IT service-portal
ticket, the affected orders and accounts recorded, each order told it waits in
this incident → the platform probed on a durable timer → past the escalation
threshold, when it affects every account with orders in flight, every IT support
contact of the platform notified, once → the CSC manager may approve manual
entry in iSeries for waiting orders (an Update; the orders are told) → the
platform answers: the duration recorded, the ticket resolved, the orders told to
go on → once every order entered in iSeries is reconciled into OMS, closed.

A join that comes in after the platform answered is a new outage: this run
closes, and the workflow continues as new as the next incident with it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.kernel import FAILED, SOPFLOW, SopWorkflow, failure_reason, raise_if_cancelled

with workflow.unsafe.imports_passed_through():
    from activities.contracts import email, incidents, it_portal
    from activities.contracts.email import EmailMessage
    from activities.contracts.incidents import (
        ContactsRequest,
        InFlightRequest,
        NotifyOrders,
        Probe,
        ProbeResult,
    )
    from activities.contracts.it_portal import PortalNote, PortalResolve, PortalTicketRequest
    from domain import search
    from domain.identity import Actor, Role
    from domain.incident import (
        FALLBACK_PLATFORMS,
        AffectedOrder,
        AffectedStatus,
        ApproveFallback,
        FallbackDecision,
        IncidentNotice,
        IncidentState,
        IncidentStatus,
        IncidentView,
        JoinIncident,
        Notification,
        OrderOutcome,
        PlatformAnswered,
        StartIncident,
        affected_accounts,
        affects_every_account,
        apply_outcome,
        escalation_due,
        fallback_problem,
        incident_id,
        reconciled_all,
        reconciliation,
    )
    from domain.records import HumanTask, RecordFields
    from domain.tasks import TaskDecision


FALLBACK_TASK = "fallback"
# Orders told per activity (each signal is one call to Temporal).
TELL_BATCH = 200


def _listed(ids: list[str], most: int = 10) -> str:
    more = f" and {len(ids) - most} more" if len(ids) > most else ""
    return ", ".join(ids[:most]) + more


@workflow.defn
class IncidentWorkflow(SopWorkflow):
    kind = "incident"
    default_queue = "it"
    state: IncidentState

    @workflow.init
    def __init__(self, start: StartIncident) -> None:
        self.start = start
        st = start.state or self.new_state(IncidentState, platform=start.platform)
        self.init_kernel(st, start.policy)
        if not st.incident_id:
            st.opened_at = st.created_at
            st.incident_id = incident_id(start.platform, st.created_at)
            for join in start.joins:
                self._take(join)
        self._probe_now = False
        self._ticket: asyncio.Task[None] | None = None
        self._outcomes: list[str] = []

    # ------------------------------------------------------------------ run
    @workflow.run
    async def run(self, start: StartIncident) -> IncidentView:
        await self.run_to_end(self._process)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.state.next_joins:
            # A new outage began as this one ended: the next incident takes it.
            workflow.continue_as_new(
                StartIncident(
                    platform=self.state.platform,
                    policy=self.start.policy,
                    joins=self.state.next_joins,
                )
            )
        return self.view()

    async def _process(self) -> None:
        st = self.state
        if not st.audit:
            self.begin(SOPFLOW, "opened", f"{st.platform} is not answering")
            workflow.upsert_search_attributes([search.INCIDENT_ID.value_set([st.incident_id])])
            await self.sync()
        if st.status == IncidentStatus.OPEN:
            await self._while_down()
        if st.status == IncidentStatus.RECONCILING:
            await self._reconcile()
        if self._ticket:
            self._ticket.cancel()
        await self.finish(IncidentStatus.CLOSED, "closed", self._closing_words())

    async def _while_down(self) -> None:
        """Tell joining orders where they wait, probe on a timer, escalate once."""
        st = self.state
        self._ticket = asyncio.create_task(self._open_ticket())
        timer: asyncio.Task[None] | None = None
        while True:
            if st.unannounced:
                await self._announce()
            if self._outcomes:
                await self._record_outcomes()
            if timer is None or timer.done() or self._probe_now:
                self._probe_now = False
                probe = await self._probe()
                if probe.answering:
                    await self._recovered(probe.detail)
                    return
                await self._escalate_if_due()
                timer = asyncio.create_task(
                    workflow.sleep(self.policy.probe_every, summary=f"Probe {st.platform} again")
                )
            await self.wait_until(
                lambda t=timer: (
                    bool(st.unannounced or self._outcomes) or self._probe_now or t.done()
                )
            )

    # --------------------------------------------------------- orders joining
    @workflow.signal
    def join(self, join: JoinIncident) -> None:
        st = self.state
        if st.status != IncidentStatus.OPEN:
            if join.order_id not in {j.order_id for j in st.next_joins}:
                st.next_joins.append(join)
            return
        self._take(join)

    def _take(self, join: JoinIncident) -> None:
        st = self.state
        if join.order_id in st.affected:
            return
        st.affected[join.order_id] = AffectedOrder(
            order_id=join.order_id,
            account_number=join.account_number,
            joined_at=workflow.now(),
            reason=join.reason,
        )
        st.unannounced.append(join.order_id)

    async def _announce(self) -> None:
        """Orders that joined since the last time: recorded, and each told its incident.
        An OMS outage with orders waiting is the CSC manager's call: a task."""
        st = self.state
        joined, st.unannounced = st.unannounced, []
        if st.platform in FALLBACK_PLATFORMS and not st.fallback_task_opened:
            st.fallback_task_opened = True
            assert st.opened_at
            self.open_task(
                FALLBACK_TASK,
                kind="outage_fallback",
                role=Role.CSC_MANAGER,
                due_at=st.opened_at + self.policy.escalate_after,
                payload={"incident_id": st.incident_id, "platform": st.platform},
            )
        accounts = affected_accounts(st.affected)
        self.note(
            SOPFLOW,
            "orders joined",
            f"{len(joined)} order(s): {_listed(joined)}; {len(st.affected)} order(s) of "
            f"{len(accounts)} account(s) affected ({_listed(accounts)})",
        )
        self.refresh_details()
        await self.sync()
        await self._tell(joined, self._notice("joined"), f"they wait in {st.incident_id}")

    async def _tell(self, order_ids: list[str], notice: IncidentNotice, what: str) -> None:
        """Signal the orders, in batches side by side: a thousand orders are told
        within the activity's own timeout, however long the outage threshold."""
        contract = incidents.NOTIFY_ORDERS
        batches = [order_ids[i : i + TELL_BATCH] for i in range(0, len(order_ids), TELL_BATCH)]
        await asyncio.gather(
            *(
                workflow.execute_activity(
                    contract.name,
                    NotifyOrders(order_ids=batch, notice=notice),
                    result_type=contract.output,
                    start_to_close_timeout=contract.start_to_close,
                    retry_policy=contract.retry,
                    summary=f"Tell {len(batch)} order(s) {what}",
                )
                for batch in batches
            )
        )

    @workflow.signal
    def platform_answered(self, answered: PlatformAnswered) -> None:
        """An order got through: probe now rather than at the next timer."""
        self._probe_now = True

    @workflow.signal
    def order_outcome(self, outcome: OrderOutcome) -> None:
        """An order entered itself in iSeries, could not, or was reconciled:
        recorded in a batch by the main run (a thousand orders may report)."""
        order = self.state.affected.get(outcome.order_id)
        if order is not None:  # else another incident's order
            self._outcomes.append(apply_outcome(order, outcome))

    async def _record_outcomes(self) -> None:
        said, self._outcomes = self._outcomes, []
        self.note(SOPFLOW, "orders reported", f"{len(said)}: " + "; ".join(said[:20])
                  + (f"; and {len(said) - 20} more" if len(said) > 20 else ""))  # fmt: skip
        self.refresh_details()
        await self.sync()

    # ---------------------------------------------------------------- probe
    async def _probe(self) -> ProbeResult:
        st = self.state
        st.probes += 1
        try:
            result = await workflow.execute_activity(
                incidents.PROBE.name,
                Probe(platform=st.platform),
                result_type=ProbeResult,
                start_to_close_timeout=incidents.PROBE.start_to_close,
                retry_policy=incidents.PROBE.retry,
                summary=f"Probe {st.platform}",
            )
        except ActivityError as err:
            raise_if_cancelled(err)
            result = ProbeResult(answering=False, detail=failure_reason(err))
        st.last_probe = result.detail
        return result

    async def _recovered(self, detail: str) -> None:
        st = self.state
        now = workflow.now()
        assert st.opened_at
        st.recovered_at = now
        st.duration_seconds = (now - st.opened_at).total_seconds()
        for order in st.affected.values():
            if order.status == AffectedStatus.WAITING:
                order.status = AffectedStatus.RESUMED
        self.close_task(self._fallback_task(), f"{st.platform} answers again")
        entered = not reconciled_all(st.affected)
        self.move(
            IncidentStatus.RECONCILING if entered else st.status,
            "platform answered",
            f"{st.platform} answers again after {timedelta(seconds=round(st.duration_seconds))} "
            f"({detail})",
        )
        await self.sync()
        if st.affected:
            await self._tell(list(st.affected), self._notice("recovered"), f"{st.platform} is back")
        if st.ticket_id:
            resolved = await self.notify(
                it_portal.RESOLVE_TICKET,
                PortalResolve(
                    idempotency_key=f"{st.incident_id}:resolve",
                    ticket_number=st.ticket_id,
                    resolution=f"{st.platform} answers again after "
                    f"{timedelta(seconds=round(st.duration_seconds))}",
                ),
                summary=f"Resolve IT portal ticket {st.ticket_id}",
            )
            if resolved is not FAILED:
                self.note(SOPFLOW, "ticket resolved", f"IT portal ticket {st.ticket_id}")

    async def _reconcile(self) -> None:
        """Until every order entered in iSeries is in OMS (each tells us), or
        for so long that a person must look (the orders keep trying)."""
        st = self.state
        patience = asyncio.create_task(
            workflow.sleep(self.policy.reconcile_patience, summary="Reconciliation overdue")
        )
        while True:
            await self.wait_until(
                lambda: bool(self._outcomes) or reconciled_all(st.affected) or patience.done()
            )
            if self._outcomes:
                await self._record_outcomes()
            if reconciled_all(st.affected) or patience.done():
                break
        patience.cancel()
        if not reconciled_all(st.affected):
            left = [o.order_id for o in st.affected.values() if o.status != AffectedStatus.RECONCILED
                    and o.iseries_order_id]  # fmt: skip
            self.note(SOPFLOW, "reconciliation overdue", f"not yet in OMS: {_listed(left)}")

    def _closing_words(self) -> str:
        st = self.state
        progress = reconciliation(st.affected)
        words = f"{len(st.affected)} order(s) affected"
        if progress.entered_in_iseries:
            words += (
                f"; {progress.reconciled} of {progress.entered_in_iseries} entered in iSeries "
                "reconciled into OMS"
            )
        return words

    # ------------------------------------------------------ ticket, escalation
    async def _open_ticket(self) -> None:
        """The IT portal ticket; tried again later while the portal is down."""
        st = self.state
        with contextlib.suppress(asyncio.CancelledError):
            while st.ticket_id is None:
                ticket = await self.notify(
                    it_portal.OPEN_TICKET,
                    PortalTicketRequest(
                        idempotency_key=f"{st.incident_id}:ticket",
                        platform=st.platform,
                        short_description=f"{st.platform} is not answering",
                        description=f"Incident {st.incident_id}: orders wait on {st.platform} "
                        f"since {st.opened_at:%Y-%m-%d %H:%M %Z}.",
                    ),
                    summary="Open IT service-portal ticket",
                )
                if ticket is FAILED:
                    await workflow.sleep(
                        self.policy.probe_every, summary="IT portal down: try the ticket again"
                    )
                    continue
                st.ticket_id = ticket
                st.notifications.append(
                    Notification(
                        at=workflow.now(), channel="it_portal", to=["it service desk"],
                        what=f"ticket {ticket} opened",
                    )
                )  # fmt: skip
                self.note(SOPFLOW, "ticket opened", f"IT portal ticket {ticket}")
                self.refresh_details()
                await self.sync()

    async def _escalate_if_due(self) -> None:
        """Once: past the threshold and every account with orders in flight
        affected, every IT support contact of the platform is told."""
        st = self.state
        assert st.opened_at
        if not escalation_due(
            st.opened_at, workflow.now(), self.policy.escalate_after, st.escalated_at is not None
        ):
            return
        in_flight = await self.call(
            incidents.ACCOUNTS_IN_FLIGHT,
            InFlightRequest(),
            summary="Accounts with orders in flight",
        )
        affected = affected_accounts(st.affected)
        if not affects_every_account(affected, in_flight.accounts):
            return
        contacts = await self.call(
            incidents.IT_SUPPORT_CONTACTS,
            ContactsRequest(platform=st.platform),
            summary=f"IT support contacts for {st.platform}",
        )
        st.escalated_at = workflow.now()
        lasted = timedelta(seconds=round((st.escalated_at - st.opened_at).total_seconds()))
        to = [c.email for c in contacts.contacts]
        self.note(
            SOPFLOW,
            "escalated",
            f"down for {lasted}, affecting every account with orders in flight "
            f"({_listed(affected)}); IT support: {_listed(to) or 'nobody on file'}",
        )
        if to:
            sent = await self.notify(
                email.SEND,
                EmailMessage(
                    idempotency_key=f"{st.incident_id}:escalation",
                    to=to,
                    subject=f"{st.platform} down for {lasted}: every account affected "
                    f"({st.incident_id})",
                    body=self.details(),
                ),
                summary=f"Notify every IT support contact for {st.platform}",
            )
            if sent is not FAILED:
                st.notifications.append(
                    Notification(at=workflow.now(), channel="email", to=to,
                                 what=f"escalation: down for {lasted}, every account affected")
                )  # fmt: skip
        if st.ticket_id:
            await self.notify(
                it_portal.ADD_NOTE,
                PortalNote(
                    idempotency_key=f"{st.incident_id}:escalation-note",
                    ticket_number=st.ticket_id,
                    text=f"Escalated after {lasted}: every account with orders in flight is "
                    f"affected; IT support notified ({', '.join(to)})",
                    urgency=1,
                ),
                summary=f"Raise IT portal ticket {st.ticket_id} to urgent",
            )
        self.refresh_details()
        await self.sync()

    # ------------------------------------------------- the manager's fallback
    @workflow.update
    async def approve_fallback(self, approval: ApproveFallback) -> IncidentView:
        """The CSC manager approves manual entry in iSeries for waiting orders
        (all of them, or those named): each is told, and enters itself there."""
        await self._approve(approval.actor, approval.comment, approval.orders)
        return self.view()

    def _fallback_task(self) -> str:
        return f"{self.task_prefix()}{FALLBACK_TASK}"

    def check_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        st = self.state
        if d.decision == "approve_fallback":
            problem = fallback_problem(st.platform, st.status, st.affected, None)
            if problem:
                raise ApplicationError(problem[1], type=problem[0])

    async def on_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        """The CSC manager's task: manual entry for every waiting order, or not
        (they resume through OMS when it is back)."""
        if d.decision == "approve_fallback":
            return await self._approve(d.actor, fields.comment, None)
        self.close_task(task.task_id, f"declined by {d.actor}")
        self.note(d.actor, "fallback declined", f"orders resume through OMS: {fields.comment}")
        self.refresh_details()
        await self.sync()

    async def _approve(self, actor: Actor, comment: str, named: list[str] | None) -> None:
        st = self.state
        problem = fallback_problem(st.platform, st.status, st.affected, named)
        if problem:  # the incident moved on since the validator ran
            raise ApplicationError(problem[1], type=problem[0])
        orders = named or [
            o.order_id for o in st.affected.values() if o.status == AffectedStatus.WAITING
        ]
        for order_id in orders:
            st.affected[order_id].status = AffectedStatus.FALLBACK_APPROVED
        comment = comment.strip()
        self.close_task(self._fallback_task(), f"approved by {actor}")
        st.fallbacks.append(
            FallbackDecision(
                decided_by=str(actor),
                decided_at=workflow.now(),
                comment=comment,
                orders=orders,
            )
        )
        self.note(
            actor,
            "fallback approved",
            f"manual entry in iSeries for {len(orders)} order(s) ({_listed(orders)}): {comment}",
        )
        self.refresh_details()
        await self.sync()
        await self._tell(
            orders,
            self._notice("fallback", actor=str(actor), comment=comment),
            "to enter themselves in iSeries",
        )

    @approve_fallback.validator
    def _validate_fallback(self, approval: ApproveFallback) -> None:
        st = self.state
        if not approval.actor.has_any(Role.CSC_MANAGER):
            raise ApplicationError(
                "approving manual entry in iSeries needs the role csc_manager", type="Forbidden"
            )
        if approval.incident_id != st.incident_id:
            raise ApplicationError(
                f"{approval.incident_id} is over; the incident of {st.platform} now is "
                f"{st.incident_id}",
                type="InvalidState",
            )
        if not approval.comment.strip():
            raise ApplicationError("approving the fallback needs a comment", type="CommentRequired")
        problem = fallback_problem(st.platform, st.status, st.affected, approval.orders)
        if problem:
            raise ApplicationError(problem[1], type=problem[0])

    # ---------------------------------------------------------------- reads
    def _notice(self, event: str, actor: str = SOPFLOW, comment: str = "") -> IncidentNotice:
        st = self.state
        return IncidentNotice(
            incident_id=st.incident_id,
            incident_workflow_id=workflow.info().workflow_id,
            platform=st.platform,
            event=event,
            actor=actor,
            comment=comment,
        )

    @workflow.query
    def view(self) -> IncidentView:
        st = self.state
        return IncidentView(
            incident_id=st.incident_id,
            workflow_id=workflow.info().workflow_id,
            platform=st.platform,
            status=st.status,
            opened_at=st.opened_at,
            recovered_at=st.recovered_at,
            duration_seconds=st.duration_seconds,
            it_portal_ticket=st.ticket_id,
            affected_orders=list(st.affected.values()),
            affected_accounts=affected_accounts(st.affected),
            escalated_at=st.escalated_at,
            notifications=st.notifications,
            fallbacks=st.fallbacks,
            reconciliation=reconciliation(st.affected),
            probes=st.probes,
            audit=st.audit,
        )

    # ------------------------------------------------------- kernel hooks
    def record_id(self) -> str:
        return self.state.incident_id

    def record_fields(self) -> RecordFields:
        st = self.state
        return RecordFields(
            business_key=st.platform,
            summary=self._summary(),
            view=self.view().model_dump(mode="json", exclude={"audit"}),
        )

    def _summary(self) -> str:
        st = self.state
        return f"{st.platform} outage · {len(st.affected)} order(s) · {st.status}"

    def details(self) -> str:
        st = self.state
        lines = [f"**{st.status}** · {self._summary()}"]
        if st.opened_at:
            lines.append(f"Opened: {st.opened_at:%Y-%m-%d %H:%M:%S %Z}")
        if st.duration_seconds is not None:
            lines.append(f"Lasted: {timedelta(seconds=round(st.duration_seconds))}")
        if st.ticket_id:
            lines.append(f"IT portal ticket: {st.ticket_id}")
        accounts = affected_accounts(st.affected)
        lines.append(f"Accounts affected: {_listed(accounts) or 'none yet'}")
        if st.escalated_at:
            lines.append(f"Escalated to IT support: {st.escalated_at:%H:%M:%S %Z}")
        for decision in st.fallbacks:
            lines.append(
                f"Fallback to iSeries approved by {decision.decided_by} for "
                f"{len(decision.orders)} order(s): {decision.comment}"
            )
        progress = reconciliation(st.affected)
        if progress.entered_in_iseries:
            lines.append(
                f"Reconciled into OMS: {progress.reconciled} of {progress.entered_in_iseries}"
            )
        if st.last_probe and st.status == IncidentStatus.OPEN:
            lines.append(f"Last probe ({st.probes}): {st.last_probe}")
        return "\n".join(lines)

    def carry_over(self) -> StartIncident:
        return self.start.model_copy(update={"state": self.state, "joins": []})
