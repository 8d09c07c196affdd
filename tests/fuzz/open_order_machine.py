"""The open-order workflow under random interleavings of what can reach it:
ERP webhooks (payments, ATP changes, product arrivals, deliveries, misses,
service outcomes, cancels) and SMS/voice events (guest replies, call outcomes),
redelivered with the same event id; the agent's contacts, bookings, codes and
the store's CWC resolutions, from every role; the daily confirmation list;
outages of the ERP, SMS/voice and email; time passing, worker restarts,
hostile text in every field, and Updates retried with the same id."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st
from hypothesis.stateful import initialize, rule

from domain.identity import Actor, Role
from domain.open_order.models import (
    AppointmentKind,
    BookAppointment,
    Channel,
    ConfirmationDue,
    ErpEvent,
    ErpEventType,
    EventReceived,
    LogContact,
    MoveResult,
    OrderCode,
    Outcome,
    Resolution,
    ResolveCwc,
    ServiceOutcome,
    SetCode,
    SmsVoiceEvent,
    SmsVoiceEventType,
)
from tests.fuzz.hostile import hostile_text
from tests.fuzz.machine import OUTAGE_AFTER, WorkflowMachine
from tests.open_orders import AGENT, ERP, PHONES, STORE, open_order, start_input
from workflows.open_order import OpenOrderWorkflow

OTHER_AGENT = Actor(person_id="omar.oom", roles=frozenset({Role.OOM_AGENT}))
REP = Actor(person_id="maria.lopez", roles=frozenset({Role.ACCOUNT_REP}))
PROVIDER = Actor(person_id="sms-voice", roles=frozenset({Role.SYSTEM}))
NOBODY = Actor(person_id="mallory", roles=frozenset())
AGENTS = {AGENT.person_id, OTHER_AGENT.person_id}
# Moments around the time-skipping server's clock: past, soon, far.
MOMENTS = [timedelta(hours=-2), timedelta(0), timedelta(hours=20), timedelta(days=3),
           timedelta(days=400)]  # fmt: skip


class OpenOrderMachine(WorkflowMachine):
    kind = "open_order"
    actors = [AGENT, AGENT, OTHER_AGENT, STORE, ERP, REP, NOBODY]
    systems = ["erp", "smsvoice", "email"]
    counted = ("log_contact",)

    @initialize(
        atp=st.sampled_from(["past", "soon", "none"]),
        code=st.sampled_from([None, OrderCode.BALDUE, OrderCode.SVC, OrderCode.HOLD]),
        down_at_start=st.sampled_from([(), ("erp",), ("smsvoice",), ("email",)]),
        balance=st.sampled_from(["0", "120.50"]),
        # An order the ERP does not know keeps its audit log here only.
        in_erp=st.booleans(),
    )
    def start_order(
        self,
        atp: str,
        code: OrderCode | None,
        down_at_start: tuple[str, ...],
        balance: str,
        in_erp: bool,
    ) -> None:
        today = datetime.now(UTC).date()
        atp_date = {"past": date(2026, 1, 1), "soon": today + timedelta(days=2), "none": None}[atp]
        order = open_order(atp=atp_date, code=code, balance=balance)
        self.sales_order = order.sales_order
        self.events = 0
        if in_erp:
            put = self.fx.sims.http.put(
                f"/erp/open-orders/{order.sales_order}", json=order.model_dump(mode="json")
            )
            self.run(put).raise_for_status()
        self.begin(
            OpenOrderWorkflow.run,
            start_input(order, outage_after=OUTAGE_AFTER),
            order.workflow_id,
            down_at_start,
        )

    def _now(self) -> datetime:
        return self.run(self.stack.env.get_current_time())

    def _event_id(self, data: st.DataObject) -> str:
        # A new event, or one delivered before again (a webhook's redelivery).
        if self.events and data.draw(st.booleans(), label="redelivered"):
            return f"ev-{data.draw(st.integers(1, self.events), label='event')}"
        self.events += 1
        return f"ev-{self.events}"

    # ------------------------------------------------------ agent's moves
    @rule(
        actor=st.sampled_from([AGENT, AGENT, OTHER_AGENT, STORE, NOBODY]),
        channel=st.sampled_from(list(Channel)),
        outcome=st.sampled_from(list(Outcome)),
        status=st.one_of(st.sampled_from(["NA", "LM", "REACHED"]), hostile_text),
        at=st.sampled_from(MOMENTS),
        next_in=st.one_of(st.none(), st.sampled_from(MOMENTS), st.just("a day")),
        comment=st.one_of(st.just("called the guest"), hostile_text),
        phone=st.sampled_from([PHONES[0], PHONES[1], None, "12"]),
    )
    def log_contact(
        self,
        actor: Actor,
        channel: Channel,
        outcome: Outcome,
        status: str,
        at: timedelta,
        next_in: timedelta | str | None,
        comment: str,
        phone: str | None,
    ) -> None:
        now = self._now()
        nxt = (now + timedelta(days=1)).date() if next_in == "a day" else (
            now + next_in if isinstance(next_in, timedelta) else None
        )
        arg = LogContact.model_construct(
            actor=actor, channel=channel, phone=phone, outcome=outcome, at=now + at,
            contact_status=status, next_contact_date=nxt, comment=comment,
        )  # fmt: skip
        self.send("log_contact", arg, MoveResult)
        self.settle()

    @rule(
        actor=st.sampled_from([AGENT, AGENT, STORE, NOBODY]),
        kind=st.sampled_from(list(AppointmentKind)),
        starts=st.sampled_from(MOMENTS),
        hours=st.sampled_from([2, 4, -1]),
        comment=st.one_of(st.just("booked with the guest"), hostile_text),
    )
    def book(
        self, actor: Actor, kind: AppointmentKind, starts: timedelta, hours: int, comment: str
    ) -> None:
        begin = self._now() + starts
        arg = BookAppointment.model_construct(
            actor=actor, kind=kind, window_start=begin,
            window_end=begin + timedelta(hours=hours), comment=comment,
        )  # fmt: skip
        self.send("book_appointment", arg, MoveResult)
        self.settle()

    @rule(
        actor=st.sampled_from([AGENT, AGENT, STORE, NOBODY]),
        code=st.sampled_from([None, *OrderCode]),
        comment=st.one_of(st.just("guest asked"), hostile_text),
    )
    def set_code(self, actor: Actor, code: OrderCode | None, comment: str) -> None:
        self.send("set_code", SetCode.model_construct(actor=actor, code=code, comment=comment),
                  MoveResult)  # fmt: skip
        self.settle()

    @rule(
        actor=st.sampled_from([STORE, STORE, AGENT, NOBODY]),
        resolution=st.sampled_from(list(Resolution)),
        comment=st.one_of(st.just("store sorted it"), hostile_text),
        atp=st.sampled_from([None, date(2027, 2, 1), date(2020, 1, 1)]),
    )
    def resolve_cwc(
        self, actor: Actor, resolution: Resolution, comment: str, atp: date | None
    ) -> None:
        arg = ResolveCwc.model_construct(
            actor=actor, resolution=resolution, comment=comment, atp_date=atp
        )
        self.send("resolve_cwc", arg, MoveResult)
        self.settle()

    # ------------------------------------------------------------- events
    @rule(
        data=st.data(),
        kind=st.sampled_from(list(ErpEventType)),
        # Mostly what the edge lets through; sometimes what it would refuse.
        note=st.one_of(st.just(""), st.just("left at the door"), hostile_text),
        complete=st.sampled_from([True, True, True, False]),
    )
    def erp_event(self, data: st.DataObject, kind: ErpEventType, note: str, complete: bool) -> None:
        """An ERP webhook. The edge checks its fields; one that lacks what its
        type needs (`complete` false) reaches the workflow only past the edge."""
        event = ErpEvent.model_construct(
            event_id=self._event_id(data),
            sales_order=self.sales_order,
            type=kind,
            at=self._now(),
            amount=Decimal("50.25") if complete else None,
            atp_date=(self._now() + timedelta(days=5)).date() if complete else None,
            line_number=1,
            outcome=data.draw(st.sampled_from(list(ServiceOutcome)), label="outcome")
            if complete
            else None,
            note=note,
        )
        self.signal("system_event", EventReceived.model_construct(actor=ERP, erp=event))

    @rule(
        data=st.data(),
        kind=st.sampled_from(list(SmsVoiceEventType)),
        text=st.one_of(st.sampled_from(["YES", "C", "call me tomorrow"]), hostile_text),
        outcome=st.sampled_from([None, Outcome.NO_ANSWER, Outcome.REACHED, Outcome.CONFIRMED,
                                 Outcome.LEFT_MESSAGE, Outcome.PLACED]),  # fmt: skip
        phone=st.sampled_from(PHONES),
    )
    def sms_voice_event(
        self, data: st.DataObject, kind: SmsVoiceEventType, text: str,
        outcome: Outcome | None, phone: str,
    ) -> None:  # fmt: skip
        event = SmsVoiceEvent.model_construct(
            event_id=self._event_id(data), sales_order=self.sales_order, type=kind,
            at=self._now(), phone=phone, text=text,
            call_id=f"CALL-{self.events}" if outcome else None, outcome=outcome,
        )  # fmt: skip
        self.signal("system_event", EventReceived.model_construct(actor=PROVIDER, sms_voice=event))

    @rule(days=st.sampled_from([0, 1, -3]))
    def confirmation_due(self, days: int) -> None:
        """The daily confirmation list names the order."""
        day = self._now().date() + timedelta(days=days)
        self.signal("confirmation_due", ConfirmationDue(list_date=day))

    async def applied_once(self) -> list[str]:
        try:
            view = await self.handle.query(OpenOrderWorkflow.view)
        except Exception:
            return []
        accepted, maybe = self.counts("log_contact")
        by_agents = [c for c in view.contacts if c.by in AGENTS]
        ids = [c.attempt_id for c in view.contacts]
        problems = []
        if len(ids) != len(set(ids)):
            problems.append(f"a contact attempt id twice: {ids}")
        if not accepted <= len(by_agents) <= accepted + maybe:
            problems.append(f"{accepted} contacts accepted, the order has {len(by_agents)}")
        # The ERP's comments log holds each audit entry at most once, in order.
        erp_log = self.fx.sims.state.erp.comments.get(self.sales_order, [])
        mine = [(e.action, e.comment) for e in view.audit]
        theirs = [(c.action, c.comment) for c in erp_log]
        if theirs != mine[: len(theirs)]:
            problems.append(f"the ERP's comments log is not the order's audit ({len(theirs)} entries)")
        return problems
