"""The workflow sandbox the worker runs every workflow in, and the replayer too.

The sandbox re-imports a workflow's modules for each run and refuses clocks,
randomness and I/O in workflow code. Only modules that hold no mutable state
and that every run would import anyway are passed through (loaded once per
process): our pure rules and models, the activity contracts, pydantic. An I/O
library is not among them, so a workflow module that imports one fails its
tests here instead of misbehaving in production."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH = (
    "domain",
    "activities.contracts",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_extensions",
    "typing_inspection",
)

WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
)
