"""What the worker's log says when a system refuses on purpose (the buyer's
403 to a confirmation): one line naming the refusal, no Python traceback; a
refusal is the system's answer, not a fault of ours."""

from __future__ import annotations

import json

import pytest
from temporalio.client import Client

from sopflow.config import Settings
from sopflow.logs import configure_logging
from tests.conftest import Simulators
from tests.unit.test_devstack import restore_logging  # noqa: F401 (a fixture)
from tests.workflow.conftest import start_order
from tests.workflow.test_holds import task_of

pytestmark = pytest.mark.usefixtures("buyer_endpoint", "restore_logging")


async def test_a_buyers_refusal_is_one_log_line_without_a_traceback(
    client: Client, settings: Settings, sims: Simulators, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("json")
    answers = {"code": 403, "text": "Unknown PO", "times": 1}
    (await sims.http.put("/network/answers", json=answers)).raise_for_status()
    handle = await start_order(client, settings)
    await task_of(handle, "buyer_document_refused")

    err = capsys.readouterr().err
    assert "Traceback" not in err
    about = [json.loads(line) for line in err.splitlines() if "Unknown PO" in line]
    assert len(about) == 1, about
    [line] = about
    assert line["event"] == "activity refused"
    assert line["error_type"] == "BuyerDocumentRefused"
    assert line["workflow_id"] == handle.id
    assert line["activity"] == "network.send_document"
