"""An external system's state as an operator reads it on GET /health, from one
cheap probe of it: up, degraded (answers, but with errors or slowly) or down."""

from __future__ import annotations

from typing import Literal

SystemState = Literal["up", "degraded", "down"]

# Gateways and the system itself saying it cannot serve: down, as no answer is.
UNAVAILABLE = frozenset({502, 503, 504})


def system_state(
    status_code: int | None, seconds: float, self_reported: str | None, slow_after: float
) -> SystemState:
    """`status_code` None: no answer in time (or no connection). Any other answer
    means the system is there: a 404 from a system without a health page is up."""
    if status_code is None or status_code in UNAVAILABLE:
        return "down"
    if status_code >= 500 or seconds > slow_after:
        return "degraded"
    if (self_reported or "").lower() in ("degraded", "warn", "warning"):
        return "degraded"
    return "up"
