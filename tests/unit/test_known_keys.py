"""The API remembers a looked-up key for a short while, and no longer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from api import auth
from api.auth import KnownKeys
from domain.identity import Actor, Role

REP = Actor(person_id="maria.lopez", roles=frozenset({Role.ACCOUNT_REP}))


def test_a_key_is_remembered_until_its_time_is_up(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(auth.time, "monotonic", lambda: now[0])
    known = KnownKeys(timedelta(seconds=5))
    assert known.get("k1") is None
    known.put("k1", REP, "hash-1")
    now[0] += 4.9
    assert known.get("k1") == (REP, "hash-1")
    assert known.get("k2") is None
    # Past its time the key is looked up again (a revoked key stops working).
    now[0] += 0.2
    assert known.get("k1") is None


def test_no_memory_means_every_call_asks_the_database() -> None:
    known = KnownKeys(timedelta(0))
    known.put("k1", REP, "hash-1")
    assert known.get("k1") is None
