"""Who may act on which object: one declarative table, every route in it.

For each route (method and path template) the table names the roles that may
call it and, per role, the relation the caller needs to the object the route
acts on (docs/security.md, "Roles and relations", says it in words):

- a system key reaches the accounts it is bound to (itself or its integration);
- an account contact (rep, CSC manager, RAM/NAM, SSM, IM) the accounts they are
  that contact of; a team lead their team's accounts and their members' tasks;
- a branch manager the orders shipping from the branches they run;
- an OOM agent or store manager the open orders of the stores they work for;
- CSR parties the cases they are on (owner, case team, offered or held a step),
  and account-change parties the requests they made or work on;
- operators read everything and change only what operations needs.

One FastAPI dependency (`authorize`, added to every router in api/app.py)
asks it. The refusal, chosen once: a missing role is a 403 (the role table is
public), a missing relation a 404 that reads like an object that does not
exist, so nobody learns which orders, tasks or cases other accounts have
(except for the directory's people, whom everyone may see: a 403).
Lists are filtered by the same relations in SQL (db/relations.py), so paging
stays correct. The work-queue page (/app) calls the task API's functions,
which ask the same entries (`check`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fastapi import Request
from temporalio.service import RPCError, RPCStatusCode

from api.auth import current_actor
from api.errors import ApiError
from db import relations
from db.relations import Access, Reach
from domain.identity import Actor, Role
from domain.order.models import account_of_order
from workflows.kernel import REASSIGNING_ROLES


class Rel(StrEnum):
    """The relation a role needs to the route's object."""

    EVERYTHING = "any object"
    KEY_ACCOUNTS = "the accounts its key is bound to"
    CONTACT = "the accounts they are a contact of"
    TEAM = "their team's accounts and their members' tasks"
    BRANCH = "the orders of the branches they run"
    STORE = "the open orders of the stores they work for"
    PARTY = "the cases and requests they are on"
    TEAM_MEMBER = "the people of the teams they lead"


class Obj(StrEnum):
    """What the route acts on, found from its path."""

    NONE = "nothing (a list is filtered, a creation checks its body)"
    ORDER = "order"
    TASK = "task"
    OPEN_ORDER = "open order"
    CSR = "case"
    ACCOUNT_CHANGE = "account-change request"
    PERSON = "person"


class Gate(StrEnum):
    PUBLIC = "public"
    SIGNATURE = "signed body"
    PAGE = "page session"
    KEY = "API key"


@dataclass(frozen=True)
class Entry:
    access: Gate
    grants: Mapping[Role, tuple[Rel, ...]] = field(default_factory=dict)
    obj: Obj = Obj.NONE
    # A page route: the API entries whose functions it calls.
    asks: tuple[tuple[str, str], ...] = ()


PUBLIC = Entry(Gate.PUBLIC)
SIGNED = Entry(Gate.SIGNATURE)

E, K, C, T = Rel.EVERYTHING, Rel.KEY_ACCOUNTS, Rel.CONTACT, Rel.TEAM
B, S, P, M = Rel.BRANCH, Rel.STORE, Rel.PARTY, Rel.TEAM_MEMBER


def key(obj: Obj = Obj.NONE, **grants: tuple[Rel, ...]) -> Entry:
    return Entry(Gate.KEY, {Role(r): rels for r, rels in grants.items()}, obj)


def page(*asks: tuple[str, str]) -> Entry:
    return Entry(Gate.PAGE, asks=asks)


# Who reads an order (and its documents): its account's people, its branch,
# the key that submits for it; IT support and operators every order.
ORDER_READERS: dict[str, tuple[Rel, ...]] = {
    "system": (K,), "account_rep": (C,), "team_lead": (T,), "csc_manager": (C,),
    "branch_manager": (B,), "implementation_manager": (C,), "sales_support_manager": (C,),
    "account_manager": (C,), "it_support": (E,), "operator": (E,),
}  # fmt: skip
# Every role's own tasks, and the unassigned ones for the role it reaches.
TASK_READERS: dict[str, tuple[Rel, ...]] = {
    **ORDER_READERS,
    "system": (K,), "team_lead": (T,), "sales_rep": (P,), "csr_approver": (P,),
    "csr_assessor": (P,), "csr_implementer": (P,), "oom_agent": (S,), "store_manager": (S,),
    "implementation_manager": (C, P), "sales_support_manager": (C, P),
    "account_manager": (C, P),
}  # fmt: skip
CSR_PARTIES: dict[str, tuple[Rel, ...]] = {
    "sales_rep": (P,), "csr_approver": (P,), "csr_assessor": (P,), "csr_implementer": (P,),
}  # fmt: skip
CHANGE_PARTIES: dict[str, tuple[Rel, ...]] = {
    "account_manager": (C, P), "implementation_manager": (C, P),
    "sales_support_manager": (C, P),
}  # fmt: skip
STORE_STAFF: dict[str, tuple[Rel, ...]] = {"oom_agent": (S,), "store_manager": (S,)}
EVERY_ROLE = {r.value: (E,) for r in Role}
INCIDENT_READERS = {r: (E,) for r in ("team_lead", "csc_manager", "it_support", "operator")}
REPORT_READERS = {r: (E,) for r in ("team_lead", "csc_manager", "operator", "account_rep")}

POLICY: dict[tuple[str, str], Entry] = {
    # Public: health, the API's own docs, the page's sign-in (its form checks the key).
    ("GET", "/health"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/app"): PUBLIC,
    ("GET", "/app/login"): PUBLIC,
    ("POST", "/app/login"): PUBLIC,
    # Webhooks: authenticated by the signature over their body.
    ("POST", "/webhooks/erp"): SIGNED,
    ("POST", "/webhooks/sms-voice"): SIGNED,
    # Orders. Intake checks the body's account against the key's accounts.
    ("POST", "/orders"): key(system=(K,)),
    ("GET", "/orders"): key(**ORDER_READERS),
    ("GET", "/orders/{order_id}"): key(Obj.ORDER, **ORDER_READERS),
    ("GET", "/orders/{order_id}/documents"): key(Obj.ORDER, **ORDER_READERS),
    ("GET", "/orders/{order_id}/documents/{payload_id}"): key(Obj.ORDER, **ORDER_READERS),
    ("POST", "/orders/{order_id}/shipments"): key(Obj.ORDER, system=(K,), branch_manager=(B,)),
    ("POST", "/orders/{order_id}/flags"): key(Obj.ORDER, account_rep=(C,)),
    ("POST", "/orders/{order_id}/edit-requests"): key(Obj.ORDER, branch_manager=(B,)),
    # Tasks: what a task may be decided or claimed by is the workflow's call.
    ("GET", "/tasks"): key(**TASK_READERS),
    ("GET", "/tasks/{task_id}"): key(Obj.TASK, **TASK_READERS),
    ("POST", "/tasks/{task_id}/claim"): key(Obj.TASK, **TASK_READERS),
    ("POST", "/tasks/{task_id}/complete"): key(Obj.TASK, **TASK_READERS),
    # Open orders (stores).
    ("POST", "/open-orders"): key(system=(E,)),
    # The feed that sends them (no account: every store's) reads them too.
    ("GET", "/open-orders"): key(**STORE_STAFF, system=(E,), operator=(E,)),
    ("GET", "/open-orders/{open_order_id}"): key(
        Obj.OPEN_ORDER, **STORE_STAFF, system=(E,), operator=(E,)
    ),
    ("POST", "/open-orders/{open_order_id}/contacts"): key(Obj.OPEN_ORDER, **STORE_STAFF),
    ("POST", "/open-orders/{open_order_id}/appointments"): key(Obj.OPEN_ORDER, oom_agent=(S,)),
    ("POST", "/open-orders/{open_order_id}/codes"): key(Obj.OPEN_ORDER, oom_agent=(S,)),
    ("POST", "/open-orders/{open_order_id}/resolutions"): key(Obj.OPEN_ORDER, store_manager=(S,)),
    # Customer special requests: the parties of each case.
    ("POST", "/csrs"): key(sales_rep=(E,)),
    ("GET", "/csrs"): key(**CSR_PARTIES, operator=(E,)),
    ("GET", "/csrs/{csr_id}"): key(Obj.CSR, **CSR_PARTIES, operator=(E,)),
    ("GET", "/csrs/{csr_id}/history"): key(Obj.CSR, **CSR_PARTIES, operator=(E,)),
    ("PATCH", "/csrs/{csr_id}"): key(Obj.CSR, **CSR_PARTIES),
    ("POST", "/csrs/{csr_id}/moves"): key(Obj.CSR, **CSR_PARTIES),
    ("GET", "/csr-approver-rules"): key(**EVERY_ROLE),
    # Account changes: the RAM/NAM's national accounts, the IM and SSM on them.
    ("POST", "/account-changes"): key(account_manager=(E,)),
    ("GET", "/account-changes"): key(**CHANGE_PARTIES, operator=(E,)),
    ("GET", "/account-changes/{request_id}"): key(
        Obj.ACCOUNT_CHANGE, **CHANGE_PARTIES, operator=(E,)
    ),
    # The CSC and operations report what billing or accounting found, too.
    ("POST", "/account-changes/{request_id}/discrepancies"): key(
        Obj.ACCOUNT_CHANGE, **CHANGE_PARTIES, csc_manager=(E,), operator=(E,)
    ),
    # An integration's or operator's event about inventory, or the IM's.
    ("POST", "/account-changes/{request_id}/inventory-loading"): key(
        Obj.ACCOUNT_CHANGE, implementation_manager=(C, P), system=(E,), operator=(E,)
    ),
    # Platform outages are about a platform, not an account.
    ("GET", "/incidents"): key(**INCIDENT_READERS),
    ("GET", "/incidents/{incident_id}"): key(**INCIDENT_READERS),
    ("POST", "/incidents/{incident_id}/fallback"): key(csc_manager=(E,)),
    # Reference data and the directory: read by anyone signed in, changed by operators.
    ("POST", "/accounts/{account_number}/punchout-credentials"): key(operator=(E,)),
    ("GET", "/directory/teams"): key(**EVERY_ROLE),
    ("GET", "/directory/people/{person_id}"): key(**EVERY_ROLE),
    ("POST", "/directory/people/{person_id}/away"): key(Obj.PERSON, operator=(E,), team_lead=(M,)),
    ("PUT", "/directory/people/{person_id}/capabilities"): key(operator=(E,)),
    ("PUT", "/directory/people/{person_id}/branches"): key(operator=(E,)),
    ("PUT", "/directory/people/{person_id}/stores"): key(operator=(E,)),
    ("GET", "/directory/people/{person_id}/keys"): key(operator=(E,)),
    ("PUT", "/directory/keys/{key_id}/accounts"): key(operator=(E,)),
    ("PUT", "/directory/accounts/{account_number}/contacts/{contact_role}"): key(operator=(E,)),
    # The weekly review's rows are cut to the caller's own (a rep) or team in the handler.
    ("GET", "/reports/weekly"): key(**REPORT_READERS),
    ("GET", "/reports/weekly/team"): key(team_lead=(E,)),
    # The work-queue page: a session, and the task API's own checks.
    ("POST", "/app/logout"): page(),
    ("GET", "/app/queue"): page(("GET", "/tasks")),
    ("GET", "/app/queue/tasks"): page(("GET", "/tasks")),
    ("GET", "/app/tasks/{task_id}"): page(("GET", "/tasks/{task_id}")),
    ("POST", "/app/tasks/{task_id}/claim"): page(("POST", "/tasks/{task_id}/claim")),
    ("POST", "/app/tasks/{task_id}/decide"): page(("POST", "/tasks/{task_id}/complete")),
    ("GET", "/app/manage"): page(("GET", "/tasks"), ("GET", "/incidents")),
    ("POST", "/app/manage/incidents/{incident_id}/fallback"): page(
        ("POST", "/incidents/{incident_id}/fallback")
    ),
}

# Those who give tasks to people reach every task on the workflows they reach.
HANDS_OUT = frozenset(REASSIGNING_ROLES)

# Which account contact roles each role's CONTACT relation reads.
CONTACT_ROLES: dict[Role, list[str]] = {
    Role.ACCOUNT_REP: ["account_rep"],
    Role.TEAM_LEAD: ["team_lead"],
    Role.CSC_MANAGER: ["csc_manager"],
    Role.ACCOUNT_MANAGER: ["ram", "nam"],
    Role.SALES_SUPPORT_MANAGER: ["ssm"],
    Role.IMPLEMENTATION_MANAGER: ["im"],
}

# Objects everyone signed in may see (the directory lists its people): a
# missing relation to one is a 403, as it leaks nothing.
VISIBLE = frozenset({Obj.PERSON})

# The path parameter naming each kind of object.
_OBJECT_PARAM = {
    Obj.ORDER: "order_id",
    Obj.TASK: "task_id",
    Obj.OPEN_ORDER: "open_order_id",
    Obj.CSR: "csr_id",
    Obj.ACCOUNT_CHANGE: "request_id",
    Obj.PERSON: "person_id",
}


def template_of(request: Request) -> tuple[str, str] | None:
    route = request.scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path is None:
        return None
    return request.method, path.replace(":path", "")


def entry_for(method: str, template: str) -> Entry:
    found = POLICY.get((method, template))
    if found is None:
        # Closed by default; the route-table test keeps this from happening.
        raise ApiError(403, f"{method} {template} has no authorization policy", "Forbidden")
    return found


def _not_found(obj: Obj, object_id: str) -> ApiError:
    return ApiError(404, f"no {obj.value} {object_id}", "NotFound")


async def _reach(conn: Any, actor: Actor, key_hash: str | None, role: Role, rels: tuple) -> Reach:
    out = Reach()
    person = actor.person_id
    for rel in rels:
        if rel is Rel.EVERYTHING:
            out = out | Reach(everything=True)
        elif rel is Rel.KEY_ACCOUNTS:
            out = out | Reach(accounts=await relations.key_accounts(conn, key_hash))
        elif rel is Rel.CONTACT:
            roles = CONTACT_ROLES.get(role, [])
            out = out | Reach(accounts=await relations.contact_accounts(conn, person, roles))
        elif rel is Rel.TEAM:
            out = out | Reach(
                accounts=await relations.team_accounts(conn, person),
                team=await relations.team_members(conn, person),
            )
        elif rel is Rel.BRANCH:
            out = out | Reach(branches=await relations.managed_branches(conn, person))
        elif rel is Rel.STORE:
            out = out | Reach(stores=await relations.staffed_stores(conn, person, role.value))
        elif rel is Rel.PARTY:
            out = out | Reach(party=True)
        elif rel is Rel.TEAM_MEMBER:
            out = out | Reach(team=await relations.team_members(conn, person))
    return out


def _granted(entry: Entry, actor: Actor) -> list[Role]:
    granted = [r for r in sorted(actor.roles) if r in entry.grants]
    if not granted:
        allowed = ", ".join(r.value for r in entry.grants)
        raise ApiError(403, f"this call needs one of the roles: {allowed}", "Forbidden")
    return granted


async def access(request: Request, actor: Actor, method: str, template: str) -> Access:
    """What the caller reaches through the route's entry (a list filters by it)."""
    cache: dict = request.state.__dict__.setdefault("_policy_access", {})
    if (method, template) in cache:
        return cache[method, template]
    entry = entry_for(method, template)
    granted = _granted(entry, actor)
    key_hash = getattr(request.state, "api_key_hash", None)
    found = Access(person=actor.person_id)
    async with request.app.state.pool.acquire() as conn:
        for role in granted:
            reach = await _reach(conn, actor, key_hash, role, entry.grants[role])
            if role in HANDS_OUT:
                reach = reach | Reach(every_task=True)
            found.by_role[role.value] = reach
    cache[method, template] = found
    return found


async def check(
    request: Request, actor: Actor, method: str, template: str, params: Mapping[str, Any]
) -> Access:
    """Refuse unless the entry lets the caller act on the route's object: 403
    without a role the entry names, 404 without the relation it needs."""
    entry = entry_for(method, template)
    found = await access(request, actor, method, template)
    if entry.obj is Obj.NONE:
        return found
    object_id = str(params.get(_OBJECT_PARAM[entry.obj], ""))
    done: set = request.state.__dict__.setdefault("_policy_checked", set())
    if (method, template, object_id) in done:
        return found
    if not await _reaches(request, found, entry.obj, object_id):
        if entry.obj in VISIBLE:
            raise ApiError(
                403, f"you may not do this to {entry.obj.value} {object_id}", "Forbidden"
            )
        raise _not_found(entry.obj, object_id)
    done.add((method, template, object_id))
    return found


async def _reaches(request: Request, found: Access, obj: Obj, object_id: str) -> bool:
    reach = found.reach
    if obj is Obj.TASK:
        # Per role: operators reach every task, IT support its own role's.
        async with request.app.state.pool.acquire() as conn:
            return bool(await relations.reaches_task_id(conn, found, object_id))
    if obj is Obj.PERSON:
        return reach.everything or object_id in reach.team
    async with request.app.state.pool.acquire() as conn:
        workflow_id = f"account-change-{object_id}" if obj is Obj.ACCOUNT_CHANGE else object_id
        ok = await relations.reaches_workflow(conn, found, workflow_id)
    if ok is None and obj is Obj.ORDER:
        # Just after intake the read model may not have the order yet.
        account = account_of_order(object_id)
        if reach.everything or (account is not None and account in reach.accounts):
            return True
    if ok is None:
        ok = await _row_to_come(request, found, workflow_id)
    return ok


async def _row_to_come(request: Request, found: Access, workflow_id: str) -> bool:
    """No read-model row: a workflow Temporal does not know is nothing to act
    on (404); one it knows writes its row at its first step, so wait a moment
    for it, and answer 503 (try again) when it does not come."""
    settings = request.app.state.settings
    patience = min(settings.update_wait, settings.read_model_patience).total_seconds()
    try:
        async with asyncio.timeout(patience):
            try:
                await request.app.state.temporal.get_workflow_handle(workflow_id).describe()
            except RPCError as exc:
                if exc.status is RPCStatusCode.NOT_FOUND:
                    return False
                raise
            while True:
                await asyncio.sleep(0.05)
                async with request.app.state.pool.acquire() as conn:
                    ok = await relations.reaches_workflow(conn, found, workflow_id)
                if ok is not None:
                    return ok
    except (TimeoutError, RPCError):
        raise ApiError(
            503, f"{workflow_id} is not readable yet; try again shortly", "Unavailable"
        ) from None


async def authorize(request: Request) -> None:
    """The dependency every router carries: the route's entry, checked."""
    found = template_of(request)
    if found is None:
        return
    method, template = found
    entry = entry_for(method, template)
    if entry.access is not Gate.KEY:
        # Public, signed (the handler checks the signature), or a page (its
        # session, then the task API's own checks through `asks`).
        return
    actor = await current_actor(request)
    await check(request, actor, method, template, request.path_params)
