"""Validation over the reference data in PostgreSQL (the rules live in domain/),
the re-check of a person's fixes, price evidence, and the cross-reference file."""

from __future__ import annotations

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import reference as contract
from activities.contracts.reference import (
    AddCrossReference,
    CrossReferenceAdded,
    FindPriceEvidence,
    PriceEvidenceFound,
    RecheckOrder,
    ValidateOrder,
)
from db import read_model
from db import reference as queries
from domain.order.fixes import find_price_evidence, price_in_cents
from domain.order.models import ValidationResult
from domain.order.validation import recheck_order, validate_order


def _refuse(message: str, type: str) -> ApplicationError:
    return ApplicationError(message, type=type, non_retryable=True)


class ReferenceActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name=contract.VALIDATE_ORDER.name)
    async def validate_order(self, req: ValidateOrder) -> ValidationResult:
        async with self._pool.acquire() as conn:
            snapshot = await queries.load_snapshot(conn, req.order)
        return validate_order(req.order, snapshot, req.default_sla)

    @activity.defn(name=contract.RECHECK_ORDER.name)
    async def recheck_order(self, req: RecheckOrder) -> ValidationResult:
        problem = req.fixes.problem(req.order)
        if problem:
            raise _refuse(problem, contract.INVALID_FIXES)
        async with self._pool.acquire() as conn:
            snapshot = await queries.load_snapshot(conn, req.order, req.fixes)
        return recheck_order(req.order, req.fixes, snapshot, req.default_sla)

    @activity.defn(name=contract.FIND_PRICE_EVIDENCE.name)
    async def find_price_evidence(self, req: FindPriceEvidence) -> PriceEvidenceFound:
        cents = price_in_cents(req.line.unit_price)
        if cents is None:  # no quote or invoice is in fractions of a cent
            return PriceEvidenceFound()
        async with self._pool.acquire() as conn:
            quotes, invoices = await queries.price_evidence_candidates(
                conn, req.account_number, req.line.part_id, req.line.uom, cents
            )
        evidence = find_price_evidence(req.line, req.branch_id, quotes, invoices, req.as_of)
        return PriceEvidenceFound(evidence=evidence)

    @activity.defn(name=contract.ADD_CROSS_REFERENCE.name)
    async def add_cross_reference(self, req: AddCrossReference) -> CrossReferenceAdded:
        """Idempotent: the entry and its audit line are written in one transaction,
        once; a retry or a second call finds the entry and writes nothing."""
        account, number, part_id = req.account_number, req.customer_part_number, req.part_id
        async with self._pool.acquire() as conn, conn.transaction():
            if await queries.account_name(conn, account) is None:
                raise _refuse(f"account {account} does not exist", contract.UNKNOWN_ACCOUNT)
            active = await queries.part_active(conn, part_id)
            if active is None:
                raise _refuse(f"part {part_id} does not exist", contract.UNKNOWN_PART)
            if not active:
                raise _refuse(f"part {part_id} is inactive", contract.UNKNOWN_PART)
            existing = await queries.add_cross_reference(conn, account, number, part_id)
            if existing is not None and existing != part_id:
                raise _refuse(
                    f"customer part number {number} already maps to {existing} in account "
                    f"{account}'s cross-reference",
                    contract.CROSS_REFERENCE_CONFLICT,
                )
            if existing is None:
                info = activity.info()
                origin = f" (order {info.workflow_id})" if info.workflow_id else ""
                await read_model.append_audit(
                    conn,
                    f"account:{account}",
                    req.actor.person_id,
                    "cross-reference added",
                    f"customer part number {number} → part {part_id}{origin}"
                    + (f": {req.comment}" if req.comment else ""),
                )
        return CrossReferenceAdded(added=existing is None)
