"""`bin/dev` survives its own parts failing: the worker, the embedded
PostgreSQL, the Temporal dev server and the simulators each killed with SIGKILL
come back, the stack keeps answering, the log says what happened, and Ctrl-C
stops it all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from domain.order.cxml import sample_order_request
from tests.conftest import free_port

pytestmark = pytest.mark.integration
POD = {"signed_by": "J. Ruiz", "signed_at": "2026-11-26T15:00:00Z"}
REPO = Path(__file__).resolve().parents[2]
CLEAN_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("SOPFLOW_", "TEMPORAL_")) and k != "DATABASE_URL"
}


class DevStack:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.log = log
        self.api_port = free_port()
        ports = ["--api-port", str(self.api_port), "--temporal-port", str(free_port()),
                 "--ui-port", str(free_port()), "--sim-port", str(free_port())]  # fmt: skip
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sopflow", "dev", "--data-dir", str(data_dir), *ports],
                cwd=REPO, env=CLEAN_ENV, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.api_port}", timeout=5)

    def health(self) -> int | None:
        try:
            return self.http.get("/health").status_code
        except httpx.HTTPError:
            return None

    def wait_healthy(self, seconds: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            assert self.proc.poll() is None, self.tail()
            if self.health() == 200:
                return time.monotonic() - started
            time.sleep(0.25)
        raise AssertionError(f"not healthy within {seconds} s:\n{self.tail()}")

    def child(self, command: str) -> psutil.Process:
        """One of the stack's processes, by the command it runs."""
        for proc in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                cmd = proc.cmdline()
            except psutil.Error:
                continue
            if cmd[-2:] == ["sopflow", command] or (command == "temporal" and "start-dev" in cmd):
                return proc
        raise AssertionError(f"no {command} process:\n{self.tail()}")

    def postmaster(self) -> int:
        return int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])

    def read_orders(self) -> int:
        headers = {"Authorization": f"Bearer {self.keys()['account_rep']}"}
        return self.http.get("/orders", headers=headers).status_code

    def keys(self) -> dict[str, str]:
        return json.loads((self.data_dir / "demo-keys.json").read_text())

    def post_sample_order(self) -> str:
        resp = self.http.post(
            "/orders",
            content=sample_order_request(),
            headers={"Authorization": f"Bearer {self.keys()['system']}",
                     "Content-Type": "text/xml"},
        )  # fmt: skip
        assert resp.status_code == 200, resp.text
        return resp.headers["X-Order-Id"]

    def wait_for_status(self, order_id: str, status: str) -> None:
        headers = {"Authorization": f"Bearer {self.keys()['account_rep']}"}
        for _ in range(300):
            resp = self.http.get(f"/orders/{order_id}", headers=headers)
            if resp.status_code == 200 and resp.json()["status"] == status:
                return
            time.sleep(0.1)
        raise AssertionError(f"{order_id} never {status}: {resp.text[:300]}\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def restarts(self, process: str) -> int:
        return sum(
            "process restarted" in line and f"process={process}" in line
            for line in self.log.read_text(errors="replace").splitlines()
        )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    dev = DevStack(tmp_path / "state", tmp_path / "dev.log")
    yield dev
    if dev.proc.poll() is None:
        dev.proc.send_signal(signal.SIGINT)
        try:
            dev.proc.wait(60)
        except subprocess.TimeoutExpired:
            dev.proc.kill()
    dev.http.close()


def kill_and_wait_back(stack: DevStack, pid: int, process: str) -> None:
    before = stack.restarts(process)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 90
    while stack.restarts(process) == before:
        assert time.monotonic() < deadline, f"{process} never restarted:\n{stack.tail()}"
        assert stack.proc.poll() is None, f"the stack stopped when {process} died:\n{stack.tail()}"
        time.sleep(0.2)
    stack.wait_healthy(90)
    assert stack.read_orders() == 200


def test_the_dev_stack_brings_back_each_killed_part(
    stack: DevStack,
) -> None:
    stack.wait_healthy(180)
    assert stack.read_orders() == 200

    worker = stack.child("worker")
    kill_and_wait_back(stack, worker.pid, "worker")
    assert stack.child("worker").pid != worker.pid

    postmaster = stack.postmaster()
    kill_and_wait_back(stack, postmaster, "postgresql")
    assert stack.postmaster() != postmaster

    temporal = stack.child("temporal")
    kill_and_wait_back(stack, temporal.pid, "temporal")

    log = stack.log.read_text(errors="replace")
    for process, how in [("worker", "killed by SIGKILL"), ("temporal", "killed by SIGKILL")]:
        assert any(
            "process exited; restarting it" in line and f"process={process}" in line and how in line
            for line in log.splitlines()
        ), log[-3000:]
    assert "stopping the stack" not in log
    # Every part works together again: an order goes all the way to the branch.
    order_id = stack.post_sample_order()
    stack.wait_for_status(order_id, "released")
    # The simulators come back remembering their orders: iSeries invoices it.
    kill_and_wait_back(stack, stack.child("simulators").pid, "simulators")
    shipped = stack.http.post(
        f"/orders/{order_id}/shipments",
        json={"shipment_id": "S1", "proof_of_delivery": POD,
              "lines": [{"line_number": n, "quantity": q} for n, q in ((1, 100), (2, 2), (3, 1))]},
        headers={"Authorization": f"Bearer {stack.keys()['branch_manager']}"},
        timeout=60,
    )  # fmt: skip
    assert shipped.status_code == 201, shipped.text
    stack.wait_for_status(order_id, "completed")

    children = psutil.Process(stack.proc.pid).children(recursive=True)
    stack.proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert stack.proc.wait(60) == 0
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]
