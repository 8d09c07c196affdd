"""The case at a glance on a task's page: what its workflow is about, read the
way the API reads it (an order: GET /orders/{id}'s view, from the read model
with its audit trail). One entry per workflow kind; a kind without one shows
the task alone.

Extension point: the CSR (its history) and open-order (contact attempts, audit
comments) workflows add their entry here, with a loader that calls their
router's read function and a template `case_<kind>.html`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from api import orders
from db import read_model
from domain.identity import Actor

Loader = Callable[[Request, str, Actor], Awaitable[Any]]


@dataclass(frozen=True)
class CaseView:
    template: str
    load: Loader


async def _order(request: Request, workflow_id: str, actor: Actor) -> Any:
    return await orders.get_order(request, workflow_id, actor)


CASES: dict[str, CaseView] = {
    "order": CaseView("case_order.html", _order),
}


async def workflow_row(request: Request, workflow_id: str) -> tuple[str | None, str | None]:
    """The workflow's kind and current run, as the read model has them."""
    async with request.app.state.pool.acquire() as conn:
        row = await read_model.get_record(conn, workflow_id)
    return (row["kind"], row["run_id"]) if row else (None, None)
