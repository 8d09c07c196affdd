"""The demo ERP's open orders, which the README's walkthrough works with:
SO1001, a sofa for delivery whose product arrives in three days, and SO1002,
a recliner for pickup, in stock since yesterday (so it is to be scheduled at
once). Both of store 101 (Dallas, in the demo data).

`bin/dev` enters them through the ERP simulator's own API before the worker
starts, so its first import finds them and each change's audit comments land
in their ERP log. Dates are relative to the day they are entered."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx


def demo_open_orders(today: date) -> dict[str, dict[str, Any]]:
    return {
        "SO1001": {
            "sales_order": "SO1001",
            "store_id": "101",
            "type": "delivery",
            "guest": {
                "name": "Dana Whitfield",
                "phones": ["2145550101", "2145550102"],
                "email": "dana@example.com",
                "sms_consent": True,
            },
            "lines": [
                {
                    "line_number": 1,
                    "sku": "SOFA-3S",
                    "description": "Sofa, 3 seats",
                    "quantity": 1,
                    "atp_date": (today + timedelta(days=3)).isoformat(),
                }
            ],
            "balance_owing": "0",
            "code": None,
        },
        "SO1002": {
            "sales_order": "SO1002",
            "store_id": "101",
            "type": "pickup",
            "guest": {
                "name": "Luis Ortega",
                "phones": ["2145550177"],
                "email": "luis@example.com",
                "sms_consent": False,
            },
            "lines": [
                {
                    "line_number": 1,
                    "sku": "RECL-1",
                    "description": "Recliner",
                    "quantity": 1,
                    "atp_date": (today - timedelta(days=1)).isoformat(),
                }
            ],
            "balance_owing": "0",
            "code": None,
        },
    }


async def enter_demo_open_orders(erp: httpx.AsyncClient, today: date) -> list[str]:
    """Enter each demo order the ERP (`erp`'s base URL) does not hold yet; one
    it holds is left as it is (its workflow may run with that content already).
    Returns those entered."""
    entered = []
    for number, order in demo_open_orders(today).items():
        found = await erp.get(f"/open-orders/{number}")
        if found.status_code == 200:
            continue
        if found.status_code != 404:
            found.raise_for_status()
        (await erp.put(f"/open-orders/{number}", json=order)).raise_for_status()
        entered.append(number)
    return entered
