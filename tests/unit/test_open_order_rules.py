"""The open-order rules as pure functions: where an attempt falls in a store's
week (its zone, hours, weekend and holidays), the HOLD attempt rule and what
the agent's next attempt must be, the confirmation deadline and numbers, and
who may make which move."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from domain.calendar import Slot, StoreCalendar
from domain.identity import Actor, Role
from domain.open_order import rules
from domain.open_order.models import Channel, ContactAttempt, OpenOrderStatus, Outcome
from tests.open_orders import DALLAS, PHONES

PHOENIX = StoreCalendar(store_id="205", timezone="America/Phoenix")
TORONTO = StoreCalendar(
    store_id="310", timezone="America/Toronto", opens=time(10), holidays=frozenset()
)
AGENT = Actor(person_id="a", roles=frozenset({Role.OOM_AGENT}))
STORE = Actor(person_id="s", roles=frozenset({Role.STORE_MANAGER}))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def attempt(at: datetime, outcome: Outcome = Outcome.NO_ANSWER, phone: str = PHONES[0]):
    return ContactAttempt(
        attempt_id="A", channel=Channel.CALL, phone=phone, outcome=outcome, at=at,
        contact_status="NA", by="a", slot=DALLAS.slot(at),
    )  # fmt: skip


# ------------------------------------------------------------ the store's week
def test_the_same_moment_is_evening_in_dallas_and_toronto_but_daytime_in_phoenix() -> None:
    moment = utc(2026, 12, 1, 23, 30)  # a Tuesday
    assert DALLAS.slot(moment) == Slot.EVENING  # 17:30 CST
    assert PHOENIX.slot(moment) == Slot.DAYTIME  # 16:30 MST (no DST)
    assert TORONTO.slot(moment) == Slot.EVENING  # 18:30 EST


def test_friday_evening_in_dallas_is_not_a_weekend_though_it_is_saturday_in_utc() -> None:
    friday_evening = utc(2026, 11, 28, 2, 0)  # Saturday 02:00 UTC = Friday 20:00 CST
    assert DALLAS.slot(friday_evening) == Slot.EVENING
    assert DALLAS.slot(utc(2026, 11, 28, 15, 0)) == Slot.WEEKEND  # Saturday 09:00 CST
    assert DALLAS.slot(utc(2026, 11, 29, 3, 30)) == Slot.OFF_HOURS  # Saturday 21:30 CST


def test_a_holiday_is_neither_daytime_nor_evening_and_only_where_it_is_one() -> None:
    thanksgiving_morning = utc(2026, 11, 26, 16, 0)
    assert DALLAS.slot(thanksgiving_morning) == Slot.HOLIDAY
    assert TORONTO.slot(thanksgiving_morning) == Slot.DAYTIME  # 11:00 EST, a working day


def test_calling_hours_follow_the_stores_own_opening() -> None:
    assert DALLAS.slot(utc(2026, 12, 1, 15, 30)) == Slot.DAYTIME  # 09:30 CST
    assert TORONTO.slot(utc(2026, 12, 1, 14, 30)) == Slot.OFF_HOURS  # 09:30 EST, opens 10
    assert DALLAS.next_calling_time(utc(2026, 12, 1, 12, 0)) == utc(2026, 12, 1, 15, 0)


def test_next_slot_start_skips_the_weekend_and_the_holiday() -> None:
    wednesday_noon = utc(2026, 11, 25, 18, 0)
    # Thursday is Thanksgiving: the next daytime after Wednesday is Friday morning.
    assert DALLAS.next_slot_start(utc(2026, 11, 26, 3, 0), Slot.DAYTIME) == utc(2026, 11, 27, 15, 0)
    assert DALLAS.next_slot_start(wednesday_noon, Slot.EVENING) == utc(2026, 11, 25, 23, 0)
    assert DALLAS.next_slot_start(wednesday_noon, Slot.WEEKEND) == utc(2026, 11, 28, 15, 0)


def test_confirmation_is_due_by_closing_on_the_prior_business_day() -> None:
    monday = utc(2026, 11, 30, 16, 0)
    assert DALLAS.confirmation_deadline(monday) == utc(2026, 11, 28, 3, 0)  # Fri 21:00 CST
    friday = utc(2026, 11, 27, 16, 0)  # the day before is Thanksgiving
    assert DALLAS.confirmation_deadline(friday) == utc(2026, 11, 26, 3, 0)  # Wed 21:00 CST


def test_a_calendar_refuses_an_unknown_zone_and_hours_out_of_order() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        StoreCalendar(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="opens < evening_starts < closes"):
        StoreCalendar(opens=time(18), evening_starts=time(17))


# -------------------------------------------------------------------- HOLD
MON = utc(2026, 11, 30, 16, 0)  # Monday 10:00 CST


def test_five_attempts_over_a_week_with_day_evening_and_weekend_meet_the_rule() -> None:
    attempts = [
        attempt(MON),  # daytime
        attempt(utc(2026, 12, 1, 0, 30)),  # Monday 18:30 CST, evening
        attempt(utc(2026, 12, 5, 17, 0)),  # Saturday 11:00 CST, weekend
        attempt(utc(2026, 12, 3, 16, 0), Outcome.LEFT_MESSAGE),
        attempt(MON + timedelta(days=7)),
    ]
    progress = rules.hold_progress(attempts, DALLAS)
    assert (progress.attempts, progress.missing, progress.span_met, progress.met) == (
        5, (), True, True,
    )  # fmt: skip


def test_without_a_week_between_first_and_last_the_rule_is_not_met() -> None:
    attempts = [
        attempt(MON),
        attempt(utc(2026, 12, 1, 0, 30)),
        attempt(utc(2026, 12, 5, 17, 0)),
        attempt(utc(2026, 12, 5, 18, 0)),
        attempt(utc(2026, 12, 5, 19, 0)),
    ]
    progress = rules.hold_progress(attempts, DALLAS)
    assert not progress.met
    now = utc(2026, 12, 5, 19, 5)
    assert rules.hold_next_attempt(progress, now) == (
        "one more attempt on or after 2026-12-07 16:00 UTC; 5 of 5 attempts, 2 days left in the week"
    )
    assert rules.hold_next_due(progress, DALLAS, now) == MON + timedelta(days=7)


def test_the_task_says_which_kind_of_attempt_is_still_missing() -> None:
    progress = rules.hold_progress([attempt(MON), attempt(utc(2026, 12, 5, 17, 0))], DALLAS)
    now = MON + timedelta(days=4)
    assert rules.hold_next_attempt(progress, now) == (
        "an evening attempt is still missing; 2 of 5 attempts, 3 days left in the week"
    )
    # The soonest evening: today (Friday) at 17:00 CST.
    assert rules.hold_next_due(progress, DALLAS, now) == utc(2026, 12, 4, 23, 0)
    assert rules.hold_next_attempt(rules.hold_progress([], DALLAS), now) == (
        "a daytime, an evening and a weekend attempt are still missing; "
        "0 of 5 attempts, the week starts with the first"
    )


def test_a_holiday_attempt_counts_but_is_not_the_daytime_one() -> None:
    thanksgiving = attempt(utc(2026, 11, 26, 16, 0))
    progress = rules.hold_progress([thanksgiving], DALLAS)
    assert progress.attempts == 1
    assert Slot.DAYTIME in progress.missing


def test_reaching_the_guest_starts_the_count_again() -> None:
    attempts = [attempt(MON), attempt(MON + timedelta(hours=1), Outcome.REACHED)]
    assert rules.hold_progress(attempts, DALLAS).attempts == 0
    later = [*attempts, attempt(MON + timedelta(hours=8))]
    assert rules.hold_progress(later, DALLAS).attempts == 1


# ------------------------------------------------------------- confirmation
def test_every_number_needs_an_attempt_since_the_list() -> None:
    since = MON
    before = attempt(MON - timedelta(hours=1), phone=PHONES[1])
    one = attempt(MON + timedelta(hours=1), phone=PHONES[0])
    assert rules.untried_numbers(PHONES, [before, one], since) == [PHONES[1]]
    assert rules.confirmation_text(PHONES, [before, one], since) == (
        "confirm the appointment; numbers not yet tried: …0102"
    )


# ------------------------------------------------------------------- moves
def test_the_agent_works_the_order_and_the_store_takes_it_from_cwc() -> None:
    scheduling, cwc = OpenOrderStatus.SCHEDULING, OpenOrderStatus.CWC
    assert rules.refusal("log_contact", scheduling, AGENT, "called") is None
    assert rules.refusal("log_contact", scheduling, STORE, "called").type == "Forbidden"  # type: ignore[union-attr]
    assert rules.refusal("log_contact", scheduling, AGENT, " ").type == "CommentRequired"  # type: ignore[union-attr]
    assert rules.refusal("log_contact", cwc, STORE, "called") is None
    assert rules.refusal("log_contact", cwc, AGENT, "called").type == "Forbidden"  # type: ignore[union-attr]
    assert rules.refusal("resolve_cwc", cwc, STORE, "refund") is None
    assert rules.refusal("resolve_cwc", scheduling, STORE, "x").type == "InvalidState"  # type: ignore[union-attr]
    assert rules.refusal("book_appointment", OpenOrderStatus.AWAITING_PRODUCT, AGENT, "x").type == (  # type: ignore[union-attr]
        "InvalidState"
    )


def test_a_store_day_is_its_own_date() -> None:
    late_evening = utc(2026, 12, 2, 4, 0)  # Tuesday 22:00 CST, Wednesday in UTC
    assert DALLAS.today(late_evening) == date(2026, 12, 1)
