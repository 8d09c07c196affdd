"""System events on an open order (time-skipping server): a guest not home is
followed up and booked again; an SMS "YES" confirms; a later ATP date sends a
scheduling order back to waiting and texts the guest; a no-fit goes to CWC at
once and the store's replacement waits for its new ATP date."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from domain.open_order.models import (
    AppointmentKind,
    BookAppointment,
    ConfirmationDue,
    EventReceived,
    OpenOrderStatus,
    OrderCode,
    Outcome,
    Resolution,
    ResolveCwc,
    SetCode,
    SmsVoiceEvent,
)
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.open_orders import AGENT, DALLAS, ERP, PHONES, STORE, open_order
from tests.workflow.conftest import eventually
from tests.workflow.test_open_order import (
    contact,
    erp_event,
    log,
    sms_sent,
    start,
    until,
    view_of,
    work_task,
)
from workflows.open_order import OpenOrderWorkflow


async def book(  # type: ignore[no-untyped-def]
    handle, env: WorkflowEnvironment, days: int = 6, comment: str = "booked by phone"
) -> BookAppointment:
    now = await env.get_current_time()
    day = DALLAS.today(now) + timedelta(days=days)
    while not DALLAS.is_business_day(day):
        day += timedelta(days=1)
    start_at = DALLAS.at(day, DALLAS.opens)
    move = BookAppointment(
        actor=AGENT, kind=AppointmentKind.DELIVERY, window_start=start_at,
        window_end=start_at + timedelta(hours=4), comment=comment,
    )  # fmt: skip
    await handle.execute_update(OpenOrderWorkflow.book_appointment, move)
    return move


async def test_a_guest_not_home_is_followed_up_and_booked_again(
    env: WorkflowEnvironment, client: Client, settings: Settings
) -> None:
    order = open_order()
    handle = await start(client, settings, order)
    await until(handle, lambda v: v.status == OpenOrderStatus.SCHEDULING, "available")
    await book(handle, env)
    await handle.signal(OpenOrderWorkflow.system_event, erp_event(order.sales_order, "not_home"))
    view = await until(handle, lambda v: v.status == OpenOrderStatus.SCHEDULING, "follow-up")
    assert view.appointment is None and view.delivery_status.value == "open"
    task = await work_task(handle)
    assert task is not None and task.kind == "schedule_contact"
    assert task.payload["next_action"] == (
        "the guest not home for the delivery: follow up and reschedule"
    )
    await book(handle, env, days=9)
    assert (await view_of(handle)).status == OpenOrderStatus.BOOKED
    await record_history(client, handle.id, "open_order-not-home-rebooked")


async def test_a_guest_texting_yes_confirms_the_appointment(
    env: WorkflowEnvironment, client: Client, settings: Settings
) -> None:
    order = open_order()
    handle = await start(client, settings, order)
    await until(handle, lambda v: v.status == OpenOrderStatus.SCHEDULING, "available")
    await book(handle, env)
    reply = SmsVoiceEvent(event_id="r1", sales_order=order.sales_order, type="reply",
                          phone=PHONES[0], text=" Yes ")  # fmt: skip
    await handle.signal(OpenOrderWorkflow.system_event, EventReceived(actor=ERP, sms_voice=reply))
    view = await until(handle, lambda v: v.status == OpenOrderStatus.CONFIRMED, "confirmed")
    assert view.contacts[-1].outcome.value == "replied"
    assert view.delivery_status.value == "confirmed"


async def test_a_later_atp_date_sends_it_back_to_waiting_and_texts_the_guest(
    env: WorkflowEnvironment, client: Client, settings: Settings, sims: Simulators
) -> None:
    order = open_order()
    handle = await start(client, settings, order)
    await until(handle, lambda v: v.status == OpenOrderStatus.SCHEDULING, "available")
    later = DALLAS.today(await env.get_current_time()) + timedelta(days=8)
    await handle.signal(
        OpenOrderWorkflow.system_event,
        erp_event(order.sales_order, "atp_changed", atp_date=later),
    )
    view = await until(handle, lambda v: v.status == OpenOrderStatus.AWAITING_PRODUCT, "waiting")
    assert view.atp_date == later
    await eventually(sms_sent(sims), "an SMS to the guest", tries=600)
    [text] = sims.state.smsvoice.messages.values()
    assert text.to == PHONES[0] and str(later) in text.body
    await env.sleep(timedelta(days=9))
    await until(handle, lambda v: v.status == OpenOrderStatus.SCHEDULING, "available again")
    await record_history(client, handle.id, "open_order-atp-revised-later")


async def test_a_no_fit_goes_to_cwc_at_once_and_a_replacement_waits_for_its_atp(
    env: WorkflowEnvironment, client: Client, settings: Settings
) -> None:
    order = open_order()
    handle = await start(client, settings, order)
    await until(handle, lambda v: v.status == OpenOrderStatus.SCHEDULING, "available")
    await handle.signal(OpenOrderWorkflow.system_event, erp_event(order.sales_order, "no_fit"))
    view = await until(handle, lambda v: v.status == OpenOrderStatus.CWC, "cwc")
    assert view.cwc_reason and view.cwc_reason.startswith("no fit order")
    new_atp = DALLAS.today(await env.get_current_time()) + timedelta(days=14)
    replaced = await handle.execute_update(
        OpenOrderWorkflow.resolve_cwc,
        ResolveCwc(actor=STORE, resolution=Resolution.REPLACE, comment="smaller sofa ordered",
                   atp_date=new_atp),
    )  # fmt: skip
    assert replaced.status == OpenOrderStatus.AWAITING_PRODUCT
    assert await work_task(handle) is None
    assert replaced.next_action == f"waiting for the merchandise (ATP {new_atp})"
    await record_history(client, handle.id, "open_order-no-fit-replaced")


async def test_no_guest_name_or_number_reaches_a_log_line(
    env: WorkflowEnvironment,
    client: Client,
    settings: Settings,
    sims: Simulators,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    order = open_order(code=OrderCode.HOLD)
    handle = await start(client, settings, order)
    await until(handle, lambda v: v.status == OpenOrderStatus.SCHEDULING, "available")
    now = await env.get_current_time()
    said = f"Dana Whitfield answered on {PHONES[1]}"  # a person's comment may name anyone
    await log(handle, contact(now, outcome=Outcome.REACHED, phone=PHONES[1], comment=said))
    await handle.execute_update(
        OpenOrderWorkflow.set_code, SetCode(actor=AGENT, code=None, comment=said)
    )
    await book(handle, env, comment=said)
    await handle.signal(OpenOrderWorkflow.confirmation_due, ConfirmationDue(list_date=now.date()))
    await until(handle, lambda v: all(c.call_id for c in v.contacts if c.by != AGENT.person_id),
                "calls placed")  # fmt: skip
    reply = SmsVoiceEvent(event_id="r2", sales_order=order.sales_order, type="reply",
                          phone=PHONES[0], text=f"yes, {order.guest.name} here")  # fmt: skip
    await handle.signal(OpenOrderWorkflow.system_event, EventReceived(actor=ERP, sms_voice=reply))
    await handle.signal(OpenOrderWorkflow.system_event, erp_event(order.sales_order, "no_fit"))
    await until(handle, lambda v: v.status == OpenOrderStatus.CWC, "cwc")
    logged = caplog.text
    assert "open_order" in logged  # the workflow did log its moves
    for secret in (order.guest.name, "Whitfield", *PHONES):
        assert secret not in logged, secret


async def test_every_change_reaches_the_erps_audit_comments_log_once_in_order(
    env: WorkflowEnvironment, client: Client, settings: Settings, sims: Simulators
) -> None:
    known, unknown = open_order(), open_order()
    await sims.http.put(f"/erp/open-orders/{known.sales_order}",
                        json=known.model_dump(mode="json"))  # fmt: skip
    await sims.fault("erp", down=True)  # an outage first: waited out, nothing lost
    h_known = await start(client, settings, known)
    h_unknown = await start(client, settings, unknown)
    await until(h_known, lambda v: v.status == OpenOrderStatus.SCHEDULING, "available")
    await log(h_known, contact(await env.get_current_time()))
    await sims.fault("erp", down=False)
    view = await until(
        h_unknown, lambda v: any(e.action == "ERP comments log not written" for e in v.audit),
        "refusal noted",
    )  # fmt: skip
    assert sum(1 for e in view.audit if e.action == "ERP comments log not written") == 1

    async def logged_in_full() -> tuple | None:
        view = await view_of(h_known)
        erp_log = sims.state.erp.comments.get(known.sales_order, [])
        return (view, erp_log) if erp_log and len(erp_log) == len(view.audit) else None

    view, erp_log = await eventually(logged_in_full, "every audit entry in the ERP log", tries=600)
    assert [c.action for c in erp_log] == [e.action for e in view.audit]
    assert "contact logged" in [c.action for c in erp_log]
