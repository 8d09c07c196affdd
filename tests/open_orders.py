"""Open orders the tests build (demo store 101, Dallas), and signed webhooks."""

from __future__ import annotations

import json
import uuid
from datetime import date, time
from time import time as time_now
from typing import Any

from domain import webhook_signature
from domain.calendar import StoreCalendar
from domain.identity import Actor, Role
from domain.open_order.models import Guest, OpenOrder, OrderCode, OrderLine, OrderType
from domain.open_order.state import OpenOrderPolicy, StartOpenOrder

AGENT = Actor(person_id="olga.oom", roles=frozenset({Role.OOM_AGENT}))
STORE = Actor(person_id="demo-store-manager", roles=frozenset({Role.STORE_MANAGER}))
ERP = Actor(person_id="erp", roles=frozenset({Role.SYSTEM}))
PHONES = ["2145550101", "2145550102"]

DALLAS = StoreCalendar(
    store_id="101",
    name="Dallas Galleria",
    timezone="America/Chicago",
    opens=time(9),
    evening_starts=time(17),
    closes=time(21),
    holidays=frozenset({date(2026, 11, 26), date(2026, 12, 25)}),
    manager_id="demo-store-manager",
)


def sales_order() -> str:
    return f"SO{uuid.uuid4().int % 10**9:09d}"


def open_order(
    so: str | None = None,
    *,
    atp: date | None = date(2026, 1, 1),
    code: OrderCode | None = None,
    phones: list[str] | None = None,
    type: OrderType = OrderType.DELIVERY,
    balance: str = "0",
    sms_consent: bool = True,
) -> OpenOrder:
    return OpenOrder(
        sales_order=so or sales_order(),
        store_id="101",
        type=type,
        guest=Guest(
            name="Dana Whitfield",
            phones=phones or PHONES,
            email="dana@example.com",
            sms_consent=sms_consent,
        ),
        lines=[
            OrderLine(line_number=1, sku="SOFA-3S", description="Sofa", quantity=1, atp_date=atp),
            OrderLine(line_number=2, sku="TBL-OAK", description="Table", quantity=1, atp_date=atp),
        ],
        balance_owing=balance,
        code=code,
    )


def start_input(
    order: OpenOrder, calendar: StoreCalendar = DALLAS, **policy: Any
) -> StartOpenOrder:
    return StartOpenOrder(
        order=order, calendar=calendar, policy=OpenOrderPolicy(**policy), submitted_by=ERP
    )


def signed(
    body: dict[str, Any], secret: str, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """A webhook body and its signature header, as the ERP or provider sends them
    (signed now, unless `at` says when)."""
    raw = json.dumps(body).encode()
    when = int(time_now()) if at is None else at
    header = webhook_signature.sign(raw, secret, when)
    return raw, {"X-Signature": header, "Content-Type": "application/json"}
