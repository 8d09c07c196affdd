"""Order latency and throughput against two bare-workflow floors on the same server.

Four kinds of run on one Temporal server, each a happy-path PunchOut order:

- order: the order workflow on the stack's worker, driven with the Temporal
  client as the API drives it (the API's own start options, then its `view`
  query until `released`, the shipment Update, the result);
- floor: what the business needs, a bare workflow with the order's real business
  activities (validate, OMS create, release, pick ticket; invoice inside the
  shipment Update) against the same simulators and PostgreSQL, the same Update,
  no read-model writes; driven the same way (its query, its Update, its result);
- today's floor: the order's shape as its history shows it, no-op activities
  (the local ones stand for the read-model writes);
- order via API: the order through the HTTP API (POST the order, GET it until
  `released`, POST the shipment, the result): the API's cost, reported apart.

At each concurrency it runs several rounds, each with one phase of every kind in
a rotating order, and prints both ratios (median latency and throughput), the
API's cost, the CPU each process spent per run and, with --profile, where the
worker (and the API) spent it. See benchmarks/README.md.

    python -m benchmarks.order_latency                       # 1 and 10 in flight, 3 rounds
    python -m benchmarks.order_latency --profile /tmp/prof   # and a py-spy profile
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import quote

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from benchmarks.stack import (
    compile_workflow_modules,
    drive,
    own_stack,
    production_runner,
    repo,
    temporal_client,
    wait_healthy,
)

# Seconds between one run's reads while it waits for a status, times the
# concurrency: ~100 reads a second in all, whatever the concurrency, so that the
# polling itself does not become the load at concurrency 10.
POLL = 0.01
STATUS_TIMEOUT = 30.0
LINES = [  # the demo order (tests/factories.py: propetro_order)
    {"line_number": 1, "customer_part_number": "PP-BOLT-12", "supplier_part_id": "HX-1001",
     "quantity": "100", "uom": "EA", "unit_price": "2.35"},
    {"line_number": 2, "customer_part_number": "PP-GASKET", "quantity": "2", "uom": "CS", "unit_price": "49.20"},
    {"line_number": 3, "supplier_part_id": "PV-3300", "quantity": "1", "uom": "EA", "unit_price": "189.00"},
]  # fmt: skip
KINDS = ("order", "floor", "today", "api")
TITLES = {"order": "order", "floor": "floor", "today": "today's floor", "api": "order via API"}
GOAL_LATENCY, GOAL_THROUGHPUT = 1.25, 0.80
READ_MODEL_PREFIX = "read_model."  # activity names of the read-model writes


# ------------------------------------------------------------------ the drivers
@dataclass
class Tally:
    """A phase's runs: how often they read a status while waiting (every
    `interval` seconds), and their workflow ids."""

    interval: float
    count: int = 0
    ids: list[str] = field(default_factory=list)

    async def wait(self) -> None:
        self.count += 1
        await asyncio.sleep(self.interval)


def order_body(po_number: str) -> dict:
    return {"account_number": "401693", "po_number": po_number,
            "ship_to": {"address_id": "PP-ODESSA"}, "lines": LINES}  # fmt: skip


def shipment_body() -> dict:
    return {
        "shipment_id": "SHP-1",
        "lines": [{"line_number": ln["line_number"], "quantity": ln["quantity"]} for ln in LINES],
        "proof_of_delivery": {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"},
    }


class Orders:
    """Orders through the HTTP API, as an upstream system and the branch send them."""

    def __init__(self, http: httpx.AsyncClient, keys: dict[str, str], client: Client) -> None:
        self.http, self.client = http, client
        self.system = {"Authorization": f"Bearer {keys['system']}"}
        self.branch = {"Authorization": f"Bearer {keys['branch_manager']}"}

    def driver(self, tag: str, polls: Tally) -> Callable[[int], Awaitable[None]]:
        """Orders with PO numbers `BENCH-<tag>-<i>`."""

        async def one(i: int) -> None:
            await self.one(f"BENCH-{tag}-{i:04d}", polls)

        return one

    async def one(self, po_number: str, polls: Tally) -> str:
        resp = await self.http.post("/orders", json=order_body(po_number), headers=self.system)
        resp.raise_for_status()
        order_id = resp.json()["order_id"]
        polls.ids.append(order_id)
        path = f"/orders/{quote(order_id, safe='')}"
        # As the branch does: read the order until it is released, then report.
        await self.wait_for(path, "released", polls)
        resp = await self.http.post(f"{path}/shipments", json=shipment_body(), headers=self.branch)
        resp.raise_for_status()
        # Done when the workflow is (its last read-model write included): a long
        # poll, as for the floors, instead of reading the order until `completed`.
        await self.client.get_workflow_handle(order_id).result()
        return order_id

    async def wait_for(self, path: str, status: str, polls: Tally) -> None:
        deadline = time.monotonic() + STATUS_TIMEOUT
        while time.monotonic() < deadline:
            resp = await self.http.get(path, headers=self.system)
            if resp.status_code in (401, 403, 404):
                resp.raise_for_status()
            now = resp.json().get("status") if resp.status_code == 200 else None
            if now == status:
                return
            if now in ("on_hold", "failed"):
                raise RuntimeError(f"{path} is {now}, not on the happy path")
            await polls.wait()
        raise TimeoutError(
            f"{path} did not reach {status} in {STATUS_TIMEOUT:.0f} s "
            f"(last answer {resp.status_code}: {resp.text[:300]})"
        )


class DirectOrders:
    """Orders with the Temporal client, as the API starts them (`start_order`: the
    same id, search attributes, memo, summary and details), waited on with the
    workflow's `view` query and shipped with its Update, like the floor."""

    def __init__(self, client: Client, settings, account_name: str) -> None:  # type: ignore[no-untyped-def]
        from domain.identity import Actor, Role
        from domain.order.models import PurchaseOrder, Shipment

        self.client, self.settings, self.account_name = client, settings, account_name
        self.system = Actor(person_id="bench-system", roles=frozenset({Role.SYSTEM}))
        self.branch = Actor(person_id="bench-branch", roles=frozenset({Role.BRANCH_MANAGER}))
        self.order_model, self.shipment = PurchaseOrder, Shipment.model_validate(shipment_body())

    def driver(self, tag: str, polls: Tally) -> Callable[[int], Awaitable[None]]:
        async def one(i: int) -> None:
            await self.one(f"BENCH-{tag}-{i:04d}", polls)

        return one

    async def one(self, po_number: str, polls: Tally) -> str:
        from api.orders import start_order
        from domain.order.models import ShipmentReport
        from workflows.order import OrderWorkflow

        order = self.order_model.model_validate(order_body(po_number))
        accepted = await start_order(
            self.client, self.settings, order, self.system, self.account_name
        )
        handle = self.client.get_workflow_handle(accepted.order_id)
        polls.ids.append(handle.id)
        while (await handle.query(OrderWorkflow.view)).status != "released":
            await polls.wait()
        report = ShipmentReport(actor=self.branch, shipment=self.shipment)
        await handle.execute_update(OrderWorkflow.report_shipment, report)
        await handle.result()
        return handle.id


@dataclass(frozen=True)
class Shape:
    """An order's history: activities and local activities before the first
    update and after it, the updates, and the activity types it ran."""

    before: int
    before_local: int
    updates: int
    after: int
    after_local: int
    activity_types: tuple[str, ...]
    events: int = 0
    workflow_tasks: int = 0  # completed: each one a round trip worker <-> server

    @property
    def plan(self) -> tuple[int, int, int, int, int]:
        return self.before, self.before_local, self.updates, self.after, self.after_local

    @property
    def business(self) -> tuple[str, ...]:
        return tuple(t for t in self.activity_types if not t.startswith(READ_MODEL_PREFIX))


async def shape(client: Client, workflow_id: str) -> Shape:
    counts, types, events, tasks = [0, 0, 0, 0, 0], [], 0, 0
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        events += 1
        tasks += event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
        after = 3 if counts[2] else 0
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts[2] += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts[after] += 1
            types.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif (
            event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and event.marker_recorded_event_attributes.marker_name == "core_local_activity"
        ):
            counts[after + 1] += 1  # patch markers are not local activities
    return Shape(*counts, activity_types=tuple(types), events=events, workflow_tasks=tasks)


async def timeline(client: Client, workflow_id: str) -> dict[str, float]:
    """Where one run's time went, in ms, from its history's event times."""
    events = [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]
    at = [e.event_time.ToMilliseconds() for e in events]
    kinds = [e.event_type for e in events]
    scheduled: dict[int, float] = {}
    parts = dict.fromkeys(("activities", "update wait"), 0.0)
    for i, (kind, event) in enumerate(zip(kinds, events, strict=True)):
        if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = at[i]
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            sid = event.activity_task_completed_event_attributes.scheduled_event_id
            parts["activities"] += at[i] - scheduled[sid]
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            # From the workflow going idle (its last completed task before the
            # update's) until the update came in: the client's polls and request.
            done = [j for j in range(i) if kinds[j] == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED]
            if len(done) >= 2:
                parts["update wait"] += at[i] - at[done[-2]]
    total = at[-1] - at[0]
    parts["the rest"] = total - sum(parts.values())
    parts["lifetime"] = total
    return parts


async def until_waiting(handle, query, polls: Tally) -> None:  # type: ignore[no-untyped-def]
    """Poll as the branch polls the order before reporting a shipment."""
    while not await handle.query(query):
        await polls.wait()


def floor_driver(
    client: Client,
    queue: str,
    sla,
    tag: str,
    polls: Tally,  # type: ignore[no-untyped-def]
) -> Callable[[int], Awaitable[None]]:
    from benchmarks.floor import FloorWorkflow
    from domain.order.models import PurchaseOrder, Shipment

    shipment = Shipment.model_validate(shipment_body())

    async def one(i: int) -> None:
        # The same order as the order kind's (its own PO number: the OMS and
        # iSeries simulators see a new order each time).
        order = PurchaseOrder.model_validate(order_body(f"BENCH-F-{tag}-{i:04d}"))
        handle = await client.start_workflow(
            FloorWorkflow.run, args=[order, sla], id=f"bench-floor-{tag}-{i:04d}",
            task_queue=queue,
        )  # fmt: skip
        polls.ids.append(handle.id)
        await until_waiting(handle, FloorWorkflow.is_waiting, polls)
        await handle.execute_update(FloorWorkflow.ship, shipment)
        await handle.result()

    return one


def todays_floor_driver(
    client: Client, queue: str, tag: str, plan: tuple[int, ...], polls: Tally
) -> Callable[[int], Awaitable[None]]:
    from benchmarks.floor import TodaysFloorWorkflow

    async def one(i: int) -> None:
        handle = await client.start_workflow(
            TodaysFloorWorkflow.run, args=plan, id=f"bench-today-{tag}-{i:04d}", task_queue=queue
        )
        polls.ids.append(handle.id)
        for _ in range(plan[2]):
            await until_waiting(handle, TodaysFloorWorkflow.is_waiting, polls)
            await handle.execute_update(TodaysFloorWorkflow.ship)
        await handle.result()

    return one


def floor_worker(client: Client, queue: str, sandboxed: bool, business: list) -> Worker:
    """The floors' worker: the floors' workflows, the no-op activity and the
    order's real business activities (`business`)."""
    # The sandbox re-imports a workflow's module by name: make `benchmarks` importable.
    if str(repo()) not in sys.path:
        sys.path.insert(0, str(repo()))
    from benchmarks.floor import FloorWorkflow, TodaysFloorWorkflow, noop

    runner = production_runner() if sandboxed else UnsandboxedWorkflowRunner()
    return Worker(client, task_queue=queue, workflows=[FloorWorkflow, TodaysFloorWorkflow],
                  activities=[noop, *business], workflow_runner=runner)  # fmt: skip


def business_activities(pool, clients) -> list:  # type: ignore[no-untyped-def]
    """The implementations the production worker registers for the order's
    business steps (workers/main.py), on this script's pool and clients."""
    from activities.iseries import IseriesActivities
    from activities.oms import OmsActivities
    from activities.reference import ReferenceActivities
    from benchmarks.floor import BUSINESS_BEFORE_UPDATE, BUSINESS_IN_UPDATE
    from workers.main import activities_for

    names = {"reference.validate_order", "oms.create_order", "oms.release_order",
             "iseries.print_pick_ticket", "iseries.invoice_shipment"}  # fmt: skip
    assert len(names) == BUSINESS_BEFORE_UPDATE + BUSINESS_IN_UPDATE
    groups = (ReferenceActivities, OmsActivities, IseriesActivities)
    chosen = [
        fn for fn in activities_for(pool, clients)
        if getattr(fn, "__temporal_activity_definition").name in names
        and isinstance(fn.__self__, groups)
    ]  # fmt: skip
    assert len(chosen) == len(names), [f.__name__ for f in chosen]
    return chosen


# ------------------------------------------------------- CPU per process (Linux)
def _processes() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, CPU seconds incl. exited children)."""
    tick, table = os.sysconf("SC_CLK_TCK"), {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2 :].split()
        cpu = sum(int(x) for x in rest[11:15]) / tick  # utime stime cutime cstime
        table[int(name)] = (int(rest[1]), cmd, cpu)
    return table


def _role(pid: int, cmd: str) -> str:
    if pid == os.getpid():
        return "driver"  # the script: HTTP/gRPC drivers and the floors' worker
    for marker, role in (("start-dev", "temporal"), ("sopflow worker", "worker"),
                         ("sopflow api", "api"), ("sopflow simulators", "simulators"),
                         ("sopflow dev", "dev"), ("postgres", "postgres")):  # fmt: skip
        if marker in cmd:
            return role
    return "other"


class Stack:
    """The processes of the stack this script started (or only itself)."""

    def __init__(self, root: subprocess.Popen | None = None, data_dir: Path | None = None):
        self.root, self.data_dir = root, data_dir

    def pids(self) -> dict[int, str]:
        """pid -> role, for every process of the stack."""
        if sys.platform != "linux":
            return {}
        table = _processes()
        ours = {os.getpid()}
        if self.root is not None:
            ours.add(self.root.pid)
            ours |= {p for p, (_, cmd, _) in table.items() if str(self.data_dir) in cmd}
        grew = True
        while grew:  # and their descendants
            more = {p for p, (parent, _, _) in table.items() if parent in ours} - ours
            ours |= more
            grew = bool(more)
        return {p: _role(p, table[p][1]) for p in ours if p in table}

    def cpu(self) -> dict[str, float]:
        if sys.platform != "linux":
            return {}
        table, used = _processes(), defaultdict(float)
        for pid, role in self.pids().items():
            if pid in table:
                used[role] += table[pid][2]
        return used

    def pid_of(self, role: str) -> int | None:
        return next((p for p, r in self.pids().items() if r == role), None)


# ------------------------------------------------------------------- profiling
PROFILE_RATE = 200  # samples a second
CATEGORIES = [  # (what, substrings of a frame's function or file); a sample counts once per category
    ("read-model sync (activities/read_model)", ("read_model",)),
    ("asyncpg (PostgreSQL)", ("asyncpg/",)),
    ("pydantic (models, validation, dumps)", ("pydantic/", "pydantic_core", "contrib/pydantic")),
    ("workflow sandbox, all of it", ("workflow_sandbox/",)),
    (
        "  sandbox: an exec per payload for its serialization context",
        ("_Instance.get_serialization_context",),
    ),
    ("  sandbox: import hook and restriction proxies", ("_importer.py", "_restrictions.py")),
    ("  sandbox: new run (workflow module re-imported)", ("_Instance.__init__",)),
    ("workflow code (workflows/, domain/)", ("workflows/", "domain/", "benchmarks/floor")),
    ("search attributes / details", ("search_attribute", "current_details")),
    ("payload converter (temporalio.converter)", ("temporalio/converter",)),
    ("protobuf + core bridge", ("google/protobuf", "temporalio/bridge", "_pb2")),
    ("httpx/httpcore (system clients)", ("httpx/", "httpcore/", "h11/")),
    ("logging (structlog, logging)", ("structlog/", "logging/")),
    ("workflow activations (SDK worker)", ("temporalio/worker/_workflow",)),
    ("activity tasks (SDK worker)", ("temporalio/worker/_activity",)),
    ("FastAPI / Starlette / uvicorn", ("fastapi/", "starlette/", "uvicorn/")),
]


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start_profile(pid: int, out: Path) -> subprocess.Popen:
    out.unlink(missing_ok=True)  # never summarize an earlier run's file
    tool = py_spy()
    if not tool:
        raise SystemExit("--profile needs py-spy: pip install -e '.[bench]'")
    # --gil: only samples of a thread running Python (holding the GIL), so that a
    # thread waiting in epoll or on a queue is not counted as busy.
    args = [tool, "record", "--pid", str(pid), "--format", "raw", "--function", "--nonblocking",
            "--gil", "--rate", str(PROFILE_RATE), "--output", str(out)]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def stop_profile(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def summarize_profile(raw: Path, label: str, runs: int, top: int = 12, unit: str = "order") -> None:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks.append((stack.split(";"), int(count)))
    total = sum(c for _, c in stacks)
    if not total:
        print(f"\nprofile of the {label}: no samples ({raw})")
        return
    per_order = 1000 / PROFILE_RATE / runs  # ms of Python per sample and run
    print(f"\nprofile of the {label}: {total} samples running Python (holding the GIL) at "
          f"{PROFILE_RATE}/s over {runs} {unit}s, ~{total * per_order:.0f} ms per {unit}; {raw}")  # fmt: skip
    print("  share of samples whose stack passes through (a sample can count in several), "
          f"ms per {unit}:")  # fmt: skip
    for what, needles in CATEGORIES:
        hit = sum(c for frames, c in stacks if any(n in f for f in frames for n in needles))
        if hit:
            print(f"  {100 * hit / total:5.1f}%  {hit * per_order:5.1f} ms  {what}")
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for frames, c in stacks:
        for f in set(frames):
            inclusive[f] += c
        own[frames[-1]] += c
    generic = ("asyncio/", "threading.py", "concurrent/futures", "<module>", "runpy.py",
               "typer/", "click/", "sopflow/cli.py", "events.py")  # fmt: skip
    print(f"  top {top} functions by time inside them (inclusive), event-loop plumbing left out:")
    shown = 0
    for f, c in inclusive.most_common():
        if any(g in f for g in generic):
            continue
        print(f"  {100 * c / total:5.1f}%  {f}")
        shown += 1
        if shown == top:
            break
    print(f"  top {top} functions by own time:")
    for f, c in own.most_common(top):
        print(f"  {100 * c / total:5.1f}%  {f}")


# ---------------------------------------------------------------------- report
@dataclass
class Phase:
    kind: str
    round: int
    latencies: list[float]
    total: float
    cpu: dict[str, float]  # CPU seconds per process role during the phase
    polls: int = 0  # status reads while waiting
    ids: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.total


@dataclass
class Results:
    concurrency: int
    phases: list[Phase] = field(default_factory=list)
    timelines: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Phase]:
        return [p for p in self.phases if p.kind == kind]

    def median_ms(self, kind: str) -> float:
        return 1000 * statistics.median(x for p in self.of(kind) for x in p.latencies)

    def p99_ms(self, kind: str) -> float:
        ms = sorted(1000 * x for p in self.of(kind) for x in p.latencies)
        return statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]

    def rate(self, kind: str) -> float:
        """Throughput: the median of the rounds' rates."""
        return statistics.median(p.rate for p in self.of(kind))


def ms(xs: list[float], q: float) -> float:
    s = sorted(1000 * x for x in xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def report(results: Results) -> None:
    c = results.concurrency
    print(f"\nconcurrency {c}: {len(results.of('order'))} rounds, kinds alternating")
    print(f"{'round':<6} {'kind':<14} {'n':>4} {'total s':>8} {'per s':>7} "
          f"{'median ms':>10} {'p90 ms':>8} {'polls/run':>10}")  # fmt: skip
    for p in results.phases:
        print(f"{p.round:<6} {TITLES[p.kind]:<14} {len(p.latencies):>4} {p.total:>8.2f} "
              f"{p.rate:>7.1f} {ms(p.latencies, 0.5):>10.1f} {ms(p.latencies, 0.9):>8.1f} "
              f"{p.polls / len(p.latencies):>10.1f}")  # fmt: skip
    print(f"\n{'all':<6} {'kind':<14} {'n':>4} {'per s':>7} {'median ms':>10} {'p99 ms':>8}"
          "   (per s: median of the rounds)")  # fmt: skip
    for kind in KINDS:
        n = sum(len(p.latencies) for p in results.of(kind))
        print(f"{'':<6} {TITLES[kind]:<14} {n:>4} {results.rate(kind):>7.1f} "
              f"{results.median_ms(kind):>10.1f} {results.p99_ms(kind):>8.1f}")  # fmt: skip
    for floor in ("floor", "today"):
        latency = results.median_ms("order") / results.median_ms(floor)
        throughput = results.rate("order") / results.rate(floor)
        per_round = " ".join(
            f"{statistics.median(o.latencies) / statistics.median(f.latencies):.2f}"
            for o, f in zip(results.of("order"), results.of(floor), strict=True)
        )
        goal = (f"   goal ≤ {GOAL_LATENCY:.2f}x / ≥ {GOAL_THROUGHPUT:.2f}x: "
                f"{'met' if latency <= GOAL_LATENCY and throughput >= GOAL_THROUGHPUT else 'not met'}"
                if floor == "floor" else "")  # fmt: skip
        print(f"order vs {TITLES[floor] + ':':<14} median latency {latency:.2f}x, "
              f"throughput {throughput:.2f}x (latency per round: {per_round}){goal}")  # fmt: skip
    if results.of("api"):
        extra = results.median_ms("api") - results.median_ms("order")
        print(f"the API in front (order via API vs order): median latency {extra:+.1f} ms "
              f"({results.median_ms('api') / results.median_ms('order'):.2f}x), throughput "
              f"{results.rate('api') / results.rate('order'):.2f}x; order via API vs floor: "
              f"{results.median_ms('api') / results.median_ms('floor'):.2f}x / "
              f"{results.rate('api') / results.rate('floor'):.2f}x")  # fmt: skip
    if results.timelines:
        parts = list(next(iter(results.timelines.values()))[0])
        print("\nwhere a run's time goes (ms, median of the runs, from their histories; "
              "'outside' is the driver's latency minus the workflow's lifetime)")  # fmt: skip
        print(f"{'kind':<14} " + " ".join(f"{p[:12]:>12}" for p in parts) + f" {'outside':>8}")
        for kind, lines in results.timelines.items():
            medians = [statistics.median(t[p] for t in lines) for p in parts]
            outside = results.median_ms(kind) - medians[parts.index("lifetime")]
            print(f"{TITLES[kind]:<14} " + " ".join(f"{m:>12.1f}" for m in medians)
                  + f" {outside:>8.1f}")  # fmt: skip
        print("  activities: scheduled to completed, one after another; update wait: "
              "idle until the update came in (the client's polls and request); the rest: workflow "
              "tasks, local activities, server hops; lifetime: started to closed")  # fmt: skip
    roles = sorted({r for p in results.phases for r in p.cpu if r not in ("dev", "other")})
    if roles:
        print("\nCPU ms per run (median of the rounds); 'driver' is this script with the floors' "
              "worker")  # fmt: skip
        print(f"{'kind':<14} " + " ".join(f"{r:>10}" for r in roles) + f" {'sum':>8}")
        for kind in KINDS:
            per_run = {r: statistics.median(1000 * p.cpu.get(r, 0) / len(p.latencies)
                                            for p in results.of(kind)) for r in roles}  # fmt: skip
            print(f"{TITLES[kind]:<14} " + " ".join(f"{per_run[r]:>10.1f}" for r in roles)
                  + f" {sum(per_run.values()):>8.1f}")  # fmt: skip


async def run_phase(
    kind: str, rnd: int, n: int, concurrency: int, one: Callable, stack: Stack, polls: Tally
) -> Phase:
    before = stack.cpu()
    latencies, total = await drive(n, concurrency, one)
    after = stack.cpu()
    cpu = {r: after[r] - before.get(r, 0) for r in after}
    return Phase(kind, rnd, latencies, total, cpu, polls.count, polls.ids)


@dataclass(frozen=True)
class Where:
    """Where the floor's real business activities reach the stack's systems."""

    database_url: str
    sim_url: str
    task_queue: str  # the stack's worker's

    def settings(self, address: str, namespace: str):  # type: ignore[no-untyped-def]
        from sopflow.config import Settings

        urls = {f"{s}_url": f"{self.sim_url}/{s}" for s in ("oms", "iseries", "email", "helpdesk")}
        return Settings(database_url=self.database_url, temporal_address=address,
                        temporal_namespace=namespace, task_queue=self.task_queue, **urls)  # fmt: skip


async def benchmark(
    args: argparse.Namespace,
    api_url: str,
    keys: dict[str, str],
    address: str,
    stack: Stack,
    where: Where,
) -> None:
    from api.orders import order_policy
    from db import reference
    from db.connection import create_pool
    from workers.main import SystemClients

    run_id = uuid.uuid4().hex[:8]
    settings = where.settings(address, args.namespace)
    client = await temporal_client(address, args.namespace, own=not args.api_url)
    queue = f"bench-floor-{run_id}"
    pool = await create_pool(where.database_url)
    clients = SystemClients.from_settings(settings)
    sla = order_policy(settings).sla
    try:
        async with (
            httpx.AsyncClient(base_url=api_url, timeout=60) as http,
            floor_worker(client, queue, not args.unsandboxed, business_activities(pool, clients)),
        ):
            async with pool.acquire() as conn:
                account_name = await reference.account_name(conn, "401693") or ""
            orders = Orders(http, keys, client)
            direct = DirectOrders(client, settings, account_name)
            await rounds(args, client, queue, sla, orders, direct, stack, run_id)
            if args.profile:
                await profile(
                    args, orders, partial(floor_driver, client, queue, sla), stack, run_id
                )
    finally:
        await clients.close()
        await pool.close()


async def rounds(
    args: argparse.Namespace,
    client: Client,
    queue: str,
    sla,  # type: ignore[no-untyped-def]
    orders: Orders,
    direct: DirectOrders,
    stack: Stack,
    run_id: str,
) -> None:
    # Warm-up, one of each; the order also tells today's floor its shape.
    warm = Tally(POLL)
    order_shape = await shape(client, await direct.one(f"BENCH-{run_id}-warm", warm))
    plan = order_shape.plan
    await floor_driver(client, queue, sla, f"{run_id}-warm", warm)(0)
    await todays_floor_driver(client, queue, f"{run_id}-warm", plan, warm)(0)
    api_id = await orders.one(f"BENCH-{run_id}-warm-api", warm)
    histories = {
        "order": order_shape,
        "floor": await shape(client, f"bench-floor-{run_id}-warm-0000"),
        "today": await shape(client, f"bench-today-{run_id}-warm-0000"),
        "api": await shape(client, api_id),
    }

    from benchmarks.floor import BUSINESS_BEFORE_UPDATE, BUSINESS_IN_UPDATE

    before, before_local, updates, after, after_local = plan
    print(f"order: {len(order_shape.business)} business activities "
          f"({', '.join(order_shape.business)}), {before + after - len(order_shape.business)} "
          f"read-model activities, {before_local + after_local} local activities "
          f"({before} + {before_local} before the update, {after} + {after_local} after); "
          f"{updates} update(s)")  # fmt: skip
    print(f"floor: the {BUSINESS_BEFORE_UPDATE} + {BUSINESS_IN_UPDATE} (in the update) business "
          f"activities, real; today's floor: the order's shape above, no-ops; "
          f"{'outside' if args.unsandboxed else 'in'} the production sandbox settings; "
          f"CPUs: {os.cpu_count()}")  # fmt: skip
    print("history events / workflow tasks per run: " + ", ".join(
        f"{TITLES[k]} {h.events} / {h.workflow_tasks}" for k, h in histories.items()))  # fmt: skip
    if len(order_shape.business) != BUSINESS_BEFORE_UPDATE + BUSINESS_IN_UPDATE or updates != 1:
        print("warning: the order's happy path no longer has the floor's shape")

    all_results = []
    for c in args.concurrency:
        n = args.orders or (10 if c == 1 else 3 * c)
        results = Results(c)
        for rnd in range(1, args.rounds + 1):
            k = (rnd - 1) % len(KINDS)
            kinds = KINDS[k:] + KINDS[:k]  # a different kind goes first each round
            for kind in kinds:
                tag, polls = f"{run_id}-c{c}-r{rnd}", Tally(POLL * c)
                if kind == "order":
                    one = direct.driver(tag, polls)
                elif kind == "api":
                    one = orders.driver(f"{tag}-api", polls)
                elif kind == "floor":
                    one = floor_driver(client, queue, sla, tag, polls)
                else:
                    one = todays_floor_driver(client, queue, tag, plan, polls)
                phase = await run_phase(kind, rnd, n, c, one, stack, polls)
                results.phases.append(phase)
                print(f"  c={c} round {rnd} {TITLES[kind]}: {phase.rate:.1f}/s, median "
                      f"{ms(phase.latencies, 0.5):.0f} ms", flush=True)  # fmt: skip
        if results.phases:
            all_results.append(results)
        if results.phases and c == 1:  # latency without queueing: where it goes
            for kind in KINDS:
                ids = [i for p in results.of(kind) for i in p.ids]
                results.timelines[kind] = [await timeline(client, i) for i in ids]
    for results in all_results:
        report(results)


async def profile(
    args: argparse.Namespace,
    orders: Orders,
    floor: Callable[[str, Tally], Callable[[int], Awaitable[None]]],
    stack: Stack,
    run_id: str,
) -> None:
    """Two more phases, not counted above: orders with py-spy on the worker and
    the API, then floors with py-spy on this script (the floors' worker)."""
    args.profile.mkdir(parents=True, exist_ok=True)
    c = max(args.concurrency)
    n = args.orders or 6 * c
    targets = {role: stack.pid_of(role) for role in ("worker", "api")}
    if not all(targets.values()):
        print("\n--profile needs the stack this script starts (no --api-url)")
        return
    for kind, pids in (("order", targets), ("floor", {"floors-worker": os.getpid()})):
        spies = {role: start_profile(pid, args.profile / f"{role}.txt")  # type: ignore[arg-type]
                 for role, pid in pids.items()}  # fmt: skip
        await asyncio.sleep(1)  # attached
        try:
            polls = Tally(POLL * c)
            tag = f"{run_id}-prof"
            one = orders.driver(tag, polls) if kind == "order" else floor(tag, polls)
            phase = await run_phase(kind, 0, n, c, one, stack, polls)
        finally:
            for spy in spies.values():
                stop_profile(spy)
        print(f"\nprofiled {TITLES[kind]} phase: {n} runs at concurrency {c}, {phase.rate:.1f}/s, "
              f"median {ms(phase.latencies, 0.5):.0f} ms (py-spy attached; not counted above)")  # fmt: skip
        for role, spy in spies.items():
            err = spy.stderr.read().decode(errors="replace").strip() if spy.stderr else ""
            out = args.profile / f"{role}.txt"
            what = (f"{role} (pid {pids[role]})" if kind == "order"
                    else "floors' worker, with this script's drivers")  # fmt: skip
            if out.exists():
                summarize_profile(out, what, n, unit="run" if kind == "floor" else "order")
            else:
                print(f"\nno profile of the {role}: {err[-500:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--orders", type=int, default=0,
                        help="runs per phase (default: 10 at concurrency 1, else 3 x concurrency)")  # fmt: skip
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 10], help="runs in flight, comma-separated (default 1,10)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per concurrency, each with one phase of every kind (default 3; "
                             "0 with --profile: the profile only)")  # fmt: skip
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="after the rounds, one order phase with py-spy on the worker and the "
                             "API; raw profiles go to DIR")  # fmt: skip
    parser.add_argument("--api-url", help="use this running stack instead of starting one")
    parser.add_argument("--keys-file", type=Path, help="its demo-keys.json (with --api-url)")
    parser.add_argument(
        "--temporal-address", help="its Temporal frontend, host:port (with --api-url)"
    )
    parser.add_argument("--database-url", help="its PostgreSQL (with --api-url)")
    parser.add_argument("--sim-url", help="its simulators' base URL (with --api-url)")
    parser.add_argument("--task-queue", default="sopflow", help="its worker's task queue")
    parser.add_argument("--unsandboxed", action="store_true",
                        help="run the floors outside the workflow sandbox, to see what it costs")  # fmt: skip
    parser.add_argument(
        "--namespace", default="default", help="Temporal namespace (default: default)"
    )
    args = parser.parse_args()
    compile_workflow_modules()
    if args.api_url:
        if not (args.keys_file and args.temporal_address and args.database_url and args.sim_url):
            parser.error("--api-url needs --keys-file, --temporal-address, --database-url and "
                         "--sim-url")  # fmt: skip
        asyncio.run(wait_healthy(args.api_url, None, seconds=10))
        keys = json.loads(args.keys_file.read_text())
        where = Where(args.database_url, args.sim_url.rstrip("/"), args.task_queue)
        asyncio.run(
            benchmark(args, args.api_url.rstrip("/"), keys, args.temporal_address, Stack(), where)
        )
        return
    with own_stack() as own:
        where = Where(own.database_url, own.sim_url, "sopflow")
        stack = Stack(own.proc, own.data_dir)
        asyncio.run(benchmark(args, own.api_url, own.keys, own.address, stack, where))


if __name__ == "__main__":
    main()
