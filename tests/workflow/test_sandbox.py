"""The production worker's sandbox refuses what would break a replay, and workflow
modules import no I/O library."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker

from tests.workflow.nondeterministic import DrawsARandomId, ReadsTheClock
from workers.sandbox import WORKFLOW_RUNNER


@pytest.mark.parametrize(
    ("workflow", "refused"),
    [(ReadsTheClock, "datetime.datetime.now"), (DrawsARandomId, "uuid.uuid4")],
)
async def test_a_workflow_that_reads_the_clock_or_draws_randomness_fails(
    client: Client, workflow: type, refused: str
) -> None:
    queue = f"sandbox-{uuid.uuid4().hex[:6]}"
    async with Worker(
        client, task_queue=queue, workflows=[workflow], workflow_runner=WORKFLOW_RUNNER
    ):
        handle = await client.start_workflow(
            workflow.run, id=f"sandbox-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        failure = None
        for _ in range(100):
            history = await handle.fetch_history()
            failed = [
                e
                for e in history.events
                if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
            ]
            if failed:
                failure = failed[0].workflow_task_failed_event_attributes.failure.message
                break
            await asyncio.sleep(0.05)
        await handle.terminate()
    assert failure is not None, "the workflow ran without the sandbox objecting"
    assert refused in failure


def test_workflow_modules_import_no_io_library() -> None:
    code = (
        "import importlib, pkgutil, sys, workflows\n"
        "for m in pkgutil.iter_modules(workflows.__path__):\n"
        "    importlib.import_module('workflows.' + m.name)\n"
        "leaked = sorted({'httpx', 'asyncpg', 'fastapi', 'uvicorn'} & set(sys.modules))\n"
        "print(','.join(leaked))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_domain_rules_read_no_clock_and_draw_no_randomness() -> None:
    """domain/ is passed through the sandbox (loaded once, unguarded), so it must
    be pure by construction: the clock and randomness belong to workflows
    (workflow.now, workflow.uuid4) and to the API."""
    forbidden = (
        "datetime.now",
        "datetime.utcnow",
        "date.today",
        "time.time(",
        "uuid4",
        "uuid1",
        "import random",
        "from random",
        "os.urandom",
        "secrets.",
    )
    root = Path(__file__).parents[2] / "domain"
    found = [
        f"{path.relative_to(root.parent)}: {word}"
        for path in root.rglob("*.py")
        for word in forbidden
        if word in path.read_text()
    ]
    assert found == []
