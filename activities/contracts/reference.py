"""Validation of an order against the reference data in PostgreSQL, the re-check
of a person's fixes, price evidence, and the account's cross-reference file."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel, Field

from activities.contracts import system_call
from domain.identity import Actor
from domain.order.fixes import LineFix, OrderFixes, PriceEvidence
from domain.order.models import PurchaseOrder, ResolvedLine, ValidationResult

__all__ = [
    "ADD_CROSS_REFERENCE",
    "FIND_PRICE_EVIDENCE",
    "RECHECK_ORDER",
    "VALIDATE_ORDER",
    "AddCrossReference",
    "CrossReferenceAdded",
    "FindPriceEvidence",
    "LineFix",
    "OrderFixes",
    "PriceEvidence",
    "PriceEvidenceFound",
    "RecheckOrder",
    "ValidateOrder",
]

# Refusals (non-retryable ApplicationError types) the workflow can branch on.
INVALID_FIXES = "InvalidFixes"  # recheck_order: a fix names a line the order does not have
UNKNOWN_ACCOUNT = "UnknownAccount"  # add_cross_reference
UNKNOWN_PART = "UnknownPart"  # add_cross_reference: no such part, or inactive
CROSS_REFERENCE_CONFLICT = "CrossReferenceConflict"  # the number maps to another part


# Our own PostgreSQL: a few queries per try.
DATABASE = "postgres"
_TRY = timedelta(seconds=20)


class ValidateOrder(BaseModel):
    order: PurchaseOrder
    default_sla: timedelta


VALIDATE_ORDER = system_call(
    "reference.validate_order", ValidateOrder, ValidationResult, DATABASE, _TRY
)


class RecheckOrder(BaseModel):
    """The order as sent, with every fix accepted so far plus the one being tried."""

    order: PurchaseOrder
    fixes: OrderFixes
    default_sla: timedelta


RECHECK_ORDER = system_call(
    "reference.recheck_order", RecheckOrder, ValidationResult, DATABASE, _TRY
)


class FindPriceEvidence(BaseModel):
    """A PRICE hold's line as validation resolved it (part, unit, price per unit)."""

    account_number: str
    branch_id: str | None  # the ship-to's branch: only its quotes count
    line: ResolvedLine
    as_of: date  # the order date: a quote is valid when valid_until >= as_of


class PriceEvidenceFound(BaseModel):
    evidence: PriceEvidence | None = None


FIND_PRICE_EVIDENCE = system_call(
    "reference.find_price_evidence", FindPriceEvidence, PriceEvidenceFound, DATABASE, _TRY
)


class AddCrossReference(BaseModel):
    account_number: str
    customer_part_number: str = Field(min_length=1)
    part_id: str = Field(min_length=1)
    actor: Actor
    comment: str = ""


class CrossReferenceAdded(BaseModel):
    # False: the entry was already there (a retry, or added before): nothing written.
    added: bool


ADD_CROSS_REFERENCE = system_call(
    "reference.add_cross_reference", AddCrossReference, CrossReferenceAdded, DATABASE, _TRY
)
