"""`sopflow` command: the dev stack and each process on its own.

Every setting also comes from the environment (SOPFLOW_*, DATABASE_URL,
TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE); an option given here wins. The Temporal
connection follows the SDK's environment configuration (docs/operations.md)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from sopflow.config import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


# Each setting's default, for the options and their help: Settings stays the one
# source (built without reading the environment).
DEFAULTS = Settings.model_construct()


def port_option(name: str, what: str) -> Any:
    return typer.Option(envvar=f"SOPFLOW_{name.upper()}", help=what)


DataDir = Annotated[
    Path,
    typer.Option(
        envvar="SOPFLOW_DATA_DIR",
        help="state folder: Temporal's and PostgreSQL's data, demo keys, logs",
    ),
]
ApiPort = Annotated[int, port_option("api_port", "port of the HTTP API")]
TemporalPort = Annotated[
    int, port_option("temporal_port", "port of the Temporal dev server (gRPC)")
]
UiPort = Annotated[int, port_option("ui_port", "port of the Temporal Web UI")]
SimPort = Annotated[int, port_option("sim_port", "port of the simulators")]


def _settings(process: str | None = "cli", **overrides: object) -> Settings:
    """The settings, with logging and tracing (docs/operations.md) set up for
    this process, which names its traces' service: sopflow-<process>; None:
    not traced."""
    from sopflow.logs import configure_logging
    from sopflow.tracing import setup_tracing

    settings = _read_settings(**overrides)
    configure_logging(settings.log_format, settings.log_level)
    if process is not None:
        setup_tracing(settings, process)
    return settings


def _read_settings(**overrides: object) -> Settings:
    """The settings, or a message naming each wrong variable (not a traceback)."""
    from pydantic import ValidationError

    from sopflow.config import setting_errors

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as err:
        typer.echo(f"sopflow: wrong setting\n{setting_errors(err)}", err=True)
        raise typer.Exit(2) from None


def _database_url(settings: Settings) -> str:
    from db.connection import resolve_database_url

    if not settings.database_url and not settings.data_dir.is_dir():
        typer.echo(
            f"sopflow: no PostgreSQL: set DATABASE_URL, or start the dev stack (bin/dev), "
            f"which keeps one under {settings.data_dir}/",
            err=True,
        )
        raise typer.Exit(2)
    return resolve_database_url(settings.database_url, settings.data_dir)


@app.command(
    help="The whole service on this machine: Temporal dev server and UI, PostgreSQL, "
    "demo data, simulators, a worker and the API.\n\n"
    "PostgreSQL is embedded in the data folder unless DATABASE_URL is set. "
    "Ctrl-C stops everything; the state stays in the data folder."
)
def dev(
    data_dir: DataDir = DEFAULTS.data_dir,
    api_port: ApiPort = DEFAULTS.api_port,
    temporal_port: TemporalPort = DEFAULTS.temporal_port,
    ui_port: UiPort = DEFAULTS.ui_port,
    sim_port: SimPort = DEFAULTS.sim_port,
) -> None:
    from sopflow.devstack import run_dev_stack

    settings = _settings(
        # Its own start-up and health checks are nobody's request; its processes trace.
        None,
        data_dir=data_dir,
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
        sim_port=sim_port,
        log_format="console",
    )
    raise typer.Exit(asyncio.run(run_dev_stack(settings)))


@app.command(
    help="Run a worker for every workflow and activity on the task queue "
    f"(SOPFLOW_TASK_QUEUE, default {DEFAULTS.task_queue}). Reads DATABASE_URL and "
    "Temporal's TEMPORAL_* variables or TEMPORAL_PROFILE (docs/operations.md); with "
    "SOPFLOW_METRICS_PORT set, serves Prometheus metrics there."
)
def worker() -> None:
    from db.connection import create_pool
    from sopflow.temporal import connect
    from workers.main import run_worker

    settings = _settings("worker")

    async def main() -> None:
        pool = await create_pool(_database_url(settings))
        client = await connect(settings, metrics=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await run_worker(settings, client, pool, stop)
        finally:
            await pool.close()

    asyncio.run(main())


@app.command(
    help="Run the HTTP API on SOPFLOW_HOST:SOPFLOW_API_PORT "
    f"(default {DEFAULTS.host}:{DEFAULTS.api_port})."
)
def api() -> None:
    import uvicorn

    from api.app import create_app

    settings = _settings("api")
    application = create_app(settings, database_url=_database_url(settings))
    uvicorn.run(application, host=settings.host, port=settings.api_port, log_config=None)


@app.command(
    help="Run the HTTP stand-ins for OMS, iSeries, email and the helpdesk on "
    f"SOPFLOW_HOST:SOPFLOW_SIM_PORT (default {DEFAULTS.host}:{DEFAULTS.sim_port}); "
    "their state is kept in the data folder (SOPFLOW_DATA_DIR)."
)
def simulators() -> None:
    import uvicorn

    from simulators.app import create_app
    from simulators.webhooks import WebhookTarget
    from sopflow.tracing import instrument_app

    settings = _settings("simulators")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # The ERP and the SMS/voice provider send their events to this stack's API.
    webhooks = {
        "erp": WebhookTarget(
            url=f"{settings.api_url}/webhooks/erp", secret=settings.erp_webhook_secret
        ),
        "smsvoice": WebhookTarget(
            url=f"{settings.api_url}/webhooks/sms-voice", secret=settings.smsvoice_webhook_secret
        ),
    }
    app = create_app(
        settings.helpdesk_api_key,
        state_file=settings.data_dir / "simulators.sqlite",
        webhook_targets=webhooks,
    )
    # The external systems' side of each call, in the dev stack's traces.
    instrument_app(app)
    uvicorn.run(app, host=settings.host, port=settings.sim_port, log_config=None)


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    from db.connection import create_pool
    from db.migrate import migrate as apply

    settings = _settings()

    async def main() -> list[str]:
        pool = await create_pool(_database_url(settings), max_size=1)
        async with pool.acquire() as conn:
            applied = await apply(conn)
        await pool.close()
        return applied

    applied = asyncio.run(main())
    typer.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@app.command("seed-demo")
def seed_demo(data_dir: DataDir = DEFAULTS.data_dir) -> None:
    """Load demo reference data and write one API key per role to <data-dir>/demo-keys.json."""
    settings = _settings(data_dir=data_dir)
    keys = asyncio.run(seed_demo_data(settings, _database_url(settings)))
    typer.echo(f"demo data loaded; {len(keys)} API keys in {settings.data_dir / 'demo-keys.json'}")


async def seed_demo_data(settings: Settings, database_url: str) -> dict[str, str]:
    from db.connection import create_pool
    from db.demo import ensure_demo_keys, ensure_demo_people, load_demo_data
    from db.migrate import migrate as apply

    keys_file = settings.data_dir / "demo-keys.json"
    existing = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    people_file = settings.data_dir / "demo-people.json"
    known_people = json.loads(people_file.read_text()) if people_file.exists() else {}
    pool = await create_pool(database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            await apply(conn)
            # The demo buyers' documents go to the network simulator of this stack.
            await load_demo_data(conn, network_url=settings.system_url("network"))
            keys = await ensure_demo_keys(conn, existing)
            people = await ensure_demo_people(conn, known_people, keys)
    finally:
        await pool.close()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _write_private(keys_file, keys)
    # One role now has several people (CSR approvers): a key per demo person.
    _write_private(people_file, people)
    return keys


def _write_private(path: Path, content: dict) -> None:
    # Readable by its owner only, from the moment it exists.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(content, indent=2) + "\n")


@app.command(
    help="Compare the read model with Temporal once and fix it where they disagree "
    "(rows of terminated, reset or timed-out workflows; rows a lost write left behind); "
    "prints what it did. The worker also runs this every SOPFLOW_RECONCILE_EVERY "
    "(default 5 minutes). Exits 1 when Temporal or PostgreSQL did not answer."
)
def reconcile(
    workflow_id: Annotated[
        str | None, typer.Option(help="only this workflow (default: every open row)")
    ] = None,
) -> None:
    from activities.contracts.reconcile import ReconcileRequest
    from activities.reconcile import reconcile as run
    from db.connection import create_pool
    from sopflow.temporal import connect, connect_options

    settings = _settings()

    async def main() -> int:
        try:
            pool = await create_pool(_database_url(settings), max_size=2)
        except Exception as exc:
            typer.echo(f"PostgreSQL not answering: {exc}", err=True)
            return 1
        try:
            try:
                client = await connect(settings)
            except Exception as exc:
                where = connect_options(settings)["target_host"]
                typer.echo(f"Temporal at {where} not answering: {exc}", err=True)
                return 1
            report = await run(pool, client, ReconcileRequest(workflow_id=workflow_id))
        finally:
            await pool.close()
        typer.echo(f"reconciled: {report.line()}")
        return 1 if report.errors else 0

    raise typer.Exit(asyncio.run(main()))


# ---------------------------------------------------------- issue 10: routing
@app.command(
    help="Who would get a task of KIND for ACCOUNT now, and why (the team directory's "
    "routing: the account's contact, a primary member for the region, a cross-trained "
    "backup, the team's queue; anyone away passed over)."
)
def route(
    kind: Annotated[str, typer.Option(help="task kind, e.g. resolve_hold_price, branch_edit")],
    account: Annotated[str | None, typer.Option(help="account number")] = None,
    role: Annotated[
        str | None, typer.Option(help="the task's role (default: from the kind)")
    ] = None,
) -> None:
    from datetime import UTC, datetime

    from db.connection import create_pool
    from db.directory import load_directory
    from domain.directory.routing import capability_for, role_for_kind
    from domain.directory.routing import route as decide
    from domain.identity import Role

    settings = _settings()
    try:
        task_role = Role(role) if role else role_for_kind(kind)
    except ValueError:
        typer.echo(f"unknown role {role!r}", err=True)
        raise typer.Exit(2) from None

    async def main() -> str:
        pool = await create_pool(_database_url(settings), max_size=1)
        try:
            async with pool.acquire() as conn:
                capability = capability_for(kind, task_role)
                directory = await load_directory(conn, account, task_role.value, capability)
        finally:
            await pool.close()
        r = decide(
            directory,
            role=task_role,
            capability=capability,
            at=datetime.now(UTC),
            fallback_queue=None,
        )
        lines = [
            f"{kind} for {'account ' + account if account else 'no account'} "
            f"(role {task_role.value}, capability {capability or '-'}, "
            f"region {directory.region or '-'})",
            f"→ {r.assignee or r.queue or 'anyone with the role ' + task_role.value} [{r.rule}]",
            f"  why: {r.reason}",
        ]
        lines += [f"  skipped {s.person_id}: {s.why}" for s in r.skipped]
        return "\n".join(lines)

    typer.echo(asyncio.run(main()))


# ------------------------------------------------------------ sopflow keys
from sopflow.keys import keys_app  # noqa: E402

app.add_typer(keys_app, name="keys")


# ------------------------------------------------------ issue 10: the review
report_app = typer.Typer(no_args_is_help=True, help="Reports computed from the audit log.")
app.add_typer(report_app, name="report")


@report_app.command(
    "weekly",
    help="Compute the weekly review for WEEK (ISO, e.g. 2026-W48; default: last week) now, "
    "store it, and print it as a table (or CSV).",
)
def report_weekly(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W48")] = None,
    csv_out: Annotated[bool, typer.Option("--csv", help="print CSV instead of a table")] = False,
) -> None:
    from datetime import UTC, datetime

    from activities.contracts.reports import ComputeWeek
    from activities.reports import compute
    from api.reports import as_csv
    from db.connection import create_pool
    from domain.reports import flat, parse_week

    settings = _settings()
    if week:
        try:
            parse_week(week)
        except ValueError as err:
            typer.echo(str(err), err=True)
            raise typer.Exit(2) from None

    async def main() -> tuple[str, list]:
        pool = await create_pool(_database_url(settings), max_size=2)
        try:
            done = await compute(
                pool,
                ComputeWeek(week=week, as_of=datetime.now(UTC), timezone=settings.center_timezone),
            )
        finally:
            await pool.close()
        return done.week, done.rows

    computed, rows = asyncio.run(main())
    if csv_out:
        typer.echo(as_csv(rows), nl=False)
        return
    typer.echo(f"Weekly review {computed} ({settings.center_timezone}): {len(rows)} rows")
    headers = {
        "account_number": "account", "rep_id": "rep", "orders": "orders",
        "holds_by_code": "holds", "holds_auto_resolved": "auto", "holds_manual_resolved": "manual",
        "median_minutes_to_confirm": "median min", "p90_minutes_to_confirm": "p90 min",
        "sla_breaches": "SLA breaches", "errors_systemic": "systemic", "errors_human": "human",
        "edits_by_root_cause": "branch edits", "incident_orders": "incidents",
        "fallback_orders": "fallback",
    }  # fmt: skip
    table = [list(headers.values())] + [[flat(r)[k] or "-" for k in headers] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    for n, line in enumerate(table):
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            typer.echo("  ".join("-" * w for w in widths))


@report_app.command(
    "seed-week",
    help="Load a week of demo orders (holds, quotes, SLA breaches, flags, edits, outages in a "
    "fixed pattern over the demo accounts) into the read model and audit log, for trying the "
    "weekly review. Refused for a week that already has them.",
)
def report_seed_week(
    week: Annotated[str, typer.Option(help="ISO week, e.g. 2026-W47")],
    orders: Annotated[int, typer.Option(min=1, max=100_000, help="how many orders")] = 40,
) -> None:
    from db.connection import create_pool
    from db.demo_week import seed_week
    from domain.reports import parse_week

    settings = _settings()
    try:
        parse_week(week)
    except ValueError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None
    prefix = f"DEMO{week.replace('-', '')}-"

    async def main() -> bool:
        pool = await create_pool(_database_url(settings), max_size=1)
        try:
            async with pool.acquire() as conn:
                if await conn.fetchval(
                    "SELECT 1 FROM workflow_records WHERE business_key LIKE $1 LIMIT 1",
                    prefix + "%",
                ):
                    return False
                await seed_week(conn, week, settings.center_timezone, orders, prefix=prefix)
        finally:
            await pool.close()
        return True

    if not asyncio.run(main()):
        typer.echo(f"{week} already has its demo orders", err=True)
        raise typer.Exit(1)
    typer.echo(f"{orders} demo orders loaded into {week}; now: sopflow report weekly --week {week}")


# ------------------------------------------------------------ sopflow sim
@app.command(
    help="Switch a simulated system off, on or to flaky, or read its state: "
    "`sopflow sim oms down`, `sopflow sim oms up`, "
    "`sopflow sim oms flaky --error-rate 0.3 --latency-ms 2000`, `sopflow sim oms status`, "
    "`sopflow sim oms refuse --status 401` (every call refused as our credentials would be); "
    "`sopflow sim status` shows every system, `sopflow sim reset` puts every system back "
    "to normal (what the systems hold is kept). Talks to the simulators on "
    "SOPFLOW_HOST:SOPFLOW_SIM_PORT, as `sopflow dev` starts them.",
    no_args_is_help=True,
)
def sim(
    target: Annotated[str, typer.Argument(help="a system (oms, iseries, ...), status or reset")],
    action: Annotated[str | None, typer.Argument(help="down, up, flaky, refuse or status")] = None,
    error_rate: Annotated[
        float | None, typer.Option(help="flaky: share of calls answered 500, 0 to 1")
    ] = None,
    latency_ms: Annotated[
        int | None, typer.Option(help="flaky: delay before each answer, in ms")
    ] = None,
    status: Annotated[
        int | None, typer.Option(help="refuse: the 4xx every call is answered with (401)")
    ] = None,
    sim_port: SimPort = DEFAULTS.sim_port,
) -> None:
    from sopflow import sim as control

    settings = _read_settings(sim_port=sim_port)
    try:
        typer.echo(
            control.run(
                control.base_url(settings.host, settings.sim_port),
                target,
                action,
                error_rate,
                latency_ms,
                status,
            )
        )
    except control.SimError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2 if err.usage else 1) from None
