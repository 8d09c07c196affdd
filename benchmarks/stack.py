"""What the benchmarks share: a dev stack of their own on free ports (started,
waited for, stopped), bytecode written first, the production worker's sandbox
settings, and a driver that runs measured calls on a number of lanes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def repo() -> Path:
    return Path(__file__).resolve().parent.parent


async def drive(
    n: int,
    concurrency: int,
    one: Callable[[int], Awaitable[None]],
    settle: Callable[[int], Awaitable[None]] | None = None,
) -> tuple[list[float], float]:
    """Run `one(0..n-1)` on `concurrency` lanes; each latency and the wall time.
    `settle(i)`, untimed, waits for what `one(i)` set going before the lane goes on."""
    todo, latencies = iter(range(n)), []

    async def lane() -> None:
        for i in todo:
            started = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - started)
            if settle:
                await settle(i)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def production_runner():  # type: ignore[no-untyped-def]
    """The sandbox settings the production worker runs workflows with."""
    import workers.main

    try:
        from workers.sandbox import WORKFLOW_RUNNER
    except ImportError:  # an older checkout: the settings lived in the worker module
        return workers.main.WORKFLOW_RUNNER
    if workers.main.WORKFLOW_RUNNER is not WORKFLOW_RUNNER:
        print("warning: the worker (workers/main.py) does not run workflows with "
              "workers/sandbox.py's settings; the floors use the worker's")  # fmt: skip
        return workers.main.WORKFLOW_RUNNER
    return WORKFLOW_RUNNER


def compile_workflow_modules() -> None:
    """Bytecode for the modules the sandbox re-imports at every run, as an
    installed package has: with PYTHONDONTWRITEBYTECODE set and no .pyc, each
    order run compiled workflows/order.py and kernel.py again (~4 ms of CPU)."""
    import compileall

    for package in ("workflows", "benchmarks", "domain", "activities"):
        compileall.compile_dir(repo() / package, quiet=1)


def free_ports(count: int) -> list[int]:
    with ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]


def start_dev_stack(
    data_dir: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str, str, int]:
    api, temporal, ui, sim = free_ports(4)
    # Never reach the user's own database, Temporal or ports through inherited settings.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPFLOW_", "TEMPORAL_")) and k != "DATABASE_URL"}  # fmt: skip
    env.update(extra_env or {})  # the benchmark's own settings (e.g. outage timing)
    args = [sys.executable, "-m", "sopflow", "dev", "--data-dir", str(data_dir), "--api-port", str(api),
            "--temporal-port", str(temporal), "--ui-port", str(ui), "--sim-port", str(sim)]  # fmt: skip
    log = open(data_dir / "dev.log", "wb")  # noqa: SIM115 — the child owns it
    proc = subprocess.Popen(
        args, cwd=repo(), env=env, stdout=log, stderr=log, start_new_session=True
    )
    return proc, f"http://127.0.0.1:{api}", f"127.0.0.1:{temporal}", sim


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


@dataclass(frozen=True)
class OwnStack:
    """A dev stack this process started (see `own_stack`)."""

    proc: subprocess.Popen
    data_dir: Path
    api_url: str
    address: str  # the Temporal frontend, host:port
    sim_url: str
    database_url: str  # its embedded PostgreSQL
    keys: dict[str, str]  # the demo keys, one per role


@contextmanager
def own_stack(extra_env: dict[str, str] | None = None) -> Iterator[OwnStack]:
    """`python -m sopflow dev` on free ports with a temporary data dir, healthy;
    stopped with SIGTERM on the way out (also on Ctrl-C or SIGTERM), its last log
    lines printed if something failed."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the stack
    data_dir = Path(tempfile.mkdtemp(prefix="sopflow-bench-"))
    proc, api_url, address, sim_port = start_dev_stack(data_dir, extra_env)
    try:
        print(f"starting a dev stack in {data_dir} (API {api_url}, Temporal {address})", flush=True)
        started = time.perf_counter()
        asyncio.run(wait_healthy(api_url, proc))
        print(f"healthy after {time.perf_counter() - started:.0f} s", flush=True)
        keys = json.loads((data_dir / "demo-keys.json").read_text())
        from db.connection import pgserver_module

        # The stack's embedded PostgreSQL, joined (not stopped when this script leaves).
        server = pgserver_module().get_server(data_dir / "postgres", cleanup_mode=None)
        database_url = server.get_uri()
        yield OwnStack(proc, data_dir, api_url, address, f"http://127.0.0.1:{sim_port}",
                       database_url, keys)  # fmt: skip
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


async def temporal_client(address: str, namespace: str = "default", *, own: bool):  # type: ignore[no-untyped-def]
    """The benchmark's Temporal client. For its own dev stack: that stack's
    server and nothing else. For a stack it is pointed at: the SDK's environment
    configuration (API key, TLS; see docs/operations.md) with the address and
    namespace given on the command line."""
    from temporalio.client import Client
    from temporalio.contrib.pydantic import DATA_CONVERTER

    from sopflow.config import Settings
    from sopflow.temporal import connect_options

    settings = Settings(temporal_address=address, temporal_namespace=namespace)
    options = connect_options(settings, sdk_config=not own)
    options.update(target_host=address, namespace=namespace)
    return await Client.connect(**options, data_converter=DATA_CONVERTER)
