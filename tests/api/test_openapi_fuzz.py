"""A bounded OpenAPI fuzzing run (schemathesis): every operation of the app, with
data that fits its schema and data that does not, answers without a 5xx and with
a body that matches what the OpenAPI document promises.

Deterministic (derandomized Hypothesis, a fixed number of examples per operation
and mode) and in process: the ASGI app, with its own pool on the test database
and its own Temporal client on the dev server, behind a key that holds every
role the API knows and is bound to the demo accounts."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from db.keys import create_api_key
from domain.identity import Role
from sopflow.config import Settings

pytestmark = pytest.mark.integration

EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance]


def fuzz_operation(
    operation: schemathesis.APIOperation,
    mode: schemathesis.GenerationMode,
    headers: dict[str, str],
    checks: list,
) -> None:
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=checks)

    run()


def fuzz(schema: schemathesis.BaseSchema, key: str) -> list[str]:
    """Run every operation in both generation modes; the failures, described."""
    failures: list[str] = []
    headers = {"Authorization": f"Bearer {key}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        # /health answers 503 by design here: no worker polls the fuzzer's queue.
        checks = [response_schema_conformance] if operation.path == "/health" else CHECKS
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
            try:
                fuzz_operation(operation, mode, headers, checks)
            except Unsatisfiable:
                pass  # nothing to negate (no parameters, or only free-form text)
            except (Exception, BaseExceptionGroup) as exc:  # collect all, report together
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


async def test_no_operation_answers_5xx_or_off_its_schema(
    it_settings: Settings,
    pool: asyncpg.Pool,  # migrated, with the demo data
    dev_server: WorkflowEnvironment,
) -> None:
    async with pool.acquire() as conn:
        key = await create_api_key(
            conn,
            "ops.admin",
            [role.value for role in Role],
            label="openapi fuzz",
            integration_id="punchout-network",
        )
    # A queue nobody polls: an order the fuzzer manages to start is never worked on;
    # a short update wait, so a call that waits on a workflow does not stall the run.
    fuzz_settings = it_settings.model_copy(
        update={
            "task_queue": f"fuzz-{uuid.uuid4().hex[:8]}",
            "update_wait": timedelta(seconds=1),
        }
    )
    # No pool or client given: the app makes its own at startup, on the event
    # loop schemathesis serves it from.
    app = create_app(fuzz_settings, database_url=fuzz_settings.database_url or "")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    # The fuzzer calls the app synchronously; this test's loop (the dev server's
    # client, the shared pool) keeps running meanwhile.
    failures = await asyncio.to_thread(fuzz, schema, key)
    assert not failures, "\n\n".join(failures)
