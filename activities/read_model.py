"""Writes the read model and the audit log on behalf of workflows."""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import read_model as contract
from db.read_model import apply_sync
from domain.records import ReadModelSync, scrubbed

# A write is a few small statements; past this, PostgreSQL is not answering.
ACQUIRE_TIMEOUT = 2.0
WRITE_TIMEOUT = 3.0


class ReadModelActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=contract.SYNC.name)
    async def sync(self, sync: ReadModelSync) -> None:
        if sync.scrub:
            sync = scrubbed(sync)
        conn = await self._pool.acquire(timeout=ACQUIRE_TIMEOUT)
        refused: asyncpg.DataError | None = None
        try:
            async with asyncio.timeout(WRITE_TIMEOUT):
                await apply_sync(conn, sync)
        except asyncpg.DataError as err:
            refused = err
        except BaseException:
            # A connection stuck mid-write (a paused or unreachable server) is
            # dropped at once: releasing it politely would wait on it for ever,
            # and the workflow must hear back within its patience.
            conn.terminate()
            raise
        finally:
            await self._pool.release(conn)
        if refused is not None:
            # Content PostgreSQL cannot hold: no retry will change that. The
            # workflow records it as a defect and writes again scrubbed.
            raise ApplicationError(
                f"read model cannot hold this state: {refused}",
                type="ReadModelRefused",
                non_retryable=True,
            )
