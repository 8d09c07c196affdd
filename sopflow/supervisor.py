"""`sopflow dev`'s parts kept running: each child (Temporal dev server,
PostgreSQL, simulators, worker, API) that exits is started again after a
back-off, and said so in the log. The stack stops on Ctrl-C, or when a child
keeps failing at start (then something needs a person: a port, a file)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import structlog

log = structlog.get_logger()


@dataclass(frozen=True)
class RestartPolicy:
    # Waits before each restart of a child that keeps exiting; the last repeats.
    backoff: tuple[float, ...] = (1, 2, 4, 8, 15, 30)
    # A child that exits sooner than this after its start failed at start.
    grace: float = 20.0
    # That many failed starts in a row, and the stack stops.
    max_failed_starts: int = 5


class Child(Protocol):
    name: str
    log_file: Path | None

    def launch(self) -> None:
        """Start it (blocking is fine: it runs in a thread); raise when it cannot."""

    def exited(self) -> str | None:
        """None while it runs; else how it ended, in a few words."""

    def terminate(self) -> None: ...

    def wait(self, timeout: float) -> bool:
        """True once it has stopped."""

    def kill(self) -> None: ...


def how_it_ended(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class ProcessChild:
    """A command run as our child, in a session of its own (a Ctrl-C in the
    terminal reaches the supervisor, which stops the children in order)."""

    def __init__(
        self, name: str, args: list[str], env: dict[str, str], log_file: Path | None = None
    ) -> None:
        self.name = name
        self.args = args
        self.env = env
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def launch(self) -> None:
        out = open(self.log_file, "ab") if self.log_file else None  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                self.args, env=self.env, stdout=out, stderr=out, start_new_session=True
            )
        finally:
            if out:
                out.close()  # the child has its own descriptor

    def exited(self) -> str | None:
        if self.proc is None:
            return "not started"
        code = self.proc.poll()
        return None if code is None else how_it_ended(code)

    def terminate(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()


class EmbeddedPostgres:
    """The pgserver PostgreSQL under the data folder. pg_ctl starts the
    postmaster as a daemon; the supervisor adopts it (a child subreaper on
    Linux), so it notices the postmaster's death and reaps it, and pg_ctl can
    start a new one. pgserver stops it when this process exits."""

    name = "postgresql"

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.log_file: Path | None = pgdata / "log"
        self.server = None
        self.pid: int | None = None
        self.url = ""

    def launch(self) -> None:
        from db.connection import pgserver_module

        if self.server is None:
            self.server = pgserver_module().get_server(self.pgdata, cleanup_mode="stop")
        else:
            # pgserver's own start runs under its inter-process lock; so does ours.
            with type(self.server)._lock:
                self.server.ensure_postgres_running()
        self.pid = self.server.get_pid()
        self.url = self.server.get_uri()

    def exited(self) -> str | None:
        if self.pid is None:
            return "not started"
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return how_it_ended(-os.WTERMSIG(status) if os.WIFSIGNALED(status) else
                                    os.WEXITSTATUS(status))  # fmt: skip
            return None
        except ChildProcessError:  # not ours (started by an earlier run): look at it
            import psutil

            try:
                if psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE:
                    return None
            except psutil.NoSuchProcess:
                pass
            return "gone"

    def terminate(self) -> None:
        """Left to pgserver, when this process exits (after the others stopped)."""

    def wait(self, timeout: float) -> bool:
        return True

    def kill(self) -> None: ...


def become_subreaper() -> bool:
    """Adopt our children's orphans (Linux): the daemonized postmaster and its
    backends. Their exit is then ours to reap (see `Supervisor.reap_orphans`)."""
    if sys.platform != "linux":
        return False
    PR_SET_CHILD_SUBREAPER = 36
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return False


@dataclass
class _Watch:
    child: Child
    started_at: float
    failed_starts: int = 0  # in a row
    restarts: int = 0
    restart_at: float | None = None  # set while it waits for its back-off


@dataclass
class Supervisor:
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    watches: list[_Watch] = field(default_factory=list)
    poll_every: float = 0.5

    def start(self, child: Child) -> None:
        """The first start; a failure here is the caller's to report."""
        child.launch()
        self.watches.append(_Watch(child, time.monotonic()))

    def exited(self, name: str) -> str | None:
        return next((w.child.exited() for w in self.watches if w.child.name == name), None)

    async def supervise(self, stop: asyncio.Event) -> int:
        """Until `stop` is set (0), or a child keeps failing at start (1)."""
        while not stop.is_set():
            for watch in self.watches:
                if not await self._check(watch):
                    return 1
            self.reap_orphans()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_every)
        return 0

    async def _check(self, watch: _Watch) -> bool:
        child, now = watch.child, time.monotonic()
        if watch.restart_at is None:
            ended = child.exited()
            if ended is None:
                if now - watch.started_at >= self.policy.grace:
                    watch.failed_starts = 0  # it ran: a later exit starts the count again
                return True
            at_start = now - watch.started_at < self.policy.grace
            watch.failed_starts = watch.failed_starts + 1 if at_start else 1
            if watch.failed_starts >= self.policy.max_failed_starts:
                log.error(
                    "process keeps failing at start; stopping the stack",
                    process=child.name,
                    how=ended,
                    failed_starts=watch.failed_starts,
                    log_file=str(child.log_file) if child.log_file else None,
                )
                return False
            delay = self.policy.backoff[min(watch.failed_starts, len(self.policy.backoff)) - 1]
            watch.restart_at = now + delay
            log.warning(
                "process exited; restarting it",
                process=child.name,
                how=ended,
                restart_in_s=delay,
                failed_starts=watch.failed_starts,
            )
            return True
        if now < watch.restart_at:
            return True
        watch.restart_at = None
        watch.started_at = time.monotonic()
        try:
            await asyncio.to_thread(child.launch)
        except Exception as exc:  # it failed to start: counted when next checked
            log.warning("process failed to start", process=child.name, error=str(exc)[:300])
            return True
        watch.restarts += 1
        log.warning(
            "process restarted",
            process=child.name,
            pid=getattr(child, "pid", None),
            restarts=watch.restarts,
        )
        return True

    def reap_orphans(self) -> None:
        """Adopted processes that ended (a postmaster's backends after it died):
        reaped, so none lingers as a zombie. Our own children are left to their
        watch, which reads their exit status."""
        ours = {getattr(w.child, "pid", None) for w in self.watches}
        try:
            import psutil

            zombies = [
                p.pid
                for p in psutil.Process().children()
                if p.pid not in ours and p.status() == psutil.STATUS_ZOMBIE
            ]
        except Exception:  # psutil missing or a process gone meanwhile: next time
            return
        for pid in zombies:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)

    def stop(self) -> None:
        """Every child, in reverse order of start."""
        for watch in reversed(self.watches):
            watch.child.terminate()
        for watch in reversed(self.watches):
            if not watch.child.wait(timeout=15):
                log.warning("killing process that did not stop", process=watch.child.name)
                watch.child.kill()
