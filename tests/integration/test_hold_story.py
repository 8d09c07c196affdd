"""The held-order story of issue 6, over HTTP alone with the demo keys of four
roles: a PO with a wrong price and an unknown customer part lands on the rep's
queue with a helpdesk ticket; the rep maps the part and escalates the price; the
team lead approves the PO price; the order confirms, its ticket resolves, the
pick ticket prints; the branch manager asks for an extra line, the rep applies
it through its task and a new pick ticket prints; the branch manager sees the
outcome on the order, ships it and it completes. A second PO whose price
matches an open quote confirms with no task. Wrong-role moves are refused with
a reason, and every step is in the audit trail with its actor."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.conftest import Simulators
from tests.integration.test_order_e2e import cxml_status, post_cxml, sample, wait_for
from tests.servers import bearer
from tests.workflow.conftest import eventually

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

POD = {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}
EVERYTHING = [
    {"line_number": 1, "quantity": 100},
    {"line_number": 2, "quantity": 2},
    {"line_number": 3, "quantity": 1},
]


def po_number() -> str:
    return f"46{uuid.uuid4().int % 10**8:08d}"


async def queue(api: httpx.AsyncClient, key: str, order_id: str, kind: str) -> list[dict]:
    resp = await api.get(
        "/tasks", params={"workflow_id": order_id, "kind": kind}, headers=bearer(key)
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


async def no_task(api: httpx.AsyncClient, key: str, order_id: str, kind: str) -> bool:
    return await queue(api, key, order_id, kind) == []


async def task_in_queue(api: httpx.AsyncClient, key: str, order_id: str, kind: str) -> dict:
    for _ in range(300):
        if found := await queue(api, key, order_id, kind):
            assert len(found) == 1, found
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"{order_id}: no {kind} task in the queue")


async def complete(api: httpx.AsyncClient, key: str, task: dict, **body: Any) -> httpx.Response:
    return await api.post(f"{task['href']}/complete", json=body, headers=bearer(key))


async def test_a_held_po_worked_by_rep_team_lead_and_branch_to_completion(
    api: httpx.AsyncClient, demo_keys: dict[str, str], sims: Simulators
) -> None:
    rep, lead, branch = (demo_keys[r] for r in ("account_rep", "team_lead", "branch_manager"))
    po = po_number()
    # The sample cXML with line 1 at 2.10 (the contract says 2.35) and line 2's
    # customer part unknown to the cross-reference.
    unknown = f"PP-NEW-{po}"
    doc = sample(
        po,
        **{
            '<Money currency="USD">2.35</Money>': '<Money currency="USD">2.10</Money>',
            "<BuyerPartID>PP-GASKET</BuyerPartID>": f"<BuyerPartID>{unknown}</BuyerPartID>",
        },
    )
    resp = await post_cxml(api, demo_keys["system"], doc)
    assert cxml_status(resp) == (200, f"Accepted: order-401693-{po}")
    order_id = resp.headers["X-Order-Id"]

    # On the rep's queue: one task per hold, the order on hold with its ticket.
    price = await task_in_queue(api, rep, order_id, "resolve_hold_price")
    part = await task_in_queue(api, rep, order_id, "resolve_hold_part")
    assert (price["payload"]["line_number"], part["payload"]["line_number"]) == (1, 2)
    assert price["assignee"] == part["assignee"] == "maria.lopez"
    held = await wait_for(api, rep, order_id, "on_hold")
    for _ in range(100):  # the ticket is opened just after the tasks are listed
        if held["helpdesk_ticket_id"]:
            break
        await asyncio.sleep(0.05)
        held = (await api.get(f"/orders/{order_id}", headers=bearer(rep))).json()
    ticket = held["helpdesk_ticket_id"]
    assert ticket and sims.state.helpdesk.tickets[ticket].status != 4
    assert {h["code"] for h in held["holds"]} >= {"PRICE", "PART"}

    # The branch manager may not resolve the rep's hold: it is not theirs to see.
    refused = await complete(api, branch, part, decision="map_part", part_id="GS-2040")
    assert refused.status_code == 404, refused.text
    assert refused.json()["detail"] == f"no task {part['task_id']}"

    mapped = await complete(
        api, rep, part, decision="map_part", part_id="GS-2040", add_to_cross_reference=True
    )
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["status"] == "on_hold"  # the price is still held
    escalated = await complete(
        api, rep, price, decision="escalate", comment="buyer insists on 2.10"
    )
    assert escalated.status_code == 200, escalated.text
    # The read model follows the answer by a moment.
    await eventually(
        lambda: no_task(api, rep, order_id, "resolve_hold_price"), "the price task closed"
    )

    # The team lead's task; the rep may neither see it nor approve it.
    escalation = await task_in_queue(api, lead, order_id, "price_escalation")
    assert (escalation["role"], escalation["assignee"]) == ("team_lead", "tom.baker")
    assert await queue(api, rep, order_id, "price_escalation") == []
    refused = await complete(api, rep, escalation, decision="approve_po_price", comment="ok")
    assert refused.status_code == 404, refused.text
    assert refused.json()["detail"] == f"no task {escalation['task_id']}"

    approved = await complete(
        api, lead, escalation, decision="approve_po_price", comment="one-off for this PO"
    )
    assert approved.status_code == 200, approved.text
    released = await wait_for(api, rep, order_id, "released")
    assert released["pick_ticket_id"] and released["branch_id"] == "BR-ODS"
    assert [ln["part_id"] for ln in released["lines"]] == ["HX-1001", "GS-2040", "PV-3300"]
    assert sims.state.helpdesk.tickets[ticket].status == 4  # Resolved
    for key in (rep, lead):
        closed = await api.get("/tasks", params={"workflow_id": order_id}, headers=bearer(key))
        assert closed.json()["items"] == []

    # A decided task is closed to everyone.
    again = await complete(api, lead, escalation, decision="approve_po_price", comment="twice")
    assert again.status_code == 409, again.text

    # The branch manager asks for an extra line; the rep may not ask for one.
    extra = {
        "lines": [
            {"supplier_part_id": "PV-3300", "quantity": "2", "uom": "EA", "unit_price": "189.00"}
        ],
        "reason": "foreman needs two more valves",
    }
    refused = await api.post(f"/orders/{order_id}/edit-requests", json=extra, headers=bearer(rep))
    assert refused.status_code == 403, refused.text
    asked = await api.post(f"/orders/{order_id}/edit-requests", json=extra, headers=bearer(branch))
    assert asked.status_code == 201, asked.text
    edit_id = asked.json()["request_id"]
    assert edit_id.startswith("E-") and asked.json()["status"] == "requested"
    assert asked.json()["new_lines"][0]["line_number"] == 4

    # The rep's task; the branch manager may not apply their own request.
    edit_task = await task_in_queue(api, rep, order_id, "branch_edit")
    assert (edit_task["role"], edit_task["assignee"]) == ("account_rep", "maria.lopez")
    refused = await complete(
        api, branch, edit_task, decision="apply_edit", root_cause="human", comment="mine"
    )
    assert refused.status_code == 404, refused.text
    assert refused.json()["detail"] == f"no task {edit_task['task_id']}"
    applied = await complete(
        api, rep, edit_task, decision="apply_edit", root_cause="human", comment="PO keyed short"
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["status"] == "released"

    # The branch manager reads the outcome on the order: a new pick ticket.
    async def edit_applied() -> dict | None:
        order = (await api.get(f"/orders/{order_id}", headers=bearer(branch))).json()
        return order if order["edit_requests"][0]["status"] != "requested" else None

    edited = await eventually(edit_applied, "the edit request applied")
    (edit,) = edited["edit_requests"]
    assert (edit["status"], edit["root_cause"], edit["decided_by"]) == (
        "applied",
        "human",
        "maria.lopez",
    )
    assert edited["pick_ticket_id"] != released["pick_ticket_id"]
    assert edit["pick_ticket_id"] == edited["pick_ticket_id"]
    assert edit["outcome"] == f"applied; pick ticket {edited['pick_ticket_id']} printed at BR-ODS"
    assert [(ln["line_number"], ln["part_id"]) for ln in edited["lines"]][3] == (4, "PV-3300")
    assert await queue(api, rep, order_id, "branch_edit") == []

    # Two runs: the order as confirmed, then the extra line.
    for run, lines, status in [
        ("RUN-1", EVERYTHING, "partially_shipped"),
        ("RUN-2", [{"line_number": 4, "quantity": 2}], "completed"),
    ]:
        shipped = await api.post(
            f"/orders/{order_id}/shipments",
            json={"shipment_id": run, "lines": lines, "proof_of_delivery": POD},
            headers=bearer(branch),
        )
        assert shipped.status_code == 201, shipped.text
        await wait_for(api, rep, order_id, status)
    done = await wait_for(api, rep, order_id, "completed")

    # Each task went to whom the directory said, the reason in the trail.
    routed = [a["comment"] for a in done["audit"] if a["action"] == "task routed"]
    assert [c.split(":")[0] for c in routed] == [
        "resolve_hold_price → maria.lopez",
        "resolve_hold_part → maria.lopez",
        "price_escalation → tom.baker",
        "branch_edit → maria.lopez",
    ]
    assert "account_rep of account 401693" in routed[0]
    # The whole story, each step with its actor, in order.
    # Not part of the story: routing notes, and no buyer endpoint here (see
    # test_buyer_documents).
    story = [
        a for a in done["audit"] if a["action"] not in {"task routed", "buyer documents not sent"}
    ]
    steps = [(a["actor"], a["action"], a["to_status"]) for a in story]
    assert steps == [
        ("punchout-network", "received", "received"),
        ("sopflow", "held", "on_hold"),
        ("sopflow", "csc notified", None),
        ("sopflow", "ticket opened", None),
        ("maria.lopez", "hold resolved", None),
        ("maria.lopez", "price escalated", None),
        ("tom.baker", "hold resolved", None),
        ("sopflow", "confirmed", "confirmed"),
        ("sopflow", "ticket resolved", None),
        ("sopflow", "released", "released"),
        ("bob.ortiz", "edit requested", None),
        ("maria.lopez", "edit applied", None),
        ("sopflow", "pick ticket printed", None),
        ("bob.ortiz", "shipped", "partially_shipped"),
        ("bob.ortiz", "shipped", "completed"),
    ]
    comments = [a["comment"] for a in story]
    assert "PART line 2" in comments[4] and "GS-2040" in comments[4]
    assert "buyer insists on 2.10" in comments[5]
    assert "PRICE line 1" in comments[6] and "one-off for this PO" in comments[6]
    assert f"ticket {ticket}" in comments[8] and "PT-" in comments[9]
    assert edit_id in comments[10] and "foreman needs two more valves" in comments[10]
    assert "human error" in comments[11] and "PO keyed short" in comments[11]
    assert edited["pick_ticket_id"] in comments[12]


async def test_a_price_matching_the_open_quote_confirms_with_no_task(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    po = po_number()
    doc = sample(
        po, **{'<Money currency="USD">189.00</Money>': '<Money currency="USD">175.00</Money>'}
    )
    resp = await post_cxml(api, demo_keys["system"], doc)
    assert cxml_status(resp)[0] == 200, resp.text
    order_id = resp.headers["X-Order-Id"]

    released = await wait_for(api, demo_keys["account_rep"], order_id, "released")
    assert released["holds"] == []
    confirmed = [a for a in released["audit"] if a["action"] == "price confirmed"]
    assert len(confirmed) == 1 and "Q-ODS-2291" in confirmed[0]["comment"]
    assert "held" not in [a["action"] for a in released["audit"]]
    closed = await api.get(
        "/tasks",
        params={"workflow_id": order_id, "status": "closed"},
        headers=bearer(demo_keys["operator"]),
    )
    assert closed.json()["items"] == []
