"""The case at a glance on a task's page: what its workflow is about, read the
way the API reads it (an order: GET /orders/{id}'s view, from the read model
with its audit trail). One entry per workflow kind; a kind without one shows
the task alone.

A CSR case reads as GET /csrs/{id} shows it (its view holds the approval and
case histories GET /csrs/{id}/history answers); an open order as GET
/open-orders/{id} shows it (contact attempts and audit comments). Another
workflow adds its entry here: a loader calling its router's read function and
a template `case_<kind>.html`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from api import csrs, open_orders, orders
from db import read_model
from domain.identity import Actor

Loader = Callable[[Request, str, Actor], Awaitable[Any]]


@dataclass(frozen=True)
class CaseView:
    template: str
    load: Loader


async def _order(request: Request, workflow_id: str, actor: Actor) -> Any:
    return await orders.get_order(request, workflow_id, actor)


async def _csr(request: Request, workflow_id: str, actor: Actor) -> Any:
    return await csrs.get_csr(request, workflow_id, actor)


async def _open_order(request: Request, workflow_id: str, actor: Actor) -> Any:
    return await open_orders.get_open_order(request, workflow_id, actor)


CASES: dict[str, CaseView] = {
    "order": CaseView("case_order.html", _order),
    "csr": CaseView("case_csr.html", _csr),
    "open_order": CaseView("case_open_order.html", _open_order),
}


async def workflow_row(request: Request, workflow_id: str) -> tuple[str | None, str | None]:
    """The workflow's kind and current run, as the read model has them."""
    async with request.app.state.pool.acquire() as conn:
        row = await read_model.get_record(conn, workflow_id)
    return (row["kind"], row["run_id"]) if row else (None, None)
