"""Retried requests are applied once, across continue-as-new too.

The API sends an Update with an Idempotency-Key under the id
`once:<key part>:<body part>` (api/temporal_calls.py): the key part hashes the
route, the object and the client's key; the body part hashes the request's body.
Temporal de-duplicates an Update id within one run only, so each workflow keeps a
bounded memory of what it applied (`KernelState.applied_updates`, carried in the
continue-as-new input):

- the same key and body again: the first answer, without running the handler
  (or, when that answer was too big to keep, a marker that says to read it
  from the read model);
- the same key with another body: refused (`IdempotencyKeyReused`, a 422);
- no key: a fresh id, no de-duplication.

One interceptor does it for every Update of every workflow whose state keeps the
memory (the worker and the replayer register it), so no handler repeats it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from domain.kernel import AppliedUpdate
from domain.updates_once import ALREADY_APPLIED, KEY_REUSED, digest, find, parse, remember

T = TypeVar("T")

# Patch (CONTRIBUTING.md): what an Update creates is named from the Update id,
# no longer from a counter (F1, E1, D1); runs started before keep counting.
IDS_FROM_UPDATE_IDS = "ids-from-update-ids"


def key_reused() -> ApplicationError:
    return ApplicationError(
        "this Idempotency-Key was already used for another request to this object; "
        "send a new key with a new request",
        type=KEY_REUSED,
    )


def _memory() -> list[AppliedUpdate] | None:
    state = getattr(workflow.instance(), "state", None)
    memory = getattr(state, "applied_updates", None)
    return memory if isinstance(memory, list) else None


class UpdatesOnce(Interceptor):
    """Register on the worker and the replayer (workers/main.py)."""

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return _OnceInbound


class _OnceInbound(WorkflowInboundInterceptor):
    def __init__(self, next: WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        # Key part → body part of Updates being applied now (not yet remembered).
        self._applying: dict[str, str] = {}

    def _seen(self, input: HandleUpdateInput) -> tuple[str, str, AppliedUpdate | None] | None:
        """None for an Update without a key; else its parts and what was applied
        under its key, refusing another body under the same key."""
        parsed = parse(input.id)
        memory = _memory()
        if parsed is None or memory is None:
            return None
        key, body = parsed
        seen = find(memory, key)
        applying = self._applying.get(key)
        if (seen is not None and seen.body != body) or (applying not in (None, body)):
            raise key_reused()
        return key, body, seen

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        known = self._seen(input)
        if known is not None and known[2] is not None:
            return  # applied before: answered as then, whatever the state is now
        self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        known = self._seen(input)
        if known is None:
            return await self.next.handle_update_handler(input)
        key, body, seen = known
        if seen is not None:
            if seen.answer is None:
                raise ApplicationError(
                    "this request was applied before; read its outcome from the object",
                    type=ALREADY_APPLIED,
                )
            return json.loads(seen.answer)
        self._applying[key] = body
        try:
            result = await self.next.handle_update_handler(input)
        finally:
            del self._applying[key]
        memory = _memory()
        if memory is not None:
            (payload,) = workflow.payload_converter().to_payloads([result])
            remember(memory, key, body, payload.data.decode())
        return result


def id_from_update(prefix: str, *within: str) -> str:
    """An id for what the current Update creates (a flag, a discrepancy; with
    `within`, one of several it creates): the same for a retry of the same
    request, unlike a counter, which a retry that reached a new run would
    advance."""
    info = workflow.current_update_info()
    source = info.id if info is not None else str(workflow.uuid4())
    return f"{prefix}-{digest(source, *within, size=8).upper()}"


def made_once(prefix: str, made: Sequence[T], id_of: Callable[[T], str]) -> tuple[str, T | None]:
    """The id for what the current Update creates, and what it made before
    under that id (the same request again after its memory entry was evicted:
    answer that, make nothing). Runs started before IDS_FROM_UPDATE_IDS keep
    counting."""
    if workflow.patched(IDS_FROM_UPDATE_IDS):
        new_id = id_from_update(prefix)
        return new_id, next((x for x in made if id_of(x) == new_id), None)
    return f"{prefix}{len(made) + 1}", None
