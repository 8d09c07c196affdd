"""How fast waiting orders catch up once the OMS is back (issue 7).

For each size (100 and 1,000 by default), on one Temporal server in one run:

- incident: the OMS simulator is switched off, that many PunchOut orders are
  started (the API's own start, `api.orders.start_order`), each waits past the
  outage threshold and joins the OMS's incident; once the incident holds them
  all, the OMS is switched on. Timed: from switching it on until the OMS holds
  an order for every one of them (the incident's probe finding it back, its
  word to every order, each order's retried create).
- bare: the same number of bare workflows (`benchmarks/outage_bare.py`), each
  doing one activity, the real OMS create, on a worker in this script with the
  production sandbox settings. Timed: from starting the first until the OMS
  holds an order for every one of them.

Printed: both times, the ratio, and the cost per order. Goal: incident ≤ 2x bare.
It starts its own stack (benchmarks/stack.py) with the outage told after 2 s and
the incident probing every second. See benchmarks/README.md.

    python -m benchmarks.outage                 # 100 and 1,000 waiting orders
    python -m benchmarks.outage --sizes 50      # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from benchmarks.stack import (
    compile_workflow_modules,
    own_stack,
    production_runner,
    repo,
    temporal_client,
)

GOAL = 2.0
DETECT_AFTER = "PT2S"
PROBE_EVERY = "PT1S"
START_CONCURRENCY = 20
POLL = 0.5


def order(po: str):  # type: ignore[no-untyped-def]
    from tests.factories import propetro_order

    return propetro_order(po)


def resolved_lines():  # type: ignore[no-untyped-def]
    from domain.order.models import ResolvedLine

    return [
        ResolvedLine(line_number=1, part_id="HX-1001", pool_id="ODS-MAIN", uom="EA",
                     quantity=Decimal(100), unit_price=Decimal("2.35")),
        ResolvedLine(line_number=2, part_id="GS-2040", pool_id="ODS-MAIN", uom="CS",
                     quantity=Decimal(2), unit_price=Decimal("49.20")),
        ResolvedLine(line_number=3, part_id="PV-3300", pool_id="ODS-VALVES", uom="EA",
                     quantity=Decimal(1), unit_price=Decimal("189.00")),
    ]  # fmt: skip


async def gather_bounded(n: int, concurrency: int, one) -> None:  # type: ignore[no-untyped-def]
    todo = iter(range(n))

    async def lane() -> None:
        for i in todo:
            await one(i)

    await asyncio.gather(*(lane() for _ in range(concurrency)))


class Oms:
    """The OMS simulator: switched off and on, and counted."""

    def __init__(self, sims: httpx.AsyncClient) -> None:
        self.sims = sims

    async def down(self, down: bool) -> None:
        (await self.sims.put("/_faults/oms", json={"down": down})).raise_for_status()

    async def holding(self, refs: set[str]) -> int:
        orders = (await self.sims.get("/oms/orders")).json()
        return sum(o["external_ref"] in refs for o in orders)

    async def until_holding(self, refs: set[str], started: float, what: str) -> float:
        """Seconds from `started` until OMS holds an order for every ref."""
        while True:
            if await self.holding(refs) >= len(refs):
                return time.perf_counter() - started
            if time.perf_counter() - started > 1800:
                raise TimeoutError(f"{what}: OMS never held all {len(refs)} orders")
            await asyncio.sleep(POLL)


async def incident_phase(client: Client, oms: Oms, tag: str, n: int) -> dict[str, float]:
    from api.orders import start_order
    from domain.incident import IncidentStatus
    from sopflow.config import Settings
    from tests.factories import NETWORK
    from workflows.incident import IncidentWorkflow

    # The API's start, with the stack's outage threshold (its SOPFLOW_ settings).
    settings = Settings(outage_detect_after=timedelta(seconds=2))
    await oms.down(True)
    pos = [f"OUT-{tag}-{i:05d}" for i in range(n)]

    async def start(i: int) -> None:
        await start_order(client, settings, order(pos[i]), NETWORK, "Propetro Services")

    began = time.perf_counter()
    await gather_bounded(n, START_CONCURRENCY, start)
    ids = {order(po).workflow_id for po in pos}
    incident = client.get_workflow_handle_for(IncidentWorkflow.run, "incident-sterling_oms")
    while True:
        await asyncio.sleep(3)
        try:
            view = await incident.query(IncidentWorkflow.view)
        except Exception:  # not opened yet
            continue
        joined = ids & {o.order_id for o in view.affected_orders}
        print(f"    {len(joined)}/{n} orders wait in {view.incident_id}", flush=True)
        if len(joined) == n:
            break
    await asyncio.sleep(2)  # the last ones told, and waiting for the incident's word
    waited = time.perf_counter() - began

    recovered_wall = datetime.now(UTC)
    started = time.perf_counter()
    await oms.down(False)
    elapsed = await oms.until_holding(ids, started, "incident")
    view = await incident.query(IncidentWorkflow.view)
    probe = (view.recovered_at - recovered_wall).total_seconds() if view.recovered_at else 0.0
    # Let the orders reach the branch and the incident close before what comes next.
    while (await incident.query(IncidentWorkflow.view)).status != IncidentStatus.CLOSED:
        await asyncio.sleep(1)
    return {"seconds": elapsed, "probe": max(probe, 0.0), "setup": waited}


async def bare_phase(client: Client, oms: Oms, queue: str, tag: str, n: int) -> dict[str, float]:
    from activities.contracts.oms import OmsCreateOrder
    from benchmarks.outage_bare import BareCreateWorkflow

    lines = resolved_lines()
    reqs = [
        OmsCreateOrder(idempotency_key=f"bare-{tag}-{i}", order=order(f"BARE-{tag}-{i:05d}"),
                       lines=lines, branch_id="BR-ODS", confirmed=True)
        for i in range(n)
    ]  # fmt: skip
    refs = {r.order.workflow_id for r in reqs}

    async def start(i: int) -> None:
        await client.start_workflow(
            BareCreateWorkflow.run, reqs[i], id=f"bare-outage-{tag}-{i}", task_queue=queue
        )

    started = time.perf_counter()
    await gather_bounded(n, START_CONCURRENCY, start)
    return {"seconds": await oms.until_holding(refs, started, "bare")}


async def benchmark(args: argparse.Namespace, address: str, sim_url: str) -> None:
    if str(repo()) not in sys.path:  # the sandbox re-imports benchmarks.outage_bare by name
        sys.path.insert(0, str(repo()))
    from activities.oms import OmsActivities, OmsClient
    from benchmarks.outage_bare import BareCreateWorkflow

    run = uuid.uuid4().hex[:6]
    client = await temporal_client(address, own=True)
    oms_client = OmsClient(f"{sim_url}/oms")
    queue = f"bench-outage-{run}"
    worker = Worker(client, task_queue=queue, workflows=[BareCreateWorkflow],
                    activities=[OmsActivities(oms_client).create_order],
                    workflow_runner=production_runner())  # fmt: skip
    rows = []
    async with httpx.AsyncClient(base_url=sim_url, timeout=60) as sims, worker:
        oms = Oms(sims)
        await bare_phase(client, oms, queue, f"{run}-warm", 10)  # warm-up, not counted
        for n in args.sizes:
            print(f"{n} waiting orders", flush=True)
            inc = await incident_phase(client, oms, f"{run}-{n}", n)
            print(f"  incident: {inc['seconds']:.2f} s from OMS back to all {n} in OMS "
                  f"(probe found it back after {inc['probe']:.2f} s; setup {inc['setup']:.0f} s)",
                  flush=True)  # fmt: skip
            bare = await bare_phase(client, oms, queue, f"{run}-{n}", n)
            print(f"  bare:     {bare['seconds']:.2f} s from the first start to all {n} in OMS",
                  flush=True)  # fmt: skip
            rows.append((n, inc, bare))
    await oms_client.close()

    print()
    print("orders  incident s  bare s  ratio  incident ms/order  bare ms/order  probe s")
    for n, inc, bare in rows:
        ratio = inc["seconds"] / bare["seconds"]
        print(f"{n:6d}  {inc['seconds']:10.2f}  {bare['seconds']:6.2f}  {ratio:5.2f}  "
              f"{1000 * inc['seconds'] / n:17.1f}  {1000 * bare['seconds'] / n:13.1f}  "
              f"{inc['probe']:7.2f}   goal ≤ {GOAL}x: {'met' if ratio <= GOAL else 'not met'}")  # fmt: skip


def main() -> None:
    import logging

    import structlog

    # The bare workflows' activity logs one line per order: not wanted here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                        default=[100, 1000], help="waiting orders, comma-separated (default 100,1000)")  # fmt: skip
    args = parser.parse_args()
    compile_workflow_modules()
    env = {"SOPFLOW_OUTAGE_DETECT_AFTER": DETECT_AFTER, "SOPFLOW_OUTAGE_PROBE_EVERY": PROBE_EVERY}
    with own_stack(extra_env=env) as own:
        asyncio.run(benchmark(args, own.address, own.sim_url))


if __name__ == "__main__":
    main()
