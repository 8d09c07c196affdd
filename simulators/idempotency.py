"""Idempotency-Key handling, written once for every simulated endpoint that makes
or changes something (create an order, release it, print a pick ticket, ...).

A key names one attempt of one business operation. The same key with the same
request gets the same answer again, and nothing is made twice; the same key with
another request is a client bug and refused with 409; no key at all is a 400.
A request that fails (404, 409 ...) is not remembered: it made nothing, and a
retry under its key is tried afresh."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, HTTPException, Request, Response
from pydantic import BaseModel, TypeAdapter

from simulators.store import Records

M = TypeVar("M", bound=BaseModel)


class Seen(BaseModel):
    fingerprint: str
    answer: dict[str, Any]


class IdempotencyStore:
    """Per key: the request it came with and the answer it got, kept with the
    system's records."""

    def __init__(self, records: Records) -> None:
        self._store = records.store
        self._seen = records.table("idempotency", Seen)

    def once(
        self, key: str, fingerprint: str, make: Callable[[], M], answer_type: type[M]
    ) -> tuple[M, bool]:
        """(`make()`'s answer, False), or (the first answer, True) for a replay."""
        # What `make()` wrote and the key are committed together: a crash
        # between them cannot leave a thing made whose retry makes it again.
        with self._store.atomic():
            seen = self._seen.get(key)
            if seen is None:
                answer = make()
                self._seen[key] = Seen(
                    fingerprint=fingerprint, answer=answer.model_dump(mode="json")
                )
                return answer, False
        if seen.fingerprint != fingerprint:
            raise HTTPException(
                409, detail=f"Idempotency-Key {key!r} already used with a different request"
            )
        return _adapter(answer_type).validate_python(seen.answer), True


@functools.cache
def _adapter(answer_type: type[M]) -> TypeAdapter[M]:
    return TypeAdapter(answer_type)


class IdempotentRequest:
    """A FastAPI dependency: the request's Idempotency-Key (required) and what the
    handler needs to do its work at most once per key."""

    def __init__(
        self,
        request: Request,
        response: Response,
        idempotency_key: Annotated[
            str | None,
            Header(description="One attempt of one operation; a retry sends it again."),
        ] = None,
    ) -> None:
        if not idempotency_key:
            raise HTTPException(400, detail="Idempotency-Key header is required")
        self.key = idempotency_key
        self._target = f"{request.method} {request.url.path}"
        self._response = response
        # A replay answers what the route answers, rebuilt from what was kept.
        self._answer_type = request.scope["route"].response_model

    def once(self, store: IdempotencyStore, body: BaseModel | None, make: Callable[[], M]) -> M:
        """`make()`'s answer, or, for a replay, the answer the first request got."""
        fingerprint = f"{self._target} {body.model_dump_json() if body is not None else ''}"
        answer, replayed = store.once(self.key, fingerprint, make, self._answer_type)
        if replayed:
            self._response.status_code = 200
        return answer


Idempotent = Annotated[IdempotentRequest, Depends()]
