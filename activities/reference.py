"""Validation over the reference data in PostgreSQL; the rules live in domain/."""

from __future__ import annotations

import asyncpg
from temporalio import activity

from activities.contracts import reference as contract
from activities.contracts.reference import ValidateOrder
from db.reference import load_snapshot
from domain.order.models import ValidationResult
from domain.order.validation import validate_order


class ReferenceActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=contract.VALIDATE_ORDER.name)
    async def validate_order(self, req: ValidateOrder) -> ValidationResult:
        async with self._pool.acquire() as conn:
            snapshot = await load_snapshot(conn, req.order)
        return validate_order(req.order, snapshot, req.default_sla)
