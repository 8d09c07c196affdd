"""A bounded OpenAPI fuzzing run (schemathesis): every operation of the app, with
data that fits its schema and data that does not, answers without a 5xx and with
a body that matches what the OpenAPI document promises. Then hostile values (NUL
and other control characters, bidi overrides, lone surrogates, huge numbers,
dates out of range or without an offset, malformed bodies) put one at a time
into every path and query parameter, header and body field of every route the
app has, the page's and the webhooks' included: none answers a 5xx or shows
Python's or PostgreSQL's words.

Deterministic (derandomized Hypothesis, a fixed number of examples per operation
and mode; a fixed list of hostile values) and in process: the ASGI app, with its
own pool on the test database and its own Temporal client on the dev server,
behind a key that holds every role the API knows and is bound to the demo
accounts."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import asyncpg
import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from db.keys import create_api_key
from domain.identity import Role
from sopflow.config import Settings
from tests.open_orders import signed

pytestmark = pytest.mark.integration

# Per operation and mode; hostile values have their own pass (below).
EXAMPLES = 15
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


# ----------------------------------------------------------------- hostile values
# Beside what schemathesis generates from the schema: values chosen to break
# things, put in every path and query parameter and in every field of every
# body, of every route the app has (the page's included), one at a time.
HOSTILE_TEXT = [
    "a\x00b",  # NUL: PostgreSQL text cannot hold it
    "\x1b[2J\x07",  # other C0 controls
    "x\x7f\x85y",  # DEL and C1
    "\u202eexe.txt",  # a bidi override
    "\ud800",  # a lone surrogate: no encoding holds it
    "one\u2028two\ttab\nline",
    "%00'; --{{7*7}}<b>",
]
LONG = "x" * 8_000  # in a URL: longer ones are refused before they are sent
LONGER = "x" * 70_000  # in a body
HOSTILE_NUMBERS = [2**63, -(2**63) - 1, 10**40, -1, 1e308]
HOSTILE_DATES = [
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
    "2026-12-07T10:00:00",  # no offset
    "2026-02-30",
    "9999-W52",
]


def hostile_for(value: Any) -> list[Any]:
    """What to put where `value` was: values of its kind, and of another."""
    if isinstance(value, bool):
        return ["a\x00b", 10**40, None]
    if isinstance(value, int | float):
        return [*HOSTILE_NUMBERS, "a\x00b", None]
    if isinstance(value, str):
        dates = HOSTILE_DATES if re.match(r"\d{4}-\d{2}-\d{2}", value) else []
        return [*HOSTILE_TEXT, LONGER, *dates, 10**40, None]
    return [None, [], {}, "a\x00b", 10**40]


def hostile_query(schema: dict) -> list[str]:
    kinds = json.dumps(schema)
    numbers = [str(v) for v in HOSTILE_NUMBERS] if '"integer"' in kinds else ["99999999999999999999"]
    return [*HOSTILE_TEXT, LONG, *numbers, *HOSTILE_DATES]
# Header values must be sendable at all: no control characters.
HOSTILE_HEADERS = ["x" * 10_000, "sha256=" + "0" * 64, "t=9999999999999,v1=zz", "%00"]
# Query parameters tried on routes that document none (the page's).
PAGE_QUERY = ("next", "kind", "account", "status", "offset", "week")
# What an answer may never show: Python's or PostgreSQL's own words.
INTERNALS = re.compile(
    r"Traceback|File \"|asyncpg|psycopg|pydantic|errors\.pydantic\.dev|invalid byte sequence"
    r"|(?:Type|Value|Key|Overflow|Attribute|Assertion|Unicode\w*|Recursion)Error"
)
# Ids of nothing: a hostile value must be refused before anything is found or changed.
PATH_IDS = {
    "order_id": "order-401693-FUZZ-1",
    "payload_id": "fuzz-payload",
    "account_number": "FUZZ1",
    "task_id": "order-401693-FUZZ-1:20260101T000000000000:hold:PRICE:1",
    "open_order_id": "open-order-FUZZ1",
    "person_id": "fuzz.nobody",
    "contact_role": "account_rep",
    "request_id": "AC-FUZZ1",
    "incident_id": "incident-sterling_oms-20200101T000000",
    "csr_id": "csr-999999",
}
_SAMPLES = ["x", "401693", "2145550101", "2026-W48", "AC-FUZZ1", "fuzz.nobody", "sterling_oms"]


def route_table(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        contexts = route.effective_route_contexts() if hasattr(route, "effective_route_contexts") else [route]  # fmt: skip
        for ctx in contexts:
            for method in set(getattr(ctx, "methods", None) or ()) - {"HEAD"}:
                found.add((method, ctx.path.replace(":path", "")))
    return found


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(spec: dict, schema: dict, depth: int = 0) -> Any:
    """A plain value that fits `schema` where that is easy (every property
    filled), so that a hostile value put into one field is the one refused."""
    schema = _resolve(spec, schema)
    for key in ("examples", "enum"):
        if schema.get(key):
            return schema[key][0]
    if schema.get("default") not in (None, [], {}):
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if _resolve(spec, s).get("type") != "null"]
            # A number before its string form (a decimal is either).
            options.sort(key=lambda s: _resolve(spec, s).get("type") not in ("number", "integer"))
            return sample(spec, options[0], depth) if options else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 6:
            return {}
        props = schema.get("properties", {})
        return {name: sample(spec, sub, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return [sample(spec, schema.get("items", {}), depth + 1)]
    if kind == "integer":
        return int(max(schema.get("minimum", 1), 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2026-12-07"
    if schema.get("format") == "date-time":
        return "2026-12-07T10:00:00Z"
    if pattern := schema.get("pattern"):
        return next((s for s in _SAMPLES if re.search(pattern, s)), "x")
    return "x"


def leaves(value: Any, path: tuple = ()) -> list[tuple]:
    """The path of every leaf (and of every container) in a JSON value."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += leaves(item, (*path, i))
    return found


def _at(value: Any, path: tuple) -> Any:
    for step in path:
        value = value[step]
    return value


def replaced(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(value))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return copy


def _bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class Prober:
    """Sends one request at a time to the app in process and keeps what went wrong."""

    def __init__(self, http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.http = http
        self.headers = headers
        self.failures: list[str] = []
        self.sent = 0
        self.page_token = ""  # the signed-in page's CSRF token

    async def send(
        self,
        method: str,
        template: str,
        *,
        path: dict[str, Any],
        query: dict[str, Any] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        what: str,
    ) -> None:
        url = template
        for name, value in path.items():
            url = url.replace("{" + name + "}", quote(_bytes(str(value)), safe=""))
        if query:
            url += "?" + "&".join(
                f"{name}={quote(_bytes(str(value)), safe='')}" for name, value in query.items()
            )
        self.sent += 1
        try:
            resp = await self.http.request(
                method, url, content=body, headers={**self.headers, **(headers or {})}
            )
        except Exception as exc:  # the app raised through the transport: a 500
            self.failures.append(f"{method} {template} {what}: raised {exc!r}"[:400])
            return
        health = template == "/health"  # answers 503 by design here: no worker polls
        if (resp.status_code >= 500 and not health) or INTERNALS.search(resp.text):
            self.failures.append(
                f"{method} {template} {what}: {resp.status_code} {resp.text[:200]}"
            )


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()  # \\uXXXX escapes: NUL and surrogates travel as JSON


async def probe_route(
    prober: Prober, spec: dict, method: str, template: str, settings: Settings
) -> None:
    op = spec["paths"].get(template, {}).get(method.lower(), {})
    params = op.get("parameters", [])
    path = {n: PATH_IDS.get(n, "x") for n in re.findall(r"{(\w+)}", template)}
    json_body = None
    if "requestBody" in op and "application/json" in op["requestBody"]["content"]:
        json_body = sample(spec, op["requestBody"]["content"]["application/json"]["schema"])
    elif template in WEBHOOKS:
        json_body = WEBHOOKS[template]
    elif method in ("POST", "PUT", "PATCH"):  # the page's forms
        json_body = {"comment": "x", "decision": "acknowledge", "api_key": "x", "next": "/app",
                     "csrf_token": prober.page_token}  # fmt: skip
    secret = {"/webhooks/erp": settings.erp_webhook_secret,
              "/webhooks/sms-voice": settings.smsvoice_webhook_secret}.get(template)  # fmt: skip
    is_page = template.startswith("/app")

    def encoded(body: Any) -> tuple[bytes | None, dict[str, str]]:
        if body is None and json_body is None:
            return None, {}
        if is_page:  # the page's forms
            fields = body if isinstance(body, dict) else {"comment": body}
            form = "&".join(f"{k}={quote(_bytes(str(v)), safe='')}" for k, v in fields.items())
            return form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}
        if secret:  # signed as its sender signs it, so the body is what is judged
            return signed(body, secret)
        return _json(body), {"Content-Type": "application/json"}

    base_body, base_headers = encoded(json_body)
    # As it is, and with a parameter nobody asked for.
    await prober.send(method, template, path=path, body=base_body, headers=base_headers,
                      what="as sampled")  # fmt: skip
    await prober.send(method, template, path=path, query={"x": "a\x00b"}, body=base_body,
                      headers=base_headers, what="unknown query parameter")  # fmt: skip
    if is_page and "Cookie" not in prober.headers:
        return  # signed out: the page sends the caller to sign in, whatever they send
    for name in path:
        for value in [*HOSTILE_TEXT, "..", LONG]:
            await prober.send(method, template, path={**path, name: value}, body=base_body,
                              headers=base_headers, what=f"path {name}={value!r:.40}")  # fmt: skip
    queries = {p["name"]: p.get("schema", {}) for p in params if p["in"] == "query"} or (
        dict.fromkeys(PAGE_QUERY, {"type": "integer"}) if is_page and method == "GET" else {}
    )
    for name, schema in queries.items():
        for value in hostile_query(schema):
            await prober.send(method, template, path=path, query={name: value}, body=base_body,
                              headers=base_headers, what=f"query {name}={value!r:.40}")  # fmt: skip
    for name in [p["name"] for p in params if p["in"] == "header"]:
        for value in HOSTILE_HEADERS:
            await prober.send(method, template, path=path, body=base_body,
                              headers={**base_headers, name: value},
                              what=f"header {name}={value!r:.40}")  # fmt: skip
    if json_body is None:
        return
    for slot in leaves(json_body):
        if is_page and slot == ("csrf_token",):
            continue
        for value in hostile_for(_at(json_body, slot)):
            body, headers = encoded(replaced(json_body, slot, value))
            await prober.send(method, template, path=path, body=body, headers=headers,
                              what=f"body {'.'.join(map(str, slot)) or '(whole)'}={value!r:.40}")  # fmt: skip
    for raw in (b"\xff\xfe\x00", b'{"a":', b"[" * 100_000, b"\x00" * 64):
        await prober.send(method, template, path=path, body=raw, headers=base_headers,
                          what=f"raw body {raw[:8]!r}")  # fmt: skip


WEBHOOKS = {
    "/webhooks/erp": {"event_id": "fuzz-1", "sales_order": "FUZZ1", "type": "atp_changed",
                      "atp_date": "2026-12-07", "note": "x", "at": "2026-12-07T10:00:00Z"},
    "/webhooks/sms-voice": {"event_id": "fuzz-1", "sales_order": "FUZZ1", "type": "reply",
                            "phone": "2145550101", "text": "yes", "at": "2026-12-07T10:00:00Z"},
}  # fmt: skip
# Routes that are not the API's: the docs and the schema.
NOT_PROBED = {("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"),
              ("GET", "/openapi.json")}  # fmt: skip


async def test_hostile_values_anywhere_in_any_route_are_refused_without_a_5xx(
    it_settings: Settings,
    pool: asyncpg.Pool,
    dev_server: WorkflowEnvironment,
    demo_keys: dict[str, str],
) -> None:
    async with pool.acquire() as conn:
        key = await create_api_key(
            conn, "ops.admin", [role.value for role in Role], label="hostile values",
            integration_id="punchout-network",
        )  # fmt: skip
    settings = it_settings.model_copy(
        update={"task_queue": f"fuzz-{uuid.uuid4().hex[:8]}", "update_wait": timedelta(seconds=1)}
    )
    app = create_app(settings, database_url="", pool=pool, temporal=dev_server.client)
    spec = app.openapi()
    routes = route_table(app) - NOT_PROBED
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    # Every route is probed: the API's from its OpenAPI document, the page's and
    # the webhooks' as they are.
    assert documented <= routes
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://fuzz", timeout=30) as http,
    ):
        prober = Prober(http, {"Authorization": f"Bearer {key}"})
        for method, template in sorted(routes):
            await probe_route(prober, spec, method, template, settings)
        # Signed in on the page too: its routes answer a person, not a key.
        prober.headers = await page_session(http, demo_keys["operator"])
        queue = await http.get("/app/queue", headers=prober.headers)
        token = re.search(r'name="csrf_token" value="([^"]+)"', queue.text)
        assert token, queue.text[:300]
        prober.page_token = token.group(1)
        for method, template in sorted(r for r in routes if r[1].startswith("/app")):
            await probe_route(prober, spec, method, template, settings)
    assert prober.sent > 1000
    failures = prober.failures
    assert not failures, f"{len(failures)} of {prober.sent}:\n" + "\n".join(failures[:60])


async def page_session(http: httpx.AsyncClient, key: str) -> dict[str, str]:
    """The page's sign-in, as a browser does it: the cookie it sets."""
    form = await http.get("/app/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text[:300]
    signed_in = await http.post(
        "/app/login",
        data={"csrf_token": token.group(1), "api_key": key, "next": "/app/queue"},
        headers={"Cookie": _cookies(form)},
    )
    assert signed_in.status_code == 303, signed_in.text[:300]
    return {"Cookie": _cookies(signed_in)}


def _cookies(resp: httpx.Response) -> str:
    # Set by hand: the cookies are Secure, and httpx keeps those from plain http.
    return "; ".join(c.split(";", 1)[0] for c in resp.headers.get_list("set-cookie"))
