"""One account-change request of a national/regional account (seed
im-ssm-account-sop.txt, spec accounts-and-teams.md), from the RAM/NAM's request
to the SSM taking the accounts over.

Requested → the implementation manager updates iSeries (or confirms a manual
update) → the accounts are transferred to the CRM and checked (transferred
again while they have not arrived; the IM is asked once the tries are used up)
→ the SSM is told the data is ready for report generation, and takes the
accounts over (recorded). A billing or accounting discrepancy opens an IM task
and holds the request where it is until the IM resolves it; inventory loading
for a bid tells the SSM which inventory is involved.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.kernel import FAILED, SOPFLOW, SopWorkflow, SystemRefused
from workflows.updates_once import made_once

with workflow.unsafe.imports_passed_through():
    from activities.contracts import crm_accounts, email, iseries_accounts
    from activities.contracts.crm_accounts import CheckTransfer, TransferAccounts
    from activities.contracts.email import EmailMessage
    from activities.contracts.iseries_accounts import UpdateMembership
    from domain import search
    from domain.account_change import (
        FINAL,
        AccountChangeState,
        AccountChangeView,
        Discrepancy,
        InventoryLoading,
        ReportDiscrepancy,
        StartAccountChange,
    )
    from domain.account_change import AccountChangeStatus as Status
    from domain.identity import Actor, Role
    from domain.records import HumanTask, RecordFields
    from domain.tasks import TaskDecision

# Who may report a discrepancy: the people who work the request.
REPORTERS = (
    Role.IMPLEMENTATION_MANAGER,
    Role.SALES_SUPPORT_MANAGER,
    Role.ACCOUNT_MANAGER,
    Role.CSC_MANAGER,
    Role.OPERATOR,
)


@workflow.defn
class AccountChangeWorkflow(SopWorkflow):
    kind = "account_change"
    state: AccountChangeState

    @workflow.init
    def __init__(self, start: StartAccountChange) -> None:
        self.start = start
        self.request = start.request
        self.init_kernel(start.state or self.new_state(AccountChangeState), start.policy)

    @workflow.run
    async def run(self, start: StartAccountChange) -> AccountChangeView:
        await self.run_to_end(self._process)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.view()

    async def _process(self) -> None:
        st = self.state
        if not st.audit:
            workflow.upsert_search_attributes(
                [
                    search.ACCOUNT_NUMBER.value_set(self.request.national_account),
                    search.ACCOUNT_MANAGER.value_set(self.start.requested_by.person_id),
                    search.REQUEST_KIND.value_set(self.request.kind),
                ]
            )
            self.begin(self.start.requested_by, "requested", self.request.comment)
            self.open_task(
                "iseries",
                kind="im_update_iseries",
                role=Role.IMPLEMENTATION_MANAGER,
                payload=self._what(),
            )
            await self.sync()
        # 1. The IM updates iSeries (through their task).
        await self.wait_until(lambda: st.iseries_change_id is not None or st.iseries_manual)
        # 2. To the CRM, checked.
        await self._until_no_discrepancy()
        if not st.crm_verified:
            await self._transfer_to_crm()
        # 3. The SSM is told the data is ready for report generation.
        await self._until_no_discrepancy()
        if not st.ssm_notified:
            await self._notify_ssm()
        # 4. The SSM takes the accounts over.
        await self.wait_until(lambda: st.handed_over_to is not None)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.finish(
            Status.HANDED_OVER,
            "handed over",
            f"responsibility for {self.request.national_account} passed to {st.handed_over_to}",
            actor=st.handed_over_to or SOPFLOW,
        )

    def _what(self) -> dict[str, Any]:
        return {
            "request_id": self.start.request_id,
            "kind": self.request.kind,
            "national_account": self.request.national_account,
            "accounts": self.request.accounts,
            "requested_by": self.start.requested_by.person_id,
            "comment": self.request.comment,
        }

    def _advance(
        self, status: Status, action: str, comment: str, actor: Actor | str = SOPFLOW
    ) -> None:
        """A step done: the request moves on, or, while a discrepancy holds it,
        it will move there once the discrepancy is resolved."""
        if self.state.held_from is not None:
            self.state.held_from = status
            self.note(actor, action, comment)
        else:
            self.move(status, action, comment, actor)

    def _open_discrepancies(self) -> list[Discrepancy]:
        return [d for d in self.state.discrepancies if d.resolved_at is None]

    async def _until_no_discrepancy(self) -> None:
        await self.wait_until(lambda: not self._open_discrepancies())

    # ------------------------------------------------------------ the CRM
    async def _transfer_to_crm(self) -> None:
        """Transfer, wait, check the records arrived; transfer again while they
        have not, and ask the IM once the tries are used up."""
        st = self.state
        policy = self.start.policy
        while not st.crm_verified:
            if st.crm_transfers >= policy.crm_tries:
                await self._ask_im_about_crm()
                if st.crm_verified:
                    return
            st.crm_transfers += 1
            accepted = await self.call(
                crm_accounts.TRANSFER,
                TransferAccounts(
                    # Each transfer its own key: a transfer sent again is a new one.
                    idempotency_key=self.attempt_key("crm-transfer"),
                    national_account=self.request.national_account,
                    kind=self.request.kind,
                    accounts=self.request.accounts,
                ),
                summary=f"Transfer the accounts to the CRM (try {st.crm_transfers})",
            )
            st.crm_transfer_id = accepted.transfer_id
            self.note(SOPFLOW, "transferred to CRM", f"transfer {accepted.transfer_id}")
            await self.sync()
            await workflow.sleep(
                policy.crm_check_after, summary="Give the CRM time before checking the records"
            )
            checked = await self.call(
                crm_accounts.CHECK,
                CheckTransfer(
                    national_account=self.request.national_account,
                    kind=self.request.kind,
                    accounts=self.request.accounts,
                ),
                summary="Check the records arrived in the CRM",
            )
            if checked.missing:
                self.note(
                    SOPFLOW,
                    "crm check failed",
                    f"transfer {accepted.transfer_id}: not in the CRM as requested: "
                    + ", ".join(checked.missing),
                )
                await self.sync()
                continue
            st.crm_verified = True
            self._advance(
                Status.CRM_TRANSFERRED,
                "crm checked",
                f"transfer {accepted.transfer_id}: every account is in the CRM as requested",
            )
            await self.sync()

    async def _ask_im_about_crm(self) -> None:
        st = self.state
        n = st.attempts.get("crm-escalation", 0) + 1
        st.attempts["crm-escalation"] = n
        name = f"crm:{n}"
        self.open_task(
            name,
            kind="im_crm_transfer",
            role=Role.IMPLEMENTATION_MANAGER,
            payload={**self._what(), "transfers": st.crm_transfers},
        )
        self.note(
            SOPFLOW,
            "crm transfer escalated",
            f"the records did not arrive after {st.crm_transfers} transfers",
        )
        await self.sync()
        task_id = f"{self.task_prefix()}{name}"
        await self.wait_until(lambda: self.task(task_id) is None)

    # ------------------------------------------------------------ the SSM
    async def _notify_ssm(self) -> None:
        st = self.state
        task_id = self.open_task(
            "handover",
            kind="ssm_handover",
            role=Role.SALES_SUPPORT_MANAGER,
            payload=self._what(),
        )
        st.ssm_notified = True
        self.move(
            Status.READY_FOR_REPORTS,
            "ssm notified",
            f"data ready for report generation: {self.request.summary()}",
        )
        await self.sync()  # routes the SSM's task
        sent = await self.notify(
            email.SEND,
            EmailMessage(
                idempotency_key=self.key("email:ready-for-reports"),
                to=[self._email_of(task_id)],
                subject=f"Data ready for report generation: NA/RA {self.request.national_account}",
                body=f"{self.request.summary()} is in iSeries and the CRM.\n"
                f"Accounts: {', '.join(self.request.accounts)}\nRequest {self.start.request_id}",
            ),
            summary="Tell the SSM the data is ready for report generation",
        )
        if sent is not FAILED:
            self.note(SOPFLOW, "ssm emailed", f"email {sent} to {self._email_of(task_id)}")
            await self.sync()

    def _email_of(self, task_id: str) -> str:
        """Who a task went to, by email (its queue's inbox when nobody has it)."""
        task = self.task(task_id)
        routing = task.payload.get("routing", {}) if task else {}
        return routing.get("assignee_email") or self.start.policy.fallback_inbox

    # --------------------------------------------------------- decisions
    def check_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        held = self._open_discrepancies()
        if held and task.kind != "im_resolve_discrepancy":
            d0 = held[0]
            raise ApplicationError(
                f"the request is held by discrepancy {d0.discrepancy_id} ({d0.kind}): "
                f"{d0.description}",
                type="InvalidState",
            )

    async def on_decision(self, task: HumanTask, d: TaskDecision, fields: Any) -> None:
        st = self.state
        if task.kind == "im_update_iseries":
            if d.decision == "update_iseries":
                try:
                    updated = await self.call(
                        iseries_accounts.UPDATE_MEMBERSHIP,
                        UpdateMembership(
                            idempotency_key=self.key("iseries-update"),
                            national_account=self.request.national_account,
                            kind=self.request.kind,
                            accounts=self.request.accounts,
                            reference=self.start.request_id,
                        ),
                        summary=f"Update NA/RA {self.request.national_account} in iSeries",
                    )
                except SystemRefused as err:
                    raise ApplicationError(
                        f"iSeries refused the update: {err.reason}", type="InvalidState"
                    ) from None
                st.iseries_change_id = updated.change_id
                comment = f"iSeries change {updated.change_id}"
            else:
                st.iseries_manual = True
                comment = f"updated by hand: {fields.comment}"
            self.close_task(task.task_id, f"{d.decision} by {d.actor}")
            self._advance(Status.ISERIES_UPDATED, "iseries updated", comment, actor=d.actor)
        elif task.kind == "im_crm_transfer":
            if d.decision == "confirm_manual_transfer":
                st.crm_verified = True
                self._advance(
                    Status.CRM_TRANSFERRED, "crm confirmed by hand", fields.comment, actor=d.actor
                )
            else:
                st.crm_transfers = 0  # a fresh round of tries
                self.note(d.actor, "crm transfer retried", d.comment)
            self.close_task(task.task_id, f"{d.decision} by {d.actor}")
        elif task.kind == "im_resolve_discrepancy":
            found = next(x for x in st.discrepancies if x.discrepancy_id == task.payload["id"])
            found.resolved_by = str(d.actor)
            found.resolved_at = workflow.now()
            found.resolution = fields.comment
            self.close_task(task.task_id, f"resolved by {d.actor}")
            comment = f"{found.discrepancy_id} ({found.kind}): {fields.comment}"
            if not self._open_discrepancies() and st.held_from:
                back, st.held_from = st.held_from, None
                self.move(back, "discrepancy resolved", comment, actor=d.actor)
            else:
                self.note(d.actor, "discrepancy resolved", comment)
        elif task.kind == "ssm_handover":
            st.handed_over_to = str(d.actor)
            self.close_task(task.task_id, f"accepted by {d.actor}")
            self.note(d.actor, "hand-over accepted", fields.comment)
        await self.sync()

    # ------------------------------------------------ discrepancies, events
    @workflow.update
    async def report_discrepancy(self, report: ReportDiscrepancy) -> Discrepancy:
        """A billing or accounting discrepancy: an IM task, and the request
        holds where it is until it is resolved."""
        st = self.state
        discrepancy_id, known = made_once("D", st.discrepancies, lambda x: x.discrepancy_id)
        if known is not None:
            return known
        found = Discrepancy(
            discrepancy_id=discrepancy_id,
            kind=report.kind,
            description=report.description,
            reported_by=str(report.actor),
            reported_at=workflow.now(),
        )
        st.discrepancies.append(found)
        self.open_task(
            f"discrepancy:{found.discrepancy_id}",
            kind="im_resolve_discrepancy",
            role=Role.IMPLEMENTATION_MANAGER,
            payload={"id": found.discrepancy_id, **found.model_dump(mode="json"), **self._what()},
        )
        comment = f"{found.discrepancy_id} ({found.kind}): {found.description}"
        if st.held_from is None:
            st.held_from = st.status
            self.move(Status.ON_HOLD, "discrepancy reported", comment, actor=report.actor)
        else:
            self.note(report.actor, "discrepancy reported", comment)
        await self.sync()
        return found

    @report_discrepancy.validator
    def _validate_discrepancy(self, report: ReportDiscrepancy) -> None:
        if not report.actor.has_any(*REPORTERS):
            raise ApplicationError(
                "a discrepancy is reported by the IM, the SSM, the account manager, "
                "a CSC manager or an operator",
                type="Forbidden",
            )
        if self.state.status in FINAL or self.state.handed_over_to:
            raise ApplicationError(
                f"the request is closed ({self.state.status})", type="InvalidState"
            )

    @workflow.signal
    async def inventory_loading(self, event: InventoryLoading) -> None:
        """Inventory loading for a bid began: the SSM hears which inventory."""
        st = self.state
        n = len(st.inventory_loadings) + 1
        st.inventory_loadings.append(
            {"bid": event.bid, "inventory": event.inventory, "at": workflow.now().isoformat()}
        )
        what = ", ".join(event.inventory)
        self.note(event.actor, "inventory loading began", f"bid {event.bid}: {what}")
        ssm = next((t for t in st.open_tasks if t.kind == "ssm_handover"), None)
        to = self._email_of(ssm.task_id) if ssm else self.start.policy.fallback_inbox
        sent = await self.notify(
            email.SEND,
            EmailMessage(
                idempotency_key=self.key(f"email:inventory#{n}"),
                to=[to],
                subject=f"Inventory loading began for bid {event.bid} "
                f"(NA/RA {self.request.national_account})",
                body="Inventory involved:\n" + "\n".join(f"- {i}" for i in event.inventory),
            ),
            summary=f"Tell the SSM about inventory loading for bid {event.bid}",
        )
        if sent is not FAILED:
            self.note(SOPFLOW, "ssm told of inventory", f"email {sent} to {to}")
        await self.sync()

    # ------------------------------------------------------------- reads
    @workflow.query
    def view(self) -> AccountChangeView:
        st = self.state
        return AccountChangeView(
            request_id=self.start.request_id,
            status=st.status,
            kind=self.request.kind,
            national_account=self.request.national_account,
            accounts=self.request.accounts,
            comment=self.request.comment,
            requested_by=self.start.requested_by.person_id,
            requested_at=st.created_at,
            iseries_change_id=st.iseries_change_id,
            iseries_manual=st.iseries_manual,
            crm_transfer_id=st.crm_transfer_id,
            crm_verified=st.crm_verified,
            ssm_notified=st.ssm_notified,
            handed_over_to=st.handed_over_to,
            held=bool(self._open_discrepancies()),
            discrepancies=st.discrepancies,
            inventory_loadings=st.inventory_loadings,
        )

    def record_fields(self) -> RecordFields:
        st = self.state
        first = st.open_tasks[0] if st.open_tasks else None
        return RecordFields(
            account_number=self.request.national_account,
            business_key=self.start.request_id,
            summary=self.request.summary(),
            assignee=(first.assignee or first.queue) if first else None,
            view=self.view().model_dump(mode="json"),
        )

    def details(self) -> str:
        st = self.state
        lines = [
            f"**{st.status}** · {self.request.summary()}",
            f"Requested by {self.start.requested_by.person_id}: {self.request.comment}",
            f"Accounts: {', '.join(self.request.accounts)}",
        ]
        if st.iseries_change_id or st.iseries_manual:
            lines.append(f"iSeries: {st.iseries_change_id or 'updated by hand'}")
        if st.crm_transfer_id:
            checked = "checked" if st.crm_verified else "not yet checked"
            lines.append(f"CRM: transfer {st.crm_transfer_id} ({checked})")
        for d in self._open_discrepancies():
            lines.append(f"- held by {d.discrepancy_id} ({d.kind}): {d.description}")
        for t in st.open_tasks:
            lines.append(f"- waiting on {t.assignee or t.queue or t.role.value}: {t.kind}")
        return "\n".join(lines)

    def carry_over(self) -> StartAccountChange:
        return self.start.model_copy(update={"state": self.state})
