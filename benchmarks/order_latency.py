"""Order latency against a bare Temporal workflow on the same server.

Drives N happy-path PunchOut orders through the HTTP API (POST the order, wait
for `released`, report one shipment with every line, wait for `completed`), then
N bare workflows that run the same number K of no-op activities and wait for the
same number of updates, on the same Temporal server. Prints throughput, median
and p99 latency of both and their ratios. See benchmarks/README.md.

    python -m benchmarks.order_latency -n 50 --concurrency 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

with workflow.unsafe.imports_passed_through():  # the sandbox imports this module
    import httpx

POLL = 0.01  # seconds between reads while waiting for an order's status
STATUS_TIMEOUT = 120.0
ACTIVITY_TIMEOUT = timedelta(seconds=30)
LINES = [  # the demo order (tests/factories.py: propetro_order)
    {"line_number": 1, "customer_part_number": "PP-BOLT-12", "supplier_part_id": "HX-1001",
     "quantity": "100", "uom": "EA", "unit_price": "2.35"},
    {"line_number": 2, "customer_part_number": "PP-GASKET", "quantity": "2", "uom": "CS", "unit_price": "49.20"},
    {"line_number": 3, "supplier_part_id": "PV-3300", "quantity": "1", "uom": "EA", "unit_price": "189.00"},
]  # fmt: skip


def repo() -> Path:  # a function: the sandbox forbids Path.resolve at import
    return Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- the baseline
@activity.defn
async def noop() -> None:
    return None


@workflow.defn  # sandboxed like the order workflow, unless --unsandboxed (see bare_worker)
class BareWorkflow:
    """No-op activities (`before` regular and `before_local` local ones), then
    `updates` updates, then `after` and `after_local` more: the order's shape."""

    def __init__(self) -> None:
        self.waiting = False
        self.updates = 0

    @workflow.run
    async def run(
        self, before: int, before_local: int, updates: int, after: int, after_local: int
    ) -> None:
        await self.noops(before, before_local)
        self.waiting = True
        await workflow.wait_condition(
            lambda: self.updates >= updates and workflow.all_handlers_finished()
        )
        await self.noops(after, after_local)

    async def noops(self, regular: int, local: int) -> None:
        for _ in range(local):
            await workflow.execute_local_activity(noop, start_to_close_timeout=ACTIVITY_TIMEOUT)
        for _ in range(regular):
            await workflow.execute_activity(noop, start_to_close_timeout=ACTIVITY_TIMEOUT)

    @workflow.query
    def is_waiting(self) -> bool:
        return self.waiting

    @workflow.update
    async def ship(self) -> None:
        self.updates += 1


# ------------------------------------------------------------------ the drivers
async def drive(
    n: int, concurrency: int, one: Callable[[int], Awaitable[None]]
) -> tuple[list[float], float]:
    """Run `one(0..n-1)` on `concurrency` lanes; each latency and the wall time."""
    todo, latencies = iter(range(n)), []

    async def lane() -> None:
        for i in todo:
            started = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


class Orders:
    def __init__(self, http: httpx.AsyncClient, keys: dict[str, str], run_id: str) -> None:
        self.http, self.run_id = http, run_id
        self.system = {"Authorization": f"Bearer {keys['system']}"}
        self.branch = {"Authorization": f"Bearer {keys['branch_manager']}"}
        self.ids: list[str] = []

    async def one(self, i: int) -> None:
        body = {"account_number": "401693", "po_number": f"BENCH-{self.run_id}-{i:05d}",
                "ship_to": {"address_id": "PP-ODESSA"}, "lines": LINES}  # fmt: skip
        resp = await self.http.post("/orders", json=body, headers=self.system)
        resp.raise_for_status()
        order_id = resp.json()["order_id"]
        self.ids.append(order_id)
        await self.wait_for(order_id, "released")
        shipment = {
            "shipment_id": f"SHP-{i}",
            "lines": [
                {"line_number": ln["line_number"], "quantity": ln["quantity"]} for ln in LINES
            ],
            "proof_of_delivery": {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"},
        }
        resp = await self.http.post(
            f"/orders/{order_id}/shipments", json=shipment, headers=self.branch
        )
        resp.raise_for_status()
        await self.wait_for(order_id, "completed")

    async def wait_for(self, order_id: str, status: str) -> None:
        deadline = time.monotonic() + STATUS_TIMEOUT
        while time.monotonic() < deadline:
            resp = await self.http.get(f"/orders/{order_id}", headers=self.system)
            if resp.status_code in (401, 403, 404):
                resp.raise_for_status()
            now = resp.json().get("status") if resp.status_code == 200 else None
            if now == status:
                return
            if now in ("on_hold", "failed"):
                raise RuntimeError(f"{order_id} is {now}, not on the happy path")
            await asyncio.sleep(POLL)
        raise TimeoutError(f"{order_id} did not reach {status} in {STATUS_TIMEOUT:.0f} s")


Shape = tuple[int, int, int, int, int]


async def shape(client: Client, workflow_id: str) -> Shape:
    """(activities and local activities before the first update, updates,
    activities and local activities after it)."""
    counts = [0, 0, 0, 0, 0]
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        after = 3 if counts[2] else 0
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts[2] += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts[after] += 1
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            counts[after + 1] += 1  # the marker a local activity leaves
    before, before_local, updates, after, after_local = counts
    return before, before_local, updates, after, after_local


def bare_driver(client: Client, queue: str, run_id: str, plan: Shape) -> Callable:
    async def one(i: int) -> None:
        handle = await client.start_workflow(
            BareWorkflow.run, args=plan, id=f"bench-bare-{run_id}-{i:05d}", task_queue=queue
        )
        for _ in range(plan[2]):  # send the update once it waits, as the branch does
            while not await handle.query(BareWorkflow.is_waiting):
                await asyncio.sleep(POLL)
            await handle.execute_update(BareWorkflow.ship)
        await handle.result()

    return one


def bare_worker(client: Client, queue: str, sandboxed: bool) -> Worker:
    if not sandboxed:
        return Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[noop],
                      workflow_runner=UnsandboxedWorkflowRunner())  # fmt: skip
    # The sandbox re-imports a workflow's module by name, which `__main__` is not.
    sys.path.insert(0, str(repo()))
    from benchmarks.order_latency import BareWorkflow as importable
    from workers.main import WORKFLOW_RUNNER  # the order worker's sandbox settings

    return Worker(client, task_queue=queue, workflows=[importable], activities=[noop],
                  workflow_runner=WORKFLOW_RUNNER)  # fmt: skip


# --------------------------------------------------------------- the dev stack
def free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def start_dev_stack(data_dir: Path) -> tuple[subprocess.Popen, str, str]:
    api, temporal, ui, sim = free_ports(4)
    # Never reach the user's own database, Temporal or ports through inherited settings.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SOPFLOW_") and k not in ("DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE")}  # fmt: skip
    args = [sys.executable, "-m", "sopflow", "dev", "--data-dir", str(data_dir), "--api-port", str(api),
            "--temporal-port", str(temporal), "--ui-port", str(ui), "--sim-port", str(sim)]  # fmt: skip
    log = open(data_dir / "dev.log", "wb")  # noqa: SIM115 — the child owns it
    proc = subprocess.Popen(
        args, cwd=repo(), env=env, stdout=log, stderr=log, start_new_session=True
    )
    return proc, f"http://127.0.0.1:{api}", f"127.0.0.1:{temporal}"


async def wait_healthy(api_url: str, proc: subprocess.Popen | None, seconds: float = 180) -> None:
    async with httpx.AsyncClient(base_url=api_url, timeout=5) as http:
        for _ in range(int(seconds / 0.25)):
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"the dev stack exited with {proc.returncode}")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.25)
    raise TimeoutError(f"{api_url}/health did not answer 200 within {seconds:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------------- report
def row(kind: str, latencies: list[float], total: float) -> tuple[float, float, float]:
    ms = sorted(x * 1000 for x in latencies)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    rate, median = len(ms) / total, statistics.median(ms)
    print(f"{kind:<6} {len(ms):>5} {total:>9.2f} {rate:>8.1f} {median:>10.1f} {p99:>8.1f}")
    return rate, median, p99


async def benchmark(
    args: argparse.Namespace, api_url: str, keys: dict[str, str], address: str
) -> None:
    run_id = uuid.uuid4().hex[:8]
    client = await Client.connect(
        address, namespace=args.namespace, data_converter=pydantic_data_converter
    )
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        orders = Orders(http, keys, run_id)
        await orders.one(-1)  # warm-up; also tells K and where the update falls
        plan = await shape(client, orders.ids.pop())
        order_lat, order_total = await drive(args.orders, args.concurrency, orders.one)
    shapes = {await shape(client, order_id) for order_id in orders.ids}
    queue = f"bench-bare-{run_id}"
    async with bare_worker(client, queue, not args.unsandboxed):
        one_bare = bare_driver(client, queue, run_id, plan)
        await one_bare(-1)  # warm-up
        bare_lat, bare_total = await drive(args.orders, args.concurrency, one_bare)

    before, before_local, updates, after, after_local = plan
    print(f"\nK = {before + after} activities + {before_local + after_local} local activities per order "
          f"({before} + {before_local} before the shipment update, {after} + {after_local} after), "
          f"{updates} update(s); CPUs: {os.cpu_count()}; concurrency {args.concurrency}; "
          f"bare workflow {'outside' if args.unsandboxed else 'in'} the sandbox")  # fmt: skip
    if shapes != {plan}:
        print(f"warning: the timed orders had other shapes too: {sorted(shapes)}")
    print(f"\n{'kind':<6} {'n':>5} {'total s':>9} {'per s':>8} {'median ms':>10} {'p99 ms':>8}")
    order_rate, order_median, order_p99 = row("order", order_lat, order_total)
    bare_rate, bare_median, bare_p99 = row("bare", bare_lat, bare_total)
    print(f"\norder/bare median {order_median / bare_median:.2f}x, p99 {order_p99 / bare_p99:.2f}x; "
          f"bare/order throughput {bare_rate / order_rate:.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n", "--orders", type=int, default=50, help="orders, and bare workflows (default 50)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=10, help="requests in flight (default 10)"
    )
    parser.add_argument("--api-url", help="use this running stack instead of starting one")
    parser.add_argument("--keys-file", type=Path, help="its demo-keys.json (with --api-url)")
    parser.add_argument(
        "--temporal-address", help="its Temporal frontend, host:port (with --api-url)"
    )
    parser.add_argument("--unsandboxed", action="store_true",
                        help="run the bare workflow outside the workflow sandbox (the order worker uses it), "
                             "to see what the sandbox costs")  # fmt: skip
    parser.add_argument(
        "--namespace", default="default", help="Temporal namespace (default: default)"
    )
    args = parser.parse_args()
    if args.api_url:
        if not (args.keys_file and args.temporal_address):
            parser.error("--api-url needs --keys-file and --temporal-address")
        asyncio.run(wait_healthy(args.api_url, None, seconds=10))
        keys = json.loads(args.keys_file.read_text())
        asyncio.run(benchmark(args, args.api_url.rstrip("/"), keys, args.temporal_address))
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the stack
    data_dir = Path(tempfile.mkdtemp(prefix="sopflow-bench-"))
    proc, api_url, address = start_dev_stack(data_dir)
    try:
        print(f"starting a dev stack in {data_dir} (API {api_url}, Temporal {address})", flush=True)
        asyncio.run(wait_healthy(api_url, proc))
        keys = json.loads((data_dir / "demo-keys.json").read_text())
        asyncio.run(benchmark(args, api_url, keys, address))
    except Exception:
        print(f"--- last lines of {data_dir / 'dev.log'}:", file=sys.stderr)
        print(
            "\n".join((data_dir / "dev.log").read_text(errors="replace").splitlines()[-30:]),
            file=sys.stderr,
        )
        raise
    finally:
        stop(proc)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
