"""Issue 17's reproductions at the edge, over HTTP on the real dev server: a NUL
(or another control character) in any free text is a 422 that names the field,
wherever the text would enter a workflow (a flag, a guest's name, an ERP or
SMS webhook, an account change, its inventory and discrepancies), and the
workflow goes on untouched; a date-or-datetime field takes a day or a time with
its offset and refuses a time without one; an absurd week is a 422."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from sopflow.config import Settings
from tests.api.test_flags_and_edits import FLAG, href, po
from tests.api.test_task_complete import history_length
from tests.api.test_tasks import price_task
from tests.integration.test_account_change_story import status_of
from tests.integration.test_open_order_e2e import PHONES, order_body, record, webhook
from tests.open_orders import sales_order
from tests.servers import bearer
from tests.workflow.conftest import eventually

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

HOSTILE = {
    "a\x00b": "NUL (U+0000)",
    "bell\x07": "a control character (U+0007)",
    "esc\x1b[31m": "a control character (U+001B)",
    "next\x85line": "a control character (U+0085)",
    "\u202egnp.exe": "a bidirectional control (U+202E)",
}


def refused_naming(resp: httpx.Response, field: str, what: str) -> None:
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"]
    assert detail.startswith(f"{field}:") and what in detail, detail


async def running(dev_server: WorkflowEnvironment, workflow_id: str) -> bool:
    described = await dev_server.client.get_workflow_handle(workflow_id).describe()
    return described.status == WorkflowExecutionStatus.RUNNING


async def test_a_control_character_in_a_flag_comment_is_a_422_and_the_order_goes_on(
    api: httpx.AsyncClient, demo_keys: dict[str, str], dev_server: WorkflowEnvironment
) -> None:
    """Before: 409 "read model cannot hold this state", and every later write of
    the order refused."""
    order_id, _ = await price_task(api, demo_keys, po())
    url, rep = f"{href(order_id)}/flags", bearer(demo_keys["account_rep"])
    before = await history_length(dev_server, order_id)
    for text, what in HOSTILE.items():
        resp = await api.post(url, json={**FLAG, "comment": text}, headers=rep)
        refused_naming(resp, "comment", what)
    assert await history_length(dev_server, order_id) == before  # nothing reached it
    # Multi-line prose is fine; the order takes the next flag as ever.
    resp = await api.post(url, json={**FLAG, "comment": "line 2\n\tdropped"}, headers=rep)
    assert resp.status_code == 201, resp.text

    async def flagged() -> dict | None:
        view = (await api.get(href(order_id), headers=rep)).json()
        return view if view["flags"] else None

    view = await eventually(flagged, "the flag in the read model")
    assert [f["comment"] for f in view["flags"]] == ["line 2\n\tdropped"]


async def test_an_edit_request_reason_and_a_shipment_refuse_control_characters(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    order_id, _ = await price_task(api, demo_keys, po())
    branch = bearer(demo_keys["branch_manager"])
    edit = {"lines": [{"line_number": 1, "quantity": "120"}], "reason": "more\x00"}
    refused_naming(
        await api.post(f"{href(order_id)}/edit-requests", json=edit, headers=branch),
        "reason",
        "NUL",
    )
    shipment = {
        "lines": [{"line_number": 1, "quantity": 1}],
        "proof_of_delivery": {"signed_by": "J.\x00Ruiz", "signed_at": "2026-11-26T15:00:00Z"},
        "carrier": "UPS\tGround",
    }
    resp = await api.post(f"{href(order_id)}/shipments", json=shipment, headers=branch)
    assert resp.status_code == 422, resp.text
    assert "proof_of_delivery.signed_by: may not contain NUL" in resp.json()["detail"]
    assert "carrier: is one line: a tab" in resp.json()["detail"]
    naive = {**shipment, "carrier": "UPS", "proof_of_delivery": {
        "signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00"}}  # fmt: skip
    resp = await api.post(f"{href(order_id)}/shipments", json=naive, headers=branch)
    refused_naming(resp, "proof_of_delivery.signed_at", "timezone")


async def test_text_that_would_enter_an_open_order_is_checked_at_every_door(
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    it_settings: Settings,
    dev_server: WorkflowEnvironment,
) -> None:
    """Before: a guest name with a NUL was accepted (201), and an ERP webhook
    whose text held one turned the open order's workflow Failed."""
    system = bearer(demo_keys["system"])
    body = order_body(sales_order(), atp="2026-01-05")
    body["guest"]["name"] = "Dana\x00Whitfield"
    refused_naming(await api.post("/open-orders", json=body, headers=system), "guest.name", "NUL")
    body["guest"]["name"] = "Dana\u202eWhitfield"
    refused_naming(
        await api.post("/open-orders", json=body, headers=system), "guest.name", "bidirectional"
    )

    so = sales_order()
    created = await api.post("/open-orders", json=order_body(so, atp="2026-01-05"), headers=system)
    assert created.status_code == 201, created.text
    oid = created.json()["open_order_id"]
    agent = demo_keys["oom_agent"]
    await record(api, agent, oid, lambda r: r["status"] == "scheduling", "available")

    for text, what in HOSTILE.items():
        erp = {"event_id": f"e-{uuid.uuid4().hex[:8]}", "sales_order": so,
               "type": "product_arrived", "note": text}  # fmt: skip
        refused_naming(await webhook(api, it_settings, "erp", erp), "note", what)
        sms = {"event_id": f"s-{uuid.uuid4().hex[:8]}", "sales_order": so, "type": "reply",
               "phone": PHONES[0], "text": text}  # fmt: skip
        refused_naming(await webhook(api, it_settings, "sms-voice", sms), "text", what)
    naive = {"event_id": f"e-{uuid.uuid4().hex[:8]}", "sales_order": so,
             "type": "product_arrived", "at": "2026-01-05T10:00:00"}  # fmt: skip
    refused_naming(await webhook(api, it_settings, "erp", naive), "at", "timezone")

    # The order took none of it and goes on: a clean webhook is taken as ever.
    ok = {"event_id": f"e-{uuid.uuid4().hex[:8]}", "sales_order": so, "type": "product_arrived",
          "note": "dock 4\nbay 2"}  # fmt: skip
    assert (await webhook(api, it_settings, "erp", ok)).status_code == 202
    await record(api, agent, oid, lambda r: any("dock 4\nbay 2" in a["comment"]
                 for a in r["audit"]), "took the clean event")  # fmt: skip
    assert await running(dev_server, oid)


async def test_next_contact_date_takes_a_day_or_an_offset_time_and_refuses_a_naive_one(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    """Before: a day answered 409 "can't compare offset-naive and offset-aware
    datetimes" with "type": "TypeError"."""
    system, agent = bearer(demo_keys["system"]), demo_keys["oom_agent"]
    created = await api.post(
        "/open-orders", json=order_body(sales_order(), atp="2026-01-05"), headers=system
    )
    oid = created.json()["open_order_id"]
    await record(api, agent, oid, lambda r: r["status"] == "scheduling", "available")
    url = f"/open-orders/{oid}/contacts"
    now = datetime.now(UTC)
    dallas = ZoneInfo("America/Chicago")  # store 101's zone; it opens at 09:00
    tomorrow = (now.astimezone(dallas) + timedelta(days=1)).date()
    attempt = {"channel": "call", "phone": PHONES[0], "outcome": "no_answer",
               "at": (now - timedelta(minutes=10)).isoformat(), "contact_status": "NA",
               "comment": "no answer, try tomorrow"}  # fmt: skip

    naive = await api.post(url, json={**attempt, "next_contact_date": "2026-12-07T10:00:00"},
                           headers=bearer(agent))  # fmt: skip
    refused_naming(naive, "next_contact_date", "needs its UTC offset")
    assert "TypeError" not in naive.text
    naive_at = await api.post(url, json={**attempt, "at": now.replace(tzinfo=None).isoformat()},
                              headers=bearer(agent))  # fmt: skip
    refused_naming(naive_at, "at", "timezone")
    absurd = await api.post(url, json={**attempt, "next_contact_date": "9999-12-31"},
                            headers=bearer(agent))  # fmt: skip
    refused_naming(absurd, "next_contact_date", "between 2000-01-01 and 2099-12-31")
    yesterday = await api.post(
        url,
        json={**attempt, "next_contact_date": (tomorrow - timedelta(days=2)).isoformat()},
        headers=bearer(agent),
    )
    assert yesterday.status_code == 422, yesterday.text
    assert "must come after the attempt" in yesterday.json()["detail"]
    assert "09:00 America/Chicago" in yesterday.json()["detail"]

    by_day = await api.post(url, json={**attempt, "next_contact_date": tomorrow.isoformat()},
                            headers=bearer(agent))  # fmt: skip
    assert by_day.status_code == 200, by_day.text
    opening = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=dallas)
    assert datetime.fromisoformat(by_day.json()["attempt"]["next_contact_date"]) == opening
    view = await record(api, agent, oid, lambda r: r["contact_date"], "a contact date")
    assert datetime.fromisoformat(view["contact_date"]) == opening

    at_time = opening.replace(hour=14).isoformat()  # with its offset
    by_time = await api.post(url, json={**attempt, "next_contact_date": at_time},
                             headers=bearer(agent))  # fmt: skip
    assert by_time.status_code == 200, by_time.text
    assert datetime.fromisoformat(by_time.json()["attempt"]["next_contact_date"]) == (
        opening.replace(hour=14)
    )


async def test_account_change_text_refuses_control_characters(
    api: httpx.AsyncClient, demo_keys: dict[str, str], dev_server: WorkflowEnvironment
) -> None:
    """Before: a NUL in an account-change comment or an inventory-loading note
    failed the workflow."""
    ram, im = bearer(demo_keys["account_manager"]), bearer(demo_keys["implementation_manager"])
    body = {"kind": "add", "national_account": f"NA{uuid.uuid4().hex[:6]}",
            "accounts": ["401693"], "comment": "Propetro\x00 joins"}  # fmt: skip
    refused_naming(await api.post("/account-changes", json=body, headers=ram), "comment", "NUL")
    created = await api.post("/account-changes", json={**body, "comment": "Propetro joins"},
                             headers=ram)  # fmt: skip
    assert created.status_code == 201, created.text
    request_id, wid = created.json()["request_id"], created.json()["workflow_id"]
    await status_of(api, demo_keys["account_manager"], request_id, "requested")
    loading = f"/account-changes/{request_id}/inventory-loading"
    for text, what in HOSTILE.items():
        resp = await api.post(loading, json={"bid": "B-1", "inventory": ["filters", text]},
                              headers=im)  # fmt: skip
        refused_naming(resp, "inventory.1", what)
        resp = await api.post(f"/account-changes/{request_id}/discrepancies",
                              json={"kind": "billing", "description": text}, headers=im)  # fmt: skip
        refused_naming(resp, "description", what)
    taken = await api.post(loading, json={"bid": "B-1", "inventory": ["filters\n300 x"]},
                           headers=im)  # fmt: skip
    assert taken.status_code == 202, taken.text
    assert await running(dev_server, wid)


@pytest.mark.parametrize("week", ["9999-W52", "0001-W01", "1999-W52", "2100-W01", "2026-W54"])
async def test_a_week_out_of_range_is_a_422_and_the_connection_stays_open(
    api: httpx.AsyncClient, demo_keys: dict[str, str], week: str
) -> None:
    """Before: 9999-W52 answered 500 (an OverflowError) and dropped the connection."""
    lead = bearer(demo_keys["team_lead"])
    for path in ("/reports/weekly", "/reports/weekly/team"):
        resp = await api.get(path, params={"week": week}, headers=lead)
        assert resp.status_code == 422, resp.text
        assert resp.json()["detail"].startswith("query.week"), resp.text
        assert resp.headers.get("connection") != "close"
    assert (await api.get("/reports/weekly", params={"week": "2000-W01"}, headers=lead)).is_success
