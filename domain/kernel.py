"""What every SOP workflow carries, whatever its business: its status, audit trail,
open human tasks, read-model bookkeeping, and the timing it runs by. Pure models;
the behaviour is in workflows/kernel.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import BaseModel

from domain.records import AuditEntry, ClosedTask, HumanTask


class StartInput(BaseModel):
    """What a workflow is started with. Input its own model refuses (from a door
    other than the API's, which refuses it first) fails the run with the reason
    (sopflow/converter.py) instead of failing its first workflow task for ever."""

    # Read by name, not by class: the converter may run in the workflow
    # sandbox, with its own copy of this module.
    refused_start_fails_the_run: ClassVar[bool] = True


class KernelPolicy(BaseModel):
    """Timing filled from Settings at start, so it is recorded in history and a
    configuration change never breaks a replay."""

    # Caps on each activity's own per-try timeout and retry interval (contracts
    # choose them per system; tests and slow sites may lower or raise them).
    activity_timeout: timedelta = timedelta(seconds=30)
    max_retry_interval: timedelta = timedelta(minutes=1)
    # A system that has not answered for this long is in an outage: the
    # workflow says so and waits, it does not fail (SOPFLOW_OUTAGE_DETECT_AFTER).
    outage_after: timedelta = timedelta(seconds=120)
    # How long one try of a read-model write may keep a workflow (and a
    # person's Update) waiting; after two tries it goes on and catches up later.
    sync_patience: timedelta = timedelta(seconds=3)
    sync_catch_up_every: timedelta = timedelta(seconds=30)
    # Continue-as-new past this many history events (Temporal's own suggestion
    # also counts).
    history_limit: int = 5000
    # Waiting on a configuration fault of ours (a system refusing our
    # credentials): tried again this often even without the operator's word.
    fault_recheck: timedelta = timedelta(minutes=10)


class AppliedUpdate(BaseModel):
    """An Update sent with an Idempotency-Key that the workflow applied: its key
    part and body part (domain/updates_once.py), and its answer as JSON, or
    None when the answer was too big to keep (read it from the read model)."""

    key: str
    body: str
    answer: str | None = None


class KernelState(BaseModel):
    """Carried whole across continue-as-new."""

    status: str
    created_at: datetime
    # The first run of this workflow: idempotency keys derive from it, so a
    # retry of an operation reuses its key and a resent order gets new ones.
    origin_run_id: str
    audit: list[AuditEntry] = []
    open_tasks: list[HumanTask] = []
    # Read-model bookkeeping: what the read model has acknowledged.
    revision: int = 0
    audit_synced: int = 0
    closed_unsynced: list[ClosedTask] = []
    closed_at: datetime | None = None
    # The system a call is waiting on while it is down, if any.
    waiting_on: str | None = None
    # Tries so far of operations that may be tried again with other content.
    attempts: dict[str, int] = {}
    # Tasks opened with nobody named, waiting for the team directory to route
    # them (done before the next read-model write).
    unrouted: list[str] = []
    # Why the read model refused this workflow's state for its content, while
    # an operator has not asked for a clean write again (its writes are scrubbed).
    read_model_defect: str | None = None
    # Updates applied with an Idempotency-Key, oldest first: Temporal forgets
    # an Update id when the run continues as new; this memory does not.
    applied_updates: list[AppliedUpdate] = []
