"""What the reliability (chaos) tests share: a seeded, printed source of
randomness, an order driven over HTTP from the buyer's cXML to its last invoice
the way an impatient branch would (resending on 202/503), and the checks that
nothing was lost and nothing entered twice."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter

import asyncpg
import httpx
from temporalio.client import Client

from domain.order.models import OrderView
from tests.conftest import Simulators
from tests.integration.test_order_e2e import sample
from tests.servers import bearer

POD = {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}
# The sample order's three lines, delivered in two shipments.
SHIPMENTS = [
    [(1, 60)],
    [(1, 40), (2, 2), (3, 1)],
]
# Every order of a chaos test completes within this (they run side by side).
PATIENCE = 240.0


def seeded(name: str) -> random.Random:
    """SOPFLOW_CHAOS_SEED replays a run; the seed is printed either way (pytest
    shows it with the output of a failing test)."""
    seed = int(os.environ.get("SOPFLOW_CHAOS_SEED") or random.SystemRandom().randrange(10**9))
    print(f"{name}: SOPFLOW_CHAOS_SEED={seed}")
    return random.Random(seed)


def po_number() -> str:
    return f"47{uuid.uuid4().int % 10**8:08d}"


class OrderDriver:
    """One order's life over the API, retrying what a client may retry."""

    def __init__(self, api: httpx.AsyncClient, keys: dict[str, str], po: str) -> None:
        self.api = api
        self.keys = keys
        self.po = po
        self.order_id = f"order-401693-{po}"
        self.shipment_ids = [f"{po}-S{n}" for n in range(1, len(SHIPMENTS) + 1)]

    async def run(self, pause: float = 0.0) -> dict:
        deadline = time.monotonic() + PATIENCE
        await self._post(deadline)
        await self._until(deadline, lambda o: o["status"] == "released" and o["pick_ticket_id"])
        for shipment_id, lines in zip(self.shipment_ids, SHIPMENTS, strict=True):
            await asyncio.sleep(pause)
            await self._ship(deadline, shipment_id, lines)
        return await self._until(deadline, lambda o: o["status"] == "completed")

    async def _call(self, method: str, url: str, **kw: object) -> httpx.Response | None:
        """None when the API did not answer (it may be restarting its backends)."""
        try:
            return await self.api.request(method, url, **kw)  # type: ignore[arg-type]
        except httpx.HTTPError:
            return None

    async def _post(self, deadline: float) -> None:
        headers = {**bearer(self.keys["system"]), "Content-Type": "text/xml"}
        while True:
            resp = await self._call("POST", "/orders", content=sample(self.po), headers=headers)
            if resp is not None and resp.status_code == 200:
                assert resp.headers["X-Order-Id"] == self.order_id
                return
            assert resp is None or resp.status_code >= 500, resp.text
            await self._pause(deadline, f"posting: {resp.text[:200] if resp else 'no answer'}")

    async def _ship(self, deadline: float, shipment_id: str, lines: list[tuple[int, int]]) -> None:
        body = {
            "shipment_id": shipment_id,
            "lines": [{"line_number": n, "quantity": q} for n, q in lines],
            "proof_of_delivery": POD,
        }
        url = f"/orders/{self.order_id}/shipments"
        while True:
            resp = await self._call("POST", url, json=body, headers=bearer(self.keys["branch_manager"]))
            if resp is not None and resp.status_code == 201:
                assert resp.json()["shipment_id"] == shipment_id
                return
            if resp is not None and resp.status_code == 409:
                # A resend after the last invoice closed the order: it is there.
                order = await self._read()
                if order and shipment_id in {i["shipment_id"] for i in order["invoices"]}:
                    return
            assert resp is None or resp.status_code in (202, 409, 503) or resp.status_code >= 500, (
                resp.status_code,
                resp.text,
            )
            await self._pause(deadline, f"shipping {shipment_id}: {resp.text[:200] if resp else '-'}")

    async def _read(self) -> dict | None:
        resp = await self._call(
            "GET", f"/orders/{self.order_id}", headers=bearer(self.keys["account_rep"])
        )
        return resp.json() if resp is not None and resp.status_code == 200 else None

    async def _until(self, deadline: float, condition) -> dict:  # type: ignore[no-untyped-def]
        while True:
            order = await self._read()
            if order is not None and condition(order):
                return order
            await self._pause(deadline, f"status {order['status'] if order else '-'}")

    async def _pause(self, deadline: float, where: str) -> None:
        assert time.monotonic() < deadline, f"{self.order_id} stuck after {PATIENCE} s: {where}"
        await asyncio.sleep(0.5)


async def assert_nothing_lost_nothing_twice(
    sims: Simulators,
    pool: asyncpg.Pool,
    client: Client,
    drivers: list[OrderDriver],
    views: list[dict],
) -> None:
    """Per order: one OMS order, one iSeries order, one invoice per shipment;
    the audit trail in PostgreSQL is the workflow's own (its result), without
    gaps or repeats."""
    oms = Counter(o.external_ref for o in sims.state.oms.orders.values())
    iseries = Counter(o.external_ref for o in sims.state.iseries.orders.values())
    invoices = Counter(
        (i.order_ref, i.shipment_id) for i in sims.state.iseries.invoices.values()
    )
    for driver, view in zip(drivers, views, strict=True):
        oid = driver.order_id
        assert view["status"] == "completed"
        assert oms[oid] == 1, f"{oid}: {oms[oid]} OMS orders"
        assert iseries[oid] == 1, f"{oid}: {iseries[oid]} iSeries orders"
        for shipment_id in driver.shipment_ids:
            assert invoices[(oid, shipment_id)] == 1, f"{oid} {shipment_id}: {invoices[(oid, shipment_id)]}"
        assert sorted(i["shipment_id"] for i in view["invoices"]) == driver.shipment_ids

        async with pool.acquire() as conn:
            rows = await conn.fetch(
                """SELECT seq, actor, action, from_status, to_status, comment FROM audit_log
                   WHERE subject_id = $1 ORDER BY seq""",
                oid,
            )
        assert [r["seq"] for r in rows] == list(range(len(rows))), (
            f"{oid}: gaps or repeats: {[(r['seq'], r['action'], r['comment'][:40]) for r in rows]}"
        )
        stored = [(r["actor"], r["action"], r["from_status"], r["to_status"], r["comment"]) for r in rows]
        result = await client.get_workflow_handle(oid, result_type=OrderView).result()
        own = [(a.actor, a.action, a.from_status, a.to_status, a.comment) for a in result.audit]
        assert stored == own, f"{oid}: the audit table is not the workflow's trail"
        assert len(set(own)) == len(own), f"{oid}: an entry twice: {own}"
        actions = Counter(a[1] for a in own)
        assert actions["received"] == 1 and actions["released"] == 1, (oid, actions)
        # The last move; a note may follow it (a buyer document delayed by an outage).
        moves = [a for a in own if a[3] is not None]
        assert actions["shipped"] == len(SHIPMENTS) and moves[-1][3] == "completed", (oid, own)
