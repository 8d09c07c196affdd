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
from activities.crm_accounts import CrmAccountsActivities, CrmAccountsClient
from activities.csr import CsrActivities
from activities.directory import DirectoryActivities
from activities.email import EmailActivities, EmailClient
from activities.erp import ErpActivities, ErpClient
from activities.helpdesk import HelpdeskActivities, HelpdeskClient
from activities.incidents import IncidentActivities
from activities.iseries import IseriesActivities, IseriesClient
from activities.iseries_accounts import IseriesAccountsActivities
from activities.it_portal import ItPortalActivities, ItPortalClient
from activities.network import NetworkActivities, NetworkClient
from activities.oms import OmsActivities, OmsClient
from activities.open_orders import OpenOrderActivities, ensure_schedules
from activities.read_model import ReadModelActivities
from activities.reconcile import ReconcileActivities, ensure_schedule
from activities.reference import ReferenceActivities
from activities.reports import (
    ReportActivities,
    ensure_digest_schedule,
    ensure_weekly_review_schedule,
)
from activities.sms_voice import SmsVoiceActivities, SmsVoiceClient
from sopflow.config import Settings
from workers.defects import DefectInterceptor
from workers.sandbox import WORKFLOW_RUNNER
from workflows.account_change import AccountChangeWorkflow
from workflows.account_change_digest import AccountChangeDigestWorkflow
from workflows.configuration_fault import ConfigurationFaultWorkflow
from workflows.confirmation_list import ConfirmationListWorkflow
from workflows.csr import CsrWorkflow
from workflows.incident import IncidentWorkflow
from workflows.open_order import OpenOrderWorkflow
from workflows.open_order_import import OpenOrderImportWorkflow
from workflows.order import OrderWorkflow
from workflows.reconcile import ReconcileWorkflow
from workflows.updates_once import UpdatesOnce
from workflows.weekly_review import WeeklyReviewWorkflow

WORKFLOWS = [OrderWorkflow, ReconcileWorkflow]
# Open orders (issue 9).
WORKFLOWS += [OpenOrderWorkflow, OpenOrderImportWorkflow, ConfirmationListWorkflow]
# Account changes and the weekly review (issue 10).
WORKFLOWS += [AccountChangeWorkflow, WeeklyReviewWorkflow, AccountChangeDigestWorkflow]
# Platform outages (issue 7).
WORKFLOWS += [IncidentWorkflow]
# Configuration faults of ours (issue 17).
WORKFLOWS += [ConfigurationFaultWorkflow]
# CSR cases (issue 8).
WORKFLOWS += [CsrWorkflow]
# Shared with the replayer (tests/replay): without the interceptor a replay
# would run again the Updates the worker answered from its memory.
INTERCEPTORS = [UpdatesOnce()]
# An exception of our own activity code is a defect, not a system's outage (issue 17).
INTERCEPTORS += [DefectInterceptor()]

log = structlog.get_logger()


@dataclass
class SystemClients:
    oms: OmsClient
    iseries: IseriesClient
    email: EmailClient
    helpdesk: HelpdeskClient
    network: NetworkClient
    erp: ErpClient
    smsvoice: SmsVoiceClient
    crm_accounts: CrmAccountsClient
    crm: CrmClient
    it_portal: ItPortalClient | None = None  # issue 7

    @classmethod
    def from_settings(
        cls, settings: Settings, transport: httpx.AsyncBaseTransport | None = None
    ) -> SystemClients:
        clients = (
            OmsClient, IseriesClient, EmailClient, HelpdeskClient, NetworkClient, ErpClient,
            SmsVoiceClient, ItPortalClient, CrmClient,
        )  # fmt: skip
        return cls(
            **{c.system: c.from_settings(settings, transport) for c in clients},
            crm_accounts=CrmAccountsClient.from_settings(settings, transport),
        )

    async def close(self) -> None:
        for client in vars(self).values():
            if client is not None:
                await client.close()


def activities_for(
    pool: asyncpg.Pool,
    clients: SystemClients,
    temporal: Client | None = None,
    settings: Settings | None = None,
) -> list:
    groups = [
        ReferenceActivities(pool),
        ReadModelActivities(pool),
        OmsActivities(clients.oms),
        IseriesActivities(clients.iseries),
        EmailActivities(clients.email),
        HelpdeskActivities(clients.helpdesk),
        ReconcileActivities(pool, temporal),  # type: ignore[arg-type]
        NetworkActivities(pool, clients.network),
        SmsVoiceActivities(clients.smsvoice),
        ErpActivities(clients.erp),
        OpenOrderActivities(pool, temporal, clients.erp, settings or Settings()),  # type: ignore[arg-type]
        DirectoryActivities(pool),
        IseriesAccountsActivities(clients.iseries),
        CrmAccountsActivities(clients.crm_accounts),
        ReportActivities(pool),
        # Issue 7: platform outages.
        ItPortalActivities(clients.it_portal),  # type: ignore[arg-type]
        IncidentActivities(
            temporal,  # type: ignore[arg-type]
            settings or Settings(),
            pool,
            probes={"sterling_oms": clients.oms, "iseries": clients.iseries},
        ),
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
            activities=activities_for(pool, clients, client, settings),
            workflow_runner=WORKFLOW_RUNNER,
            interceptors=INTERCEPTORS,
        )
    finally:
        await clients.close()


async def ensure_issue10_schedules(client: Client, settings: Settings) -> None:
    """The weekly review (Monday 06:00, center time zone) and the account-change digest."""
    for ensure in (ensure_weekly_review_schedule, ensure_digest_schedule):
        try:
            await ensure(client, task_queue=settings.task_queue, timezone=settings.center_timezone)
        except Exception as exc:  # the worker's own work goes on; the next start tries again
            log.warning("schedule not set up", schedule=ensure.__name__, error=repr(exc))


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
    try:
        await ensure_schedules(client, settings)
    except Exception as exc:  # as above
        log.warning("open-order schedules not set up", error=repr(exc))
    await ensure_issue10_schedules(client, settings)
    async with build_worker(client, settings, pool) as worker, worker:
        log.info("worker started", task_queue=settings.task_queue)
        await stop.wait()
    log.info("worker stopped")
