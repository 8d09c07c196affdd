"""Validation over the reference data in PostgreSQL; the rules live in domain/."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from pydantic import BaseModel
from temporalio import activity

from db.reference import load_snapshot
from domain.order.models import PurchaseOrder, ValidationResult
from domain.order.validation import validate_order


class ValidateOrder(BaseModel):
    order: PurchaseOrder
    default_sla: timedelta


class ReferenceActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="reference.validate_order")
    async def validate_order(self, req: ValidateOrder) -> ValidationResult:
        async with self._pool.acquire() as conn:
            snapshot = await load_snapshot(conn, req.order)
        return validate_order(req.order, snapshot, req.default_sla)
