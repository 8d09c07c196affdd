"""`sopflow sim`: an operator switches a simulated system off, on and to flaky,
and the system itself then answers that way."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from click.testing import Result
from typer.testing import CliRunner

from sopflow.cli import app
from tests.conftest import Simulators, free_port

CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("SOPFLOW_", "TEMPORAL_")) and k != "DATABASE_URL"
}


@pytest.fixture(autouse=True)
async def back_to_normal(simulators_server: Simulators) -> AsyncIterator[None]:
    """Later tests share the simulators: every system answering again."""
    yield
    await simulators_server.reset()


async def sim(sims: Simulators, *args: str, port: int | None = None) -> Result:
    """The command as a user types it, with the port from the environment as
    `bin/dev` would have it (run in a thread: the simulators answer on this loop)."""
    env = {**CLEAN_ENV, "SOPFLOW_SIM_PORT": str(port or urlsplit(sims.url).port)}
    return await asyncio.to_thread(CliRunner().invoke, app, ["sim", *args], env=env)


async def create_oms_order(sims: Simulators) -> int:
    resp = await sims.http.post(
        "/oms/orders",
        headers={"Idempotency-Key": os.urandom(8).hex()},
        json={
            "external_ref": "cli-test",
            "account_number": "401693",
            "po_number": "1",
            "lines": [{"line_number": 1, "part_id": "HX-1001", "pool_id": "ODS-MAIN",
                       "uom": "EA", "quantity": 1, "unit_price": 1}],
        },
    )  # fmt: skip
    return resp.status_code


async def test_oms_down_then_up(sims: Simulators) -> None:
    down = await sim(sims, "oms", "down")

    assert down.exit_code == 0, down.output
    assert down.output.split() == ["oms", "down"]
    assert await create_oms_order(sims) == 503
    assert (await sims.http.get("/oms/health")).status_code == 503

    up = await sim(sims, "oms", "up")

    assert up.exit_code == 0, up.output
    assert up.output.split() == ["oms", "up"]
    assert await create_oms_order(sims) == 201


async def test_flaky_with_error_rate_and_latency(sims: Simulators) -> None:
    result = await sim(sims, "iseries", "flaky", "--error-rate", "0.3", "--latency-ms", "2000")

    assert result.exit_code == 0, result.output
    assert "iseries  flaky: 30% errors, 2000 ms latency" in result.output
    faults = sims.state.faults["iseries"]
    assert (faults.down, faults.error_rate, faults.latency_ms) == (False, 0.3, 2000)
    status = await sim(sims, "iseries", "status")
    assert "flaky: 30% errors, 2000 ms latency" in status.output


async def test_status_of_every_system_and_reset(sims: Simulators) -> None:
    await sim(sims, "oms", "down")
    await sim(sims, "email", "flaky", "--latency-ms", "500")

    status = await sim(sims, "status")

    assert status.exit_code == 0, status.output
    states = dict(line.split(None, 1) for line in status.output.splitlines())
    assert states["oms"] == "down"
    assert states["email"] == "flaky: 500 ms latency"
    assert states["iseries"] == "up" and states["helpdesk"] == "up"

    reset = await sim(sims, "reset")

    assert reset.exit_code == 0, reset.output
    assert {line.split()[1] for line in reset.output.splitlines()} == {"up"}
    assert await create_oms_order(sims) == 201


async def test_unknown_system_is_named_with_the_known_ones(sims: Simulators) -> None:
    result = await sim(sims, "omz", "down")

    assert result.exit_code == 1
    assert "unknown system 'omz'" in result.output and "oms" in result.output


async def test_a_wrong_request_says_what_is_wrong_and_changes_nothing(sims: Simulators) -> None:
    for args, says in [
        (["oms"], "one of: down, up, flaky, status"),
        (["oms", "sideways"], "unknown action 'sideways'"),
        (["oms", "flaky"], "flaky needs --error-rate and/or --latency-ms"),
        (["oms", "down", "--error-rate", "0.5"], "go with `flaky`"),
    ]:
        result = await sim(sims, *args)
        assert result.exit_code == 2, (args, result.output)
        assert says in result.output
    too_high = await sim(sims, "oms", "flaky", "--error-rate", "3")
    assert too_high.exit_code == 1 and "error_rate" in too_high.output
    assert sims.state.faults["oms"].model_dump() == {
        "down": False,
        "latency_ms": 0,
        "error_rate": 0.0,
        "refuse_with": None,
    }


async def test_no_simulators_on_the_port_says_how_to_point_at_them(sims: Simulators) -> None:
    result = await sim(sims, "oms", "down", port=free_port())

    assert result.exit_code == 1
    assert "not answering" in result.output
    assert "--sim-port or SOPFLOW_SIM_PORT" in result.output


async def test_oms_refusing_our_credentials_then_up(sims: Simulators) -> None:
    refused = await sim(sims, "oms", "refuse", "--status", "401")

    assert refused.exit_code == 0, refused.output
    assert refused.output.strip() == "oms  refusing every call with 401"
    assert await create_oms_order(sims) == 401
    wrong = await sim(sims, "oms", "down", "--status", "401")
    assert wrong.exit_code == 2 and "--status goes with `refuse`" in wrong.output
    assert (await sim(sims, "oms", "up")).exit_code == 0
    assert await create_oms_order(sims) == 201
