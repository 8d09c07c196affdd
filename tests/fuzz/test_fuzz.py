"""The workflow fuzzer (issue 17 item 7): each workflow type driven through
random interleavings of what can reach it, the invariants checked after every
step. Bounded in `bin/test`; `bin/test --fuzz N` runs N steps per type (see
docs/fuzzing.md)."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from hypothesis import seed
from hypothesis.stateful import run_state_machine_as_test

from sopflow.config import Settings
from tests.conftest import Simulators
from tests.fuzz.account_change_machine import AccountChangeMachine
from tests.fuzz.csr_machine import CsrMachine
from tests.fuzz.harness import FIXTURES, SEED, Bridge, Fixtures, fuzz_settings
from tests.fuzz.open_order_machine import OpenOrderMachine
from tests.fuzz.order_machine import OrderInIseriesMachine, OrderMachine
from tests.fuzz.weekly_review_machine import WeeklyReviewMachine


async def fuzz(
    kind: str, machine: type, examples: int, steps: int, fx: Fixtures
) -> None:
    FIXTURES[kind] = fx
    seed(SEED)(machine)
    print(f"{kind} fuzzer: SOPFLOW_FUZZ_SEED={SEED}")
    try:
        await asyncio.to_thread(
            run_state_machine_as_test, machine, settings=fuzz_settings(examples, steps)
        )
    finally:
        del FIXTURES[kind]


async def test_the_order_workflow_keeps_its_invariants(
    settings: Settings, pool: asyncpg.Pool, sims: Simulators
) -> None:
    fx = Fixtures(Bridge(asyncio.get_running_loop()), settings, pool, sims)
    await fuzz("order", OrderMachine, examples=3, steps=10, fx=fx)


async def test_an_order_entered_in_iseries_during_an_outage_keeps_its_invariants(
    settings: Settings, pool: asyncpg.Pool, sims: Simulators
) -> None:
    fx = Fixtures(Bridge(asyncio.get_running_loop()), settings, pool, sims)
    await fuzz("order", OrderInIseriesMachine, examples=1, steps=5, fx=fx)


async def test_the_account_change_workflow_keeps_its_invariants(
    settings: Settings, pool: asyncpg.Pool, sims: Simulators
) -> None:
    fx = Fixtures(Bridge(asyncio.get_running_loop()), settings, pool, sims)
    await fuzz("account_change", AccountChangeMachine, examples=4, steps=12, fx=fx)


async def test_the_open_order_workflow_keeps_its_invariants(
    settings: Settings, pool: asyncpg.Pool, sims: Simulators
) -> None:
    fx = Fixtures(Bridge(asyncio.get_running_loop()), settings, pool, sims)
    await fuzz("open_order", OpenOrderMachine, examples=3, steps=12, fx=fx)


@pytest.mark.usefixtures("demo_people")  # the case's people, looked up with their roles
async def test_the_csr_workflow_keeps_its_invariants(
    settings: Settings, pool: asyncpg.Pool, sims: Simulators
) -> None:
    fx = Fixtures(Bridge(asyncio.get_running_loop()), settings, pool, sims)
    await fuzz("csr", CsrMachine, examples=2, steps=10, fx=fx)


async def test_the_weekly_review_keeps_its_invariants(
    settings: Settings, pool: asyncpg.Pool, sims: Simulators
) -> None:
    fx = Fixtures(Bridge(asyncio.get_running_loop()), settings, pool, sims)
    await fuzz("weekly_review", WeeklyReviewMachine, examples=2, steps=8, fx=fx)
