"""The order's side of a platform outage (issue 7; the SOP's "System down and
iSeries fallback"), kept apart from workflows/order.py, which calls it at a few
marked hooks.

When a platform (Sterling OMS, Conexiom, iSeries) has not answered an order's
call for the outage threshold, the order says so (status `waiting_on_system`
while it has not reached the branch), joins the platform's incident with
signal-with-start, and waits for the incident's word: it joined (the incident id
is shown and searchable), the platform is back (it tries again at once), or the
CSC manager approved manual entry in iSeries. It also tries again on its own
every `incident_recheck`, so a lost word never leaves it waiting.

An order approved for the fallback while its creation in OMS waits (and with no
holds) enters itself in iSeries, prints its pick ticket and goes to the branch;
once OMS is back it is reconciled into OMS exactly once (created there released,
naming the iSeries order, never pushed to iSeries again) before it may complete.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from temporalio import workflow

from workflows.kernel import SOPFLOW, SystemRefused

with workflow.unsafe.imports_passed_through():
    from activities.contracts import incidents, iseries, oms
    from activities.contracts.iseries import IseriesCreateOrder
    from activities.contracts.oms import OmsOrderAction, OmsReconcileOrder
    from domain import search
    from domain.incident import (
        PLATFORMS,
        STERLING_OMS,
        IncidentNotice,
        JoinIncident,
        OrderOutcome,
        PlatformAnswered,
    )
    from domain.order.models import OrderStatus
    from domain.order.outage import IseriesFallback

if TYPE_CHECKING:
    from domain.order.models import PurchaseOrder
    from domain.order.state import OrderPolicy, OrderState

# The patch (CONTRIBUTING.md) an order that waited on a system before it does not take.
INCIDENTS = "incident-join"
# Statuses an order waits in as `waiting_on_system`: it has not reached the branch.
BEFORE_BRANCH = frozenset({OrderStatus.RECEIVED, OrderStatus.ON_HOLD, OrderStatus.CONFIRMED})


class FallbackApproved(Exception):
    """Raised out of the OMS create the order waits on: enter it in iSeries instead."""

    def __init__(self, notice: IncidentNotice) -> None:
        super().__init__(notice.incident_id)
        self.notice = notice


class IncidentHooks:
    """Mixed into OrderWorkflow (before SopWorkflow, whose outage hooks it extends)."""

    state: OrderState
    policy: OrderPolicy
    order: PurchaseOrder
    # Set by the order around its OMS create when no hold stands in the way:
    # manual entry in iSeries may stand in for it.
    _fallback_ok = False
    # The order waits for its incident's word now (in `on_outage`), and the
    # words that came meanwhile; a fallback approved while it tried OMS again.
    _in_incident = False
    _news: list[IncidentNotice]
    _approved: IncidentNotice | None = None
    _reconciler: asyncio.Task[None] | None = None

    if TYPE_CHECKING:  # the kernel's, through OrderWorkflow

        def note(self, actor: Any, action: str, comment: str = "") -> None: ...
        def move(self, status: str, action: str, comment: str = "", actor: Any = ...) -> None: ...
        def refresh_details(self) -> None: ...
        def key(self, operation: str) -> str: ...
        async def sync(self) -> bool: ...
        async def call(self, contract: Any, arg: Any, *, summary: str) -> Any: ...
        async def notify(self, contract: Any, arg: Any, *, summary: str) -> Any: ...

    # -------------------------------------------------------- the outage hooks
    async def on_outage(self, system: str, reason: str) -> None:
        if system not in PLATFORMS or not workflow.patched(INCIDENTS):
            return await super().on_outage(system, reason)  # type: ignore[misc]
        st, o = self.state, self.state.outage
        if self._approved is not None and self._fallback_ok and system == STERLING_OMS:
            # Approved while it was trying OMS again on its own.
            raise FallbackApproved(self._approved)
        # A new outage, or the incident said the platform is back but it is not
        # (a new outage too): join the platform's incident.
        if st.waiting_on != system or o.recovered:
            if st.waiting_on != system:
                st.waiting_on = system
                comment = f"{system} is not answering: {reason}"
                if st.status in BEFORE_BRANCH:
                    o.resume_status = st.status
                    self.move(OrderStatus.WAITING_ON_SYSTEM, "waiting on system", comment)
                else:  # at the branch: people may still act on it meanwhile
                    self.note(SOPFLOW, "waiting on system", comment)
                    self.refresh_details()
                await self.sync()
            o.platform, o.recovered = system, False
            await self.notify(
                incidents.JOIN,
                JoinIncident(
                    order_id=workflow.info().workflow_id,
                    account_number=self.order.account_number,
                    platform=system,
                    reason=reason,
                ),
                summary=f"Join the {system} incident",
            )
        await self._wait_for_incident()

    async def on_recovered(self, system: str) -> None:
        st, o = self.state, self.state.outage
        if o.platform != system:  # waited before incidents (a stored history)
            return await super().on_recovered(system)  # type: ignore[misc]
        st.waiting_on = None
        comment = f"{system} is answering again"
        if st.status == OrderStatus.WAITING_ON_SYSTEM and o.resume_status:
            self.move(OrderStatus(o.resume_status), "system answered", comment)
        else:
            self.note(SOPFLOW, "system answered", comment)
            self.refresh_details()
        if not o.recovered and o.incident_workflow_id:
            o.recovered = True
            # It got through before the incident's probe: the incident probes now.
            await self._tell_incident(
                "platform_answered", PlatformAnswered(order_id=workflow.info().workflow_id)
            )
        await self.sync()

    async def _wait_for_incident(self) -> None:
        """Until the incident's word, or `incident_recheck`; then the call is
        tried again (or, approved for iSeries, FallbackApproved is raised)."""
        o = self.state.outage
        self._news = []
        self._in_incident = True
        try:
            while True:
                try:
                    await workflow.wait_condition(
                        lambda: bool(self._news),
                        timeout=self.policy.incident_recheck,
                        timeout_summary=f"Try {o.platform} again",
                    )
                except TimeoutError:
                    return
                notice = self._news.pop(0)
                if notice.event == "recovered":
                    return
                elif notice.event == "fallback":
                    if self._fallback_ok and o.platform == STERLING_OMS:
                        raise FallbackApproved(notice)
                    await self._not_eligible(notice)
        finally:
            self._in_incident = False

    async def _joined(self, notice: IncidentNotice) -> None:
        o = self.state.outage
        o.incident_id = notice.incident_id
        # Every incident the order has been in (an OMS outage, later an iSeries one).
        seen = {n.rsplit(":", 1)[0] for n in o.notices} | {notice.incident_id}
        workflow.upsert_search_attributes([search.INCIDENT_ID.value_set(sorted(seen))])
        self.note(SOPFLOW, "joined incident", f"waits in {notice.incident_id} ({o.platform})")
        self.refresh_details()
        await self.sync()

    @workflow.signal
    async def incident(self, notice: IncidentNotice) -> None:
        """The incident's word: joined, the platform is back, or the fallback."""
        o = self.state.outage
        key = f"{notice.incident_id}:{notice.event}"
        if key in o.notices:
            return
        o.notices.append(key)
        o.incident_workflow_id = notice.incident_workflow_id
        if notice.event == "joined":
            return await self._joined(notice)
        if notice.event == "recovered":
            o.recovered = True
            o.incident_id = o.incident_id or notice.incident_id
        if self._in_incident:
            self._news.append(notice)
        elif notice.event == "fallback":
            if self._fallback_ok:  # trying OMS again on its own: taken when that try ends
                self._approved = notice
            else:
                await self._not_eligible(notice)

    async def _not_eligible(self, notice: IncidentNotice) -> None:
        st = self.state
        if st.oms_order_id:
            reason = f"already in OMS as {st.oms_order_id}; it goes on through OMS"
        elif st.outage.platform == STERLING_OMS and st.waiting_on and not self._fallback_ok:
            reason = "it has holds to resolve first (an order on hold cannot go to the branch)"
        else:
            reason = "it is not waiting on OMS"
        self.note(notice.actor, "fallback not taken", reason)
        await self._tell_incident(
            "order_outcome",
            OrderOutcome(order_id=workflow.info().workflow_id, outcome="not_eligible",
                         reason=reason),
        )  # fmt: skip
        await self.sync()

    async def _tell_incident(self, signal: str, arg: Any) -> None:
        o = self.state.outage
        if not o.incident_workflow_id:
            return
        # The incident may have closed meanwhile: nothing more to tell it.
        with contextlib.suppress(Exception):
            await workflow.get_external_workflow_handle(o.incident_workflow_id).signal(signal, arg)

    # --------------------------------------------------- the iSeries fallback
    async def enter_in_iseries(self, notice: IncidentNotice) -> None:
        """Approved while its OMS create waits: the order enters itself in
        iSeries, prints its pick ticket and is released to the branch."""
        st, o = self.state, self.state.outage
        assert st.branch_id
        st.waiting_on = None
        o.fallback = IseriesFallback(
            incident_id=notice.incident_id, approved_by=notice.actor, comment=notice.comment
        )
        self.move(
            OrderStatus(o.resume_status or OrderStatus.RECEIVED),
            "fallback approved",
            f"manual entry in iSeries approved in {notice.incident_id}: {notice.comment}",
            actor=notice.actor,
        )
        created = await self.call(
            iseries.CREATE_ORDER,
            IseriesCreateOrder(
                idempotency_key=self.key("iseries-create"),
                order=self.order,
                lines=st.lines,
                branch_id=st.branch_id,
            ),
            summary="Enter the order in iSeries directly (OMS down, fallback approved)",
        )
        st.iseries_order_id = o.fallback.iseries_order_id = created.iseries_order_id
        o.fallback.entered_at = workflow.now()
        await self._tell_incident(
            "order_outcome",
            OrderOutcome(order_id=workflow.info().workflow_id, outcome="entered_in_iseries",
                         iseries_order_id=created.iseries_order_id),
        )  # fmt: skip
        await self.at_the_branch(
            created.iseries_order_id,
            f"entered in iSeries as {created.iseries_order_id} (OMS down)",
            "; OMS follows when it is back",
        )

    def entered_in_iseries_only(self) -> bool:
        """Entered in iSeries and not yet in OMS: the OMS steps are not taken."""
        return self.state.outage.fallback is not None and self.state.oms_order_id is None

    # --------------------------------------------------------- reconciliation
    def start_reconciling(self) -> None:
        """Once OMS is back, an order entered in iSeries goes into OMS."""
        if self.state.outage.needs_reconciling() and self._reconciler is None:
            self._reconciler = asyncio.create_task(self._reconcile())

    def reconciling(self) -> bool:
        """Not in OMS yet, or still telling the incident so."""
        task = self._reconciler
        return self.state.outage.needs_reconciling() or (task is not None and not task.done())

    async def _reconcile(self) -> None:
        st, o = self.state, self.state.outage
        fallback = o.fallback
        assert fallback and fallback.iseries_order_id and st.branch_id
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: o.recovered,
                timeout=self.policy.incident_recheck,
                timeout_summary="Is OMS back? Reconcile",
            )
        try:
            ref = await self.call(
                oms.RECONCILE_ORDER,
                OmsReconcileOrder(
                    idempotency_key=self.key("oms-reconcile"),
                    order=self.order,
                    lines=st.lines,
                    branch_id=st.branch_id,
                    iseries_order_id=fallback.iseries_order_id,
                ),
                summary=f"Reconcile iSeries order {fallback.iseries_order_id} into Sterling OMS",
            )
        except SystemRefused as err:
            # Not left in limbo: recorded, the incident told; an operator takes it on.
            fallback.reconcile_refused = err.reason
            self.note(SOPFLOW, "reconciliation refused",
                      f"Sterling OMS refused iSeries order {fallback.iseries_order_id}: "
                      f"{err.reason}")  # fmt: skip
            outcome = OrderOutcome(order_id=workflow.info().workflow_id,
                                   outcome="reconcile_refused", reason=err.reason)  # fmt: skip
        else:
            st.oms_order_id = fallback.reconciled_oms_order_id = ref.oms_order_id
            fallback.reconciled_at = workflow.now()
            self.note(
                SOPFLOW,
                "reconciled",
                f"OMS order {ref.oms_order_id} made for iSeries order "
                f"{fallback.iseries_order_id} (entered during {fallback.incident_id}); "
                "not released again",
            )
            outcome = OrderOutcome(order_id=workflow.info().workflow_id, outcome="reconciled",
                                   iseries_order_id=fallback.iseries_order_id,
                                   oms_order_id=ref.oms_order_id)  # fmt: skip
        self.refresh_details()
        await self._tell_incident("order_outcome", outcome)
        await self.sync()

    async def cancel_in_oms_once_reconciled(self) -> None:
        """The buyer cancelled it while it was in iSeries only: once it is
        reconciled into OMS (which tells the incident), OMS's order is cancelled
        too, and only then does the order end."""
        f = self.state.outage.fallback
        if f is None or f.cancelled_at is None or f.cancelled_in_oms:
            return
        self.refresh_details()
        await self.sync()  # readable as cancelled while OMS is awaited
        self.start_reconciling()
        await workflow.wait_condition(lambda: not self.reconciling())
        if f.reconciled_oms_order_id is None:  # OMS refused it: nothing there to cancel
            return
        try:
            await self.call(
                oms.CANCEL_ORDER,
                OmsOrderAction(
                    idempotency_key=self.key("oms-cancel"), oms_order_id=f.reconciled_oms_order_id
                ),
                summary=f"Cancel OMS order {f.reconciled_oms_order_id} (cancelled by the buyer "
                "while in iSeries only)",
            )
        except SystemRefused as err:
            self.note(SOPFLOW, "not cancelled in OMS",
                      f"Sterling OMS refused to cancel {f.reconciled_oms_order_id}: {err.reason}")  # fmt: skip
            return
        f.cancelled_in_oms = True
        self.note(
            SOPFLOW,
            "cancelled in OMS",
            f"OMS order {f.reconciled_oms_order_id} (iSeries order {f.iseries_order_id}) "
            "cancelled: the buyer's cancel",
        )

    def incident_details(self) -> list[str]:
        o = self.state.outage
        lines = []
        if o.incident_id:
            lines.append(f"Incident: {o.incident_id}")
        if o.fallback:
            f = o.fallback
            lines.append(
                f"Entered in iSeries {f.iseries_order_id or '(pending)'} (fallback approved by "
                f"{f.approved_by})"
                + (f"; reconciled into OMS {f.reconciled_oms_order_id}" if f.reconciled_oms_order_id
                   else "; OMS follows when it is back")
                + ("; cancelled by the buyer" if f.cancelled_at else "")
            )  # fmt: skip
        return lines
