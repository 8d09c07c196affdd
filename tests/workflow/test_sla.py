"""The hold-resolution SLA as durable timers: a reminder to the rep at 75 %, an
escalation to the team lead at 100 %, nothing once the order is confirmed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain import search
from domain.order.models import OrderStatus
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.workflow.conftest import start_order, wait_for_status
from tests.workflow.test_holds import LEAD, decide, open_tasks, task_of, with_lines
from workflows.order import OrderWorkflow

WRONG_PRICE = with_lines(line1={"unit_price": Decimal("2.10")})


async def test_an_unresolved_hold_reminds_the_rep_then_escalates_to_the_team_lead(
    env: WorkflowEnvironment, client: Client, settings: Settings, sims: Simulators
) -> None:
    handle = await start_order(client, settings, **WRONG_PRICE)
    await wait_for_status(handle, OrderStatus.ON_HOLD)

    await env.sleep(timedelta(minutes=95))  # past 75 % of 2 hours
    view = await handle.query(OrderWorkflow.view)
    assert "sla reminder" in [a.action for a in view.audit]
    assert "sla breached" not in [a.action for a in view.audit]
    assert any("Holds due in" in m["subject"] for m in await sims.emails())

    await env.sleep(timedelta(minutes=30))  # past 100 %
    breach = await task_of(handle, "sla_breach")
    assert breach.assignee == "tom.baker"
    view = await handle.query(OrderWorkflow.view)
    assert "sla breached" in [a.action for a in view.audit]
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(search.SLA_BREACHED) is True
    assert attributes.get(search.HOLD_CODES) == ["PRICE"]
    assert any(m["subject"].startswith("SLA breached") for m in await sims.emails())

    await decide(handle, breach, "acknowledge", actor=LEAD, comment="talked to Maria")
    assert breach.task_id not in {t.task_id for t in await open_tasks(handle)}
    await record_history(client, handle.id, "order-sla-breached")


async def test_an_order_confirmed_in_time_is_never_escalated(
    env: WorkflowEnvironment, client: Client, settings: Settings
) -> None:
    handle = await start_order(client, settings, **WRONG_PRICE)
    await wait_for_status(handle, OrderStatus.ON_HOLD)
    await decide(
        handle, await task_of(handle, "resolve_hold_price"), "correct_price", unit_price="2.35"
    )
    await wait_for_status(handle, OrderStatus.RELEASED)
    await env.sleep(timedelta(hours=3))
    actions = [a.action for a in (await handle.query(OrderWorkflow.view)).audit]
    assert "sla reminder" not in actions and "sla breached" not in actions
