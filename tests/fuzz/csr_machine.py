"""The CSR case under random interleavings of what can reach it: every move
(as an Update and as a task's decision) from every role, with valid fields,
hostile text or made-up ones; edits of the case; CRM and email outages; time
passing (reminders, escalations); worker restarts, and Updates retried with
the same id."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from domain.csr.models import (
    CaseTeamMember,
    CsrEdit,
    CsrMove,
    EditCase,
    Registration,
)
from domain.csr.moves import FIELDS
from domain.csr.state import CsrPolicy, StartCsr
from domain.identity import Actor, Role
from tests.fuzz.hostile import hostile_text
from tests.fuzz.machine import OUTAGE_AFTER, WorkflowMachine
from workflows.csr import CsrWorkflow

MARY = Actor(person_id="mary.jones", roles=frozenset({Role.SALES_REP}))
JOHN = Actor(person_id="john.smith", roles=frozenset({Role.CSR_APPROVER}))
FRANK = Actor(person_id="frank.miller", roles=frozenset({Role.CSR_ASSESSOR, Role.CSR_IMPLEMENTER}))
OTHER_REP = Actor(person_id="maria.lopez", roles=frozenset({Role.SALES_REP}))
NOBODY = Actor(person_id="mallory", roles=frozenset())
PEOPLE = [MARY, JOHN, FRANK, OTHER_REP, NOBODY]

# Each move's fields when valid (the fuzzer also sends hostile and made-up ones).
VALID: dict[str, list[dict[str, Any]]] = {
    "request_feedback": [{"parties": ["john.smith"]}, {"parties": ["nobody.here"]}],
    "give_feedback": [{"feasible": True}, {"feasible": False}],
    "conclude": [{"conclusion": "feasible with NACE stock"}],
    "add_implementation_task": [{"title": "Flag the account in iSeries"}],
    "complete_implementation_task": [{"task_number": 1}, {"task_number": 7}],
    "record_satisfaction": [{"score": 5}, {"score": 9}],
    "reject": [{"comment": "not feasible"}],
    "acknowledge": [{"comment": "seen"}],
}


class CsrMachine(WorkflowMachine):
    kind = "csr"
    actors = PEOPLE
    systems = ["crm", "email"]
    valid_fields = VALID
    text_fields = ("comment", "title", "conclusion")
    counted = ("move",)

    @initialize(
        title=st.sampled_from(["Sour-service gaskets only", "Ünïcode title — ok"]),
        down_at_start=st.sampled_from([(), ("crm",), ("email",)]))
    def start_case(self, title: str, down_at_start: tuple[str, ...]) -> None:
        number = uuid.uuid4().int % 10**9
        # The Update ids of every add_implementation_task sent (answered or not).
        self.adds: set[str] = set()
        self.begin(
            CsrWorkflow.run,
            StartCsr(
                case_number=number,
                registration=_registration(title),
                registered_by=MARY,
                owner_email="mary.jones@example.com",
                policy=CsrPolicy(outage_after=OUTAGE_AFTER),
            ),
            f"csr-{number:06d}",
            down_at_start,
        )

    @rule(
        name=st.sampled_from([*FIELDS, "made_up"]),
        actor=st.sampled_from(PEOPLE),
        data=st.data(),
    )
    def move(self, name: str, actor: Actor, data: st.DataObject) -> None:
        fields = data.draw(
            st.one_of(
                st.sampled_from(VALID.get(name, [{}])),
                st.builds(lambda k, v: {k: v}, st.sampled_from(self.text_fields), hostile_text),
            ),
            label="fields",
        )
        comment = data.draw(st.one_of(st.just(""), hostile_text), label="comment")
        arg = CsrMove.model_construct(
            move=name, actor=actor, comment=comment, fields=fields, task_id=None
        )
        self.send("move", arg)
        if name == "add_implementation_task":
            self.adds.add(self.last[2])
        self.settle()

    @rule(actor=st.sampled_from(PEOPLE), title=hostile_text, site=hostile_text)
    def edit(self, actor: Actor, title: str, site: str) -> None:
        changes = CsrEdit.model_construct(title=title, additional_shipping_sites=[site])
        self.send("edit", EditCase.model_construct(actor=actor, changes=changes))
        self.settle()

    async def applied_once(self) -> list[str]:
        try:
            view = await self.handle.query(CsrWorkflow.view)
        except Exception:
            return []
        # An unanswered add may or may not be there (its retry may have been
        # answered since); an accepted one is, once.
        added = len(self.accepted["move"] & self.adds)
        maybe = len((self.maybe["move"] - self.accepted["move"]) & self.adds)
        tasks = len(view.implementation_tasks)
        if not added <= tasks <= added + maybe:
            return [f"{added} implementation tasks added, the case has {tasks}"]
        return []


def _registration(title: str) -> Registration:
    return Registration(
        account_number="401693",
        business_unit="Oil & Gas",
        title=title,
        description="Propetro requires NACE MR0175 certified gaskets on every shipment.",
        main_shipping_site="PP-ODESSA",
        additional_shipping_sites=["PP-HQ"],
        related_products=["GS-2040"],
        account_associations=["401693"],
        case_team=[CaseTeamMember(person_id="maria.lopez", role="Account rep")],
    )
