"""Paging parameters every list call shares: bounded, so an absurd offset is a
422 with a reason rather than an out-of-range error from PostgreSQL."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

MAX_OFFSET = 1_000_000

Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="items to skip")]
