"""The read-model and audit write every workflow makes as it moves."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

from activities.contracts import ActivityContract
from domain.records import ReadModelSync

# A local activity, bounded: a PostgreSQL outage makes the read model lag (the
# workflow catches up later), it never stalls the workflow or a person's Update.
# Bounded by attempts, each by the workflow's patience: a local activity's
# schedule-to-close alone did not stop its retries when PostgreSQL hung.
SYNC = ActivityContract(
    name="read_model.sync",
    input=ReadModelSync,
    output=None,
    system="postgres",
    start_to_close=timedelta(seconds=5),
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_interval=timedelta(seconds=1),
        maximum_attempts=2,
    ),
)
