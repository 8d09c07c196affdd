"""Span links from the effects a person's decision sets going in a workflow to
the request that carried the decision (see `DecisionTracingInterceptor`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import opentelemetry.trace
from temporalio import workflow
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.contrib.opentelemetry._context import attached_context

# How long after a person's request the activities a workflow starts count as
# what that request set going (a decision is carried out within seconds).
DECISION_LINK_WINDOW = timedelta(minutes=5)


class DecisionTracingInterceptor(TracingInterceptor):
    """Temporal's TracingInterceptor, with one addition: the activities a
    workflow starts within DECISION_LINK_WINDOW after an Update or Signal carry
    a span link to the request that sent it (or, in a workflow without a trace
    of its own, are its children). The stock interceptor parents every
    workflow span on the request that started the workflow, and links only the
    HandleUpdate or HandleSignal span to the later request; a decision's
    effects (its read-model write, the next system call) run in the workflow's
    main run and would show no tie to the decision. Spans only: no command
    changes. It leans on the stock interceptor's `_completed_span` (temporalio
    is pinned below 2)."""

    def workflow_interceptor_class(self, input: Any) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)
        return _DecisionLinkingWorkflowInterceptor


class _DecisionLinkingWorkflowInterceptor(TracingWorkflowInboundInterceptor):
    def __init__(self, next: Any) -> None:
        super().__init__(next)
        # The latest request's context carrier and when (workflow time) it came.
        self._request: tuple[dict, Any] | None = None

    def _remember(self, headers: Mapping[str, Any]) -> None:
        # Also while replaying: the state a new span reads must be rebuilt.
        payload = headers.get(self.header_key)
        if payload:
            carrier = self.payload_converter.from_payloads([payload])[0]
            if carrier:
                self._request = (carrier, workflow.now())

    async def handle_signal(self, input: Any) -> None:
        self._remember(input.headers)
        await super().handle_signal(input)

    async def handle_update_handler(self, input: Any) -> Any:
        self._remember(input.headers)
        return await super().handle_update_handler(input)

    def _completed_span(self, span_name: str, **kwargs: Any) -> None:
        request = self._request
        if (
            not span_name.startswith("StartActivity:")
            or kwargs.get("link_context_carrier") is not None
            or request is None
            or workflow.now() - request[1] > DECISION_LINK_WINDOW
        ):
            super()._completed_span(span_name, **kwargs)
        elif opentelemetry.trace.get_current_span() is opentelemetry.trace.INVALID_SPAN:
            # A workflow no traced request started (a schedule's, or one running
            # since before tracing was on) has no trace to be part of: what the
            # request set going becomes part of the request's.
            with attached_context(self.text_map_propagator.extract(request[0])):
                super()._completed_span(span_name, **kwargs)
        else:
            super()._completed_span(span_name, **{**kwargs, "link_context_carrier": request[0]})
