"""Writes the read model and the audit log on behalf of workflows."""

from __future__ import annotations

import asyncpg
from temporalio import activity

from activities.contracts import read_model as contract
from db.read_model import apply_sync
from domain.records import ReadModelSync


class ReadModelActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=contract.SYNC.name)
    async def sync(self, sync: ReadModelSync) -> None:
        async with self._pool.acquire() as conn:
            await apply_sync(conn, sync)
