"""A week of demo orders as the workflows leave them in the read model and the
audit log (rows, tasks, audit entries), for the weekly review's demo, its tests
and its benchmark. Deterministic: order i of n follows a pattern, so the
review's counts are known in advance.

Each is a finished order whose history Temporal no longer keeps (as after its
retention): a closed row with its last view, so `GET /orders` lists it,
`GET /orders/{id}` answers it from the read model, and the reconciler, which
looks at open rows only, leaves it alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from domain.order.models import (
    Address,
    Invoice,
    OrderLine,
    OrderStatus,
    OrderView,
    ProofOfDelivery,
    PurchaseOrder,
    ResolvedLine,
    Shipment,
    ShipmentLine,
)
from domain.reports import week_bounds

# Demo accounts and their reps (demo_data.sql): 401693 and 404820 are Maria's,
# 402110 is James's.
ACCOUNTS = ["401693", "402110", "404820"]


def _order(
    i: int, n: int, start: datetime, prefix: str, accounts: list[str]
) -> tuple[dict, list[tuple], list[tuple]]:
    """Order i: its row, its audit entries and its tasks."""
    account = accounts[i % len(accounts)]
    wid = f"order-{account}-{prefix}{i:06d}"
    received = start + timedelta(seconds=(7 * 86400 - 3600) * i / max(n, 1))
    audit: list[tuple] = [("punchout-network", "received", None, "received", "", received)]
    tasks: list[tuple] = []
    minutes = 1
    shape = i % 4
    if shape == 0:  # a PRICE hold the rep resolves after 90 minutes
        minutes = 90
        audit.append(
            ("sopflow", "held", "received", "on_hold", "validation failed: PRICE", received)
        )
        tasks.append((f"{wid}:hold:PRICE:1", wid, "resolve_hold_price", "account_rep", received))
        audit.append(("maria.lopez", "hold resolved", None, None, "PRICE line 1: correct_price",
                      received + timedelta(minutes=minutes)))  # fmt: skip
    elif shape == 1:  # a PRICE hold an open quote resolves at once
        audit.append(("sopflow", "price confirmed", None, None, "line 1: quote Q-1 at 2.35",
                      received))  # fmt: skip
    elif shape == 3:  # a PART hold past its SLA, then resolved
        minutes = 150
        audit.append(
            ("sopflow", "held", "received", "on_hold", "validation failed: PART", received)
        )
        tasks.append((f"{wid}:hold:PART:2", wid, "resolve_hold_part", "account_rep", received))
        audit.append(("sopflow", "sla breached", None, None, "holds not resolved",
                      received + timedelta(minutes=120)))  # fmt: skip
        audit.append(("maria.lopez", "hold resolved", None, None, "PART line 2: map_part",
                      received + timedelta(minutes=minutes)))  # fmt: skip
    confirmed = received + timedelta(minutes=minutes)
    audit.append(("sopflow", "confirmed", "on_hold" if shape in (0, 3) else "received",
                  "confirmed", "OMS order confirmed", confirmed))  # fmt: skip
    if i % 10 == 0:
        audit.append(("maria.lopez", "error flagged", None, None,
                      "F1 systemic (sterling_oms): OMS dropped the ship-to", confirmed))  # fmt: skip
    elif i % 10 == 5:
        audit.append(("maria.lopez", "error flagged", None, None,
                      "F1 human (sterling_oms): keyed the wrong UOM", confirmed))  # fmt: skip
    if i % 20 == 0:
        audit.append(("maria.lopez", "edit applied", None, None,
                      "E1 (human error): line 1 → 120; PO keyed short", confirmed))  # fmt: skip
    if i % 50 == 0:
        audit.append(("sopflow", "waiting on system", None, None,
                      "sterling_oms is not answering", received))  # fmt: skip
    delivered = confirmed + timedelta(days=1)
    audit.append(("sopflow", "completed", "confirmed", "completed",
                  "delivered and invoiced", delivered))  # fmt: skip
    row = {
        "workflow_id": wid,
        "account_number": account,
        "business_key": f"{prefix}{i:06d}",
        "created_at": received,
        "updated_at": delivered,
        "view": _view(wid, account, f"{prefix}{i:06d}", received, delivered),
    }
    return row, [(wid, *a) for a in audit], tasks


def _view(wid: str, account: str, po: str, received: datetime, delivered: datetime) -> dict:
    """The order's last view: one line of 10 gaskets at 2.35, shipped and invoiced."""
    quantity, price = Decimal(10), Decimal("2.35")
    shipment = Shipment(
        shipment_id="RUN-1",
        lines=[ShipmentLine(line_number=1, quantity=quantity)],
        proof_of_delivery=ProofOfDelivery(signed_by="demo week", signed_at=delivered),
    )
    view = OrderView(
        order_id=wid,
        status=OrderStatus.COMPLETED,
        order=PurchaseOrder(
            account_number=account,
            po_number=po,
            order_date=received,
            ship_to=Address(address_id="DEMO", name="demo week"),
            lines=[
                OrderLine(
                    line_number=1,
                    supplier_part_id="GS-2040",
                    quantity=quantity,
                    uom="EA",
                    unit_price=price,
                    description="Spiral wound gasket 4in 600#",
                )
            ],
        ),
        received_at=received,
        lines=[
            ResolvedLine(
                line_number=1,
                part_id="GS-2040",
                pool_id="ODS-MAIN",
                uom="EA",
                quantity=quantity,
                unit_price=price,
            )
        ],
        delivered={1: quantity},
        shipments=[shipment],
        invoices=[
            Invoice(
                invoice_number=f"INV-{po}",
                shipment_id="RUN-1",
                amount=quantity * price,
                currency="USD",
                issued_at=delivered,
            )
        ],
    )
    return view.model_dump(mode="json", exclude={"audit"})


async def seed_week(
    conn: asyncpg.Connection,
    week: str,
    timezone: str,
    orders: int,
    prefix: str = "DW",
    accounts: list[str] | None = None,
) -> None:
    """`orders` demo orders received during `week` (ids start with `prefix`),
    spread over `accounts` in turn (default: the demo accounts)."""
    start, _ = week_bounds(week, timezone)
    # Elapsed time, not wall-clock time: a week may hold a daylight-saving change.
    start = start.astimezone(UTC)
    rows, audit, tasks = [], [], []
    for i in range(orders):
        row, entries, opened = _order(i, orders, start, prefix, accounts or ACCOUNTS)
        rows.append(row)
        audit += [(f"{e[0]}#{seq}@demo-week", e[0], seq, *e[1:]) for seq, e in enumerate(entries)]
        tasks += opened
    async with conn.transaction():
        await conn.copy_records_to_table(
            "workflow_records",
            columns=["workflow_id", "kind", "status", "account_number", "business_key",
                     "summary", "revision", "created_at", "updated_at", "closed_at"],
            records=[(r["workflow_id"], "order", "completed", r["account_number"],
                      r["business_key"], f"demo order {r['business_key']}", 1,
                      r["created_at"], r["updated_at"], r["updated_at"]) for r in rows],
        )  # fmt: skip
        # COPY has no binary jsonb encoder: the views go in after.
        await conn.executemany(
            "UPDATE workflow_records SET view = $2 WHERE workflow_id = $1",
            [(r["workflow_id"], r["view"]) for r in rows],
        )
        await conn.copy_records_to_table(
            "audit_log",
            columns=["entry_key", "subject_id", "seq", "actor", "action", "from_status",
                     "to_status", "comment", "at"],
            records=audit,
        )  # fmt: skip
        await conn.copy_records_to_table(
            "human_tasks",
            columns=["task_id", "workflow_id", "kind", "role", "opened_at", "closed_at", "outcome"],
            records=[(*t, t[4] + timedelta(minutes=90), "resolved") for t in tasks],
        )
