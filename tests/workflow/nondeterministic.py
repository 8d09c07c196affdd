"""Workflows that break the rules on purpose: the sandbox must refuse them."""

from __future__ import annotations

import uuid
from datetime import datetime

from temporalio import workflow


@workflow.defn
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()


@workflow.defn
class DrawsARandomId:
    @workflow.run
    async def run(self) -> str:
        return str(uuid.uuid4())
