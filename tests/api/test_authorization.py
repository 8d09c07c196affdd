"""Who may act on which object, checked over HTTP against a hand-written table.

The table below is written out by hand and never reads api/policy.py: for
every route, what each role gets on an object it relates to ("own"), on
someone else's ("other") and on one that does not exist ("none"). A cast of
people and keys is made with exactly one relation each (to account A, branch
BR-A, store S-A, or a case), and objects are made on both sides (A and B).
Calls that would change something carry a body that fails validation, so an
allowed call is a 422 and a refused one a 403 (no role) or 404 (no relation).

A route added without a row here, or without a policy entry, fails
`test_every_route_has_a_policy_entry_and_a_row`; changing one entry of the
policy makes a cell below disagree."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from api.app import create_app
from api.policy import POLICY
from db.keys import create_api_key
from sopflow.config import Settings
from tests.api.test_openapi_fuzz import route_table
from tests.factories import propetro_order
from tests.integration.test_open_order_e2e import order_body
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]

OK, NF, FB = "ok", "404", "403"
OWN = (OK, NF, NF)  # their own object; someone else's reads like none at all
ANY = (OK, OK, NF)  # any object (that exists)
HID = (NF, NF, NF)  # the role may call it, but neither object is theirs
LIST_OWN = (OK, NF, OK)  # a list: theirs in it, the other's not
LIST_ANY = (OK, OK, OK)  # a list: both in it
CALL = (OK, OK, OK)  # no object: the call is allowed

ROLES = [
    "system", "account_rep", "team_lead", "csc_manager", "branch_manager", "it_support",
    "sales_rep", "csr_approver", "csr_assessor", "csr_implementer", "oom_agent",
    "store_manager", "implementation_manager", "sales_support_manager", "account_manager",
    "operator",
]  # fmt: skip

ORDER_READ = {
    "system": OWN, "account_rep": OWN, "team_lead": OWN, "csc_manager": OWN,
    "branch_manager": OWN, "implementation_manager": OWN, "sales_support_manager": OWN,
    "account_manager": OWN, "it_support": ANY, "operator": ANY,
}  # fmt: skip
ORDER_LIST = {r: (LIST_ANY if v == ANY else LIST_OWN) for r, v in ORDER_READ.items()}
# The cast's tasks: A's hold task is the rep's (routed to them as A's rep), B's
# another rep's. Who hands out work (team lead, CSC manager) reaches A's.
TASK = {
    "system": HID, "account_rep": OWN, "team_lead": OWN, "csc_manager": OWN,
    "branch_manager": HID, "it_support": HID, "sales_rep": HID, "csr_approver": HID,
    "csr_assessor": HID, "csr_implementer": HID, "oom_agent": HID, "store_manager": HID,
    "implementation_manager": HID, "sales_support_manager": HID, "account_manager": HID,
    "operator": ANY,
}  # fmt: skip
TASK_LIST = {r: {OWN: LIST_OWN, ANY: LIST_ANY, HID: (NF, NF, OK)}[v] for r, v in TASK.items()}
CSR_READ = {
    "sales_rep": OWN, "csr_approver": OWN, "csr_assessor": HID, "csr_implementer": HID,
    "operator": ANY,
}  # fmt: skip
CSR_CHANGE = {k: v for k, v in CSR_READ.items() if k != "operator"}
CHANGE_READ = {
    "account_manager": OWN, "implementation_manager": OWN, "sales_support_manager": OWN,
    "operator": ANY,
}  # fmt: skip
EVERYONE = dict.fromkeys(ROLES, CALL)

# (method, path) → {role: (own, other, none)}; a role not named gets 403 throughout.
EXPECTED: dict[tuple[str, str], dict[str, tuple[str, str, str]]] = {
    ("POST", "/orders"): {"system": CALL},
    ("GET", "/orders"): ORDER_LIST,
    ("GET", "/orders/{order_id}"): ORDER_READ,
    ("GET", "/orders/{order_id}/documents"): ORDER_READ,
    # No order here has a received document: who reaches the order gets the
    # handler's 404 for the document, the others the policy's 404 (or a 403).
    ("GET", "/orders/{order_id}/documents/{payload_id}"): dict.fromkeys(ORDER_READ, HID),
    ("POST", "/orders/{order_id}/shipments"): {"system": OWN, "branch_manager": OWN},
    ("POST", "/orders/{order_id}/flags"): {"account_rep": OWN},
    ("POST", "/orders/{order_id}/edit-requests"): {"branch_manager": OWN},
    ("GET", "/tasks"): TASK_LIST,
    ("GET", "/tasks/{task_id}"): TASK,
    ("POST", "/tasks/{task_id}/claim"): TASK,
    ("POST", "/tasks/{task_id}/complete"): TASK,
    ("POST", "/open-orders"): {"system": CALL},
    ("GET", "/open-orders"): {
        "oom_agent": LIST_OWN,
        "store_manager": LIST_OWN,
        "system": LIST_ANY,
        "operator": LIST_ANY,
    },  # fmt: skip
    ("GET", "/open-orders/{open_order_id}"): {
        "oom_agent": OWN,
        "store_manager": OWN,
        "system": ANY,
        "operator": ANY,
    },  # fmt: skip
    ("POST", "/open-orders/{open_order_id}/contacts"): {"oom_agent": OWN, "store_manager": OWN},
    ("POST", "/open-orders/{open_order_id}/appointments"): {"oom_agent": OWN},
    ("POST", "/open-orders/{open_order_id}/codes"): {"oom_agent": OWN},
    ("POST", "/open-orders/{open_order_id}/resolutions"): {"store_manager": OWN},
    ("POST", "/csrs"): {"sales_rep": CALL},
    ("GET", "/csrs"): {
        r: {OWN: LIST_OWN, ANY: LIST_ANY, HID: (NF, NF, OK)}[v] for r, v in CSR_READ.items()
    },  # fmt: skip
    ("GET", "/csrs/{csr_id}"): CSR_READ,
    ("GET", "/csrs/{csr_id}/history"): CSR_READ,
    ("PATCH", "/csrs/{csr_id}"): CSR_CHANGE,
    ("POST", "/csrs/{csr_id}/moves"): CSR_CHANGE,
    ("GET", "/csr-approver-rules"): EVERYONE,
    ("POST", "/account-changes"): {"account_manager": CALL},
    ("GET", "/account-changes"): {
        r: (LIST_ANY if v == ANY else LIST_OWN) for r, v in CHANGE_READ.items()
    },  # fmt: skip
    ("GET", "/account-changes/{request_id}"): CHANGE_READ,
    ("POST", "/account-changes/{request_id}/discrepancies"): {
        **CHANGE_READ,
        "csc_manager": ANY,
    },  # fmt: skip
    ("POST", "/account-changes/{request_id}/inventory-loading"): {
        "implementation_manager": OWN,
        "system": ANY,
        "operator": ANY,
    },  # fmt: skip
    ("GET", "/incidents"): dict.fromkeys(
        ["team_lead", "csc_manager", "it_support", "operator"], CALL
    ),
    # No incident exists in this run: its readers get the handler's 404.
    ("GET", "/incidents/{incident_id}"): dict.fromkeys(
        ["team_lead", "csc_manager", "it_support", "operator"], HID
    ),
    ("POST", "/incidents/{incident_id}/fallback"): {"csc_manager": CALL},
    ("POST", "/accounts/{account_number}/punchout-credentials"): {"operator": CALL},
    ("GET", "/directory/teams"): EVERYONE,
    ("GET", "/directory/people/{person_id}"): dict.fromkeys(ROLES, ANY),
    # People are listed for everyone: a missing relation is a 403 here, and an
    # operator's body is checked before the person is looked up.
    ("POST", "/directory/people/{person_id}/away"): {"operator": CALL, "team_lead": (OK, FB, FB)},
    ("PUT", "/directory/people/{person_id}/capabilities"): {"operator": CALL},
    ("PUT", "/directory/people/{person_id}/branches"): {"operator": CALL},
    ("PUT", "/directory/people/{person_id}/stores"): {"operator": CALL},
    ("GET", "/directory/people/{person_id}/keys"): {"operator": ANY},
    ("PUT", "/directory/keys/{key_id}/accounts"): {"operator": CALL},
    ("PUT", "/directory/accounts/{account_number}/contacts/{contact_role}"): {"operator": CALL},
    ("GET", "/reports/weekly"): dict.fromkeys(
        ["team_lead", "csc_manager", "operator", "account_rep"], CALL
    ),
    ("GET", "/reports/weekly/team"): {"team_lead": CALL},
}

# Answered without a key: health, the docs, sign-in; webhooks check their signature.
PUBLIC = {
    ("GET", "/health"), ("GET", "/metrics"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"),
    ("GET", "/openapi.json"), ("GET", "/app"), ("GET", "/app/login"), ("POST", "/app/login"),
}  # fmt: skip
SIGNED = {("POST", "/webhooks/erp"), ("POST", "/webhooks/sms-voice")}
# The work-queue page: a session, then the task API's own answers (tested below).
PAGES = {
    ("POST", "/app/logout"), ("GET", "/app/queue"), ("GET", "/app/queue/tasks"),
    ("GET", "/app/tasks/{task_id}"), ("POST", "/app/tasks/{task_id}/claim"),
    ("POST", "/app/tasks/{task_id}/decide"), ("GET", "/app/manage"),
    ("POST", "/app/manage/incidents/{incident_id}/fallback"),
}  # fmt: skip

# A body each changing call refuses (so an allowed call changes nothing).
INVALID: dict[str, Any] = {"claim": {"not_a_field": 1}, "PATCH": {"not_a_field": 1}}
WEEK = {"week": "2026-W01"}


def test_every_route_has_a_policy_entry_and_a_row() -> None:
    app = create_app(Settings(), database_url="")
    routes = route_table(app)
    assert routes - set(POLICY) == set(), "routes without a policy entry"
    tabled = set(EXPECTED) | PUBLIC | SIGNED | PAGES
    assert routes - tabled == set(), "routes without a row in the expected table"
    assert tabled - routes == set(), "rows for routes the app does not have"


# ------------------------------------------------------------------ the world


@dataclass
class World:
    keys: dict[str, str] = field(default_factory=dict)  # role → the cast member's key
    people: dict[str, str] = field(default_factory=dict)  # role → person id
    # path parameter → (own, other, none)
    ids: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def held(account: str, po: str) -> dict:
    """An order whose line 1 is under the contract price: a PRICE hold task."""
    order = propetro_order(po).model_copy(update={"account_number": account})
    line = order.lines[0].model_copy(update={"unit_price": Decimal("2.10")})
    order = order.model_copy(update={"lines": [line]})
    body = order.model_dump(mode="json", exclude_none=True)
    body["ship_to"] = {"address_id": "SITE"}
    return body


async def poll(what: str, probe: Any) -> Any:
    for _ in range(300):
        if (found := await probe()) is not None:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never came: {what}")


_WORLD: dict[str, World] = {}


async def world(api: httpx.AsyncClient, pool: asyncpg.Pool, demo_people: dict) -> World:
    if "w" in _WORLD:
        return _WORLD["w"]
    s = uuid.uuid4().hex[:6]
    a, b, br_a, br_b, st_a, st_b = (
        f"AZA{s}", f"AZB{s}", f"BR-A{s}", f"BR-B{s}", f"SA{s}", f"SB{s}",
    )  # fmt: skip
    w = World()
    cast = {r: f"az-{r.replace('_', '-')}-{s}" for r in ROLES}
    # The CSR cast is the demo's: Mary owns a case offered to John; Frank is on none.
    cast.update(sales_rep="mary.jones", csr_approver="john.smith", csr_assessor="frank.miller",
                csr_implementer="frank.miller")  # fmt: skip
    async with pool.acquire() as conn, conn.transaction():
        for acct, branch in ((a, br_a), (b, br_b)):
            await conn.execute("INSERT INTO branches (branch_id, name) VALUES ($1, $1)", branch)
            await conn.execute(
                """INSERT INTO accounts (account_number, name, punchout_enabled, region)
                   VALUES ($1, $1, true, 'US-South')""",
                acct,
            )
            await conn.execute(
                """INSERT INTO ship_to_addresses (account_number, address_id, name, branch_id)
                   VALUES ($1, 'SITE', 'Site', $2)""",
                acct,
                branch,
            )
            await conn.execute(
                """INSERT INTO contract_prices (account_number, part_id, uom, unit_price_cents)
                   VALUES ($1, 'HX-1001', 'EA', 235)""",
                acct,
            )
            await conn.execute(
                "INSERT INTO part_pools (part_id, branch_id, pool_id) VALUES ('HX-1001', $1, $1)",
                branch,
            )
        for store in (st_a, st_b):
            await conn.execute(
                "INSERT INTO stores (store_id, name, timezone) VALUES ($1, $1, 'America/Chicago')",
                store,
            )
        for person in cast.values():
            await conn.execute(
                """INSERT INTO people (person_id, name, email) VALUES ($1, $1, $1)
                   ON CONFLICT DO NOTHING""",
                person,
            )
        # Exactly one relation each, on A's side.
        team = f"az-team-{s}"
        await conn.execute(
            "INSERT INTO teams (team_id, name, queue, lead_id) VALUES ($1, $1, $1, $2)",
            team,
            cast["team_lead"],
        )
        await conn.execute(
            "UPDATE people SET team_id = $1 WHERE person_id = $2", team, cast["account_rep"]
        )
        for role, contact in (
            ("account_rep", "account_rep"), ("team_lead", "team_lead"),
            ("csc_manager", "csc_manager"), ("implementation_manager", "im"),
            ("sales_support_manager", "ssm"), ("account_manager", "nam"),
        ):  # fmt: skip
            await conn.execute(
                "INSERT INTO account_contacts VALUES ($1, $2, $3)", a, contact, cast[role]
            )
        await conn.execute(
            "INSERT INTO branch_managers VALUES ($1, $2)", cast["branch_manager"], br_a
        )
        for role in ("oom_agent", "store_manager"):
            await conn.execute(
                "INSERT INTO store_staff VALUES ($1, $2, $3)", cast[role], st_a, role
            )
        for role, person in cast.items():
            if role.startswith(("sales_rep", "csr_")):
                continue
            w.keys[role] = await create_api_key(
                conn, person, [role], label="authz", accounts=[a] if role == "system" else []
            )
        key_b = await create_api_key(conn, cast["system"], ["system"], label="authz", accounts=[b])
        other_manager = f"az-nam-b-{s}"
        await conn.execute(
            "INSERT INTO people (person_id, name, email) VALUES ($1, $1, $1)", other_manager
        )
        key_nam_b = await create_api_key(conn, other_manager, ["account_manager"], label="authz")
    for role in ("sales_rep", "csr_approver", "csr_assessor", "csr_implementer"):
        w.keys[role] = demo_people[cast[role]]["key"]
    w.people = cast

    # Orders on both sides, each with its hold task.
    orders = []
    for acct, key in ((a, w.keys["system"]), (b, key_b)):
        resp = await api.post("/orders", json=held(acct, f"AZ-{s}"), headers=bearer(key))
        assert resp.status_code == 202, resp.text
        orders.append(resp.json()["order_id"])
    op = bearer(w.keys["operator"])

    async def task_of(order_id: str) -> Any:
        listed = await api.get("/tasks", params={"workflow_id": order_id}, headers=op)
        items = listed.json()["items"]
        return items[0]["task_id"] if items else None

    tasks = [await poll(f"a task of {o}", lambda o=o: task_of(o)) for o in orders]

    # Open orders in both stores.
    opens = []
    for store in (st_a, st_b):
        so = f"SO{uuid.uuid4().int % 10**9:09d}"
        body = {**order_body(so, atp="2026-01-05"), "store_id": store}
        resp = await api.post("/open-orders", json=body, headers=bearer(demo_people_key(w)))
        assert resp.status_code in (201, 202), resp.text
        opens.append(resp.json()["open_order_id"])

    # Cases: Mary's, submitted (John is offered its pre-approval); Sandra's, not.
    form = {
        "account_number": "402110", "business_unit": "Water", "title": "Authz",
        "description": "A case for the authorization table.",
        "main_shipping_site": "RGW-PLANT2", "related_products": ["FL-7007"],
    }  # fmt: skip
    mary = bearer(w.keys["sales_rep"])
    own_csr = (await api.post("/csrs", json=form, headers=mary)).json()["csr_id"]
    submitted = await api.post(f"/csrs/{own_csr}/moves", json={"move": "submit"}, headers=mary)
    assert submitted.status_code == 200, submitted.text
    sandra = bearer(demo_people["sandra.cole"]["key"])
    other_csr = (await api.post("/csrs", json=form, headers=sandra)).json()["csr_id"]

    # Account-change requests: A's (its NAM's), B's (another manager's).
    changes = []
    for acct, key in ((a, w.keys["account_manager"]), (b, key_nam_b)):
        body = {"kind": "add", "national_account": acct, "accounts": [acct], "comment": "authz"}
        resp = await api.post("/account-changes", json=body, headers=bearer(key))
        assert resp.status_code == 201, resp.text
        changes.append(resp.json()["request_id"])

    async def recorded(request_id: str) -> Any:
        resp = await api.get(f"/account-changes/{request_id}", headers=op)
        return True if resp.status_code == 200 else None

    for request_id in changes:
        await poll(f"the row of {request_id}", lambda r=request_id: recorded(r))

    async def open_recorded(open_id: str) -> Any:
        resp = await api.get("/open-orders", params={"include_closed": "true"}, headers=op)
        ids = [o["open_order_id"] for o in resp.json()["items"]]
        return True if open_id in ids else None

    for open_id in opens:
        await poll(f"the row of {open_id}", lambda o=open_id: open_recorded(o))

    w.ids = {
        "order_id": (orders[0], orders[1], f"order-NOPE{s}-1"),
        "task_id": (tasks[0], tasks[1], f"{orders[0]}:nope:{s}"),
        "open_order_id": (opens[0], opens[1], f"open-order-SO9{s}"),
        "csr_id": (own_csr, other_csr, "csr-999999"),
        "request_id": (changes[0], changes[1], f"AC-NOPE{s.upper()}"),
        "person_id": (cast["account_rep"], "james.chen", f"nobody-{s}"),
        "payload_id": ("p1", "p1", "p1"),
        "incident_id": ("incident-sterling_oms-20200101T000000",) * 3,
        "account_number": (a, b, f"NOPE{s}"),
        "contact_role": ("account_rep",) * 3,
        "key_id": ("0" * 12,) * 3,
    }
    _WORLD["w"] = w
    return w


def demo_people_key(w: World) -> str:
    # The open-order feed: a system key reaches every store (no account).
    return w.keys["system"]


# ------------------------------------------------------------------ probing


def _listed_ids(path: str, body: Any) -> list[str]:
    items = body if isinstance(body, list) else body.get("items", [])
    key = {
        "/orders": "order_id", "/tasks": "task_id", "/open-orders": "open_order_id",
        "/csrs": "csr_id", "/account-changes": "request_id",
    }[path]  # fmt: skip
    return [i[key] for i in items]


LIST_PARAM = {
    "/orders": "order_id", "/tasks": "task_id", "/open-orders": "open_order_id",
    "/csrs": "csr_id", "/account-changes": "request_id",
}  # fmt: skip


async def answer(
    api: httpx.AsyncClient, w: World, method: str, path: str, role: str, which: int
) -> str:
    """What the route answers the role's cast member on their own object
    (which=0), another's (1) or none (2): ok, 403 or 404."""
    params = {name: ids[which] for name, ids in w.ids.items() if f"{{{name}}}" in path}
    url = path
    for name, value in params.items():
        url = url.replace(f"{{{name}}}", quote(value, safe=""))
    headers = bearer(w.keys[role])
    query: dict[str, str] = dict(WEEK) if path.startswith("/reports") else {}
    if path in LIST_PARAM:
        query["limit"] = "200"
        if path == "/open-orders":
            query["include_closed"] = "true"
    body = None
    if method != "GET":
        body = INVALID["claim"] if path.endswith("/claim") else INVALID.get(method, {})
    resp = await api.request(method, url, json=body, params=query, headers=headers)
    if resp.status_code == 403:
        return FB
    if resp.status_code == 404:
        return NF
    assert resp.status_code < 500, (method, url, role, resp.text)
    if path in LIST_PARAM and resp.status_code == 200:
        wanted = w.ids[LIST_PARAM[path]][which]
        if which == 2:
            return OK
        return OK if wanted in _listed_ids(path, resp.json()) else NF
    return OK


@pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[0]} {r[1]}")
async def test_each_role_gets_what_the_table_says(
    route: tuple[str, str],
    api: httpx.AsyncClient,
    pool: asyncpg.Pool,
    demo_people: dict[str, dict],
) -> None:
    w = await world(api, pool, demo_people)
    method, path = route
    expected = EXPECTED[route]
    wrong = []
    for role in ROLES:
        want = expected.get(role, (FB, FB, FB))
        got = tuple([await answer(api, w, method, path, role, i) for i in range(3)])
        if not _agrees(path, want, got):
            wrong.append(f"{role}: expected {want}, got {got}")
    assert not wrong, f"{method} {path}\n" + "\n".join(wrong)


def _agrees(path: str, want: tuple, got: tuple) -> bool:
    # Without an object in the path, own/other are a list's content (or, for
    # a call with no list, the call itself) and "none" is the call.
    return want == got


async def test_lists_are_filtered_before_paging(
    api: httpx.AsyncClient, pool: asyncpg.Pool, demo_people: dict[str, dict]
) -> None:
    """One order reaches the cast's system key among many: a page of one holds
    it and says there is no next page (filtering after paging would give empty
    pages, or a next page with nothing on it)."""
    w = await world(api, pool, demo_people)
    for path, name in (("/orders", "order_id"), ("/tasks", "task_id")):
        role = "system" if path == "/orders" else "account_rep"
        resp = await api.get(path, params={"limit": 1}, headers=bearer(w.keys[role]))
        assert resp.status_code == 200, resp.text
        page = resp.json()
        assert [i[name] for i in page["items"]] == [w.ids[name][0]], page
        assert page["next_offset"] is None
    everything = await api.get("/orders", params={"limit": 1}, headers=bearer(w.keys["operator"]))
    assert everything.json()["next_offset"] == 1
