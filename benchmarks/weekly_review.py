"""The weekly review over a seeded week: how long computing one week per
account and rep takes (SQL over the audit log and the read model), against the
goal of 10,000 orders in under 5 seconds.

Seeds the target week with `--orders` orders over 300 accounts and 25 reps
(db/demo_week.py: holds, SLA breaches, flags, edits, incidents in a fixed
pattern) and the weeks on either
side with as many again, so the review has to pick its week out of three. Then
computes the week `--runs` times and prints each time and the ratio to the goal.

    python -m benchmarks.weekly_review                  # 10,000 orders, 5 runs
    python -m benchmarks.weekly_review --orders 2000 --runs 2

PostgreSQL: a fresh database on DATABASE_URL's server when set, else an
embedded one in a temporary folder."""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from db.connection import create_pool, embedded_database_url
from db.demo import load_demo_data
from db.demo_week import seed_week
from db.migrate import migrate
from db.reports import compute_week
from domain.reports import week_bounds

WEEK, BEFORE, AFTER = "2026-W48", "2026-W47", "2026-W49"
TZ = "America/Chicago"
GOAL_SECONDS = 5.0
ACCOUNTS, REPS = 300, 25


async def bench_accounts(conn: asyncpg.Connection) -> list[str]:
    """A center's worth of accounts, each with its rep."""
    reps = [f"bench-rep-{n:02d}" for n in range(REPS)]
    await conn.executemany(
        "INSERT INTO people (person_id, name, email) VALUES ($1, $1, $1 || '@example.com')",
        [(r,) for r in reps],
    )
    numbers = [f"B{n:05d}" for n in range(ACCOUNTS)]
    await conn.executemany(
        "INSERT INTO accounts (account_number, name) VALUES ($1, 'Bench ' || $1)",
        [(a,) for a in numbers],
    )
    await conn.executemany(
        "INSERT INTO account_contacts VALUES ($1, 'account_rep', $2)",
        [(a, reps[n % REPS]) for n, a in enumerate(numbers)],
    )
    return numbers


async def fresh_database(server_url: str) -> str:
    name = f"sopflow_bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(server_url)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    base, _, query = server_url.partition("?")
    base = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{base}/{name}" + (f"?{query}" if query else "")


async def main(orders: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="sopflow-bench-") as tmp:
        server = os.environ.get("DATABASE_URL") or embedded_database_url(Path(tmp))
        url = await fresh_database(server)
        pool = await create_pool(url, max_size=2)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
                await load_demo_data(conn)
                accounts = await bench_accounts(conn)
                started = time.perf_counter()
                for week, prefix in ((BEFORE, "B"), (WEEK, "W"), (AFTER, "A")):
                    await seed_week(conn, week, TZ, orders, prefix=prefix, accounts=accounts)
                await conn.execute("ANALYZE")
                seeded = time.perf_counter() - started
                audit = await conn.fetchval("SELECT count(*) FROM audit_log")
                print(f"seeded 3 weeks x {orders} orders ({audit} audit entries) in {seeded:.1f} s")
                start, end = week_bounds(WEEK, TZ)
                times = []
                for n in range(runs):
                    t0 = time.perf_counter()
                    rows = await compute_week(conn, WEEK, start, end)
                    times.append(time.perf_counter() - t0)
                    counted = sum(r.orders for r in rows)
                    print(f"run {n + 1}: {times[-1]:.3f} s, {len(rows)} rows, {counted} orders")
                assert counted == orders, f"counted {counted} orders, seeded {orders}"
        finally:
            await pool.close()
    best, median = min(times), statistics.median(times)
    print(
        f"\nweekly review of {orders} orders: best {best:.3f} s, median {median:.3f} s; "
        f"goal {GOAL_SECONDS:.0f} s for 10,000 → median/goal = {median / GOAL_SECONDS:.2f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.orders, args.runs))
