"""The dev stack as a new user meets it: a port already taken is named with the
setting that moves it, uvicorn's lines read like every other log line, and
`--help` shows what each option defaults to."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import structlog
from typer.testing import CliRunner

from sopflow.cli import app
from sopflow.config import Settings
from sopflow.devstack import port_problems
from sopflow.logs import UVICORN_LOGGERS, configure_logging

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Inherited settings must not point a test at the user's own stack.
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("SOPFLOW_", "TEMPORAL_")) and k != "DATABASE_URL"
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another process (here: this test) is listening on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def free_ports() -> Settings:
    return Settings(
        api_port=free_port(), temporal_port=free_port(), ui_port=free_port(), sim_port=free_port()
    )


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back afterwards."""
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate,
                    logging.getLogger(name).level) for name in UVICORN_LOGGERS}  # fmt: skip
    saved_structlog = structlog.get_config()
    yield
    root.handlers[:], root.level = saved_root
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:], logger.propagate, logger.level = handlers, propagate, level
    structlog.reset_defaults()
    structlog.configure(**saved_structlog)


# ------------------------------------------------------------------ ports
def test_a_taken_port_is_named_with_the_option_and_variable_that_move_it(
    held_port: int, free_ports: Settings
) -> None:
    settings = free_ports.model_copy(update={"temporal_port": held_port})

    [problem] = port_problems(settings)

    assert f"port {held_port}" in problem
    assert "Temporal gRPC" in problem
    assert "already in use" in problem
    assert "--temporal-port" in problem and "SOPFLOW_TEMPORAL_PORT" in problem
    if sys.platform == "linux":  # who holds it, read from /proc
        assert f"pid {os.getpid()}" in problem


@pytest.mark.parametrize(
    ("setting", "what", "moved_by"),
    [
        ("api_port", "API", "SOPFLOW_API_PORT"),
        ("ui_port", "Temporal UI", "SOPFLOW_UI_PORT"),
        ("sim_port", "simulators", "SOPFLOW_SIM_PORT"),
        ("metrics_port", "worker metrics", "SOPFLOW_METRICS_PORT"),
    ],
)
def test_every_port_of_the_stack_is_checked(
    held_port: int, free_ports: Settings, setting: str, what: str, moved_by: str
) -> None:
    settings = free_ports.model_copy(update={setting: held_port})

    [problem] = port_problems(settings)

    assert f"port {held_port} for the {what}" in problem
    assert moved_by in problem


def test_free_ports_are_no_problem(free_ports: Settings) -> None:
    assert port_problems(free_ports) == []


def test_two_settings_on_one_port_are_refused(free_ports: Settings) -> None:
    settings = free_ports.model_copy(update={"sim_port": free_ports.api_port})

    [problem] = port_problems(settings)

    assert "SOPFLOW_API_PORT" in problem and "SOPFLOW_SIM_PORT" in problem


def test_a_second_dev_stack_says_which_port_is_taken_and_starts_nothing(
    held_port: int, free_ports: Settings, tmp_path: Path, restore_logging: None
) -> None:
    s = free_ports
    result = CliRunner().invoke(
        app,
        ["dev", "--data-dir", str(tmp_path / "state"), "--api-port", str(held_port),
         "--temporal-port", str(s.temporal_port), "--ui-port", str(s.ui_port),
         "--sim-port", str(s.sim_port)],
        env=CLEAN_ENV,
    )  # fmt: skip

    assert result.exit_code == 1
    assert f"port {held_port} for the API" in result.output
    assert "--api-port or SOPFLOW_API_PORT" in result.output
    assert "Temporal dev server exited" not in result.output
    assert not (tmp_path / "state").exists()  # no server was started, no state written


# ------------------------------------------------------------------- logs
@pytest.mark.parametrize("fmt", ["json", "console"])
def test_a_uvicorn_record_is_one_structlog_line_without_its_colour_copy(
    fmt: str, capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(fmt)

    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on %s://%s:%d (Press CTRL+C to quit)", "http", "127.0.0.1", 8000,
        extra={"color_message": "Uvicorn running on \x1b[1m%s://%s:%d\x1b[0m (Press CTRL+C to quit)"},
    )  # fmt: skip

    [line] = capsys.readouterr().err.splitlines()
    assert "color_message" not in line and "\x1b" not in line
    assert "Uvicorn running on http://127.0.0.1:8000" in line
    if fmt == "json":
        record = json.loads(line)
        assert record["logger"] == "uvicorn"
        assert record["level"] == "info"
        assert "timestamp" in record


def test_a_served_app_logs_json_lines_only(tmp_path: Path) -> None:
    """`sopflow simulators` (uvicorn) from start to SIGTERM: every line on stderr
    is one JSON object, and none carries uvicorn's escape codes."""
    port = free_port()
    env = {**CLEAN_ENV, "SOPFLOW_SIM_PORT": str(port), "SOPFLOW_DATA_DIR": str(tmp_path),
           "SOPFLOW_LOG_FORMAT": "json"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "sopflow", "simulators"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)

    lines = [line for line in (out + err).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # each line is JSON
    assert not any("\x1b" in line or "color_message" in line for line in lines)
    events = [r["event"] for r in records if r.get("logger") == "uvicorn"]
    assert f"Uvicorn running on http://127.0.0.1:{port} (Press CTRL+C to quit)" in events
    assert any(e.startswith("Finished server process") for e in events)


# ------------------------------------------------------------------- help
def help_text(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    return ANSI.sub("", result.output)


def test_dev_help_shows_each_default_and_variable() -> None:
    text = help_text("dev")
    defaults = Settings.model_construct()
    for option, env, value in [
        ("--data-dir", "SOPFLOW_DATA_DIR", defaults.data_dir),
        ("--api-port", "SOPFLOW_API_PORT", defaults.api_port),
        ("--temporal-port", "SOPFLOW_TEMPORAL_PORT", defaults.temporal_port),
        ("--ui-port", "SOPFLOW_UI_PORT", defaults.ui_port),
        ("--sim-port", "SOPFLOW_SIM_PORT", defaults.sim_port),
    ]:
        [row] = [line for line in text.splitlines() if f" {option} " in line]
        assert f"[env var: {env}]" in row
        assert f"[default: {value}]" in row
    assert "[default: 8000]" in text  # the value a user reads in the README


def test_seed_demo_help_shows_the_data_dir_default() -> None:
    assert "[default: .sopflow]" in help_text("seed-demo")


def test_process_help_says_where_it_listens() -> None:
    assert "SOPFLOW_API_PORT (default 127.0.0.1:8000)" in help_text("api")
    assert "SOPFLOW_SIM_PORT (default 127.0.0.1:8100)" in help_text("simulators")
    assert "SOPFLOW_TASK_QUEUE, default sopflow" in help_text("worker")


def test_top_level_help_lists_the_commands_and_the_environment() -> None:
    text = help_text()
    for command in ("dev", "worker", "api", "simulators", "migrate", "seed-demo", "sim"):
        assert command in text
    assert "SOPFLOW_" in text
