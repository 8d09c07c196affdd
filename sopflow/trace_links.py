"""Span links from the effects a person's decision sets going in a workflow to
the request that carried the decision (see `DecisionTracingInterceptor`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor

# How long after a person's request the activities a workflow starts count as
# what that request set going (a decision is carried out within seconds).
DECISION_LINK_WINDOW = timedelta(minutes=5)


class DecisionTracingInterceptor(TracingInterceptor):
    """Temporal's TracingInterceptor, with one addition: the activities a
    workflow starts after an Update or Signal carry a span link to the request
    that sent it. The stock interceptor parents every workflow span on the
    request that started the workflow, and links only the HandleUpdate or
    HandleSignal span to the later request; a decision's effects (its
    read-model write, the next system call) run in the workflow's main run and
    would show no tie to the decision. Spans only: no command changes."""

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
        if (
            span_name.startswith("StartActivity:")
            and kwargs.get("link_context_carrier") is None
            and self._request is not None
            and workflow.now() - self._request[1] <= DECISION_LINK_WINDOW
        ):
            kwargs["link_context_carrier"] = self._request[0]
        super()._completed_span(span_name, **kwargs)
