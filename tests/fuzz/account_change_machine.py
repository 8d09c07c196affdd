"""The account-change workflow under random interleavings of what can reach
it: decisions from every role on the IM's and the SSM's tasks (allowed and
not), discrepancies reported and resolved, inventory-loading signals, outages
of the CRM, iSeries and email, time passing, worker restarts, hostile text in
every field, and Updates retried with the same id."""

from __future__ import annotations

import uuid

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from domain.account_change import (
    AccountChangePolicy,
    AccountChangeRequest,
    Discrepancy,
    InventoryLoading,
    ReportDiscrepancy,
    StartAccountChange,
)
from domain.identity import Actor, Role
from tests.fuzz.hostile import hostile_text, plain_text
from tests.fuzz.machine import OUTAGE_AFTER, WorkflowMachine
from workflows.account_change import AccountChangeWorkflow

RAM = Actor(person_id="rachel.adams", roles=frozenset({Role.ACCOUNT_MANAGER}))
IM = Actor(person_id="ian.moore", roles=frozenset({Role.IMPLEMENTATION_MANAGER}))
SSM = Actor(person_id="sara.mills", roles=frozenset({Role.SALES_SUPPORT_MANAGER}))
MANAGER = Actor(person_id="carol.nguyen", roles=frozenset({Role.CSC_MANAGER}))
OPERATOR = Actor(person_id="olga.ops", roles=frozenset({Role.OPERATOR}))
REP = Actor(person_id="maria.lopez", roles=frozenset({Role.ACCOUNT_REP}))
NOBODY = Actor(person_id="mallory", roles=frozenset())


class AccountChangeMachine(WorkflowMachine):
    kind = "account_change"
    actors = [IM, IM, SSM, RAM, MANAGER, OPERATOR, REP, NOBODY]
    # iSeries's and the CRM's account APIs sit under their systems' prefixes.
    systems = ["iseries", "crm", "email"]
    valid_fields = {
        "confirm_manual_update": [{"comment": "keyed in by hand"}],
        "confirm_manual_transfer": [{"comment": "entered in the CRM"}],
        "resolve": [{"comment": "billing corrected"}],
        "accept_handover": [{"comment": "taking them over"}],
    }
    counted = ("report_discrepancy",)

    @initialize(
        kind=st.sampled_from(["add", "remove"]),
        down_at_start=st.sampled_from([(), ("crm",), ("iseries",), ("email",)]),
        comment=plain_text,
        crm_tries=st.sampled_from([1, 3]),
    )
    def start_request(
        self, kind: str, down_at_start: tuple[str, ...], comment: str, crm_tries: int
    ) -> None:
        request_id = f"AC-{uuid.uuid4().hex[:8]}"
        self.begin(
            AccountChangeWorkflow.run,
            StartAccountChange(
                request_id=request_id,
                request=AccountChangeRequest(
                    kind=kind,
                    national_account="NA-7001",
                    accounts=["401693", "402110"],
                    comment=comment,
                ),
                requested_by=RAM,
                policy=AccountChangePolicy(outage_after=OUTAGE_AFTER, crm_tries=crm_tries),
            ),
            f"account-change-{request_id}",
            down_at_start,
        )

    @rule(
        actor=st.sampled_from([IM, SSM, RAM, MANAGER, OPERATOR, REP, NOBODY]),
        kind=st.sampled_from(["billing", "accounting", "other"]),
        description=hostile_text,
    )
    def report_discrepancy(self, actor: Actor, kind: str, description: str) -> None:
        arg = ReportDiscrepancy.model_construct(kind=kind, description=description, actor=actor)
        self.send("report_discrepancy", arg, Discrepancy)
        self.settle()

    @rule(
        actor=st.sampled_from([IM, SSM, RAM]),
        bid=st.one_of(st.just("BID-88"), hostile_text),
        inventory=st.lists(hostile_text, min_size=0, max_size=3),
    )
    def inventory_loading(self, actor: Actor, bid: str, inventory: list[str]) -> None:
        """A signal: nobody hears an answer, so what the models refuse must
        be dropped or harmless."""
        self.signal(
            "inventory_loading",
            InventoryLoading.model_construct(bid=bid, inventory=inventory, actor=actor),
        )

    @rule()
    def crm_loses_the_next_transfer(self) -> None:
        self.run(self.fx.sims.http.put("/crm/accounts-transfer/_lose-next", json={"count": 1}))

    async def applied_once(self) -> list[str]:
        try:
            view = await self.handle.query(AccountChangeWorkflow.view)
        except Exception:
            return []
        problems = []
        accepted, maybe = self.counts("report_discrepancy")
        ids = [d.discrepancy_id for d in view.discrepancies]
        if len(ids) != len(set(ids)):
            problems.append(f"a discrepancy id twice: {ids}")
        if not accepted <= len(ids) <= accepted + maybe:
            problems.append(f"{accepted} discrepancies accepted, the request has {len(ids)}")
        if view.held != any(d.resolved_at is None for d in view.discrepancies):
            problems.append(f"held is {view.held}, discrepancies {view.discrepancies}")
        return problems

