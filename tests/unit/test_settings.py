"""Settings as a person types them: durations in plain seconds or ISO 8601, a
wrong value named with its variable (not pydantic's raw message or a
traceback), and commands that print no warning about XDG_RUNTIME_DIR."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from sopflow.cli import app
from sopflow.config import Settings, setting_errors
from tests.unit.test_devstack import CLEAN_ENV

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("20", timedelta(seconds=20)),
        (" 1.5 ", timedelta(seconds=1.5)),
        ("PT20S", timedelta(seconds=20)),
        ("pt5m", timedelta(minutes=5)),
        ("P1D", timedelta(days=1)),
        ("0", timedelta(0)),
    ],
)
def test_a_duration_is_seconds_or_iso_8601(
    typed: str, meant: timedelta, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPFLOW_OUTAGE_DETECT_AFTER", typed)
    assert Settings().outage_detect_after == meant


@pytest.mark.parametrize("typed", ["20x", "twenty", "", "-PT5S", "PT", "20 s"])
def test_anything_else_is_refused_naming_the_variable_and_what_it_takes(
    typed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOPFLOW_OUTAGE_DETECT_AFTER", typed)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert setting_errors(refused.value) == (
        f"SOPFLOW_OUTAGE_DETECT_AFTER={typed!r} is not a duration: "
        "give seconds (20) or ISO 8601 (PT20S, PT5M, P1D)"
    )


def test_a_command_with_a_wrong_setting_says_which_and_stops() -> None:
    env = {**CLEAN_ENV, "SOPFLOW_ORDER_SLA": "2h", "SOPFLOW_API_PORT": "eighty"}
    result = CliRunner().invoke(app, ["route", "--kind", "resolve_hold_price"], env=env)

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    first, *reasons = result.output.splitlines()
    assert first == "sopflow: wrong setting"
    assert len(reasons) == 2
    assert any(r.startswith("SOPFLOW_ORDER_SLA='2h' is not a duration: give seconds") for r in reasons)
    assert any(r.startswith("SOPFLOW_API_PORT='eighty': ") for r in reasons)


def test_no_command_warns_that_xdg_runtime_dir_is_not_set() -> None:
    """Without a login session there is no XDG_RUNTIME_DIR; pgserver then keeps
    its lock file under /tmp, and no command says a word about it."""
    env = {k: v for k, v in CLEAN_ENV.items() if k != "XDG_RUNTIME_DIR"}
    code = "from db.connection import pgserver_module; pgserver_module()"
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", code],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO), "PYTHONWARNINGS": "default"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "XDG_RUNTIME_DIR" not in done.stderr + done.stdout
