"""The incident workflow's calls: an order joins (or opens) its platform's
incident by signal-with-start, the incident signals its orders, probes the
platform, and asks the read model and the directory before it escalates."""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.contracts import incidents as contract
from activities.contracts.incidents import (
    Contact,
    Contacts,
    ContactsRequest,
    InFlight,
    InFlightRequest,
    NotifyOrders,
    Probe,
    ProbeResult,
)
from activities.http import SYSTEM_UNAVAILABLE, SystemClient, activity_logger
from db import incidents as queries
from domain.incident import (
    IncidentPolicy,
    JoinFault,
    JoinIncident,
    StartConfigurationFault,
    StartIncident,
    configuration_fault_workflow_id,
    incident_workflow_id,
)
from domain.kernel import KernelPolicy
from sopflow.config import Settings

INCIDENT_WORKFLOW = "IncidentWorkflow"
CONFIGURATION_FAULT_WORKFLOW = "ConfigurationFaultWorkflow"
# Signals in flight at once when an incident tells its orders.
SIGNAL_CONCURRENCY = 50
PROBE_REF = "sopflow-probe"


def incident_policy(settings: Settings) -> IncidentPolicy:
    return IncidentPolicy(
        probe_every=settings.outage_probe_every,
        escalate_after=settings.outage_escalate_after,
        activity_timeout=settings.activity_timeout,
        max_retry_interval=settings.activity_max_retry_interval,
        outage_after=settings.outage_detect_after,
        sync_patience=settings.read_model_patience,
        sync_catch_up_every=settings.read_model_catch_up_every,
    )


async def join_incident(client: Client, settings: Settings, join: JoinIncident) -> str:
    """Signal-with-start: the platform's open incident takes the order, or one
    opens for it. Answers the incident's workflow id."""
    workflow_id = incident_workflow_id(join.platform)
    await client.start_workflow(
        INCIDENT_WORKFLOW,
        StartIncident(platform=join.platform, policy=incident_policy(settings)),
        id=workflow_id,
        task_queue=settings.task_queue,
        start_signal="join",
        start_signal_args=[join],
        static_summary=f"Outage of {join.platform}",
    )
    return workflow_id


class IncidentActivities:
    def __init__(
        self,
        client: Client,
        settings: Settings,
        pool: asyncpg.Pool,
        probes: dict[str, SystemClient],
    ) -> None:
        self.client = client
        self.settings = settings
        self.pool = pool
        # The platform (a contract's `system`) → a client whose `find_orders` is a cheap read.
        self.probes = probes

    @activity.defn(name=contract.JOIN.name)
    async def join(self, join: JoinIncident) -> None:
        workflow_id = await join_incident(self.client, self.settings, join)
        activity_logger().info("joined incident", incident=workflow_id, order_id=join.order_id)

    @activity.defn(name=contract.JOIN_CONFIGURATION_FAULT.name)
    async def join_configuration_fault(self, join: JoinFault) -> None:
        """Signal-with-start: the system's open configuration fault takes the
        object, or one opens for it (with the operator's task)."""
        timing = incident_policy(self.settings).model_dump(include=set(KernelPolicy.model_fields))
        policy = KernelPolicy.model_validate(timing)
        await self.client.start_workflow(
            CONFIGURATION_FAULT_WORKFLOW,
            StartConfigurationFault(system=join.system, policy=policy),
            id=configuration_fault_workflow_id(join.system),
            task_queue=self.settings.task_queue,
            start_signal="join",
            start_signal_args=[join],
            static_summary=f"{join.system} refuses our configuration",
        )
        activity_logger().info(
            "joined configuration fault", system=join.system, waiting=join.workflow_id
        )

    @activity.defn(name=contract.NOTIFY_ORDERS.name)
    async def notify_orders(self, req: NotifyOrders) -> int:
        """Signal each order; one that has ended is skipped. Each order takes a
        notice once, so a retry after a partial run is safe."""
        gate = asyncio.Semaphore(SIGNAL_CONCURRENCY)
        told = 0

        async def tell(order_id: str) -> None:
            nonlocal told
            async with gate:
                try:
                    await self.client.get_workflow_handle(order_id).signal(req.signal, req.notice)
                    told += 1
                except RPCError as err:
                    if err.status != RPCStatusCode.NOT_FOUND:
                        raise

        await asyncio.gather(*(tell(o) for o in req.order_ids))
        activity_logger().info(
            "orders told", notice=req.notice.event, incident=req.notice.incident_id, told=told
        )
        return told

    @activity.defn(name=contract.PROBE.name)
    async def probe(self, req: Probe) -> ProbeResult:
        client = self.probes.get(req.platform)
        if client is None:
            return ProbeResult(
                answering=False,
                detail=f"no probe for {req.platform}: waiting for an order to get through",
            )
        try:
            await client.find_orders(PROBE_REF)  # type: ignore[attr-defined]
        except ApplicationError as err:
            if err.type == SYSTEM_UNAVAILABLE:
                return ProbeResult(answering=False, detail=err.message)
            # A refusal is an answer: the platform is up.
            return ProbeResult(answering=True, detail=err.message)
        return ProbeResult(answering=True, detail="answered")

    @activity.defn(name=contract.ACCOUNTS_IN_FLIGHT.name)
    async def accounts_in_flight(self, req: InFlightRequest) -> InFlight:
        async with self.pool.acquire() as conn:
            return InFlight(accounts=await queries.accounts_in_flight(conn, req.exclude_test))

    @activity.defn(name=contract.IT_SUPPORT_CONTACTS.name)
    async def it_support_contacts(self, req: ContactsRequest) -> Contacts:
        async with self.pool.acquire() as conn:
            rows = await queries.it_support_contacts(conn, req.platform)
        return Contacts(contacts=[Contact(**dict(r)) for r in rows])
