"""Issue 7: the OMS down for 45 minutes, on the time-skipping server. One
incident for every order; the IT support contacts told exactly once, after 30
minutes; the CSC manager's fallback sends orders to the branch through iSeries;
OMS comes back and every PO ends with exactly one OMS order."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import asyncpg
import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from db import read_model
from domain import search
from domain.identity import Actor, Role
from domain.incident import (
    AffectedStatus,
    ApproveFallback,
    IncidentPolicy,
    IncidentStatus,
    JoinIncident,
    StartIncident,
)
from domain.order.models import OrderStatus
from domain.tasks import TaskDecision
from simulators.oms import Line, OrderIn
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.factories import EVERYTHING, REP, shipment
from tests.workflow.conftest import eventually, start_order, wait_for_status
from workflows.incident import IncidentWorkflow
from workflows.order import OrderWorkflow

MANAGER = Actor(person_id="carol.nguyen", roles=frozenset({Role.CSC_MANAGER}))
TEAM_LEAD = Actor(person_id="tom.baker", roles=frozenset({Role.TEAM_LEAD}))
IT_SUPPORT = {"ivy.shah@example.com", "raj.patel@example.com"}  # demo data: sterling_oms


async def only_these_orders_in_flight(pool: asyncpg.Pool) -> None:
    """The test database is shared by the whole run, and other tests leave orders
    open in the read model: their accounts would count as in flight too."""
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE workflow_records SET closed_at = now() WHERE kind = 'order' AND closed_at IS NULL"
        )


async def fallback_tasks(pool: asyncpg.Pool, earlier: set[str]) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        tasks = await read_model.list_tasks(
            conn, is_open=True, access=None, kind="outage_fallback", limit=10, offset=0
        )
    return [t for t in tasks if t["task_id"] not in earlier]


@pytest.fixture
async def earlier(pool: asyncpg.Pool) -> set[str]:
    """Fallback tasks open before the test (the workflow fuzzer's outages leave
    some in the shared read model): not this test's."""
    return {t["task_id"] for t in await fallback_tasks(pool, set())}


async def escalations(sims: Simulators) -> list[dict]:
    return [m for m in await sims.emails() if "incident-sterling_oms-" in m["subject"]]


async def test_oms_down_for_45_minutes_one_incident_escalated_once_fallback_and_reconciled(
    env: WorkflowEnvironment,
    client: Client,
    settings: Settings,
    sims: Simulators,
    pool: asyncpg.Pool,
    earlier: set[str],
) -> None:
    await only_these_orders_in_flight(pool)
    await sims.fault("oms", down=True)
    orders = [await start_order(client, settings) for _ in range(3)]
    fallback, waits = orders[:2], orders[2]

    # Past the 2-minute detection threshold every order joins the one incident.
    await env.sleep(timedelta(minutes=3))
    incident = client.get_workflow_handle_for(IncidentWorkflow.run, "incident-sterling_oms")

    async def all_joined() -> object:
        view = await incident.query(IncidentWorkflow.view)
        return view if len(view.affected_orders) == 3 and view.it_portal_ticket else None

    opened = await eventually(all_joined, "every order in the incident", tries=400)
    assert opened.status == IncidentStatus.OPEN and opened.affected_accounts == ["401693"]
    assert {o.order_id for o in opened.affected_orders} == {h.id for h in orders}
    for handle in orders:

        async def told(handle: WorkflowHandle = handle) -> object:
            view = await handle.query(OrderWorkflow.view)
            return view if view.incident_id else None

        view = await eventually(told, f"{handle.id} knows its incident")
        assert view.status == OrderStatus.WAITING_ON_SYSTEM
        assert (view.incident_id, view.waiting_on) == (opened.incident_id, "sterling_oms")
        described = await handle.describe()
        assert described.typed_search_attributes.get(search.INCIDENT_ID) == [opened.incident_id]
        async with pool.acquire() as conn:
            assert (await read_model.get_record(conn, handle.id))["status"] == "waiting_on_system"
    (ticket,) = sims.state.it_portal.tickets.values()
    assert ticket.platform == "sterling_oms" and opened.incident_id in ticket.description
    # Orders wait on OMS: the CSC manager's call, due when the SOP's 30 minutes are up.
    (task,) = await fallback_tasks(pool, earlier)
    assert (task["role"], task["workflow_id"]) == ("csc_manager", "incident-sterling_oms")
    assert task["due_at"] - opened.opened_at == timedelta(minutes=30)

    # Not before 30 minutes ...
    await env.sleep(timedelta(minutes=24))
    assert await escalations(sims) == []
    # ... then every IT support contact of the OMS, once.
    await env.sleep(timedelta(minutes=6))

    async def escalated() -> object:
        view = await incident.query(IncidentWorkflow.view)
        return view if view.escalated_at and view.notifications[-1].channel == "email" else None

    view = await eventually(escalated, "the escalation")
    assert view.escalated_at - view.opened_at >= timedelta(minutes=30)
    (sent,) = await escalations(sims)
    assert set(sent["to"]) == IT_SUPPORT
    assert sims.state.it_portal.tickets[ticket.number].urgency == 1

    # The CSC manager approves manual entry in iSeries for two of the orders; a
    # rep may not.
    approve = ApproveFallback(
        actor=MANAGER,
        incident_id=view.incident_id,
        comment="OMS down since 9:00, branch needs these today",
        orders=[h.id for h in fallback],
    )
    with pytest.raises(WorkflowUpdateFailedError):
        await incident.execute_update(
            IncidentWorkflow.approve_fallback, approve.model_copy(update={"actor": REP})
        )
    decided = await incident.execute_update(IncidentWorkflow.approve_fallback, approve)
    assert decided.fallbacks[0].decided_by == "carol.nguyen"
    assert await fallback_tasks(pool, earlier) == []  # decided: the task is closed
    # An order trying OMS again on its own just then takes it when that try ends.
    await env.sleep(timedelta(minutes=3))
    for handle in fallback:
        await wait_for_status(handle, OrderStatus.RELEASED)
        view = await handle.query(OrderWorkflow.view)
        assert view.oms_order_id is None and view.iseries_fallback.approved_by == "carol.nguyen"
        (entered,) = [o for o in sims.state.iseries.orders.values() if o.external_ref == handle.id]
        assert (
            entered.source == "direct"
            and entered.iseries_order_id == view.iseries_fallback.iseries_order_id
        )
        assert any(t.iseries_order_id == entered.iseries_order_id
                   for t in sims.state.iseries.pick_tickets.values())  # fmt: skip
    assert (await waits.query(OrderWorkflow.view)).status == OrderStatus.WAITING_ON_SYSTEM
    # The branch delivers one of them while OMS is still down.
    await fallback[0].execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING))

    # OMS comes back 45 minutes in: the incident's next probe finds it.
    await env.sleep(timedelta(minutes=45) - (await env.get_current_time() - opened.opened_at))
    assert sims.state.oms.orders == {}
    await sims.fault("oms", down=False)
    await env.sleep(timedelta(seconds=40))

    async def closed() -> object:
        view = await incident.query(IncidentWorkflow.view)
        return view if view.status == IncidentStatus.CLOSED else None

    view = await eventually(closed, "the incident closes once reconciled", tries=400)
    assert (
        timedelta(minutes=43) <= timedelta(seconds=view.duration_seconds) <= timedelta(minutes=47)
    )
    assert view.reconciliation.entered_in_iseries == view.reconciliation.reconciled == 2
    statuses = {o.order_id: o.status for o in view.affected_orders}
    assert statuses == {
        fallback[0].id: AffectedStatus.RECONCILED,
        fallback[1].id: AffectedStatus.RECONCILED,
        waits.id: AffectedStatus.RESUMED,
    }
    assert sims.state.it_portal.tickets[ticket.number].state == "resolved"

    await wait_for_status(waits, OrderStatus.RELEASED)
    for handle in orders[1:]:
        await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING))
    for handle in orders:
        assert (await handle.result()).status == OrderStatus.COMPLETED
        oms_orders = await sims.oms_orders(handle.id)
        iseries_orders = [
            o for o in sims.state.iseries.orders.values() if o.external_ref == handle.id
        ]
        assert len(oms_orders) == 1 and len(iseries_orders) == 1, handle.id
        # OMS's order is the iSeries order, never pushed there a second time.
        assert oms_orders[0]["iseries_order_id"] == iseries_orders[0].iseries_order_id
        assert oms_orders[0]["status"] == "released"
        actions = [a.action for a in (await handle.query(OrderWorkflow.view)).audit]
        assert actions.count("reconciled") == (1 if handle in fallback else 0), handle.id
    assert len(await escalations(sims)) == 1
    await record_history(client, incident.id, "incident-oms-down-escalated-fallback-reconciled")
    await record_history(client, fallback[0].id, "order-iseries-fallback-reconciled")
    await record_history(client, waits.id, "order-waited-in-incident-resumed-through-oms")


async def test_an_incident_continues_as_new_while_many_orders_join(
    client: Client, settings: Settings, sims: Simulators, pool: asyncpg.Pool
) -> None:
    """A thousand orders may join one outage: the incident's history stays short."""
    await sims.fault("iseries", down=True)
    started = await client.start_workflow(
        IncidentWorkflow.run,
        StartIncident(platform="iseries", policy=IncidentPolicy(history_limit=30)),
        id="incident-iseries",
        task_queue=settings.task_queue,
    )
    incident = client.get_workflow_handle_for(IncidentWorkflow.run, started.id)
    batch = uuid.uuid4().hex[:6].upper()
    for n in range(12):
        order_id = f"order-401693-CAN{batch}{n}"
        await incident.signal(
            IncidentWorkflow.join,
            JoinIncident(order_id=order_id, account_number="401693", platform="iseries"),
        )

        # One by one, as orders find iSeries down: each in the audit log before
        # the next joins (read from PostgreSQL, not by querying a run that may
        # be continuing as new).
        async def recorded(order_id: str = order_id) -> bool:
            return bool(
                await pool.fetchval(
                    "SELECT count(*) FROM audit_log WHERE action = 'orders joined'"
                    " AND position($1 in comment) > 0",
                    order_id,
                )
            )

        await eventually(recorded, f"{order_id} recorded as joined")

    async def continued() -> object:
        if (await incident.describe()).run_id == started.result_run_id:
            return None
        view = await incident.query(IncidentWorkflow.view)
        return view if len(view.affected_orders) == 12 else None

    view = await eventually(continued, "a new run with all twelve", tries=400)
    assert view.incident_id.startswith("incident-iseries-") and view.status == IncidentStatus.OPEN
    assert "continued as new" in [a.action for a in view.audit]
    await incident.terminate()


async def test_the_csc_manager_declines_the_fallback_and_orders_resume_through_oms(
    env: WorkflowEnvironment,
    client: Client,
    settings: Settings,
    sims: Simulators,
    pool: asyncpg.Pool,
    earlier: set[str],
) -> None:
    await sims.fault("oms", down=True)
    handle = await start_order(client, settings)
    await env.sleep(timedelta(minutes=3))
    incident = client.get_workflow_handle_for(IncidentWorkflow.run, "incident-sterling_oms")

    async def task() -> object:
        return (await fallback_tasks(pool, earlier)) or None

    (open_task,) = await eventually(task, "the CSC manager's task", tries=400)
    decline = TaskDecision(
        task_id=open_task["task_id"],
        decision="decline_fallback",
        fields={"comment": "OMS is back within the hour"},
        actor=MANAGER,
    )
    with pytest.raises(WorkflowUpdateFailedError):  # not the team lead's call
        await incident.execute_update("decide", decline.model_copy(update={"actor": TEAM_LEAD}))
    await incident.execute_update("decide", decline)
    await incident.signal("carry_out")  # as the API does once answered
    view = await incident.query(IncidentWorkflow.view)
    assert view.audit[-1].action == "fallback declined" and view.audit[-1].actor == "carol.nguyen"

    async def closed_in_read_model() -> bool:
        return await fallback_tasks(pool, earlier) == []

    await eventually(closed_in_read_model, "the CSC manager's task closed")

    await sims.fault("oms", down=False)
    await env.sleep(timedelta(seconds=40))
    await wait_for_status(handle, OrderStatus.RELEASED)
    assert len(await sims.oms_orders(handle.id)) == 1
    assert (await handle.query(OrderWorkflow.view)).iseries_fallback is None
    closed = await incident.result()
    assert closed.status == IncidentStatus.CLOSED and closed.fallbacks == []
    assert [o.status for o in closed.affected_orders] == [AffectedStatus.RESUMED]
    await handle.terminate()
    await record_history(client, incident.id, "incident-fallback-declined")


async def test_an_order_oms_refuses_to_reconcile_is_recorded_and_still_completes(
    env: WorkflowEnvironment, client: Client, settings: Settings, sims: Simulators
) -> None:
    await sims.fault("oms", down=True)
    handle = await start_order(client, settings)
    await env.sleep(timedelta(minutes=3))
    incident = client.get_workflow_handle_for(IncidentWorkflow.run, "incident-sterling_oms")

    async def told() -> object:
        view = await handle.query(OrderWorkflow.view)
        return view.incident_id

    incident_id = await eventually(told, "the order knows its incident", tries=400)
    await incident.execute_update(
        IncidentWorkflow.approve_fallback,
        ApproveFallback(actor=MANAGER, incident_id=incident_id, comment="enter it by hand"),
    )
    await env.sleep(timedelta(minutes=3))
    await wait_for_status(handle, OrderStatus.RELEASED)
    # Meanwhile someone put the PO into OMS by hand, as another iSeries order.
    po = handle.id.removeprefix("order-401693-")
    line = Line(line_number=1, part_id="HX-1001", pool_id="ODS-MAIN", uom="EA",
                quantity=Decimal(100), unit_price=Decimal("2.35"))  # fmt: skip
    sims.state.oms.add_order(
        OrderIn(
            external_ref=handle.id,
            account_number="401693",
            po_number=po,
            status="released",
            iseries_order_id="ISO-BY-HAND",
            lines=[line],
        )  # fmt: skip
    )
    await sims.fault("oms", down=False)
    await env.sleep(timedelta(seconds=40))

    async def closed() -> object:
        view = await incident.query(IncidentWorkflow.view)
        return view if view.status == IncidentStatus.CLOSED else None

    view = await eventually(closed, "the incident closes", tries=400)
    assert [o.status for o in view.affected_orders] == [AffectedStatus.RECONCILE_REFUSED]
    assert view.reconciliation.reconciled == 0
    order = await handle.query(OrderWorkflow.view)
    refused = [a for a in order.audit if a.action == "reconciliation refused"]
    assert len(refused) == 1 and "ISO-BY-HAND" in refused[0].comment
    assert order.iseries_fallback.reconcile_refused
    await handle.execute_update(OrderWorkflow.report_shipment, shipment("RUN-1", *EVERYTHING))
    assert (await handle.result()).status == OrderStatus.COMPLETED
    await record_history(client, handle.id, "order-iseries-fallback-reconcile-refused")
