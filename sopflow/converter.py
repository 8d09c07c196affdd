"""The one data converter every client, worker and replayer uses: the SDK's
pydantic converter, except that a workflow's start input its own model refuses
fails the run with the reason.

Without this, such input (sent through Temporal directly, by a script or a
future importer: the API refuses it first) fails the workflow's first task
again and again, and the run is wedged until someone terminates it. An
ApplicationError raised while decoding is a failure the SDK gives the run."""

from __future__ import annotations

import dataclasses
from typing import Any

import temporalio.api.common.v1
from pydantic import ValidationError
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter, pydantic_data_converter
from temporalio.converter import (
    CompositePayloadConverter,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.exceptions import ApplicationError

INVALID_START = "InvalidStartInput"


class _StartRefusingJSON(PydanticJSONPlainPayloadConverter):
    def from_payload(
        self, payload: temporalio.api.common.v1.Payload, type_hint: type | None = None
    ) -> Any:
        try:
            return super().from_payload(payload, type_hint)
        except ValidationError as err:
            if not getattr(type_hint, "refused_start_fails_the_run", False):
                raise
            reasons = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()[:10]
            )
            raise ApplicationError(
                f"the start input is refused: {reasons}", type=INVALID_START, non_retryable=True
            ) from None


class SopflowPayloadConverter(CompositePayloadConverter):
    """As the SDK's PydanticPayloadConverter, with the JSON converter above."""

    def __init__(self) -> None:
        json = _StartRefusingJSON()
        super().__init__(
            *(
                json if isinstance(c, JSONPlainPayloadConverter) else c
                for c in DefaultPayloadConverter.default_encoding_payload_converters
            )
        )


DATA_CONVERTER = dataclasses.replace(
    pydantic_data_converter, payload_converter_class=SopflowPayloadConverter
)
