"""The buyer's procurement network: the cXML documents the order sends back
(confirmation, ship notices, invoices), delivered to the endpoint registered
with the buyer's PunchOut credential.

cXML practice: a 2xx answer is done; a 4xx is the buyer's "no" and is not
retried (the workflow opens a task for the rep with the buyer's text); 5xx,
transport errors and timeouts are retried with back-off until the order's
patience (a day by default) runs out, then the rep gets a task."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel
from temporalio.common import RetryPolicy

from activities.contracts import ActivityContract
from domain.order.buyer_documents import BuyerDocument

SYSTEM = "network"
# The buyer answered with a cXML 4xx.
REFUSED = "BuyerDocumentRefused"


class SendDocument(BaseModel):
    document: BuyerDocument


class DocumentDelivered(BaseModel):
    outcome: Literal["sent", "no_endpoint"]
    status_code: int | None = None
    status_text: str = ""
    endpoint_url: str | None = None


SEND_DOCUMENT: ActivityContract[SendDocument, DocumentDelivered] = ActivityContract(
    name="network.send_document",
    input=SendDocument,
    output=DocumentDelivered,
    system=SYSTEM,
    start_to_close=timedelta(seconds=30),
    # cXML recommends retrying hourly; we start sooner and back off to that.
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2,
        maximum_interval=timedelta(hours=1),
        non_retryable_error_types=[REFUSED],
    ),
)
