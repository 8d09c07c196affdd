"""Who gets a task: the account's contact, a primary member for the region, a
cross-trained backup, the team's queue; nobody away gets a new task."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.directory.routing import Directory, Holder, Member, capability_for, route
from domain.identity import Role

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
AWAY = NOW + timedelta(days=3)


def routed(directory: Directory, role: Role = Role.ACCOUNT_REP, fallback: str | None = "csc"):
    return route(
        directory, role=role, capability="order_processing", at=NOW, fallback_queue=fallback
    )


def us_south(**changes: object) -> Directory:
    base = Directory(
        account_number="401693",
        region="US-South",
        contact=Member(person_id="maria.lopez"),
        holders=[
            Holder(person_id="maria.lopez", level="primary", region="US-South"),
            Holder(person_id="wendy", level="backup", region="US-South"),
        ],
        team_queue="team:na-sales",
    )
    return base.model_copy(update=changes)


def test_the_accounts_own_contact_gets_the_task() -> None:
    r = routed(us_south())
    assert (r.assignee, r.rule) == ("maria.lopez", "account_contact")
    assert "account_rep of account 401693" in r.reason


def test_an_away_rep_is_passed_over_for_the_cross_trained_backup_with_the_reason() -> None:
    maria_away = Member(person_id="maria.lopez", away_until=AWAY, away_comment="vacation")
    holders = [
        Holder(person_id="maria.lopez", level="primary", away_until=AWAY),
        Holder(person_id="wendy", level="backup"),
    ]
    r = routed(us_south(contact=maria_away, holders=holders))
    assert (r.assignee, r.rule) == ("wendy", "backup")
    assert [s.person_id for s in r.skipped] == ["maria.lopez"]
    assert "away until 2026-11-29" in r.skipped[0].why and "vacation" in r.skipped[0].why
    assert "cross-trained backup" in r.describe() and "maria.lopez skipped" in r.describe()


def test_without_a_contact_the_primary_member_for_the_region_gets_it() -> None:
    holders = [
        Holder(person_id="wendy", level="backup"),
        Holder(person_id="james.chen", level="primary"),
    ]
    r = routed(us_south(contact=None, holders=holders))
    assert (r.assignee, r.rule) == ("james.chen", "primary")


def test_a_part_time_primary_comes_after_a_full_time_one_and_takes_it_when_they_are_away() -> None:
    holders = [
        Holder(person_id="scotty", level="primary", part_time=True),
        Holder(person_id="ken", level="primary"),
    ]
    assert routed(us_south(contact=None, holders=holders)).assignee == "ken"
    holders[1] = Holder(person_id="ken", level="primary", away_until=AWAY)
    r = routed(us_south(contact=None, holders=holders))
    assert r.assignee == "scotty" and "(part time)" in r.reason


def test_the_primary_with_fewer_open_tasks_gets_it() -> None:
    holders = [
        Holder(person_id="adam", level="primary", open_tasks=5),
        Holder(person_id="zoe", level="primary", open_tasks=1),
    ]
    assert routed(us_south(contact=None, holders=holders)).assignee == "zoe"


def test_everyone_away_leaves_the_task_in_the_teams_queue() -> None:
    holders = [
        Holder(person_id="maria.lopez", level="primary", away_until=AWAY),
        Holder(person_id="wendy", level="backup", away_until=AWAY),
    ]
    r = routed(us_south(contact=Member(person_id="maria.lopez", away_until=AWAY), holders=holders))
    assert (r.assignee, r.queue, r.rule) == (None, "team:na-sales", "team_queue")
    assert {s.person_id for s in r.skipped} == {"maria.lopez", "wendy"}


def test_away_in_the_past_is_not_away() -> None:
    back = Member(person_id="maria.lopez", away_until=NOW - timedelta(minutes=1))
    assert routed(us_south(contact=back)).assignee == "maria.lopez"


def test_nobody_in_the_directory_keeps_the_workflows_queue() -> None:
    r = routed(Directory(), fallback="csc")
    assert (r.assignee, r.queue, r.rule) == (None, "csc", "default")


def test_capabilities_follow_the_task_kind_then_its_role() -> None:
    assert capability_for("resolve_hold_price", Role.ACCOUNT_REP) == "order_processing"
    assert capability_for("sla_breach", Role.TEAM_LEAD) == "escalation"
    assert capability_for("anything", Role.IMPLEMENTATION_MANAGER) == "account_implementation"
    assert capability_for("anything", Role.OPERATOR) is None
