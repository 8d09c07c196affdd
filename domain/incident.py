"""A platform outage (Sterling OMS, Conexiom, iSeries) as the incident workflow
keeps it: the orders and accounts it affects, the IT portal ticket, the
escalation to IT support, the CSC manager's iSeries fallback and the
reconciliation of the orders entered there. Pure models and rules."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.identity import Actor
from domain.kernel import KernelPolicy, KernelState, StartInput
from domain.records import AuditEntry
from domain.text import OptionalComment, ShortText

# The platforms an order's call can find down (an activity contract's `system`).
STERLING_OMS = "sterling_oms"
CONEXIOM = "conexiom"
ISERIES = "iseries"
PLATFORMS = frozenset({STERLING_OMS, CONEXIOM, ISERIES})
# Manual entry in iSeries stands in for the OMS only.
FALLBACK_PLATFORMS = frozenset({STERLING_OMS})


def incident_workflow_id(platform: str) -> str:
    """One open incident per platform: every order that finds it down joins this one."""
    return f"incident-{platform}"


def incident_id(platform: str, opened_at: datetime) -> str:
    """The id people read and the read model keeps: one per outage (the
    workflow id is reused by the platform's next outage)."""
    return f"incident-{platform}-{opened_at:%Y%m%dT%H%M%S}"


class IncidentStatus(StrEnum):
    OPEN = "open"
    # The platform answers again; orders entered in iSeries are being put into OMS.
    RECONCILING = "reconciling"
    CLOSED = "closed"


class AffectedStatus(StrEnum):
    WAITING = "waiting"
    FALLBACK_APPROVED = "fallback_approved"  # manual entry in iSeries approved
    ENTERED_IN_ISERIES = "entered_in_iseries"  # at the branch through iSeries
    RESUMED = "resumed"  # the platform is back: the order goes on through it
    RECONCILED = "reconciled"  # entered in iSeries, since created in OMS
    RECONCILE_REFUSED = "reconcile_refused"  # OMS refused it for good: an operator's


class AffectedOrder(BaseModel):
    order_id: str
    account_number: str
    joined_at: datetime
    reason: str = ""
    status: AffectedStatus = AffectedStatus.WAITING
    iseries_order_id: str | None = None
    oms_order_id: str | None = None


class JoinIncident(BaseModel):
    """An order whose call to the platform keeps failing (a Signal, sent with start)."""

    order_id: str
    account_number: str
    platform: str
    reason: str = ""


class OrderOutcome(BaseModel):
    """What an order did with the incident's word (a Signal): entered itself in
    iSeries, could not (`not_eligible`, with the reason), or, once OMS is
    back, was reconciled into it."""

    order_id: str
    outcome: str  # entered_in_iseries | not_eligible | reconciled | reconcile_refused
    iseries_order_id: str | None = None
    oms_order_id: str | None = None
    reason: str = ""


class PlatformAnswered(BaseModel):
    """An order's call to the platform went through (a Signal): probe now."""

    order_id: str


class ApproveFallback(BaseModel):
    """The CSC manager approves manual entry in iSeries (an Update)."""

    actor: Actor
    incident_id: str
    comment: OptionalComment = ""
    # None: every order waiting now.
    orders: list[ShortText] | None = Field(default=None, max_length=5000)


class FallbackDecision(BaseModel):
    decided_by: str
    decided_at: datetime
    comment: str
    orders: list[str]


class Notification(BaseModel):
    at: datetime
    channel: str  # email, it_portal
    to: list[str]
    what: str


class IncidentNotice(BaseModel):
    """What the incident tells an order (a Signal): it joined, the platform is
    back, or its manual entry in iSeries is approved."""

    incident_id: str
    incident_workflow_id: str
    platform: str
    event: str  # joined | recovered | fallback
    actor: str = "sopflow"
    comment: str = ""


class IncidentPolicy(KernelPolicy):
    """Timing filled from Settings when the incident starts."""

    probe_every: timedelta = timedelta(seconds=30)
    escalate_after: timedelta = timedelta(seconds=1800)
    # How long orders entered in iSeries may take to reach OMS after it is back
    # before the incident closes anyway (the orders keep trying).
    reconcile_patience: timedelta = timedelta(hours=24)


class IncidentState(KernelState):
    status: IncidentStatus = IncidentStatus.OPEN
    incident_id: str = ""
    platform: str = ""
    opened_at: datetime | None = None
    recovered_at: datetime | None = None
    duration_seconds: float | None = None
    affected: dict[str, AffectedOrder] = {}
    # Joined, not yet told their incident id.
    unannounced: list[str] = []
    ticket_id: str | None = None
    probes: int = 0
    last_probe: str = ""
    escalated_at: datetime | None = None
    notifications: list[Notification] = []
    fallbacks: list[FallbackDecision] = []
    fallback_task_opened: bool = False
    # Joins that came in once the platform answered again: a new outage, the
    # next incident's first orders.
    next_joins: list[JoinIncident] = []


class StartIncident(StartInput):
    platform: str
    policy: IncidentPolicy = IncidentPolicy()
    # Joins that came in while the last outage was ending: the first of this one.
    joins: list[JoinIncident] = []
    state: IncidentState | None = None


class ReconciliationProgress(BaseModel):
    entered_in_iseries: int = 0
    reconciled: int = 0


class IncidentView(BaseModel):
    """What `GET /incidents/{id}` and the workflow's query return."""

    incident_id: str
    workflow_id: str
    platform: str
    status: IncidentStatus
    opened_at: datetime | None
    recovered_at: datetime | None = None
    duration_seconds: float | None = None
    it_portal_ticket: str | None = None
    affected_orders: list[AffectedOrder] = []
    affected_accounts: list[str] = []
    escalated_at: datetime | None = None
    notifications: list[Notification] = []
    fallbacks: list[FallbackDecision] = []
    reconciliation: ReconciliationProgress = ReconciliationProgress()
    probes: int = 0
    audit: list[AuditEntry] = []


# ------------------------------------------------------------------ rules


def affected_accounts(affected: dict[str, AffectedOrder]) -> list[str]:
    return sorted({o.account_number for o in affected.values()})


def escalation_due(
    opened_at: datetime, now: datetime, escalate_after: timedelta, escalated: bool
) -> bool:
    """Past the SOP's threshold and not yet escalated (whether it affects every
    account is asked of the read model then)."""
    return not escalated and now - opened_at >= escalate_after


def affects_every_account(affected: list[str], in_flight: list[str]) -> bool:
    """Every account with orders in flight has an order in this incident."""
    return bool(affected) and set(in_flight) <= set(affected)


def fallback_problem(
    platform: str,
    status: IncidentStatus,
    affected: dict[str, AffectedOrder],
    orders: list[str] | None,
) -> tuple[str, str] | None:
    """(refusal type, reason) when the fallback cannot be approved as asked."""
    if platform not in FALLBACK_PLATFORMS:
        return ("InvalidState", f"manual entry in iSeries is the fallback for an OMS outage, "
                                f"not for {platform}")  # fmt: skip
    if status != IncidentStatus.OPEN:
        return ("InvalidState", f"the incident is {status}: the platform answers again")
    if orders is not None:
        unknown = [o for o in orders if o not in affected]
        if unknown:
            return ("InvalidFallback", f"not waiting in this incident: {', '.join(unknown[:10])}")
        taken = [o for o in orders if affected[o].status != AffectedStatus.WAITING]
        if taken:
            return ("InvalidFallback", f"no longer waiting: {', '.join(taken[:10])}")
        if not orders:
            return ("InvalidFallback", "name at least one order, or none for all waiting")
    elif not any(o.status == AffectedStatus.WAITING for o in affected.values()):
        return ("InvalidState", "no order is waiting in this incident")
    return None


def reconciliation(affected: dict[str, AffectedOrder]) -> ReconciliationProgress:
    entered = [o for o in affected.values() if o.iseries_order_id]
    return ReconciliationProgress(
        entered_in_iseries=len(entered),
        reconciled=sum(o.status == AffectedStatus.RECONCILED for o in entered),
    )


# Orders the incident still waits on once the platform is back.
UNRECONCILED = frozenset({AffectedStatus.FALLBACK_APPROVED, AffectedStatus.ENTERED_IN_ISERIES})


def reconciled_all(affected: dict[str, AffectedOrder]) -> bool:
    """Every order approved for iSeries has reached OMS (or never went there)."""
    return not any(o.status in UNRECONCILED for o in affected.values())


def apply_outcome(order: AffectedOrder, outcome: OrderOutcome) -> str:
    """The affected order after what it reports; answers the audit line."""
    if outcome.outcome == "entered_in_iseries":
        order.status = AffectedStatus.ENTERED_IN_ISERIES
        order.iseries_order_id = outcome.iseries_order_id
        return f"{order.order_id} entered in iSeries as {outcome.iseries_order_id}"
    if outcome.outcome == "reconciled":
        order.status = AffectedStatus.RECONCILED
        order.iseries_order_id = outcome.iseries_order_id or order.iseries_order_id
        order.oms_order_id = outcome.oms_order_id
        return (
            f"{order.order_id} reconciled: OMS order {outcome.oms_order_id} for iSeries "
            f"order {order.iseries_order_id}"
        )
    if outcome.outcome == "reconcile_refused":
        order.status = AffectedStatus.RECONCILE_REFUSED
        return f"{order.order_id}: OMS refused it for good ({outcome.reason}); for an operator"
    if order.status == AffectedStatus.FALLBACK_APPROVED:
        order.status = AffectedStatus.WAITING
    return f"{order.order_id} cannot be entered in iSeries: {outcome.reason}"


# ---- Configuration faults of ours (issue 17): a system refusing our credentials,
# address or method. One workflow per system, `configuration-{system}`, with one
# operator's task whose `retry` tells every waiting object to try again.
def configuration_fault_workflow_id(system: str) -> str:
    return f"configuration-{system}"


class JoinFault(BaseModel):
    """A business object waits on a configuration fault (a Signal, sent with start)."""

    workflow_id: str
    system: str
    reason: str = ""


class ConfigurationFaultState(KernelState):
    status: str = "open"
    system: str = ""
    # The system's last word (status and reason), as the operator reads it.
    reason: str = ""
    waiting: list[str] = []


class StartConfigurationFault(StartInput):
    system: str
    policy: KernelPolicy = KernelPolicy()
    joins: list[JoinFault] = []
    state: ConfigurationFaultState | None = None
