"""Does a simulated system slow down as it fills up? (issue 18)

Two simulators as `bin/dev` runs them (`python -m sopflow simulators`, its
records in a SQLite file in a data folder of its own), one holding 100
records of each kind measured here, one holding 10,000. The records are put
in before each starts, through the systems' own code on the same file its
requests use (as many requests would leave them, faster). Then, for each
request, 200 each over keep-alive HTTP, in blocks of 20 taking turns between
the two, so the machine's other load falls on both alike:

- **OMS create**: `POST /oms/orders`, a new order under a new Idempotency-Key;
- **network receipt**: `POST /network/cxml`, a new confirmation (new payloadID);
- **ERP write**: `PUT /erp/open-orders/{n}`, a new open order.

Prints the median and p90 of each at each size and the ratio of the medians
(goal: each within 1.2x).

    python -m benchmarks.simulators             # 100 and 10,000 records, 200 requests each
    python -m benchmarks.simulators -n 50       # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks.stack import free_ports, repo, stop

SIZES = (100, 10_000)
BLOCK = 20

ORDER = {
    "account_number": "401693",
    "branch_id": "B12",
    "status": "draft",
    "lines": [
        {"line_number": n, "part_id": f"P-{n}", "pool_id": "POOL-A", "uom": "EA",
         "quantity": "3", "unit_price": "1.25"}
        for n in (1, 2, 3)
    ],
}  # fmt: skip
ERP_ORDER = {
    "store_id": "101",
    "type": "delivery",
    "guest": {"name": "Dana Whitfield", "phones": ["2145550101"], "email": "dana@example.com"},
    "lines": [{"line_number": 1, "sku": "SOFA-3S", "quantity": 1, "atp_date": "2026-12-10"}],
}


def confirmation() -> tuple[str, str]:
    """A confirmation the network takes, and its payloadID (replaced per request)."""
    from domain.order import buyer_documents as bd
    from domain.order.buyer_documents import BuyerDocument, DocumentKind
    from domain.order.cxml import parse_order_request, sample_order_request
    from domain.order.cxml_out import Parties, Party, render

    po = parse_order_request(sample_order_request()).to_purchase_order("401693")
    payload_id = bd.payload_id(f"{po.workflow_id}:bench:confirmation")
    doc = BuyerDocument(
        payload_id=payload_id,
        kind=DocumentKind.CONFIRMATION,
        event="confirmation",
        order_id=po.workflow_id,
        account_number="401693",
        po_number=po.po_number,
        order_payload_id=po.payload_id,
        currency="USD",
        created_at=datetime(2026, 11, 20, tzinfo=UTC),
        confirmation=bd.confirmation(po, po),
    )
    parties = Parties(
        supplier=Party(domain="DUNS", identity="123456789"),
        buyer=Party(domain="NetworkID", identity="AN01000401693"),
    )
    return render(doc, parties), payload_id


def fill(data_dir: Path, count: int, xml: str) -> None:
    """`count` records of each kind measured, put in through the systems' own code."""
    from simulators import erp, network, oms
    from simulators.app import SimState

    sim = SimState("sim-helpdesk-key", None, state_file=data_dir / "simulators.sqlite")
    now = datetime.now(UTC)
    with sim.store.atomic():
        for i in range(count):
            body = oms.OrderIn(external_ref=f"order-401693-F{i}", po_number=f"F{i}", **ORDER)
            fingerprint = f"POST /oms/orders {body.model_dump_json()}"
            sim.oms.keys.once(f"fill-{i}", fingerprint, lambda b=body: sim.oms.add_order(b),
                              oms.OmsOrder)  # fmt: skip
            sim.network.documents[f"fill-{i}"] = network.ReceivedDocument(
                payload_id=f"fill-{i}", kind="ConfirmationRequest", order_id=f"F{i}",
                deployment_mode="production", status_code=200, status_text="OK",
                received_at=now, xml=xml,
            )  # fmt: skip
            sim.erp.orders[f"F{i:06d}"] = erp.ErpOrder(
                sales_order=f"F{i:06d}", updated_at=now, **ERP_ORDER
            )
    sim.store.close()


@contextmanager
def simulators(data_dir: Path) -> Iterator[str]:
    """`sopflow simulators` on a free port with `data_dir`; its URL once it answers."""
    (port,) = free_ports(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPFLOW_")}
    env |= {"SOPFLOW_SIM_PORT": str(port), "SOPFLOW_DATA_DIR": str(data_dir),
            "SOPFLOW_LOG_LEVEL": "warning"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "sopflow", "simulators"], cwd=repo(), env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the simulators did not come up")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        stop(proc)


Request = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


def requests(xml: str, payload_id: str) -> dict[str, Request]:
    def oms_create(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        body = {**ORDER, "external_ref": f"order-401693-B{i}", "po_number": f"B{i}"}
        return http.post("/oms/orders", json=body, headers={"Idempotency-Key": f"bench-{i}"})

    def network_receipt(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        doc = xml.replace(payload_id, f"bench-{i}@sopflow")
        return http.post("/network/cxml", content=doc, headers={"Content-Type": "text/xml"})

    def erp_write(http: httpx.AsyncClient, i: int) -> Awaitable[httpx.Response]:
        return http.put(f"/erp/open-orders/B{i:06d}", json=ERP_ORDER)

    return {"OMS create": oms_create, "network receipt": network_receipt, "ERP write": erp_write}


async def measure(urls: dict[int, str], n: int, xml: str, payload_id: str) -> None:
    clients = {size: httpx.AsyncClient(base_url=url, timeout=30) for size, url in urls.items()}
    try:
        print(f"{'request':<16} {'records':>7} {'median ms':>9} {'p90 ms':>7} {'ratio':>6}")
        for name, one in requests(xml, payload_id).items():
            latencies: dict[int, list[float]] = {size: [] for size in urls}
            for http in clients.values():  # warm-up, not counted
                (await one(http, -1)).raise_for_status()
            for start in range(0, n, BLOCK):
                for size, http in clients.items():
                    for i in range(start, min(start + BLOCK, n)):
                        began = time.perf_counter()
                        resp = await one(http, i)
                        latencies[size].append(time.perf_counter() - began)
                        resp.raise_for_status()
            medians = {size: statistics.median(ms) * 1000 for size, ms in latencies.items()}
            small, large = SIZES
            for size, ms in latencies.items():
                p90 = statistics.quantiles(ms, n=10)[-1] * 1000
                ratio = f"{medians[large] / medians[small]:.2f}x" if size == large else ""
                print(f"{name:<16} {size:>7,} {medians[size]:>9.2f} {p90:>7.2f} {ratio:>6}")
    finally:
        for http in clients.values():
            await http.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="requests of each kind at each size")
    args = parser.parse_args()
    xml, payload_id = confirmation()
    with tempfile.TemporaryDirectory(prefix="sopflow-bench-sims-") as tmp:
        dirs = {size: Path(tmp) / str(size) for size in SIZES}
        for size, data_dir in dirs.items():
            data_dir.mkdir()
            started = time.perf_counter()
            fill(data_dir, size, xml)
            print(f"filled {size:,} records of each kind in {time.perf_counter() - started:.1f} s")
        with simulators(dirs[SIZES[0]]) as small, simulators(dirs[SIZES[1]]) as large:
            asyncio.run(measure({SIZES[0]: small, SIZES[1]: large}, args.n, xml, payload_id))


if __name__ == "__main__":
    main()
