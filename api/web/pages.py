"""The work-queue page's routes (/app/...): sign-in and sign-out, my queue,
one task with its case and decision forms, and the managers' views.

Each route calls the task API's own functions (api/tasks.py, api/orders.py)
with the signed-in person, so what the page shows and refuses is what the API
shows and refuses, with the same reasons. A request from htmx gets the part of
the page it replaces; any other gets the whole page (everything works without
scripts too)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from api import incidents, tasks
from api.auth import MAX_KEY
from api.errors import ApiError
from api.tasks import ACCOUNT, ClaimIn, CompleteIn, TaskItem
from api.web import cases, manager, present, session
from db import read_model
from db.keys import lookup_api_key
from domain.identity import Actor, Role
from domain.tasks import DECISIONS, DecisionResult, TaskStatus
from workflows.kernel import REASSIGNING_ROLES

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals.update(
    countdown=present.countdown,
    humanize=present.humanize,
    input_attributes=present.input_attributes,
    csrf_field=session.CSRF_FIELD,
)
router = APIRouter(prefix="/app", include_in_schema=False)

PAGE = 50
# The kinds offered in the filter; a kind with no decisions (yet) may still be asked for.
KINDS = sorted(DECISIONS)
KIND = r"^[a-z][a-z0-9_]{0,99}$"
# The page loads nothing but its own files, and no other site may frame it.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def install(app: FastAPI, dependencies: list[Any] | None = None) -> None:
    app.include_router(router, dependencies=dependencies)
    app.mount("/app/static", StaticFiles(directory=HERE / "static"), name="web-static")


def page_href(task_id: str) -> str:
    return f"/app{tasks.task_href(task_id)}"


templates.env.globals["page_href"] = page_href


def _htmx(request: Request) -> bool:
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    actor: Actor | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    views = manager.views_for(actor) if actor else []
    return templates.TemplateResponse(
        request,
        template,
        {
            "actor": actor,
            "csrf": session.csrf_token(request) if actor else "",
            "manager_views": views,
            "my_roles": {r.value for r in actor.roles} if actor else set(),
            "now": datetime.now(UTC),
            **context,
        },
        status_code=status,
        headers={**HEADERS, **(headers or {})},
    )


def _this_page(request: Request) -> str:
    """Where to come back to after signing in: the page itself (a form's page,
    for a form sent after the session ended)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(request.url.path)
    if request.method != "GET":
        return path.rsplit("/", 1)[0]
    if path == "/app/queue/tasks":
        path = "/app/queue"
    return path + (f"?{request.url.query}" if request.url.query else "")


def _to_login(request: Request) -> Response:
    url = "/app/login?" + urlencode({"next": _this_page(request)})
    if _htmx(request):
        return Response(status_code=401, headers={"HX-Redirect": url, **HEADERS})
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def _safe_next(value: str | None) -> str:
    """Only a page of this app: never another site after signing in."""
    if value and value.startswith("/app/") and "//" not in value and "\\" not in value:
        return value
    return "/app/queue"


def _expired(request: Request, actor: Actor | None) -> Response:
    return render(
        request,
        "message.html",
        {
            "title": "This form has expired",
            "message": "The form's security token did not match; reload the page and try again.",
        },
        actor=actor,
        status=403,
    )


# ------------------------------------------------------------------ sign-in


@router.get("")
async def home() -> Response:
    return RedirectResponse("/app/queue", status_code=303, headers=HEADERS)


def _login_page(
    request: Request, next_page: str, *, error: str | None = None, status: int = 200
) -> Response:
    token = session.login_token(request)
    response = render(
        request,
        "login.html",
        {"login_csrf": token, "next": next_page, "error": error},
        actor=None,
        status=status,
    )
    session.keep_login_token(response, token)
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    if await session.signed_in(request):
        return RedirectResponse(_safe_next(next), status_code=303, headers=HEADERS)
    return _login_page(request, _safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    next_page = _safe_next(str(form.get("next") or ""))
    if not session.csrf_ok(request, form, signing_in=True):
        return _login_page(
            request, next_page, error="The sign-in form expired; please try again.", status=403
        )
    key = str(form.get("api_key") or "").strip()
    found = None
    if 0 < len(key) <= MAX_KEY:
        # PostgreSQL itself, not the API's memory of keys: a key revoked a
        # moment ago does not sign in.
        async with request.app.state.pool.acquire() as conn:
            found = await lookup_api_key(conn, key)
    if found is None:
        return _login_page(request, next_page, error="Unknown or revoked API key.", status=401)
    response = RedirectResponse(next_page, status_code=303, headers=HEADERS)
    await session.start_session(request, response, found["key_hash"])
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    actor = await session.signed_in(request)
    if actor and not session.csrf_ok(request, form):
        return _expired(request, actor)
    response = RedirectResponse("/app/login", status_code=303, headers=HEADERS)
    await session.end_session(request, response)
    return response


# ------------------------------------------------------------------ my queue


class Filters:
    """The queue's filters from the query string; a bad one is said, not guessed."""

    def __init__(self, request: Request) -> None:
        q = request.query_params
        self.kind = q.get("kind") or None
        self.account = (q.get("account") or "").strip() or None
        self.status = TaskStatus.CLOSED if q.get("status") == "closed" else TaskStatus.OPEN
        offset = q.get("offset") or "0"
        self.offset = int(offset) if offset.isdigit() and len(offset) <= 6 else 0
        self.error: str | None = None
        if self.kind is not None and not re.fullmatch(KIND, self.kind):
            self.error, self.kind = "A task kind has lower-case letters, digits and '_' only.", None
        if self.account is not None and (
            len(self.account) > 40 or not re.fullmatch(ACCOUNT, self.account)
        ):
            self.error = "An account number has letters, digits, '_' and '.' only."

    def query(self, **change: Any) -> str:
        values = {
            "kind": self.kind,
            "account": self.account,
            "status": self.status.value if self.status is TaskStatus.CLOSED else None,
            "offset": self.offset or None,
            **change,
        }
        return urlencode({k: v for k, v in values.items() if v})


async def _queue(request: Request, actor: Actor, f: Filters) -> dict[str, Any]:
    listing = None
    if f.error is None:
        listing = await tasks.list_tasks(
            request,
            actor,
            workflow_id=None,
            kind=f.kind,
            status=f.status,
            assignee=None,
            account=f.account,
            limit=PAGE,
            offset=f.offset,
        )
    return {
        "filters": f,
        "kinds": sorted({*KINDS, f.kind} - {None}),
        "items": listing.items if listing else [],
        "next_offset": listing.next_offset if listing else None,
    }


@router.get("/queue")
async def queue_page(request: Request) -> Response:
    actor = await session.signed_in(request)
    if actor is None:
        return _to_login(request)
    f = Filters(request)
    context = await _queue(request, actor, f)
    return render(request, "queue.html", context, actor=actor, status=422 if f.error else 200)


@router.get("/queue/tasks")
async def queue_list(request: Request) -> Response:
    """The list alone: the filters and the periodic refresh swap it in place."""
    actor = await session.signed_in(request)
    if actor is None:
        return _to_login(request)
    f = Filters(request)
    url = "/app/queue" + (f"?{q}" if (q := f.query()) else "")
    if not _htmx(request):
        return RedirectResponse(url, status_code=303, headers=HEADERS)
    context = await _queue(request, actor, f)
    return render(
        request,
        "_task_list.html",
        context,
        actor=actor,
        status=422 if f.error else 200,
        headers={"HX-Replace-Url": url},
    )


# ------------------------------------------------------------------ one task


async def _task_context(request: Request, actor: Actor, task: TaskItem) -> dict[str, Any]:
    settings = request.app.state.settings
    kind, run_id = await cases.workflow_row(request, task.workflow_id)
    case, case_error = None, None
    if view := cases.CASES.get(kind or ""):
        try:
            case = await view.load(request, task.workflow_id, actor)
        except ApiError as err:
            case_error = err.reason
    return {
        "task": task,
        "case": case,
        "case_template": view.template if view else None,
        "case_error": case_error,
        "holds_role": task.role in {r.value for r in actor.roles},
        "may_give": actor.has_any(*REASSIGNING_ROLES),
        # The namespace the API is connected to, which a temporal.toml profile
        # may have chosen (sopflow's setting is only the default).
        "temporal_ui": present.temporal_ui_link(
            settings.temporal_ui, request.app.state.temporal.namespace, task.workflow_id, run_id
        ),
    }


async def _task_page(
    request: Request,
    actor: Actor,
    task_id: str,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    try:
        task = await tasks.get_task(request, task_id, actor)
    except ApiError as err:
        if status < 300 and (done := extra.get("outcome") or extra.get("claim_message")):
            # Done, and now out of this person's sight (given to someone else).
            return render(
                request, "message.html", {"title": "Done", "message": done}, actor=actor
            )
        return render(
            request,
            "message.html",
            {"title": "Task not available", "message": err.reason},
            actor=actor,
            status=err.status,
        )
    context = {**await _task_context(request, actor, task), **extra}
    template = "_task.html" if _htmx(request) else "task.html"
    return render(request, template, context, actor=actor, status=status)


@router.get("/tasks/{task_id:path}")
async def task_page(request: Request, task_id: str) -> Response:
    actor = await session.signed_in(request)
    if actor is None:
        return _to_login(request)
    return await _task_page(request, actor, task_id)


@router.post("/tasks/{task_id:path}/claim")
async def claim(request: Request, task_id: str) -> Response:
    """Take the task (or, a team lead, give it to someone); from the queue the
    row is answered, from the task's page the task."""
    actor = await session.signed_in(request)
    if actor is None:
        return _to_login(request)
    form = await request.form()
    if not session.csrf_ok(request, form):
        return _expired(request, actor)
    assignee = str(form.get("assignee") or "").strip() or None
    message, status, item = None, 200, None
    try:
        body = ClaimIn(assignee=assignee) if assignee else None
        item = await tasks.claim_task(request, task_id, actor, body)
    except ValidationError:
        message, status = "Name the person by their id (letters, digits, '.', '-').", 422
    except ApiError as err:
        message, status = err.reason, err.status
    if form.get("from") == "queue":
        if not _htmx(request):
            if item is None:
                return render(
                    request,
                    "message.html",
                    {"title": "Not claimed", "message": message},
                    actor=actor,
                    status=status,
                )
            return RedirectResponse("/app/queue", status_code=303, headers=HEADERS)
        if item is None:
            try:
                item = await tasks.get_task(request, task_id, actor)
            except ApiError:
                return Response(status_code=204, headers=HEADERS)
        return render(
            request,
            "_task_row.html",
            {"item": item, "row_message": message},
            actor=actor,
            status=status,
        )
    if message is None:
        given = assignee and assignee != actor.person_id
        message = f"Given to {item.assignee}." if given else "You hold this task now."
    return await _task_page(request, actor, task_id, status=status, claim_message=message)


async def _read_model_caught_up(request: Request, task_id: str) -> None:
    """The workflow answers a decision before its read model shows it: the page
    waits a moment for the task to close there, so the person sees the case
    with their own decision in it (and goes on if the write is slow)."""
    for _ in range(40):
        async with request.app.state.pool.acquire() as conn:
            row = await read_model.get_task(conn, task_id)
        if row is None or row["closed_at"] is not None:
            return
        await asyncio.sleep(0.05)


def _complete_body(decision: str, fields: list[Any], form: Any) -> CompleteIn:
    return CompleteIn.model_validate(present.decision_body(decision, fields, form))


@router.post("/tasks/{task_id:path}/decide")
async def decide(request: Request, task_id: str) -> Response:
    """One of the task's decisions, through POST /tasks/{id}/complete's own
    function: the workflow's answer, or its refusal shown on the form."""
    actor = await session.signed_in(request)
    if actor is None:
        return _to_login(request)
    form = await request.form()
    if not session.csrf_ok(request, form):
        return _expired(request, actor)
    name = str(form.get("decision") or "")
    values = {k: str(v) for k, v in form.items() if k != session.CSRF_FIELD}
    try:
        task = await tasks.get_task(request, task_id, actor)
        spec = next((d for d in task.decisions if d.name == name), None)
        body = _complete_body(name, spec.fields if spec else [], form)
        result = await tasks.complete_task(request, task_id, body, actor)
    except ValidationError as err:
        reason = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        refusal = {"decision": name, "reason": reason, "entered": values}
        return await _task_page(request, actor, task_id, status=422, refusal=refusal)
    except ApiError as err:
        refusal = {"decision": name, "reason": err.reason, "entered": values}
        return await _task_page(request, actor, task_id, status=err.status, refusal=refusal)
    if isinstance(result, DecisionResult):
        outcome = f"{present.humanize(name)}: done. {result.workflow_id} is now {result.status}."
        if result.next_step:
            outcome += f" Next: {result.next_step}."
        status = 200
        await _read_model_caught_up(request, task_id)
    else:
        outcome = (
            f"{present.humanize(name)} is accepted and still being applied; the task closes"
            " once it is applied (no need to send it again)."
        )
        status = 202
    return await _task_page(request, actor, task_id, status=status, outcome=outcome)


# ------------------------------------------------------------------ managers


async def _manage_page(
    request: Request, actor: Actor, *, status: int = 200, **extra: Any
) -> Response:
    views = manager.views_for(actor)
    if not views:
        return render(
            request,
            "message.html",
            {"title": "No manager views", "message": "Your roles have no manager views."},
            actor=actor,
            status=403,
        )
    sections = []
    for view in views:
        if view.load is not None:
            try:
                data, error = await view.load(request, actor), None
            except ApiError as err:
                data, error = None, err.reason
            sections.append((view, {"data": data, "error": error}))
            continue
        items: list[TaskItem] = []
        for kind in view.kinds:
            listing = await tasks.list_tasks(
                request,
                actor,
                workflow_id=None,
                kind=kind,
                status=TaskStatus.OPEN,
                assignee=None,
                account=None,
                limit=200,
                offset=0,
            )
            items += listing.items
        items.sort(key=lambda t: (t.due_at is None, t.due_at or t.opened_at, t.opened_at))
        sections.append((view, items))
    return render(
        request, "manage.html", {"sections": sections, **extra}, actor=actor, status=status
    )


@router.get("/manage")
async def manage(request: Request) -> Response:
    actor = await session.signed_in(request)
    if actor is None:
        return _to_login(request)
    return await _manage_page(request, actor)


async def _incident_caught_up(
    request: Request, incident_id: str, actor: Actor, fallbacks: int
) -> None:
    """The page shows the incident from the read model: wait a moment for it to
    hold the decision just made (and go on if the write is slow)."""
    for _ in range(40):
        view = await incidents.get_incident(request, incident_id, actor)
        if len(view.fallbacks) >= fallbacks:
            return
        await asyncio.sleep(0.05)


@router.post("/manage/incidents/{incident_id}/fallback")
async def approve_fallback(request: Request, incident_id: str) -> Response:
    """The CSC manager approves manual entry in iSeries for every order waiting
    in the incident, through POST /incidents/{id}/fallback's own function."""
    actor = await session.signed_in(request)
    if actor is None:
        return _to_login(request)
    form = await request.form()
    if not session.csrf_ok(request, form):
        return _expired(request, actor)
    comment = str(form.get("comment") or "")
    if not actor.has_any(Role.CSC_MANAGER):
        message, status = "Only a CSC manager approves manual entry in iSeries.", 403
    else:
        try:
            body = incidents.FallbackIn(comment=comment)
            result = await incidents.approve_fallback(request, incident_id, body, actor)
        except ValidationError:
            message, status = "Say why manual entry is approved (a comment is required).", 422
        except ApiError as err:
            message, status = err.reason, err.status
        else:
            status = 202 if isinstance(result, Response) else 200
            if not isinstance(result, Response):
                await _incident_caught_up(request, incident_id, actor, len(result.fallbacks))
            message = (
                f"Manual entry in iSeries approved for {incident_id}"
                + ("; the orders are still being told." if status == 202 else ".")
            )
    fallback = {"incident_id": incident_id, "message": message, "ok": status < 300,
                "entered": comment if status >= 300 else ""}  # fmt: skip
    return await _manage_page(request, actor, status=status, fallback=fallback)
