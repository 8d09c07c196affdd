"""A person's decision through the API against a raw Update on the same server.

Four kinds of decision, at concurrency 1, in alternating rounds:

- api: the team lead approves an escalated PO price, `POST /tasks/{id}/complete`
  `{"decision": "approve_po_price", "comment"}` with the demo team-lead key, on an
  order held for one wrong price whose rep escalated it, sent with a lean
  keep-alive HTTP/1.1 client (`benchmarks/http1.py`). The answer comes in the
  workflow task that takes the decision, which holds nothing else; the API then
  signals `carry_out` and the order writes its read model, confirms in OMS and
  goes to the branch. Before the next decision the script waits (untimed) until
  the order has gone on to the branch, as a person working a queue would not
  decide faster than the system settles.
- api_httpx: the same through httpx, whose own CPU per request (1.5–2 ms here)
  counts in this figure.
- direct: the same decision as the same `decide` Update with the Temporal
  client, no API in front (to tell the API's cost from the workflow's); the
  script then signals `carry_out` as the API does (untimed).
- raw: `execute_update` on a bare workflow (`benchmarks/bare.py`: a validator
  that checks the role, a handler that answers at once, no activities), on a
  worker in this script with the production sandbox settings.

Preparing each escalated order (post it, escalate its price as the rep, wait for
the team lead's task) and starting each bare workflow is not timed. Goal: api
within 1.2x raw at p50 and 2x at p99, and p50 at most 25 ms. See benchmarks/README.md.

    python -m benchmarks.decision_latency            # 5 rounds of 20 decisions of each kind
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from benchmarks.http1 import Http1
from benchmarks.order_latency import LINES, order_body
from benchmarks.stack import (
    compile_workflow_modules,
    drive,
    own_stack,
    production_runner,
    repo,
    temporal_client,
    wait_healthy,
)

KINDS = ("api", "api_httpx", "direct", "raw")
TITLES = {"api": "API decision", "api_httpx": "API via httpx", "direct": "client decide",
          "raw": "raw update"}  # fmt: skip
GOAL_P50, GOAL_P99, GOAL_P50_MS = 1.2, 2.0, 25.0
COMMENT = "one-off for this PO"
PREPARE_CONCURRENCY = 5
TIMEOUT = 30.0


def held_order(po: str) -> dict:
    """The demo order with line 1 at 2.10 (the contract says 2.35): one PRICE hold."""
    return {**order_body(po), "lines": [{**LINES[0], "unit_price": "2.10"}, *LINES[1:]]}


@dataclass(frozen=True)
class Escalated:
    order_id: str
    task_id: str
    href: str


class Decisions:
    def __init__(self, http: httpx.AsyncClient, keys: dict[str, str], client: Client) -> None:
        from domain.identity import Actor, Role

        self.http, self.client = http, client
        self.lean = Http1.for_url(str(http.base_url))
        self.auth = {r: {"Authorization": f"Bearer {keys[r]}"}
                     for r in ("system", "account_rep", "team_lead")}  # fmt: skip
        self.lead = Actor(person_id="tom.baker", roles=frozenset({Role.TEAM_LEAD}))

    async def task(self, order_id: str, role: str, kind: str) -> dict:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            resp = await self.http.get("/tasks", params={"workflow_id": order_id, "kind": kind},
                                       headers=self.auth[role])  # fmt: skip
            resp.raise_for_status()
            if items := resp.json()["items"]:
                return items[0]
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{order_id}: no {kind} task for the {role}")

    async def escalated(self, po: str) -> Escalated:
        """An order held for its line-1 price, escalated by the rep (not timed)."""
        resp = await self.http.post("/orders", json=held_order(po), headers=self.auth["system"])
        resp.raise_for_status()
        order_id = resp.json()["order_id"]
        rep_task = await self.task(order_id, "account_rep", "resolve_hold_price")
        resp = await self.http.post(f"{rep_task['href']}/complete", headers=self.auth["account_rep"],
                                    json={"decision": "escalate", "comment": "buyer insists"})  # fmt: skip
        resp.raise_for_status()
        task = await self.task(order_id, "team_lead", "price_escalation")
        return Escalated(order_id, task["task_id"], task["href"])

    async def prepare(self, tag: str, n: int) -> list[Escalated]:
        gate = asyncio.Semaphore(PREPARE_CONCURRENCY)

        async def one(i: int) -> Escalated:
            async with gate:
                return await self.escalated(f"DL-{tag}-{i:04d}")

        ready = await asyncio.gather(*(one(i) for i in range(n)))
        await asyncio.sleep(1)  # the orders' last writes and notifications settle
        return list(ready)

    def decision(self, task_id: str):  # type: ignore[no-untyped-def]
        from domain.tasks import TaskDecision

        # What the API sends for this body (api/tasks.py: complete_task).
        return TaskDecision(task_id=task_id, decision="approve_po_price", comment=COMMENT,
                            fields={"comment": COMMENT}, actor=self.lead)  # fmt: skip

    def api(self, orders: list[Escalated]) -> Callable[[int], Awaitable[None]]:
        async def one(i: int) -> None:
            status, body = await self.lean.request(
                "POST", f"{orders[i].href}/complete", self.auth["team_lead"],
                {"decision": "approve_po_price", "comment": COMMENT},
            )  # fmt: skip
            if status != 200:
                raise RuntimeError(f"{orders[i].order_id}: {status} {str(body)[:300]}")

        return one

    def api_httpx(self, orders: list[Escalated]) -> Callable[[int], Awaitable[None]]:
        async def one(i: int) -> None:
            resp = await self.http.post(f"{orders[i].href}/complete", headers=self.auth["team_lead"],
                                        json={"decision": "approve_po_price", "comment": COMMENT})  # fmt: skip
            if resp.status_code != 200:
                raise RuntimeError(f"{orders[i].order_id}: {resp.status_code} {resp.text[:300]}")

        return one

    def settled(
        self, orders: list[Escalated], *, carry_out: bool = False
    ) -> Callable[[int], Awaitable[None]]:
        async def settle(i: int) -> None:
            if carry_out:  # what the API does once it has answered
                await self.client.get_workflow_handle(orders[i].order_id).signal("carry_out")
            deadline = time.monotonic() + TIMEOUT
            while time.monotonic() < deadline:
                resp = await self.http.get(f"/orders/{orders[i].order_id}",
                                           headers=self.auth["team_lead"])  # fmt: skip
                if resp.status_code == 200 and resp.json()["status"] == "released":
                    return
                await asyncio.sleep(0.02)
            raise TimeoutError(f"{orders[i].order_id} did not reach the branch")

        return settle

    def direct(self, orders: list[Escalated]) -> Callable[[int], Awaitable[None]]:
        from domain.tasks import DecisionResult

        async def one(i: int) -> None:
            handle = self.client.get_workflow_handle(orders[i].order_id)
            await handle.execute_update("decide", self.decision(orders[i].task_id),
                                        result_type=DecisionResult)  # fmt: skip

        return one


async def bare_workflows(client: Client, queue: str, tag: str, n: int) -> list[str]:
    """n bare workflows, each waiting for its Update (not timed)."""
    from benchmarks.bare import BareWorkflow

    ids = [f"bench-bare-{tag}-{i:04d}" for i in range(n)]
    handles = await asyncio.gather(
        *(client.start_workflow(BareWorkflow.run, id=i, task_queue=queue) for i in ids)
    )
    for handle in handles:
        while not await handle.query(BareWorkflow.is_waiting):
            await asyncio.sleep(0.01)
    return ids


def raw_driver(client: Client, ids: list[str], decisions: Decisions):  # type: ignore[no-untyped-def]
    from benchmarks.bare import BareWorkflow

    async def one(i: int) -> None:
        handle = client.get_workflow_handle(ids[i])
        await handle.execute_update(BareWorkflow.decide, decisions.decision("bare"))

    return one


async def inside(client: Client, workflow_id: str) -> dict[str, float]:
    """Where the last `decide` Update's time went inside the workflow, in ms, from
    its history: accepted to completed, split into its activities (scheduled to
    completed, by type) and the rest (workflow tasks, local activities, hops)."""
    events = [e async for e in client.get_workflow_handle(workflow_id).fetch_history_events()]
    accepted = max(i for i, e in enumerate(events)
                   if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)  # fmt: skip
    completed = next(i for i in range(accepted, len(events)) if events[i].event_type
                     == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)  # fmt: skip

    def at(i: int) -> float:
        return events[i].event_time.ToNanoseconds() / 1e6

    parts: dict[str, float] = defaultdict(float)
    scheduled: dict[int, tuple[float, str]] = {}
    locals_ = 0
    for i in range(accepted, completed):
        e = events[i]
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            name = e.activity_task_scheduled_event_attributes.activity_type.name
            scheduled[e.event_id] = (at(i), name)
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            start, name = scheduled[e.activity_task_completed_event_attributes.scheduled_event_id]
            parts[name] += at(i) - start
        elif e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            locals_ += e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    span = at(completed) - at(accepted)
    parts["the rest"] = span - sum(parts.values())
    parts["accepted to completed"] = span
    parts["local activities (count)"] = locals_
    return dict(parts)


@dataclass
class Phase:
    kind: str
    round: int
    latencies: list[float]
    ids: list[str] = field(default_factory=list)


def pct(xs: list[float], q: int) -> float:
    ms = sorted(1000 * x for x in xs)
    return statistics.quantiles(ms, n=100, method="inclusive")[q - 1] if len(ms) > 1 else ms[0]


async def benchmark(
    args: argparse.Namespace, api_url: str, keys: dict[str, str], address: str
) -> None:
    import sys

    if str(repo()) not in sys.path:  # the sandbox re-imports benchmarks.bare by name
        sys.path.insert(0, str(repo()))
    from benchmarks.bare import BareWorkflow

    run_id = uuid.uuid4().hex[:8]
    client = await temporal_client(address, args.namespace, own=not args.api_url)
    queue = f"bench-bare-{run_id}"
    worker = Worker(client, task_queue=queue, workflows=[BareWorkflow],
                    workflow_runner=production_runner())  # fmt: skip
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http, worker:
        decisions = Decisions(http, keys, client)
        # Warm-up, one of each, not counted.
        warm = await decisions.prepare(f"{run_id}-warm", 3)
        await decisions.api(warm)(0)
        await decisions.api_httpx(warm)(1)
        await decisions.direct(warm)(2)
        await decisions.settled(warm, carry_out=True)(2)
        await raw_driver(
            client, await bare_workflows(client, queue, f"{run_id}-warm", 1), decisions
        )(0)
        print(f"{args.rounds} rounds of {args.decisions} decisions of each kind, one at a time",
              flush=True)  # fmt: skip

        phases: list[Phase] = []
        for rnd in range(1, args.rounds + 1):
            tag = f"{run_id}-r{rnd}"
            prepared = {kind: await decisions.prepare(f"{tag}-{kind}", args.decisions)
                        for kind in KINDS if kind != "raw"}  # fmt: skip
            bare = await bare_workflows(client, queue, tag, args.decisions)
            k = (rnd - 1) % len(KINDS)
            for kind in KINDS[k:] + KINDS[:k]:  # a different kind goes first each round
                settle = None
                if kind == "raw":
                    one, ids = raw_driver(client, bare, decisions), bare
                else:
                    orders = prepared[kind]
                    one = getattr(decisions, kind)(orders)
                    settle = decisions.settled(orders, carry_out=kind == "direct")
                    ids = [o.order_id for o in orders]
                latencies, _ = await drive(args.decisions, 1, one, settle)
                phases.append(Phase(kind, rnd, latencies, ids))
                print(f"  round {rnd} {TITLES[kind]:<14} p50 {pct(latencies, 50):6.1f} ms  "
                      f"p99 {pct(latencies, 99):6.1f} ms", flush=True)  # fmt: skip

        breakdown = {kind: [await inside(client, i) for p in phases if p.kind == kind
                            for i in p.ids] for kind in KINDS}  # fmt: skip
        report(phases, breakdown)


def report(phases: list[Phase], breakdown: dict[str, list[dict[str, float]]]) -> None:
    every = {k: [x for p in phases if p.kind == k for x in p.latencies] for k in KINDS}
    print(f"\n{'kind':<14} {'n':>4} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for k in KINDS:
        xs = every[k]
        print(f"{TITLES[k]:<14} {len(xs):>4} {pct(xs, 50):>8.1f} {pct(xs, 90):>8.1f} "
              f"{pct(xs, 99):>8.1f} {1000 * max(xs):>8.1f}")  # fmt: skip
    p50 = pct(every["api"], 50) / pct(every["raw"], 50)
    p99 = pct(every["api"], 99) / pct(every["raw"], 99)
    met = p50 <= GOAL_P50 and p99 <= GOAL_P99 and pct(every["api"], 50) <= GOAL_P50_MS
    per_round = " ".join(
        f"{statistics.median(a.latencies) / statistics.median(r.latencies):.2f}"
        for a, r in zip([p for p in phases if p.kind == "api"],
                        [p for p in phases if p.kind == "raw"], strict=True)
    )  # fmt: skip
    print(f"API decision vs raw update: p50 {p50:.2f}x, p99 {p99:.2f}x (p50 per round: {per_round})"
          f"   goal ≤ {GOAL_P50}x / ≤ {GOAL_P99}x, p50 ≤ {GOAL_P50_MS:.0f} ms: "
          f"{'met' if met else 'not met'}")  # fmt: skip
    print(
        f"through httpx: p50 {pct(every['api_httpx'], 50) / pct(every['raw'], 50):.2f}x, "
        f"p99 {pct(every['api_httpx'], 99) / pct(every['raw'], 99):.2f}x raw"
    )
    print(f"the API in front (API decision vs client decide): p50 "
          f"{pct(every['api'], 50) - pct(every['direct'], 50):+.1f} ms, "
          f"client decide vs raw update: p50 {pct(every['direct'], 50) / pct(every['raw'], 50):.2f}x")  # fmt: skip

    print("\nwhere a decision's time goes (ms, medians; from each workflow's history: the Update "
          "accepted to completed, and 'outside' = the caller's latency minus that)")  # fmt: skip
    for k in KINDS:
        rows = breakdown[k]
        names = sorted(
            {n for r in rows for n in r},
            key=lambda n: (n.startswith(("the rest", "accepted", "local")), n),
        )
        meds = {n: statistics.median(r.get(n, 0.0) for r in rows) for n in names}
        outside = pct(every[k], 50) - meds["accepted to completed"]
        print(f"  {TITLES[k]}: " + ", ".join(
            f"{n} {meds[n]:.0f}" if "count" in n else f"{n} {meds[n]:.1f}" for n in names)
            + f", outside {outside:.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--decisions", type=int, default=20,
                        help="decisions per phase (default 20)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--api-url", help="use this running stack instead of starting one")
    parser.add_argument("--keys-file", type=Path, help="its demo-keys.json (with --api-url)")
    parser.add_argument("--temporal-address", help="its Temporal frontend (with --api-url)")
    parser.add_argument("--namespace", default="default", help="Temporal namespace")
    args = parser.parse_args()
    compile_workflow_modules()
    if args.api_url:
        if not (args.keys_file and args.temporal_address):
            parser.error("--api-url needs --keys-file and --temporal-address")
        asyncio.run(wait_healthy(args.api_url, None, seconds=10))
        keys = json.loads(args.keys_file.read_text())
        asyncio.run(benchmark(args, args.api_url.rstrip("/"), keys, args.temporal_address))
        return
    with own_stack() as own:
        asyncio.run(benchmark(args, own.api_url, own.keys, own.address))


if __name__ == "__main__":
    main()
