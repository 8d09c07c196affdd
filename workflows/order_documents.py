"""The order talking back to the buyer's procurement system (issue 11): a cXML
ConfirmationRequest when the order is confirmed (or refused, or cancelled), a
ShipNoticeRequest and an InvoiceDetailRequest per shipment.

A part of `OrderWorkflow` (a mixin), kept apart so the SOP in workflows/order.py
only says *when* the buyer is told. Documents are queued in the order's state
and delivered one at a time, in order, by a background sender, so a person's
Update (a shipment report) never waits on the buyer's system. Each has a
payloadID derived from the order's business key and the event: a retry, a
crash or a continue-as-new resends the same document, never a second one.

cXML practice: 2xx done; 4xx is the buyer's "no" (a `buyer_document_refused`
task for the rep, with the buyer's text; the rep's `resend` is a new document
with a new payloadID, since a buyer answers a payloadID it has seen with its
first answer); 5xx and timeouts are retried with
back-off for the order's patience (a day), then a `buyer_document_undelivered`
task. An account without an endpoint gets no documents, and the order says so.
Runs started before this existed never send any (`workflow.patched`).
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.kernel import SOPFLOW, failure_reason, raise_if_cancelled, refusal

with workflow.unsafe.imports_passed_through():
    from activities.contracts import network
    from activities.contracts.network import DocumentDelivered, SendDocument
    from domain.identity import Role
    from domain.order import buyer_documents as bd
    from domain.order.buyer_documents import (
        BuyerDocument,
        DocumentKind,
        DocumentRecord,
        DocumentStatus,
    )
    from domain.order.models import BuyerDocumentView, Invoice, Shipment
    from domain.records import HumanTask
    from domain.tasks import TaskDecision

# The patch (CONTRIBUTING.md): runs started before it send the buyer nothing.
BUYER_DOCUMENTS = "buyer-documents"
# Runs started before it resend a refused document under its first payloadID
# (which the buyer answers as it did the first time: refused again).
RESEND_AS_NEW = "buyer-document-resend-as-new"
REFUSED_TASK = "buyer_document_refused"
UNDELIVERED_TASK = "buyer_document_undelivered"
DOCUMENT_TASKS = (REFUSED_TASK, UNDELIVERED_TASK)


class BuyerDocuments:
    """Mixed into OrderWorkflow (it provides state, order, policy, key, note,
    sync, open_task, close_task and _current)."""

    state: Any
    order: Any
    policy: Any
    _sender: asyncio.Task[None] | None = None

    # ------------------------------------------------------ what the SOP calls
    def confirm_to_buyer(self) -> None:
        """The order is confirmed: `accept`, or `detail` with the lines people's
        hold resolutions changed or rejected. Once, before anything ships."""
        st = self.state
        if st.shipments or self._has("confirmation") or not workflow.patched(BUYER_DOCUMENTS):
            return
        confirmation = bd.confirmation(self.order, self._current())
        self._queue(
            DocumentKind.CONFIRMATION,
            "confirmation",
            f"confirmation {confirmation.type.value}",
            confirmation=confirmation,
        )

    def reject_to_buyer(self, reason: str) -> None:
        """The order is refused or cancelled: a `reject` confirmation."""
        if self._has("rejection") or not workflow.patched(BUYER_DOCUMENTS):
            return
        self._queue(
            DocumentKind.CONFIRMATION,
            "rejection",
            "confirmation reject",
            confirmation=bd.rejection(self.order, reason),
        )

    def shipment_to_buyer(self, shipment: Shipment, invoice: Invoice, complete: bool) -> None:
        """A shipment went out and was invoiced: its ship notice, then its invoice."""
        if not workflow.patched(BUYER_DOCUMENTS):
            return
        current = self._current()
        lines = self.state.lines
        notice = self._queue(
            DocumentKind.SHIP_NOTICE,
            f"ship-notice:{shipment.shipment_id}",
            f"shipment {shipment.shipment_id}",
            ship_notice=bd.ship_notice(current, lines, shipment, complete),
        )
        self._queue(
            DocumentKind.INVOICE,
            f"invoice:{invoice.invoice_number}",
            f"invoice {invoice.invoice_number}",
            invoice=bd.invoice_detail(current, lines, shipment, invoice, notice),
        )

    def resume_documents(self) -> None:
        """A new run (after continue-as-new) delivers what the last one had not."""
        if any(r.status == DocumentStatus.PENDING for r in self.state.buyer_documents):
            self._start_sender()

    async def documents_settled(self) -> None:
        """Until every document is delivered or given up on, and the rep has
        decided every refused one: the order does not end before."""
        await workflow.wait_condition(lambda: not self._documents_pending())

    def continue_as_new_ready(self) -> bool:
        """Not in the middle of a delivery (its read-model write must not be cut
        off by the end of the run); the next run resumes what is left."""
        return self._sender is None or self._sender.done()

    def document_views(self) -> list[BuyerDocumentView]:
        return [
            BuyerDocumentView(
                payload_id=r.sent_as or r.payload_id,
                kind=r.kind.value,
                event=r.event,
                status=r.status.value,
                answer=r.answer,
            )
            for r in self.state.buyer_documents
        ]

    def documents_details(self) -> str:
        records = self.state.buyer_documents
        if not records:
            return ""
        counts: dict[str, int] = {}
        for r in records:
            counts[r.status.value] = counts.get(r.status.value, 0) + 1
        return "Buyer documents: " + ", ".join(f"{n} {s}" for s, n in counts.items())

    # ------------------------------------------------------------- decisions
    async def decide_document(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        """The rep's answer to a refused or undelivered document: send it again
        or acknowledge it. An undelivered document goes again as it was (the
        buyer may have taken it without our hearing); a refused one goes as a
        new document, with a payloadID of its own."""
        sent = task.payload["payload_id"]
        record = next(r for r in self.state.buyer_documents if sent in (r.payload_id, r.sent_as))
        self.close_task(task.task_id, f"{d.decision} by {d.actor}")
        if d.decision == "resend" and record.document is not None:
            if record.status == DocumentStatus.REFUSED and workflow.patched(RESEND_AS_NEW):
                refusals = self.state.attempts.get(_tries(record), 1)
                record.sent_as = bd.resend_payload_id(record.payload_id, refusals)
                record.document = record.document.model_copy(
                    update={"payload_id": record.sent_as, "created_at": workflow.now()}
                )
            record.status = DocumentStatus.PENDING
            self.note(
                d.actor,
                "buyer document resent",
                f"{record.kind.value} {record.event}: {fields.comment}",
            )
            self._start_sender()
        else:
            record.document = None
            self.note(
                d.actor,
                "buyer document acknowledged",
                f"{record.kind.value} {record.event}: {fields.comment}",
            )
        await self.sync()

    # --------------------------------------------------------------- sending
    def _has(self, operation: str) -> bool:
        wanted = bd.payload_id(self.key(f"cxml:{operation}"))
        return any(r.payload_id == wanted for r in self.state.buyer_documents)

    def _queue(self, kind: DocumentKind, operation: str, event: str, **content: Any) -> str:
        st = self.state
        payload_id = bd.payload_id(self.key(f"cxml:{operation}"))
        if any(r.payload_id == payload_id for r in st.buyer_documents):
            return payload_id
        if not st.buyer_endpoint:
            st.buyer_documents.append(
                DocumentRecord(
                    payload_id=payload_id,
                    kind=kind,
                    event=event,
                    status=DocumentStatus.NOT_SENT,
                    answer="no endpoint registered for the account",
                )
            )
            return payload_id
        document = BuyerDocument(
            payload_id=payload_id,
            kind=kind,
            event=event,
            order_id=workflow.info().workflow_id,
            account_number=self.order.account_number,
            po_number=self.order.po_number,
            order_payload_id=self.order.payload_id,
            order_date=self.order.order_date,
            currency=self.order.currency,
            test=self.order.test,
            created_at=workflow.now(),
            **content,
        )
        st.buyer_documents.append(
            DocumentRecord(payload_id=payload_id, kind=kind, event=event, document=document)
        )
        self._start_sender()
        return payload_id

    def _start_sender(self) -> None:
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_pending())

    def _documents_pending(self) -> bool:
        prefix = self.task_prefix()
        return any(r.status == DocumentStatus.PENDING for r in self.state.buyer_documents) or any(
            t.kind in DOCUMENT_TASKS and t.task_id.startswith(prefix) for t in self.state.open_tasks
        )

    async def _send_pending(self) -> None:
        """One document at a time, in the order they were queued."""
        while True:
            record = next(
                (r for r in self.state.buyer_documents if r.status == DocumentStatus.PENDING), None
            )
            if record is None:
                return
            await self._deliver(record)

    async def _deliver(self, record: DocumentRecord) -> None:
        st = self.state
        doc = record.document
        assert doc is not None
        contract = network.SEND_DOCUMENT
        what = f"{doc.kind.value} ({doc.event})"
        try:
            result = await workflow.execute_activity(
                contract.name,
                SendDocument(document=doc),
                result_type=DocumentDelivered,
                start_to_close_timeout=min(contract.start_to_close, self.policy.activity_timeout),
                # Retried with back-off (5xx, timeouts) for the order's patience.
                schedule_to_close_timeout=self.policy.buyer_document_patience,
                retry_policy=contract.retry,
                summary=f"Send the buyer {what}" + (" · test" if doc.test else ""),
            )
        except ActivityError as err:
            raise_if_cancelled(err)
            refused = refusal(err)
            if refused is not None:
                record.status = DocumentStatus.REFUSED
                record.answer = refused.message
                kind, action = REFUSED_TASK, "buyer document refused"
            else:
                record.status = DocumentStatus.UNDELIVERED
                record.answer = (
                    f"no answer within {self.policy.buyer_document_patience}: {failure_reason(err)}"
                )
                kind, action = UNDELIVERED_TASK, "buyer document undelivered"
            self.note(SOPFLOW, action, f"{what}, payload {doc.payload_id}: {record.answer}")
            # A task per failed delivery (a resent document may fail again).
            tries = _tries(record)
            st.attempts[tries] = st.attempts.get(tries, 0) + 1
            self.open_task(
                f"{tries}#{st.attempts[tries]}",
                kind=kind,
                role=Role.ACCOUNT_REP,
                assignee=st.rep_id,
                due_at=workflow.now() + self.policy.sla,
                payload={
                    "payload_id": doc.payload_id,
                    "kind": doc.kind.value,
                    "event": doc.event,
                    "answer": record.answer,
                },
            )
            self.refresh_details()
            await self.sync()
            return
        record.document = None
        if result.outcome == "no_endpoint":
            st.buyer_endpoint = False
            left = [r for r in st.buyer_documents if r.status == DocumentStatus.PENDING]
            for r in left:
                r.status = DocumentStatus.NOT_SENT
                r.answer = "no endpoint registered for the account"
                r.document = None
            self.note(
                SOPFLOW,
                "buyer documents not sent",
                f"account {self.order.account_number} has no endpoint registered for cXML "
                f"documents: {what} and later ones are not sent",
            )
        else:
            record.status = DocumentStatus.SENT
            record.answer = f"{result.status_code} {result.status_text}".strip()
            self.note(
                SOPFLOW,
                "sent to buyer",
                f"{what}, payload {doc.payload_id}: {record.answer}",
            )
        self.refresh_details()
        await self.sync()


def _tries(record: DocumentRecord) -> str:
    """The key counting a document's failed deliveries, over all its sends."""
    return f"buyer-document:{record.payload_id}"
