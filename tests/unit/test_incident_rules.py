"""The incident's pure rules (domain/incident.py): when it escalates, which
fallbacks it takes, what an order's report does, reconciliation progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.incident import (
    AffectedOrder,
    AffectedStatus,
    IncidentStatus,
    OrderOutcome,
    affected_accounts,
    affects_every_account,
    apply_outcome,
    escalation_due,
    fallback_problem,
    incident_id,
    reconciled_all,
    reconciliation,
)

T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)


def affected(*orders: tuple[str, str, AffectedStatus]) -> dict[str, AffectedOrder]:
    return {
        o: AffectedOrder(order_id=o, account_number=a, joined_at=T0, status=s) for o, a, s in orders
    }


WAITING = affected(
    ("order-401693-A", "401693", AffectedStatus.WAITING),
    ("order-402110-B", "402110", AffectedStatus.WAITING),
)


def test_an_incident_id_names_the_platform_and_when_it_opened():
    assert incident_id("sterling_oms", T0) == "incident-sterling_oms-20261126T090000"


def test_escalation_is_due_once_past_the_threshold_and_never_twice():
    half_hour = timedelta(minutes=30)
    assert not escalation_due(T0, T0 + timedelta(minutes=29, seconds=59), half_hour, False)
    assert escalation_due(T0, T0 + half_hour, half_hour, False)
    assert not escalation_due(T0, T0 + timedelta(hours=2), half_hour, True)


def test_it_escalates_only_when_every_account_in_flight_is_affected():
    accounts = affected_accounts(WAITING)
    assert accounts == ["401693", "402110"]
    assert affects_every_account(accounts, ["401693", "402110"])
    assert affects_every_account(accounts, ["401693"])
    assert not affects_every_account(accounts, ["401693", "402110", "403500"])
    assert not affects_every_account([], [])


def test_the_fallback_is_for_an_open_oms_outage_and_waiting_orders_only():
    assert fallback_problem("sterling_oms", IncidentStatus.OPEN, WAITING, None) is None
    assert (
        fallback_problem("sterling_oms", IncidentStatus.OPEN, WAITING, ["order-401693-A"]) is None
    )
    assert fallback_problem("iseries", IncidentStatus.OPEN, WAITING, None)[0] == "InvalidState"
    assert fallback_problem("sterling_oms", IncidentStatus.RECONCILING, WAITING, None)[0] == (
        "InvalidState"
    )
    unknown = fallback_problem("sterling_oms", IncidentStatus.OPEN, WAITING, ["order-1-X"])
    assert unknown == ("InvalidFallback", "not waiting in this incident: order-1-X")
    taken = affected(("order-401693-A", "401693", AffectedStatus.FALLBACK_APPROVED))
    assert fallback_problem("sterling_oms", IncidentStatus.OPEN, taken, ["order-401693-A"])[0] == (
        "InvalidFallback"
    )
    assert fallback_problem("sterling_oms", IncidentStatus.OPEN, taken, None) == (
        "InvalidState",
        "no order is waiting in this incident",
    )


def test_orders_report_entry_in_iseries_then_reconciliation():
    orders = affected(
        ("order-401693-A", "401693", AffectedStatus.FALLBACK_APPROVED),
        ("order-401693-B", "401693", AffectedStatus.RESUMED),
    )
    assert not reconciled_all(orders)
    said = apply_outcome(
        orders["order-401693-A"],
        OrderOutcome(order_id="order-401693-A", outcome="entered_in_iseries",
                     iseries_order_id="ISO-1"),
    )  # fmt: skip
    assert "ISO-1" in said and orders["order-401693-A"].status == AffectedStatus.ENTERED_IN_ISERIES
    assert reconciliation(orders).model_dump() == {"entered_in_iseries": 1, "reconciled": 0}
    apply_outcome(
        orders["order-401693-A"],
        OrderOutcome(order_id="order-401693-A", outcome="reconciled", oms_order_id="OMS-9"),
    )
    assert orders["order-401693-A"].oms_order_id == "OMS-9"
    assert reconciliation(orders).model_dump() == {"entered_in_iseries": 1, "reconciled": 1}
    assert reconciled_all(orders)


def test_an_order_that_cannot_take_the_fallback_waits_again():
    orders = affected(("order-401693-A", "401693", AffectedStatus.FALLBACK_APPROVED))
    said = apply_outcome(
        orders["order-401693-A"],
        OrderOutcome(order_id="order-401693-A", outcome="not_eligible", reason="it has holds"),
    )
    assert (
        said.endswith("it has holds") and orders["order-401693-A"].status == AffectedStatus.WAITING
    )
    assert reconciled_all(orders)
