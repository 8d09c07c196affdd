"""The retail ERP (Storis-like): its open orders to import."""

from __future__ import annotations

from typing import Any

from activities.http import SystemClient


class ErpClient(SystemClient):
    system = "erp"

    async def open_orders(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        """One page of the ERP's open orders, after the sales order `after`."""
        params: dict[str, Any] = {"limit": limit}
        if after is not None:
            params["after"] = after
        return await self.request("GET", "/open-orders", list[dict[str, Any]], params=params)
