"""An external system's state from one probe, as GET /health shows it."""

from __future__ import annotations

import pytest

from domain.systems import system_state


@pytest.mark.parametrize(
    ("code", "seconds", "said", "state"),
    [
        (200, 0.05, "ok", "up"),
        (404, 0.05, None, "up"),  # a system without a health page still answered
        (None, 3.0, None, "down"),  # no answer in time, or no connection
        (503, 0.01, None, "down"),
        (502, 0.01, None, "down"),
        (500, 0.01, None, "degraded"),
        (200, 1.5, "ok", "degraded"),  # slower than the 1 s it may take
        (200, 0.05, "degraded", "degraded"),  # it says so itself
        (200, 0.05, "WARN", "degraded"),
    ],
)
def test_state_from_one_probe(code: int | None, seconds: float, said: str | None, state: str) -> None:
    assert system_state(code, seconds, said, slow_after=1.0) == state
