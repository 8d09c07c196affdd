"""Moves on an order the CSC manager had entered in iSeries while Sterling OMS
was down, over HTTP on the real dev server. Before, a buyer's cXML delete of
such an order hit `assert st.oms_order_id` in the workflow (its task failed
again and again; the buyer got a 503), and so did a rep applying a branch edit.
Now the cancel is carried out (cancelled in iSeries at once, in OMS once the
order is reconciled into it) and the edit waits, refused with the reason, until
the order is in OMS."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from domain.order.models import OrderStatus
from tests.api.test_buyer_changes import document
from tests.api.test_incidents import href, quick, until  # noqa: F401 (quick: a fixture)
from tests.conftest import Simulators, record_history
from tests.integration.test_order_e2e import cxml_status, po_number, post_cxml, sample
from tests.servers import bearer
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.integration

EDIT = {"lines": [{"line_number": 1, "quantity": "120"}], "reason": "foreman wants more"}
APPLY = {"decision": "apply_edit", "root_cause": "human", "comment": "entered short"}


async def test_a_buyers_cancel_and_a_branch_edit_of_an_order_entered_in_iseries(
    quick: httpx.AsyncClient,  # noqa: F811
    demo_keys: dict[str, str],
    sims: Simulators,
    dev_server: WorkflowEnvironment,
) -> None:
    api, keys = quick, demo_keys
    system, rep = keys["system"], bearer(keys["account_rep"])
    await sims.fault("oms", down=True)
    pos = [po_number(), po_number()]
    for po in pos:
        assert cxml_status(await post_cxml(api, system, sample(po)))[0] == 200
    cancelled, edited = (f"order-401693-{po}" for po in pos)

    async def waiting(order_id: str) -> dict | None:
        view = (await api.get(href(order_id), headers=rep)).json()
        return view if view["status"] == "waiting_on_system" and view["incident_id"] else None

    view = await until(lambda: waiting(cancelled), "the order waits in the OMS incident")
    await until(lambda: waiting(edited), "the other order waits too")
    incident_id = view["incident_id"]
    approved = await api.post(
        f"/incidents/{incident_id}/fallback",
        json={"comment": "branch needs them today", "orders": [cancelled, edited]},
        headers=bearer(keys["csc_manager"]),
    )
    assert approved.status_code == 200, approved.text

    async def released(order_id: str) -> dict | None:
        view = (await api.get(href(order_id), headers=rep)).json()
        return view if view["status"] == "released" else None

    entered = await until(lambda: released(cancelled), "entered in iSeries, at the branch")
    await until(lambda: released(edited), "the other one at the branch too")
    assert entered["oms_order_id"] is None
    iseries_order_id = entered["iseries_fallback"]["iseries_order_id"]

    # A branch edit waits until the order is in OMS: refused with the reason.
    asked = await api.post(
        f"{href(edited)}/edit-requests", json=EDIT, headers=bearer(keys["branch_manager"])
    )
    assert asked.status_code == 201, asked.text
    listed = await until(
        lambda: _tasks(api, rep, edited, "branch_edit"), "the rep's branch-edit task"
    )
    task_href = listed[0]["href"]
    early = await api.post(f"{task_href}/complete", json=APPLY, headers=rep)
    assert early.status_code == 409, early.text
    assert "not in Sterling OMS yet" in early.json()["detail"]

    # The buyer withdraws the other PO: cancelled in iSeries at once.
    delete = document(pos[0], "delete", f"del-{pos[0]}")
    resp = await post_cxml(api, system, delete)
    assert cxml_status(resp) == (200, f"Cancelled: {cancelled}"), resp.text
    assert sims.state.iseries.orders[iseries_order_id].cancelled_at is not None

    async def cancelled_row() -> dict | None:
        view = (await api.get(href(cancelled), headers=rep)).json()
        return view if view["status"] == "cancelled" else None

    view = await until(cancelled_row, "the order reads cancelled while OMS is down")
    said = next(a["comment"] for a in view["audit"] if a["action"] == "cancelled")
    assert "cancelled by the buyer" in said and f"iSeries order {iseries_order_id} cancelled" in said
    again = await post_cxml(api, system, delete)
    assert cxml_status(again) in (
        (200, f"Already received. Cancelled: {cancelled}"),
        (200, f"Already cancelled: {cancelled}"),
    )
    refused = await api.post(
        f"{href(cancelled)}/shipments",
        json={"shipment_id": "RUN-1", "lines": [{"line_number": 1, "quantity": 1}],
              "proof_of_delivery": {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}},
        headers=bearer(keys["branch_manager"]),
    )  # fmt: skip
    assert refused.status_code == 409, refused.text

    # OMS back: both are reconciled into OMS; the cancelled one's OMS order is
    # cancelled too, and only then does that order end.
    await sims.fault("oms", down=False)
    handle = dev_server.client.get_workflow_handle_for(OrderWorkflow.run, cancelled)
    result = await asyncio.wait_for(handle.result(), timeout=120)
    assert result.status == OrderStatus.CANCELLED
    (oms_order,) = await sims.oms_orders(cancelled)
    assert (oms_order["status"], oms_order["iseries_order_id"]) == ("cancelled", iseries_order_id)
    final = await handle.query(OrderWorkflow.view)
    actions = [a.action for a in final.audit]
    assert actions.count("reconciled") == 1 and actions.count("cancelled in OMS") == 1
    assert final.iseries_fallback.cancelled_in_oms

    async def reconciled() -> dict | None:
        view = (await api.get(href(edited), headers=rep)).json()
        return view if view["oms_order_id"] else None

    await until(reconciled, "the edited order reconciled into OMS")
    applied = await api.post(f"{task_href}/complete", json=APPLY, headers=rep)
    assert applied.status_code == 200, applied.text
    (edited_in_oms,) = await sims.oms_orders(edited)
    assert Decimal(edited_in_oms["lines"][0]["quantity"]) == 120
    await record_history(dev_server.client, cancelled, "order-iseries-fallback-cancelled-by-buyer")


async def _tasks(api: httpx.AsyncClient, who: dict, workflow_id: str, kind: str) -> list | None:
    resp = await api.get("/tasks", params={"workflow_id": workflow_id, "kind": kind}, headers=who)
    return resp.json()["items"] or None
