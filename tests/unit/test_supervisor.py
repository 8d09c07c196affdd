"""The dev stack's supervisor on its own, with small stand-in children: a child
that dies is started again after its back-off and said so; one that keeps
failing at start stops the stack; Ctrl-C stops every child."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import structlog

from sopflow.supervisor import ProcessChild, RestartPolicy, Supervisor

QUICK = RestartPolicy(backoff=(0.2, 0.4), grace=1.5, max_failed_starts=3)


def sleeper(name: str) -> ProcessChild:
    return ProcessChild(name, [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ))


async def until(condition, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def test_a_killed_child_is_started_again_and_the_others_keep_running() -> None:
    supervisor = Supervisor(QUICK, poll_every=0.05)
    worker, api = sleeper("worker"), sleeper("api")
    supervisor.start(worker)
    supervisor.start(api)
    stop = asyncio.Event()
    with structlog.testing.capture_logs() as logs:
        running = asyncio.create_task(supervisor.supervise(stop))
        first, api_pid = worker.pid, api.pid
        os.kill(first, signal.SIGKILL)  # type: ignore[arg-type]
        await until(lambda: worker.pid != first and worker.exited() is None)
        stop.set()
        assert await running == 0
    supervisor.stop()

    assert api.pid == api_pid  # untouched
    exited = next(e for e in logs if e["event"] == "process exited; restarting it")
    assert exited["process"] == "worker" and exited["how"] == "killed by SIGKILL"
    assert exited["restart_in_s"] == 0.2
    restarted = next(e for e in logs if e["event"] == "process restarted")
    assert restarted["process"] == "worker" and restarted["pid"] == worker.pid
    assert worker.exited() and api.exited()  # Ctrl-C stopped both


async def test_a_child_failing_at_start_is_retried_with_back_off_then_stops_the_stack(
    tmp_path: Path,
) -> None:
    failing = ProcessChild(
        "api",
        [sys.executable, "-c", "import sys; print('port 8000 already in use'); sys.exit(3)"],
        dict(os.environ),
        tmp_path / "api.log",
    )
    other = sleeper("worker")
    supervisor = Supervisor(QUICK, poll_every=0.05)
    supervisor.start(other)
    supervisor.start(failing)
    with structlog.testing.capture_logs() as logs:
        result = await asyncio.wait_for(supervisor.supervise(asyncio.Event()), 20)
    supervisor.stop()

    assert result == 1
    waits = [e["restart_in_s"] for e in logs if e["event"] == "process exited; restarting it"]
    assert waits == [0.2, 0.4]  # backing off, the last wait repeating
    [gave_up] = [e for e in logs if e["event"] == "process keeps failing at start; stopping the stack"]
    assert gave_up["process"] == "api" and gave_up["how"] == "exit code 3"
    assert gave_up["failed_starts"] == 3
    assert gave_up["log_file"] == str(tmp_path / "api.log")
    assert (tmp_path / "api.log").read_text().count("already in use") == 3
    assert other.exited()  # the whole stack stopped


async def test_a_child_that_ran_a_while_starts_its_count_again() -> None:
    policy = RestartPolicy(backoff=(0.1,), grace=0.3, max_failed_starts=2)
    child = ProcessChild(
        "worker", [sys.executable, "-c", "import time; time.sleep(0.8)"], dict(os.environ)
    )
    supervisor = Supervisor(policy, poll_every=0.05)
    supervisor.start(child)
    stop = asyncio.Event()
    with structlog.testing.capture_logs() as logs:
        running = asyncio.create_task(supervisor.supervise(stop))
        # Each run outlives the grace period: exits are not failures at start.
        await until(lambda: sum(e["event"] == "process restarted" for e in logs) >= 2)
        stop.set()
        assert await running == 0
    supervisor.stop()
    assert not any("failing" in e["event"] for e in logs)
