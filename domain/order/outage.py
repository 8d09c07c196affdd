"""What an order keeps of a platform outage it waited through (issue 7): the
incident it joined, what the incident told it, and the manual entry in iSeries
the CSC manager approved, until that order is reconciled into OMS."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class IseriesFallback(BaseModel):
    """Manual entry in iSeries while OMS was down, approved by the CSC manager."""

    incident_id: str
    approved_by: str
    comment: str = ""
    iseries_order_id: str | None = None
    entered_at: datetime | None = None
    # Once OMS is back: the OMS order made for it (released, naming the iSeries order).
    reconciled_oms_order_id: str | None = None
    reconciled_at: datetime | None = None
    # OMS refused it for good: an operator takes it on (the order does not wait for ever).
    reconcile_refused: str | None = None
    # The buyer cancelled it before it was in OMS: cancelled in iSeries then, and in
    # OMS once reconciled.
    cancelled_at: datetime | None = None
    cancelled_in_oms: bool = False


class OrderOutage(BaseModel):
    # The incident the order waits (or last waited) in.
    incident_id: str | None = None
    incident_workflow_id: str | None = None
    platform: str | None = None
    # The status to go back to when the platform answers.
    resume_status: str | None = None
    # The incident said the platform is back (or the order got through itself).
    recovered: bool = False
    # Notices taken ("{incident}:{event}"), so a resent one is not acted on twice.
    notices: list[str] = []
    fallback: IseriesFallback | None = None

    def needs_reconciling(self) -> bool:
        f = self.fallback
        return bool(
            f and f.iseries_order_id and not f.reconciled_oms_order_id and not f.reconcile_refused
        )
