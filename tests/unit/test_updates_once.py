"""The memory of applied Updates stays bounded: at most 100 entries and 32 KB,
oldest first out, and an answer over 1 KB kept as a marker only."""

from __future__ import annotations

from domain import updates_once
from domain.kernel import AppliedUpdate
from domain.updates_once import find, parse, remember


def test_an_id_the_api_derives_is_parsed_back_and_any_other_is_not() -> None:
    assert parse(updates_once.update_id("k", "b")) == ("k", "b")
    assert parse("57d3d3ab-6ae6-4c82-ac74-5fc8adba14f6") is None
    assert parse("once:onlykey") is None


def test_the_oldest_entries_go_past_100() -> None:
    memory: list[AppliedUpdate] = []
    for n in range(105):
        remember(memory, f"k{n}", "b", "{}")
    assert len(memory) == 100
    assert find(memory, "k4") is None and find(memory, "k5") is not None


def test_an_answer_over_1_kb_is_a_marker_and_the_memory_stays_under_32_kb() -> None:
    memory: list[AppliedUpdate] = []
    remember(memory, "big", "b", "x" * 1025)
    assert find(memory, "big") == AppliedUpdate(key="big", body="b", answer=None)
    for n in range(60):
        remember(memory, f"k{n}", "b", "y" * 1000)
    size = sum(len(e.key) + len(e.body) + len(e.answer or "") for e in memory)
    assert size <= 32 * 1024 and find(memory, "k59") is not None and find(memory, "big") is None


def test_the_digest_tells_split_parts_apart() -> None:
    assert updates_once.digest("ab", "c") != updates_once.digest("a", "bc")
