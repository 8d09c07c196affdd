"""`sopflow` command: the dev stack and each process on its own."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from sopflow.config import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

DataDir = Annotated[
    Path | None, typer.Option(envvar="SOPFLOW_DATA_DIR", help="state folder (default ./.sopflow)")
]


def _settings(**overrides: object) -> Settings:
    from sopflow.logs import configure_logging

    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _database_url(settings: Settings) -> str:
    from db.connection import resolve_database_url

    return resolve_database_url(settings.database_url, settings.data_dir)


@app.command()
def dev(
    data_dir: DataDir = None,
    api_port: Annotated[int | None, typer.Option(envvar="SOPFLOW_API_PORT")] = None,
    temporal_port: Annotated[int | None, typer.Option(envvar="SOPFLOW_TEMPORAL_PORT")] = None,
    ui_port: Annotated[int | None, typer.Option(envvar="SOPFLOW_UI_PORT")] = None,
    sim_port: Annotated[int | None, typer.Option(envvar="SOPFLOW_SIM_PORT")] = None,
) -> None:
    """The whole service on this machine: Temporal dev server and UI, PostgreSQL,
    demo data, simulators, a worker and the API."""
    from sopflow.devstack import run_dev_stack

    settings = _settings(
        data_dir=data_dir,
        api_port=api_port,
        temporal_port=temporal_port,
        ui_port=ui_port,
        sim_port=sim_port,
        log_format="console",
    )
    raise typer.Exit(asyncio.run(run_dev_stack(settings)))


@app.command()
def worker() -> None:
    """Run a worker for every workflow and activity on the task queue."""
    from db.connection import create_pool
    from sopflow.temporal import connect
    from workers.main import run_worker

    settings = _settings()

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


@app.command()
def api() -> None:
    """Run the HTTP API."""
    import uvicorn

    from api.app import create_app

    settings = _settings()
    application = create_app(settings, database_url=_database_url(settings))
    uvicorn.run(application, host=settings.host, port=settings.api_port, log_config=None)


@app.command()
def simulators() -> None:
    """Run the HTTP stand-ins for OMS, iSeries, email and the helpdesk."""
    import uvicorn

    from simulators.app import create_app

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings.helpdesk_api_key, state_file=settings.data_dir / "simulators.pickle")
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
def seed_demo(data_dir: DataDir = None) -> None:
    """Load demo reference data and write one API key per role to <data-dir>/demo-keys.json."""
    settings = _settings(data_dir=data_dir)
    keys = asyncio.run(seed_demo_data(settings, _database_url(settings)))
    typer.echo(f"demo data loaded; {len(keys)} API keys in {settings.data_dir / 'demo-keys.json'}")


async def seed_demo_data(settings: Settings, database_url: str) -> dict[str, str]:
    from db.connection import create_pool
    from db.demo import ensure_demo_keys, load_demo_data
    from db.migrate import migrate as apply

    keys_file = settings.data_dir / "demo-keys.json"
    existing = json.loads(keys_file.read_text()) if keys_file.exists() else {}
    pool = await create_pool(database_url, max_size=1)
    try:
        async with pool.acquire() as conn:
            await apply(conn)
            await load_demo_data(conn)
            keys = await ensure_demo_keys(conn, existing)
    finally:
        await pool.close()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Readable by its owner only, from the moment it exists.
    fd = os.open(keys_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(keys, indent=2) + "\n")
    return keys
