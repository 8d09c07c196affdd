"""Routing over the team directory in PostgreSQL (the rule is in domain/)."""

from __future__ import annotations

import asyncpg
from temporalio import activity

from activities.contracts import directory as contract
from activities.contracts.directory import Routed, RouteTasks
from db.directory import load_directory
from domain.directory.routing import capability_for, route


class DirectoryActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=contract.ROUTE.name)
    async def route_tasks(self, req: RouteTasks) -> Routed:
        routings = {}
        async with self._pool.acquire(timeout=2) as conn:
            for task in req.tasks:
                capability = capability_for(task.kind, task.role)
                directory = await load_directory(
                    conn, task.account_number, task.role.value, capability
                )
                routings[task.task_id] = route(
                    directory,
                    role=task.role,
                    capability=capability,
                    at=task.at,
                    fallback_queue=task.fallback_queue,
                )
        return Routed(routings=routings)
