"""What every workflow fuzzer shares: its budget and seed, a fresh time-skipping
server and worker per example (restartable), a bridge from Hypothesis's thread
to the test's event loop, and the invariants checked after every step.

Hypothesis runs a state machine synchronously; the simulators, the PostgreSQL
pool and the Temporal clients live on pytest's session event loop. The machine
runs in a worker thread and hands each coroutine to that loop, which keeps
serving the simulators meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import asyncpg
from hypothesis import HealthCheck, Phase, settings
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.enums.v1.workflow_pb2 import WORKFLOW_EXECUTION_STATUS_RUNNING
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db import read_model
from domain.kernel import KernelPolicy
from domain.records import ReadModelSync
from sopflow.config import Settings
from sopflow.converter import DATA_CONVERTER, INVALID_START
from sopflow.temporal import register_search_attributes
from tests.conftest import Simulators, venv_binary
from workers.main import WORKFLOW_RUNNER, WORKFLOWS, SystemClients, activities_for

T = TypeVar("T")

# A fixed seed keeps CI repeatable; SOPFLOW_FUZZ_SEED explores elsewhere.
SEED = int(os.environ.get("SOPFLOW_FUZZ_SEED", "17"))
# Steps per workflow type for a long run (`bin/test --fuzz N`); unset, the
# bounded run of every `bin/test` (its steps per type are each test's own).
LONG_STEPS = int(os.environ.get("SOPFLOW_FUZZ_STEPS", "0") or 0)
# Each step and how long it took, on stderr (SOPFLOW_FUZZ_TRACE=1).
TRACE = os.environ.get("SOPFLOW_FUZZ_TRACE") == "1"
# Every failure a workflow may end with for a business reason (a system's
# refusal for good); anything else Failed is a finding.
BUSINESS_REFUSALS = {"SystemRefused", INVALID_START}
# How long an Update may take to answer before the step counts it as
# unanswered (a wedged workflow task never answers; the invariants say why).
ANSWER_WITHIN = 5.0


def fuzz_settings(examples: int, steps: int) -> settings:
    """`examples` × `steps` in the bounded run; a long run keeps the steps per
    example and makes as many examples as SOPFLOW_FUZZ_STEPS needs."""
    if LONG_STEPS:
        examples = max(1, math.ceil(LONG_STEPS / steps))
    return settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        # No example database: a run replays nothing from an earlier one, so
        # the seed alone says what ran.
        database=None,
        # A step is a real round trip through Temporal and the simulators:
        # shrinking would take many minutes; the failing steps are printed as
        # found, and become a test in tests/fuzz/test_findings.py.
        phases=[Phase.generate] if not LONG_STEPS else [Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def trace(what: str) -> None:
    if TRACE:
        print(f"  {what}", file=sys.stderr, flush=True)


class Bridge:
    """Runs coroutines on the event loop that owns the fixtures."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def run(self, coro: Awaitable[T], timeout: float = 120) -> T:
        name = getattr(coro, "__qualname__", "")
        started = time.monotonic()
        result = asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]
        if TRACE:
            print(f"  {name} {time.monotonic() - started:.2f}s", file=sys.stderr, flush=True)
        return result


@dataclass
class Fixtures:
    """What a machine needs from pytest's fixtures (set by the test before the run)."""

    bridge: Bridge
    settings: Settings
    pool: asyncpg.Pool
    sims: Simulators


FIXTURES: dict[str, Fixtures] = {}


class Stack:
    """One example's Temporal: a fresh time-skipping server (a shared one breaks
    time skipping) and a worker with the real activities, which a step may stop
    and start again (a worker restart: every workflow replays from history)."""

    def __init__(self, fx: Fixtures) -> None:
        self.fx = fx
        # A task queue of its own: a worker of an earlier example never takes it.
        self.settings = fx.settings.model_copy(
            update={"task_queue": f"fuzz-{uuid.uuid4().hex[:8]}"}
        )
        self.env: WorkflowEnvironment | None = None
        self._stop: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None

    @property
    def client(self) -> Client:
        assert self.env is not None
        return self.env.client

    async def start(self) -> None:
        await self.fx.sims.reset()
        self.env = await WorkflowEnvironment.start_time_skipping(
            data_converter=DATA_CONVERTER,
            test_server_existing_path=venv_binary("temporal-test-server"),
        )
        await register_search_attributes(self.env.client)
        await self.start_worker()

    async def start_worker(self) -> None:
        started = asyncio.Event()
        self._stop = asyncio.Event()

        async def run(stop: asyncio.Event) -> None:
            # As workers/main.py builds it, but without a workflow cache: the
            # time-skipping server is not told that a worker stopped, and holds
            # a cached workflow's queries on the old worker's sticky queue for
            # 30 seconds (resetting the sticky queue does not help). Uncached,
            # every workflow task replays the whole history: each step is also
            # a replay check.
            clients = SystemClients.from_settings(self.settings)
            try:
                async with Worker(
                    self.client,
                    task_queue=self.settings.task_queue,
                    workflows=WORKFLOWS,
                    activities=activities_for(self.fx.pool, clients, self.client, self.settings),
                    workflow_runner=WORKFLOW_RUNNER,
                    max_cached_workflows=0,
                ):
                    started.set()
                    await stop.wait()
            finally:
                await clients.close()

        self._worker = asyncio.create_task(run(self._stop))
        waiting = asyncio.create_task(started.wait())
        await asyncio.wait({waiting, self._worker}, return_when=asyncio.FIRST_COMPLETED)
        if self._worker.done():
            self._worker.result()

    async def stop_worker(self) -> None:
        if self._worker is not None and self._stop is not None:
            self._stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._worker, 30)
            self._worker = None

    async def restart_worker(self) -> None:
        await self.stop_worker()
        await self.start_worker()

    async def stop(self) -> None:
        await self.stop_worker()
        with contextlib.suppress(Exception):
            await self.fx.sims.http.delete("/_faults")
        if self.env is not None:
            await self.env.shutdown()
            self.env = None


@dataclass
class Answer:
    """How an Update ended: its result, its refusal (type, message), or no
    answer in time."""

    result: Any = None
    refused: tuple[str, str] | None = None
    unanswered: bool = False

    @property
    def accepted(self) -> bool:
        return self.refused is None and not self.unanswered


async def update(
    handle: WorkflowHandle, name: str, arg: Any, update_id: str, result_type: type | None = None
) -> Answer:

    try:
        result = await asyncio.wait_for(
            handle.execute_update(name, arg, id=update_id, result_type=result_type),
            ANSWER_WITHIN,
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        return Answer(refused=(getattr(cause, "type", None) or type(cause).__name__, str(cause)))
    except RPCError as err:  # the run has ended: no workflow to take it
        return Answer(refused=("Closed", str(err)))
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        return Answer(unanswered=True)
    return Answer(result=result)


# ------------------------------------------------------------------ invariants
@dataclass
class Findings:
    """What the invariants found, worded for the failure message."""

    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


async def history_problems(client: Client, workflow_id: str) -> list[str]:
    """A workflow task that failed (code that raised, a nondeterminism), or a
    run that failed for anything but a business refusal."""
    problems: list[str] = []
    handle = client.get_workflow_handle(workflow_id)
    try:
        events = [e async for e in handle.fetch_history_events()]
    except Exception:  # never started (an incident nobody opened)
        return problems
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failure = e.workflow_task_failed_event_attributes.failure
            while failure.HasField("cause"):  # the exception the workflow code raised
                failure = failure.cause
            kind = failure.application_failure_info.type
            problems.append(
                f"{workflow_id}: WorkflowTaskFailed at event {e.event_id}: "
                f"{kind} {failure.message[:300]}"
            )
            break
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
            failure = e.workflow_execution_failed_event_attributes.failure
            kind = failure.application_failure_info.type
            if kind not in BUSINESS_REFUSALS:
                problems.append(
                    f"{workflow_id}: Failed, not by a business refusal ({kind or 'no type'}): "
                    f"{failure.message[:300]}"
                )
    return problems


async def raw_description(handle: WorkflowHandle) -> Any:
    # Past the client's decoding: the time-skipping server answers some
    # search attributes in a form the client cannot decode.
    return await handle._client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=handle._client.namespace,
            execution=WorkflowExecution(workflow_id=handle.id),
        )
    )


async def pending_activities(handle: WorkflowHandle) -> int:
    return len((await raw_description(handle)).pending_activities)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def read_model_problems(
    pool: asyncpg.Pool, handle: WorkflowHandle, env: WorkflowEnvironment, policy: KernelPolicy
) -> list[str]:
    """Once nothing is pending and the catch-up interval has passed twice, the
    read model's row and tasks are the workflow's own view of itself."""

    async def compare() -> list[str]:
        try:
            snap = await handle.query("read_model_snapshot", result_type=ReadModelSync)
        except Exception as err:  # a wedged or closed run: the history says why
            described = await raw_description(handle)
            if described.workflow_execution_info.status != WORKFLOW_EXECUTION_STATUS_RUNNING:
                return []
            return [f"{handle.id}: no answer to the read-model query: {err}"[:300]]
        async with pool.acquire() as conn:
            row = await read_model.get_record(conn, handle.id)
            open_rows = await conn.fetch(
                "SELECT task_id FROM human_tasks WHERE workflow_id = $1 AND closed_at IS NULL",
                handle.id,
            )
        if row is None:
            return [f"{handle.id}: no read-model row"]
        problems = []
        rec = snap.record
        if row["status"] != rec.status:
            problems.append(f"{handle.id}: read model says {row['status']}, workflow {rec.status}")
        mine = _json(json.dumps(rec.view, default=str))
        theirs = _json(row["view"])
        if mine != theirs:
            keys = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            problems.append(f"{handle.id}: read-model view differs in {keys}")
        for name in ("summary", "assignee", "business_key"):
            if row[name] != getattr(rec, name):
                problems.append(f"{handle.id}: read-model {name} {row[name]!r} ≠ {getattr(rec, name)!r}")
        open_ids = {t.task_id for t in snap.open_tasks}
        in_db = {r["task_id"] for r in open_rows}
        if open_ids - in_db:
            problems.append(f"{handle.id}: open tasks missing from the read model: {sorted(open_ids - in_db)}")
        if in_db - open_ids:
            problems.append(f"{handle.id}: closed tasks still open in the read model: {sorted(in_db - open_ids)}")
        return problems

    async def quiet() -> bool:
        for _ in range(10):
            if await pending_activities(handle) == 0:
                return True
            await asyncio.sleep(0.05)
        return False  # a system is down and the workflow waits on it

    if not await quiet() or not (problems := await compare()):
        return []
    # Let the read model catch up: its interval, twice.
    await env.sleep(policy.sync_catch_up_every * 2 + timedelta(seconds=1))
    for _ in range(60):
        if not await quiet():
            return []
        if not (problems := await compare()):
            return []
        await asyncio.sleep(0.05)
    return problems


def failure_message(kind: str, problems: list[str]) -> str:
    return (
        f"{kind} fuzzer found (SOPFLOW_FUZZ_SEED={SEED}; re-run: "
        f"SOPFLOW_FUZZ_SEED={SEED} bin/test --fuzz N tests/fuzz -k {kind}):\n- "
        + "\n- ".join(problems)
    )
