"""The CSR endpoints' own refusals and reads: registration checks the account,
the business unit and the case team before a case starts; a registration
resent with its Idempotency-Key is the same case; the list filters by status,
business unit, account and who holds the case, with paging; the approver
rules read per business unit; `sopflow dev`'s demo-people.json holds a working
key for every demo person."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from sopflow.cli import seed_demo_data
from sopflow.config import Settings
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

FORM = {
    "account_number": "402110",
    "business_unit": "Water",
    "title": "Lead-free fittings",
    "description": "Rio Grande Water takes only NSF/ANSI 61 certified fittings.",
    "main_shipping_site": "RGW-PLANT2",
    "related_products": ["FL-7007"],
}


async def test_registration_refuses_what_it_cannot_route(
    api: httpx.AsyncClient, demo_people: dict[str, dict]
) -> None:
    mary = bearer(demo_people["mary.jones"]["key"])
    for change, status, words in [
        ({"account_number": "000000"}, 422, "account 000000 does not exist"),
        ({"business_unit": "Space"}, 422, "no CSR approver rules"),
        ({"case_team": [{"person_id": "nobody.here", "role": "QA"}]}, 422, "nobody.here"),
        ({"title": "bad\x00title"}, 422, "title: may not contain NUL (U+0000)"),
        ({"title": ""}, 422, "title"),
        ({"colour": "blue"}, 422, "colour"),
    ]:
        resp = await api.post("/csrs", json={**FORM, **change}, headers=mary)
        assert resp.status_code == status, (change, resp.text)
        assert words in resp.json()["detail"], resp.text
    for path in ("/csrs/order-1", "/csrs/csr-999999999"):
        assert (await api.get(path, headers=mary)).status_code == 404
    team = {"case_team": [{"person_id": "nobody.here", "role": "QA"}]}
    # A case nobody has is a 404 whatever the body; one's own checks the body.
    assert (await api.patch("/csrs/csr-999999999", json=team, headers=mary)).status_code == 404
    own = (await api.post("/csrs", json=FORM, headers=mary)).json()["csr_id"]
    patched = await api.patch(f"/csrs/{own}", json=team, headers=mary)
    assert patched.status_code == 422 and "nobody.here" in patched.json()["detail"]
    refused = await api.post(f"/csrs/{own}/moves", json={"move": "fly"}, headers=mary)
    assert refused.status_code == 422 and "no move 'fly'" in refused.json()["detail"]
    missing = await api.post("/csrs/csr-999999999/moves", json={"move": "submit"}, headers=mary)
    assert missing.status_code == 404, missing.text


async def test_a_registration_resent_with_its_key_is_the_same_case(
    api: httpx.AsyncClient, demo_people: dict[str, dict]
) -> None:
    mary = {**bearer(demo_people["mary.jones"]["key"]), "Idempotency-Key": "mary-form-1"}
    first = await api.post("/csrs", json=FORM, headers=mary)
    again = await api.post("/csrs", json=FORM, headers=mary)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert first.json()["csr_id"] == again.json()["csr_id"]
    assert again.json()["created"] is False


async def test_the_list_filters_by_who_holds_the_case(
    api: httpx.AsyncClient, demo_people: dict[str, dict], demo_keys: dict[str, str]
) -> None:
    mary = bearer(demo_people["mary.jones"]["key"])
    created = await api.post("/csrs", json=FORM, headers=mary)
    csr_id = created.json()["csr_id"]
    submitted = await api.post(f"/csrs/{csr_id}/moves", json={"move": "submit"}, headers=mary)
    assert submitted.status_code == 200, submitted.text
    # Water's pre-approval may be John's or Peter's: offered to both, on both queues.
    assert submitted.json()["current_step"]["people"] == ["john.smith", "peter.wright"]

    async def listed(**params: str) -> list[str]:
        resp = await api.get("/csrs", params=params, headers=mary)
        assert resp.status_code == 200, resp.text
        return [c["csr_id"] for c in resp.json()["items"]]

    base = {"business_unit": "Water", "status": "pending_pre_approval", "account": "402110"}
    assert csr_id in await listed(**base, assignee="peter.wright")
    assert csr_id in await listed(**base, assignee="john.smith")
    assert csr_id not in await listed(**base, assignee="frank.miller")
    assert csr_id not in await listed(business_unit="Oil & Gas")
    assert (await api.post("/csrs", json=FORM, headers=mary)).status_code == 201
    page = (await api.get("/csrs", params={"limit": 1}, headers=mary)).json()
    assert len(page["items"]) == 1 and page["next_offset"] == 1
    for person in ("john.smith", "peter.wright"):
        key = bearer(demo_people[person]["key"])
        tasks = await api.get("/tasks", params={"workflow_id": csr_id}, headers=key)
        (task,) = tasks.json()["items"]
        assert task["assignee"] is None and task["payload"]["candidates"] == [
            "john.smith",
            "peter.wright",
        ]
    # One of them takes it; an approver it is not offered to does not even see it.
    other_approver = await api.post(
        f"{task['href']}/claim", headers=bearer(demo_keys["csr_approver"])
    )
    assert other_approver.status_code == 404, other_approver.text  # not a party to the case
    peter = bearer(demo_people["peter.wright"]["key"])
    claimed = await api.post(f"{task['href']}/claim", headers=peter)
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "peter.wright"
    taken = await api.post(f"/csrs/{csr_id}/moves", json={"move": "pre_approve"}, headers=peter)
    assert taken.status_code == 200 and taken.json()["status"] == "under_assessment"
    assert taken.json()["approval_history"][-1]["approver"] == "peter.wright"


async def test_approver_rules_per_business_unit(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    key = bearer(demo_keys["sales_rep"])
    both = (await api.get("/csr-approver-rules", headers=key)).json()
    assert {r["business_unit"] for r in both} >= {"Oil & Gas", "Water"}
    water = await api.get("/csr-approver-rules", params={"business_unit": "Water"}, headers=key)
    pre = [p["person_id"] for p in water.json()[0]["steps"]["pre_approval"]]
    assert pre == ["john.smith", "peter.wright"]
    unknown = await api.get("/csr-approver-rules", params={"business_unit": "Space"}, headers=key)
    assert unknown.status_code == 404


async def test_sopflow_dev_writes_a_key_for_every_demo_person(
    it_settings: Settings, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    settings = it_settings.model_copy(update={"data_dir": tmp_path})
    keys = await seed_demo_data(settings, settings.database_url or "")
    people = json.loads((tmp_path / "demo-people.json").read_text())
    assert json.loads((tmp_path / "demo-keys.json").read_text()) == keys  # as it was
    for person, roles in [
        ("mary.jones", ["sales_rep"]),
        ("john.smith", ["csr_approver"]),
        ("frank.miller", ["csr_assessor", "csr_implementer"]),
        ("peter.wright", ["csr_approver"]),
    ]:
        assert people[person]["roles"] == roles
        resp = await api.get("/tasks", headers=bearer(people[person]["key"]))
        assert resp.status_code == 200, (person, resp.text)
    assert people["maria.lopez"]["key"] == keys["account_rep"]
    # A second start keeps the keys people already pasted.
    await seed_demo_data(settings, settings.database_url or "")
    assert json.loads((tmp_path / "demo-people.json").read_text()) == people
    assert (tmp_path / "demo-people.json").stat().st_mode & 0o777 == 0o600
