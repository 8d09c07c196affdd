"""The worker: every workflow and activity on the task queue, with the clients
and database pool the activities share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.crm import CrmActivities, CrmClient
from activities.csr import CsrActivities
from activities.email import EmailActivities, EmailClient
from activities.helpdesk import HelpdeskActivities, HelpdeskClient
from activities.iseries import IseriesActivities, IseriesClient
from activities.oms import OmsActivities, OmsClient
from activities.read_model import ReadModelActivities
from activities.reconcile import ReconcileActivities, ensure_schedule
from activities.reference import ReferenceActivities
from sopflow.config import Settings
from workers.sandbox import WORKFLOW_RUNNER
from workflows.csr import CsrWorkflow
from workflows.order import OrderWorkflow
from workflows.reconcile import ReconcileWorkflow

WORKFLOWS = [OrderWorkflow, ReconcileWorkflow, CsrWorkflow]
log = structlog.get_logger()


@dataclass
class SystemClients:
    oms: OmsClient
    iseries: IseriesClient
    email: EmailClient
    helpdesk: HelpdeskClient
    crm: CrmClient

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> SystemClients:
        clients = (OmsClient, IseriesClient, EmailClient, HelpdeskClient, CrmClient)
        return cls(**{c.system: c.from_settings(settings, transport) for c in clients})

    async def close(self) -> None:
        for client in vars(self).values():
            await client.close()


def activities_for(
    pool: asyncpg.Pool, clients: SystemClients, temporal: Client | None = None
) -> list:
    groups = [
        ReferenceActivities(pool),
        ReadModelActivities(pool),
        OmsActivities(clients.oms),
        IseriesActivities(clients.iseries),
        EmailActivities(clients.email),
        HelpdeskActivities(clients.helpdesk),
        ReconcileActivities(pool, temporal),  # type: ignore[arg-type]
        CrmActivities(clients.crm),
        CsrActivities(pool),
    ]
    return [
        getattr(group, name)
        for group in groups
        for name in dir(type(group))
        if hasattr(getattr(type(group), name), "__temporal_activity_definition")
    ]


@contextlib.asynccontextmanager
async def build_worker(
    client: Client,
    settings: Settings,
    pool: asyncpg.Pool,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Worker]:
    clients = SystemClients.from_settings(settings, transport)
    try:
        yield Worker(
            client,
            task_queue=settings.task_queue,
            workflows=WORKFLOWS,
            activities=activities_for(pool, clients, client),
            workflow_runner=WORKFLOW_RUNNER,
        )
    finally:
        await clients.close()


async def run_worker(
    settings: Settings, client: Client, pool: asyncpg.Pool, stop: asyncio.Event
) -> None:
    """Poll until `stop` is set, then finish in-flight tasks and leave."""
    try:
        await ensure_schedule(
            client, task_queue=settings.task_queue, every=settings.reconcile_every
        )
    except Exception as exc:  # the worker's own work goes on; the next start tries again
        log.warning("reconcile schedule not set up", error=repr(exc))
    async with build_worker(client, settings, pool) as worker, worker:
        log.info("worker started", task_queue=settings.task_queue)
        await stop.wait()
    log.info("worker stopped")
