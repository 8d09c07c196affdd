"""Business calendars: a store's (or branch's) time zone, calling hours,
business days and holidays, from configuration. Pure: a workflow gets its
calendar at start (recorded in history) and asks these functions where a
moment falls in the store's own day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


class Slot(StrEnum):
    """Where a contact attempt falls in the store's week."""

    DAYTIME = "daytime"  # a business day, from opening to the evening
    EVENING = "evening"  # a business day, from the evening to closing
    WEEKEND = "weekend"  # Saturday or Sunday, within calling hours
    HOLIDAY = "holiday"  # a weekday holiday: the store's day did not happen
    OFF_HOURS = "off_hours"  # outside calling hours


class StoreCalendar(BaseModel):
    """One store's calendar (table `stores`, `store_holidays`)."""

    store_id: str = ""
    name: str = ""
    timezone: str = "America/Chicago"
    # Calling hours, every day; the evening is their last part.
    opens: time = time(9)
    evening_starts: time = time(17)
    closes: time = time(21)
    # Days the OOM team works (0 = Monday): "the prior business day" counts these.
    business_days: frozenset[int] = Field(default=frozenset({0, 1, 2, 3, 4}))
    holidays: frozenset[date] = frozenset()
    # Who resolves the store's CWC orders (its store manager), when known.
    manager_id: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            _zone(name)
        except (ValueError, KeyError, OSError) as err:
            raise ValueError(f"unknown time zone {name!r}") from err
        return name

    @model_validator(mode="after")
    def _hours_in_order(self) -> StoreCalendar:
        if not (self.opens < self.evening_starts < self.closes):
            raise ValueError("calling hours must be opens < evening_starts < closes")
        if not self.business_days:
            raise ValueError("a store needs at least one business day")
        return self

    # ----------------------------------------------------------- local time
    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone)

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def at(self, day: date, clock: time) -> datetime:
        """`clock` on `day` in the store's zone, as an aware UTC moment."""
        return datetime.combine(day, clock, self.zone).astimezone(UTC)

    def today(self, now: datetime) -> date:
        return self.local(now).date()

    # ------------------------------------------------------------- its days
    def is_holiday(self, day: date) -> bool:
        return day in self.holidays

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.business_days and not self.is_holiday(day)

    def slot(self, at: datetime) -> Slot:
        """Where `at` falls in the store's week (its own zone, hours, holidays)."""
        local = self.local(at)
        clock = local.time().replace(tzinfo=None)
        if not (self.opens <= clock < self.closes):
            return Slot.OFF_HOURS
        if local.weekday() >= 5:
            return Slot.WEEKEND
        if self.is_holiday(local.date()):
            return Slot.HOLIDAY
        return Slot.DAYTIME if clock < self.evening_starts else Slot.EVENING

    def next_slot_start(self, now: datetime, slot: Slot, horizon_days: int = 21) -> datetime | None:
        """The soonest moment from `now` that falls in `slot` (now itself when it does)."""
        if self.slot(now) == slot:
            return now
        today = self.today(now)
        starts = {
            Slot.DAYTIME: self.opens,
            Slot.EVENING: self.evening_starts,
            Slot.WEEKEND: self.opens,
            Slot.HOLIDAY: self.opens,
            Slot.OFF_HOURS: self.closes,
        }
        for n in range(horizon_days):
            day = today + timedelta(days=n)
            candidates = [self.at(day, starts[slot])]
            if slot == Slot.WEEKEND:
                candidates.append(self.at(day, self.evening_starts))
            for moment in candidates:
                if moment >= now and self.slot(moment) == slot:
                    return moment
        return None

    def next_calling_time(self, now: datetime) -> datetime:
        """`now` when it is within calling hours, else the next opening."""
        if self.slot(now) != Slot.OFF_HOURS:
            return now
        today = self.today(now)
        for n in range(8):
            opening = self.at(today + timedelta(days=n), self.opens)
            if opening >= now:
                return opening
        return now

    def prior_business_day(self, day: date) -> date:
        """The last business day before `day`."""
        candidate = day - timedelta(days=1)
        for _ in range(366):
            if self.is_business_day(candidate):
                return candidate
            candidate -= timedelta(days=1)
        return day - timedelta(days=1)

    def confirmation_deadline(self, appointment_start: datetime) -> datetime:
        """A confirmation contact is made by the end (closing) of the business
        day before the appointment, in the store's zone."""
        day = self.prior_business_day(self.local(appointment_start).date())
        return self.at(day, self.closes)
