"""Issue 9's "Done when", over HTTP with the demo keys on the real dev server:
an open order waits for its ATP date (a revised date texted to the guest), an
OOM agent logs attempts, books a delivery, the daily confirmation list calls
every number, the provider's webhook confirms it, and the ERP's "delivered"
closes it; a second order whose guest never answers goes to CWC after five
attempts over a week (daytime, evening, weekend) and lands on the store
manager's queue, who resolves it. Webhook signatures, unknown orders, bad
bodies and redelivery; every step in the audit log and the Temporal UI."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.contracts import erp as erp_contract
from activities.contracts.erp import ConfirmationListReport, ConfirmationListRequest
from db.open_orders import store_calendar
from domain import search
from domain.calendar import Slot, StoreCalendar
from sopflow.config import Settings
from tests.conftest import Simulators, record_history
from tests.open_orders import PHONES, sales_order, signed
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def order_body(so: str, *, atp: str, code: str | None = None) -> dict[str, Any]:
    return {
        "sales_order": so,
        "store_id": "101",
        "type": "delivery",
        "guest": {
            "name": "Dana Whitfield",
            "phones": PHONES,
            "email": "dana@example.com",
            "sms_consent": True,
        },
        "lines": [
            {"line_number": 1, "sku": "SOFA-3S", "description": "Sofa", "quantity": 1,
             "atp_date": atp},
            {"line_number": 2, "sku": "TBL-OAK", "description": "Table", "quantity": 1,
             "atp_date": atp},
        ],
        "balance_owing": "0",
        "code": code,
    }  # fmt: skip


async def webhook(
    api: httpx.AsyncClient, settings: Settings, path: str, body: dict[str, Any]
) -> httpx.Response:
    secret = settings.erp_webhook_secret if path == "erp" else settings.smsvoice_webhook_secret
    raw, headers = signed(body, secret)
    return await api.post(f"/webhooks/{path}", content=raw, headers=headers)


async def record(api: httpx.AsyncClient, key: str, oid: str, check: Any, what: str) -> dict:
    for _ in range(600):
        resp = await api.get(f"/open-orders/{oid}", headers=bearer(key))
        if resp.status_code == 200 and check(resp.json()):
            return resp.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{oid}: never {what}: {resp.status_code} {resp.text[:600]}")


async def tasks_of(api: httpx.AsyncClient, key: str, oid: str, kind: str) -> list[dict]:
    for _ in range(600):
        resp = await api.get("/tasks", params={"workflow_id": oid, "kind": kind},
                             headers=bearer(key))  # fmt: skip
        assert resp.status_code == 200, resp.text
        if resp.json()["items"]:
            return resp.json()["items"]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{oid}: no {kind} task")


def contact(at: datetime, outcome: str = "no_answer", phone: str = PHONES[0], **more: Any) -> dict:
    return {
        "channel": "call",
        "phone": phone,
        "outcome": outcome,
        "at": at.isoformat(),
        "contact_status": "NA" if outcome == "no_answer" else "CB",
        "comment": "called, " + outcome.replace("_", " "),
        **more,
    }


async def test_an_open_order_from_atp_to_delivery_with_webhooks(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    sims: Simulators,
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
) -> None:
    system, agent, store = demo_keys["system"], demo_keys["oom_agent"], demo_keys["store_manager"]
    so = sales_order()
    oid = f"open-order-{so}"
    async with pool.acquire() as conn:
        dallas = await store_calendar(conn, "101")
    assert dallas is not None
    now = datetime.now(UTC)
    atp = dallas.today(now) + timedelta(days=3)
    # The sale is in the ERP (its audit comments log gets every change).
    entered = await sims.http.put(f"/erp/open-orders/{so}", json=order_body(so, atp=str(atp)))
    assert entered.status_code == 200

    created = await api.post("/open-orders", json=order_body(so, atp=atp.isoformat()),
                             headers=bearer(system))  # fmt: skip
    assert created.status_code == 201, created.text
    assert created.json() == {"open_order_id": oid, "created": True, "href": f"/open-orders/{oid}"}
    again = await api.post("/open-orders", json=order_body(so, atp=atp.isoformat()),
                           headers=bearer(system))  # fmt: skip
    assert (again.status_code, again.json()["created"]) == (200, False)
    other = await api.post("/open-orders", json=order_body(so, atp="2027-01-05"),
                           headers=bearer(system))  # fmt: skip
    assert other.status_code == 409, other.text
    by_agent = await api.post("/open-orders", json=order_body(so, atp="2027-01-05"),
                              headers=bearer(agent))  # fmt: skip
    assert by_agent.status_code == 403

    # It waits for its ATP date.
    waiting = await record(api, agent, oid, lambda r: r["audit"], "received")
    assert waiting["status"] == "awaiting_product"
    assert waiting["next_action"] == f"waiting for the merchandise (ATP {atp})"

    # The ERP revises the ATP date: the guest is texted (consented).
    later = atp + timedelta(days=4)
    revised = await webhook(api, it_settings, "erp", {
        "event_id": f"atp-{so}", "sales_order": so, "type": "atp_changed",
        "atp_date": later.isoformat(),
    })  # fmt: skip
    assert revised.status_code == 202, revised.text
    await record(api, agent, oid, lambda r: r["atp_date"] == later.isoformat(), "ATP revised")
    for _ in range(600):
        texts = [m for m in sims.state.smsvoice.messages.values() if so in m.body]
        if texts:
            break
        await asyncio.sleep(0.05)
    assert texts and texts[0].to == PHONES[0] and str(later) in texts[0].body

    # Signatures, bodies and orders the webhooks refuse; nothing changes.
    raw, headers = signed({"event_id": "x1", "sales_order": so, "type": "product_arrived"}, "no")
    assert (await api.post("/webhooks/erp", content=raw, headers=headers)).status_code == 401
    unknown = await webhook(api, it_settings, "erp", {
        "event_id": "x2", "sales_order": "SO-NOT-THERE", "type": "product_arrived"})  # fmt: skip
    assert unknown.status_code == 404, unknown.text
    malformed = await webhook(api, it_settings, "erp", {
        "event_id": "x3", "sales_order": so, "type": "payment_posted"})  # fmt: skip
    assert malformed.status_code == 422
    assert "payment_posted needs amount" in malformed.json()["detail"]

    # The merchandise arrives (sent twice: the ERP redelivers): scheduling.
    arrived = {"event_id": f"arr-{so}", "sales_order": so, "type": "product_arrived"}
    assert (await webhook(api, it_settings, "erp", arrived)).status_code == 202
    assert (await webhook(api, it_settings, "erp", arrived)).status_code == 202
    scheduling = await record(api, agent, oid, lambda r: r["status"] == "scheduling", "available")
    assert sum(1 for e in scheduling["audit"] if e["action"] == "product arrived") == 1
    [task] = await tasks_of(api, agent, oid, "schedule_contact")
    assert task["payload"]["next_action"] == "contact the guest to book the delivery"

    # The agent's attempts: a comment is required, the store may not log one now.
    now = datetime.now(UTC) - timedelta(minutes=2)
    bare = await api.post(f"/open-orders/{oid}/contacts", json=contact(now, comment=""),
                          headers=bearer(agent))  # fmt: skip
    assert (bare.status_code, bare.json()["detail"]) == (422, "log contact needs a comment")
    wrong = await api.post(f"/open-orders/{oid}/contacts", json=contact(now),
                           headers=bearer(store))  # fmt: skip
    assert wrong.status_code == 403, wrong.text
    first = await api.post(f"/open-orders/{oid}/contacts", json=contact(now),
                           headers=bearer(agent))  # fmt: skip
    assert first.status_code == 200, first.text
    reached = await api.post(
        f"/open-orders/{oid}/contacts",
        json=contact(now + timedelta(minutes=1), "reached", PHONES[1],
                     next_contact_date=(now + timedelta(days=1)).isoformat()),
        headers=bearer(agent),
    )  # fmt: skip
    assert reached.status_code == 200, reached.text

    # Booked for a business day far enough out that the list, not the booking, calls.
    day = dallas.today(now) + timedelta(days=5)
    while not dallas.is_business_day(day):
        day += timedelta(days=1)
    start_at = dallas.at(day, time(10))
    booked = await api.post(f"/open-orders/{oid}/appointments", json={
        "kind": "delivery", "window_start": start_at.isoformat(),
        "window_end": (start_at + timedelta(hours=4)).isoformat(),
        "comment": "guest chose the morning window",
    }, headers=bearer(agent))  # fmt: skip
    assert booked.status_code == 200, booked.text
    assert (booked.json()["status"], booked.json()["delivery_status"]) == ("booked", "scheduled")
    record_now = await record(api, agent, oid, lambda r: r["appointment"], "booked")
    confirm_by = datetime.fromisoformat(record_now["appointment"]["confirm_by"])
    assert confirm_by == dallas.at(dallas.prior_business_day(day), dallas.closes)

    # The daily confirmation list (the Schedule's workflow) calls every number.
    report = await dev_server.client.execute_workflow(
        erp_contract.CONFIRMATION_WORKFLOW,
        ConfirmationListRequest(until=confirm_by + timedelta(seconds=1)),
        id=f"confirmation-list-{uuid.uuid4().hex[:8]}",
        task_queue=it_settings.task_queue,
        result_type=ConfirmationListReport,
    )
    assert report.signalled >= 1
    listed = await record(
        api, agent, oid,
        lambda r: len([c for c in r["contacts"] if c["call_id"]]) == 2, "calls placed",
    )  # fmt: skip
    calls = {c.to: c for c in sims.state.smsvoice.calls.values() if oid in c.reference}
    assert sorted(calls) == sorted(PHONES)
    [confirmation] = await tasks_of(api, agent, oid, "confirmation_call")
    assert confirmation["due_at"] is not None
    assert "numbers not yet tried: …0101, …0102" in listed["next_action"]

    # The provider reports the calls: no answer on one, confirmed on the other.
    for phone, outcome in ((PHONES[0], "no_answer"), (PHONES[1], "confirmed")):
        event = {"event_id": f"call-{calls[phone].call_id}", "sales_order": so,
                 "type": "call_outcome", "phone": phone, "call_id": calls[phone].call_id,
                 "outcome": outcome}  # fmt: skip
        assert (await webhook(api, it_settings, "sms-voice", event)).status_code == 202
    confirmed = await record(api, agent, oid, lambda r: r["status"] == "confirmed", "confirmed")
    assert confirmed["delivery_status"] == "confirmed"

    # The ERP reports the delivery: closed.
    done = {"event_id": f"del-{so}", "sales_order": so, "type": "delivered"}
    assert (await webhook(api, it_settings, "erp", done)).status_code == 202
    closed = await record(api, agent, oid, lambda r: r["closed_at"], "closed")
    assert closed["status"] == "closed"
    assert closed["delivery_status"] == "delivered" and closed["closed_at"]
    actors = {(e["action"], e["actor"]) for e in closed["audit"]}
    assert ("contact logged", "demo-oom-agent") in actors
    assert ("delivery booked", "demo-oom-agent") in actors
    assert ("delivered", "erp") in actors
    assert ("appointment confirmed", "sms-voice-provider") in actors
    assert len(closed["contacts"]) == 4  # two by the agent, two automated calls
    late = await webhook(api, it_settings, "erp", {**done, "event_id": f"del2-{so}"})
    assert late.status_code == 409

    # The Temporal UI's story: search attributes without the guest.
    described = await dev_server.client.get_workflow_handle(oid).describe()
    attrs = described.typed_search_attributes
    assert attrs.get(search.CONTACT_STATUS) == "closed"
    assert attrs.get(search.DELIVERY_STATUS) == "delivered"
    assert attrs.get(search.STORE_ID) == "101"
    shown = " ".join(str(p.value) for p in attrs)
    assert "Dana" not in shown and PHONES[0] not in shown
    # The ERP's audit comments log has every change, in order, once.
    for _ in range(600):
        erp_log = (await sims.http.get(f"/erp/open-orders/{so}")).json()["comments"]
        if len(erp_log) == len(closed["audit"]):
            break
        await asyncio.sleep(0.05)
    assert [c["action"] for c in erp_log] == [e["action"] for e in closed["audit"]]
    assert ("contact logged", "demo-oom-agent") in {(c["action"], c["actor"]) for c in erp_log}
    summary = await described.static_summary()
    assert summary == f"Open order {so} · store 101 · delivery · 2 lines"
    await record_history(dev_server.client, oid, "open_order-delivered-with-webhooks")


def hold_attempts(cal: StoreCalendar, now: datetime) -> list[datetime]:
    """Five past attempts in the store's week: a daytime one 9–10 days ago, an
    evening, a weekend, one more, and the last a week after the first."""
    day = cal.today(now) - timedelta(days=10)
    while not cal.is_business_day(day) or day.weekday() >= 5:
        day += timedelta(days=1)
    first = cal.at(day, time(10))
    evening_day = day + timedelta(days=1)
    while not cal.is_business_day(evening_day) or evening_day.weekday() >= 5:
        evening_day += timedelta(days=1)
    saturday = day + timedelta(days=(5 - day.weekday()) % 7 or 7)
    moments = [
        first,
        cal.at(evening_day, time(18)),
        cal.at(saturday, time(11)),
        first + timedelta(days=3, hours=2),
        first + timedelta(days=7, hours=1),
    ]
    assert all(m < now for m in moments)
    assert {cal.slot(m) for m in moments[:3]} == {Slot.DAYTIME, Slot.EVENING, Slot.WEEKEND}
    return moments


async def test_a_guest_who_never_answers_goes_to_cwc_and_the_store_resolves_it(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
) -> None:
    system, agent, store = demo_keys["system"], demo_keys["oom_agent"], demo_keys["store_manager"]
    so = sales_order()
    oid = f"open-order-{so}"
    async with pool.acquire() as conn:
        dallas = await store_calendar(conn, "101")
    assert dallas is not None
    created = await api.post("/open-orders", json=order_body(so, atp="2026-01-05", code="HOLD"),
                             headers=bearer(system))  # fmt: skip
    assert created.status_code == 201, created.text
    held = await record(api, agent, oid, lambda r: r["status"] == "scheduling", "available")
    assert held["code"] == "HOLD"
    [task] = await tasks_of(api, agent, oid, "hold_contact")
    assert task["payload"]["next_action"].startswith(
        "HOLD: a daytime, an evening and a weekend attempt are still missing; 0 of 5 attempts"
    )

    moments = hold_attempts(dallas, datetime.now(UTC))
    for i, at in enumerate(moments):
        resp = await api.post(f"/open-orders/{oid}/contacts",
                              json=contact(at, phone=PHONES[i % 2]), headers=bearer(agent))  # fmt: skip
        assert resp.status_code == 200, resp.text
        if i == 3:
            assert resp.json()["status"] == "scheduling"
            assert resp.json()["next_action"].startswith("HOLD: any attempt; 4 of 5 attempts")
    assert resp.json()["status"] == "cwc"

    # On the store manager's queue (not the agent's), and on the CWC work list.
    [cwc] = await tasks_of(api, store, oid, "cwc_resolution")
    assert (cwc["assignee"], cwc["role"]) == ("demo-store-manager", "store_manager")
    assert [d["name"] for d in cwc["decisions"]] == ["reschedule", "cancel", "refund", "replace"]
    agent_view = await api.get("/tasks", params={"workflow_id": oid}, headers=bearer(agent))
    assert agent_view.json()["items"] == []
    listed = await api.get("/open-orders", params={"cwc": "true", "store": "101"},
                           headers=bearer(agent))  # fmt: skip
    assert oid in [i["open_order_id"] for i in listed.json()["items"]]

    refused = await api.post(f"/open-orders/{oid}/resolutions",
                             json={"resolution": "cancel", "comment": "x"}, headers=bearer(agent))  # fmt: skip
    assert refused.status_code == 403
    bare = await api.post(f"{cwc['href']}/complete", json={"decision": "cancel"},
                          headers=bearer(store))  # fmt: skip
    assert bare.status_code == 422, bare.text
    resolved = await api.post(
        f"{cwc['href']}/complete",
        json={"decision": "cancel", "comment": "guest unreachable for two weeks; refunded deposit"},
        headers=bearer(store),
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "cancelled"
    final = await record(api, agent, oid, lambda r: r["closed_at"], "closed")
    assert final["delivery_status"] == "cancelled"
    cwc_entry = next(e for e in final["audit"] if e["action"] == "to CWC")
    assert cwc_entry["comment"].startswith("HOLD: 5 unanswered attempts over a week")
    resolved_entry = next(e for e in final["audit"] if e["action"] == "resolved by the store")
    assert resolved_entry["actor"] == "demo-store-manager"
    assert "refunded deposit" in resolved_entry["comment"]
    await record_history(dev_server.client, oid, "open_order-hold-cwc-cancelled-by-store")
