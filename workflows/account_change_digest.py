"""The daily list of open account-change requests (IM/SSM SOP: "the IM and SSM
collaborate daily"): read from the read model, emailed to each IM and SSM who
is not away. Started by the `sopflow-account-change-digest` Schedule; a short
run with nothing to wait for, so it is not on the kernel."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import email, reports
    from activities.contracts.email import EmailMessage
    from activities.contracts.reports import ListOpenAccountChanges


@workflow.defn
class AccountChangeDigestWorkflow:
    @workflow.run
    async def run(self) -> int:
        """Answers how many emails went out."""
        found = await workflow.execute_activity(
            reports.OPEN_ACCOUNT_CHANGES.name,
            ListOpenAccountChanges(as_of=workflow.now()),
            result_type=reports.OPEN_ACCOUNT_CHANGES.output,
            start_to_close_timeout=reports.OPEN_ACCOUNT_CHANGES.start_to_close,
            schedule_to_close_timeout=timedelta(minutes=30),
            retry_policy=reports.OPEN_ACCOUNT_CHANGES.retry,
            summary="Read the open account-change requests and who gets the list",
        )
        if not found.requests:
            workflow.set_current_details("No open account-change requests today")
            return 0
        lines = [
            f"- {r.request_id} [{r.status}] {r.summary}"
            + (f" (waiting on {r.waiting_on})" if r.waiting_on else "")
            for r in found.requests
        ]
        day = workflow.now().date().isoformat()
        sent = 0
        for person in found.recipients:
            try:
                await workflow.execute_activity(
                    email.SEND.name,
                    EmailMessage(
                        idempotency_key=f"{workflow.info().workflow_id}:{person.person_id}",
                        to=[person.email],
                        subject=f"Open account-change requests {day}: {len(lines)}",
                        body="\n".join(lines),
                    ),
                    start_to_close_timeout=email.SEND.start_to_close,
                    retry_policy=email.SEND.retry,
                    summary=f"Email the list to {person.person_id} ({person.role})",
                )
                sent += 1
            except ActivityError:
                workflow.logger.warning("digest to %s failed", person.person_id)
        workflow.set_current_details(
            f"{len(lines)} open requests sent to {sent} of {len(found.recipients)} people"
        )
        return sent
