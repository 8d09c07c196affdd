"""Stored histories replayed against the current workflow code: a change that
would break running orders fails here, before it reaches them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from sopflow.converter import DATA_CONVERTER
from sopflow.trace_links import DecisionTracingInterceptor
from workers.main import INTERCEPTORS, WORKFLOW_RUNNER, WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_stored_history_replays_on_current_code(path: Path) -> None:
    stored = json.loads(path.read_text())
    workflow_id = stored.pop("workflowId", path.stem)
    history = WorkflowHistory.from_json(workflow_id, stored)
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=DATA_CONVERTER,
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=INTERCEPTORS,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_stored_history_replays_with_tracing_on(path: Path) -> None:
    """A worker with tracing on (its interceptor in every workflow) takes over
    the same running workflows: the interceptor adds spans, never commands."""
    stored = json.loads(path.read_text())
    workflow_id = stored.pop("workflowId", path.stem)
    history = WorkflowHistory.from_json(workflow_id, stored)
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=DATA_CONVERTER,
        workflow_runner=WORKFLOW_RUNNER,
        # As a worker on a traced client has them: the client's first.
        interceptors=[DecisionTracingInterceptor(), *INTERCEPTORS],
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


# Every branch the order workflow has: a change that breaks one of them for a
# running order fails here.
BRANCHES = {
    "order-completed-two-shipments",
    "order-on-hold-price",
    "order-on-hold-email-failed",
    "order-on-hold-unknown-ship-to-and-parts",
    "order-on-hold-unknown-account",
    "order-cancelled-on-hold",
    "order-failed-refused",
    "order-resent-after-failure",
    "order-oms-outage-waited-out",
    "order-continued-as-new-first-run",
    "order-continued-as-new-last-run",
    "order-price-escalated-and-approved",
    "order-price-approved-by-team-lead",
    "order-part-mapped",
    "order-price-confirmed-by-quote",
    "order-changed-by-buyer",
    "order-cancelled-by-buyer-on-hold",
    "order-cancelled-by-buyer-released",
    "order-flagged-systemic-acknowledged",
    "order-branch-edit-applied",
    "order-branch-edit-refused-and-rejected",
    "order-sla-breached",
    "order-price-approved-answered-first",
    # The decision's task holds the answer alone; the caller's carry_out follows.
    "order-price-approved-answer-alone",
    # Documents sent back to the buyer (issue 11).
    "order-buyer-documents-sent",
    "order-buyer-documents-detail",
    "order-buyer-documents-cancelled",
    "order-buyer-documents-refused-order",
    "order-buyer-document-refused",
    "order-buyer-document-undelivered-resent",
    "order-buyer-document-refused-resent-as-new",
}
# Open orders (issue 9).
BRANCHES |= {
    "open_order-delivered-with-webhooks",
    "open_order-hold-cwc-cancelled-by-store",
    "open_order-hold-cwc-rescheduled",
    "open_order-baldue-cwc",
    "open_order-baldue-paid",
    "open_order-cancel-request-cancelled",
    "open_order-svc-passed",
    "open_order-svc-faulty-cwc",
    "open_order-confirmed-on-every-number-delivered",
    "open_order-continued-as-new-first-run",
    "open_order-continued-as-new-last-run",
    "open_order-not-home-rebooked",
    "open_order-atp-revised-later",
    "open_order-no-fit-replaced",
    # Issue 10: routing through the team directory; account-change requests.
    "order-hold-routed-to-backup",
    "account-change-handed-over",
    "weekly-review-one-on-ones",
    "account-change-crm-confirmed-by-hand",
    # Issue 7: platform outages.
    "incident-oms-down-escalated-fallback-reconciled",
    "order-iseries-fallback-reconciled",
    "order-waited-in-incident-resumed-through-oms",
    "incident-fallback-declined",
    "order-iseries-fallback-reconcile-refused",
    # Issue 17: a buyer's cancel of an order entered in iSeries (cancel-fallback-in-iseries).
    "order-iseries-fallback-cancelled-by-buyer",
    # Issue 17: flags, edits and discrepancies named from the Update id
    # (ids-from-update-ids); a keyed retry answered from the workflow's memory.
    "order-flags-named-from-update-ids",
    "order-flag-retried-after-continue-as-new",
    "account-change-discrepancy-named-from-update-id",
    "open_order-contact-named-from-update-id",
    "csr-feedback-named-from-update-id",
    # Issue 17: a PO sent again after its workflow failed carries on from its OMS order.
    "order-resent-found-in-oms",
    # CSR cases (workflows/csr.py)
    "csr-life-cycle-inactive",
    "csr-rejected-under-assessment",
    "csr-reminded-and-escalated",
    "csr-continued-as-new-first-run",
    "csr-continued-as-new-last-run",
}
# Issue 17: a read-model write refused for its content is an operator's task,
# the state written scrubbed, and the operator's retry (patch read-model-defects).
BRANCHES |= {"order-read-model-defect"}
# Issue 17: OMS refusing our credentials: the orders wait in its configuration
# fault, whose one operator's task's retry wakes them.
BRANCHES |= {"order-configuration-fault-retried", "configuration_fault-retried"}


def test_every_branch_has_a_stored_history() -> None:
    missing = BRANCHES - {p.stem for p in HISTORIES}
    assert not missing, f"record these histories (see CONTRIBUTING.md): {sorted(missing)}"
