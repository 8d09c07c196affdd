"""Validation of an order against the reference data in PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from activities.contracts import ActivityContract, system_retry
from domain.order.models import PurchaseOrder, ValidationResult


class ValidateOrder(BaseModel):
    order: PurchaseOrder
    default_sla: timedelta


VALIDATE_ORDER = ActivityContract(
    name="reference.validate_order",
    input=ValidateOrder,
    output=ValidationResult,
    system="postgres",
    start_to_close=timedelta(seconds=20),
    retry=system_retry(),
)
