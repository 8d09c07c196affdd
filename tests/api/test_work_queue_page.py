"""The work-queue page over plain HTTP: sign-in keeps a session id in a Secure,
HttpOnly, SameSite __Host- cookie; a form without its CSRF token, or sent from
another site, changes nothing; the queue filters by kind, account and status
and answers the list alone to htmx; refusals come back with the workflow's
reason; the team lead's views. (tests/web drives the same pages in Chromium.)"""

from __future__ import annotations

import asyncio
import html
import re
import uuid

import asyncpg
import httpx
import pytest

from api.web.session import LOGIN_COOKIE, SESSION_COOKIE
from tests.api.test_tasks import new_person, price_task
from tests.servers import bearer

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("worker")]


def form_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


_SIGNED_IN: dict[tuple[str, str], tuple[dict[str, str], str]] = {}


async def new_session(api: httpx.AsyncClient, key: str) -> tuple[dict[str, str], str]:
    """Signed in with `key` through the sign-in form, as a browser is: the new
    session's cookie header and its CSRF token."""
    form = await api.get("/app/login")
    token = form_token(form.text)
    # The cookies are Secure: httpx keeps them from plain http, so they are sent by hand.
    resp = await api.post(
        "/app/login",
        data={"csrf_token": token, "api_key": key, "next": "/app/queue"},
        headers={"Cookie": f"{LOGIN_COOKIE}={token}"},
    )
    assert resp.status_code == 303, resp.text
    session_id = resp.cookies.get(SESSION_COOKIE)
    assert session_id and key not in session_id
    headers = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    page = await api.get("/app/queue", headers=headers)
    return headers, form_token(page.text)


async def sign_in(api: httpx.AsyncClient, key: str) -> tuple[dict[str, str], str]:
    """A session for `key`, one per key and API for the whole run."""
    if (api_key := (str(api.base_url), key)) not in _SIGNED_IN:
        _SIGNED_IN[api_key] = await new_session(api, key)
    return _SIGNED_IN[api_key]


async def cookie(api: httpx.AsyncClient, key: str) -> dict[str, str]:
    return (await sign_in(api, key))[0]


async def csrf(api: httpx.AsyncClient, key: str) -> str:
    return (await sign_in(api, key))[1]


def po() -> str:
    return f"WQ-{uuid.uuid4().int % 10**8:08d}"


async def test_sign_in_keeps_a_session_in_a_secure_http_only_cookie_and_sign_out_drops_it(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    resp = await api.get("/app/queue?kind=sla_breach")
    assert resp.status_code == 303
    assert resp.headers["location"] == "/app/login?next=%2Fapp%2Fqueue%3Fkind%3Dsla_breach"

    # A form sent once the session has gone: back to its page after signing in.
    anon = await api.post("/app/tasks/order-1-PO%2F7%3Arun%3Ahold/decide", data={})
    assert anon.status_code == 303
    assert anon.headers["location"] == (
        "/app/login?next=%2Fapp%2Ftasks%2Forder-1-PO%252F7%253Arun%253Ahold"
    )
    # htmx is told to go there itself.
    part = await api.get("/app/queue/tasks?kind=sla_breach", headers={"HX-Request": "true"})
    assert part.status_code == 401
    assert part.headers["hx-redirect"] == "/app/login?next=%2Fapp%2Fqueue%3Fkind%3Dsla_breach"

    login = await api.get("/app/login")
    assert login.status_code == 200 and '<label for="api_key">API key</label>' in login.text
    assert "script-src 'self'" in login.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in login.headers["content-security-policy"]
    token = form_token(login.text)
    assert login.cookies.get(LOGIN_COOKIE) == token

    async def sign_in(key: str, *, with_cookie: bool = True, next: str = "/app/queue"):
        return await api.post(
            "/app/login",
            data={"csrf_token": token, "api_key": key, "next": next},
            headers={"Cookie": f"{LOGIN_COOKIE}={token}"} if with_cookie else {},
        )

    refused = await sign_in(demo_keys["account_rep"], with_cookie=False)
    assert refused.status_code == 403 and "expired" in refused.text
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    wrong = await sign_in("sfk_not-a-key")
    assert wrong.status_code == 401 and "Unknown or revoked API key." in wrong.text

    ok = await sign_in(demo_keys["account_rep"], next="/app/queue?kind=sla_breach")
    assert ok.status_code == 303 and ok.headers["location"] == "/app/queue?kind=sla_breach"
    (session,) = [c for c in ok.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    attributes = {a.strip().split("=")[0].lower() for a in session.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "path", "max-age"} <= attributes
    assert "samesite=lax" in session.lower() and "path=/" in session.lower()
    assert "domain" not in attributes  # __Host-: this host only
    # Never to another site after signing in.
    away = await sign_in(demo_keys["account_rep"], next="//evil.example/app/")
    assert away.headers["location"] == "/app/queue"

    # The cookie holds a session id, not the key.
    session_id = ok.cookies[SESSION_COOKIE]
    assert demo_keys["account_rep"] not in session_id
    mine = {"Cookie": f"{SESSION_COOKIE}={session_id}"}
    page = await api.get("/app/queue", headers=mine)
    assert page.status_code == 200 and "maria.lopez" in page.text
    out = await api.post("/app/logout", data={"csrf_token": form_token(page.text)}, headers=mine)
    assert out.status_code == 303 and out.headers["location"] == "/app/login"
    assert re.search(rf'{SESSION_COOKIE}="?"?;.*Max-Age=0', out.headers["set-cookie"])


async def test_a_decision_without_its_token_or_from_another_site_changes_nothing(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    rep_key = demo_keys["account_rep"]
    order_id, task = await price_task(api, demo_keys, po())
    url = f"/app{task['href']}/decide"
    body = {"decision": "correct_price", "unit_price": "2.35", "comment": "contract price"}
    for data, headers in [
        (body, {}),
        ({**body, "csrf_token": "a" * 43}, {}),
        ({**body, "csrf_token": await csrf(api, rep_key)}, {"Origin": "http://evil.example"}),
        # Another person's token is no token for this session.
        ({**body, "csrf_token": await csrf(api, demo_keys["team_lead"])}, {}),
    ]:
        resp = await api.post(url, data=data, headers={**await cookie(api, rep_key), **headers})
        assert resp.status_code == 403, resp.text
        assert "This form has expired" in resp.text
    still = await api.get(task["href"], headers=bearer(rep_key))
    assert still.json()["status"] == "open"

    # A fix that does not cure the hold: the workflow's reason, on the form, values kept.
    wrong = await api.post(
        url,
        data={**body, "unit_price": "2.20", "csrf_token": await csrf(api, rep_key)},
        headers=await cookie(api, rep_key),
    )
    assert wrong.status_code == 422, wrong.text
    form = html.unescape(wrong.text).split('<h3 id="d-correct_price-heading">')[1]
    reason = re.search(r'role="alert"[^>]*>Refused: ([^<]+)</p>', form)
    assert reason and "2.35" in reason.group(1), form[:600]
    assert 'value="2.20"' in form.split("</form>")[0]

    # With the session's token (as htmx sends it, in a header) it is decided.
    done = await api.post(
        url,
        data=body,
        headers={
            **await cookie(api, rep_key),
            "X-CSRF-Token": await csrf(api, rep_key),
            "HX-Request": "true",
        },
    )
    assert done.status_code == 200, done.text
    assert done.text.lstrip().startswith('<div id="task">')  # the part htmx swaps
    assert f"Correct price: done. {order_id} is now" in html.unescape(done.text)
    closed = await api.get(task["href"], headers=bearer(rep_key))
    assert closed.json()["status"] == "closed"


async def test_the_queue_filters_by_kind_account_and_status_and_refreshes_in_place(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    rep = await cookie(api, demo_keys["account_rep"])
    number = po()
    order_id, task = await price_task(api, demo_keys, number)

    async def rows(query: str, headers: dict[str, str] | None = None) -> httpx.Response:
        resp = await api.get(f"/app/queue{query}", headers={**rep, **(headers or {})})
        assert resp.status_code == 200, resp.text
        return resp

    assert f"PO {number}" in (await rows("?account=401693&kind=resolve_hold_price")).text
    assert f"PO {number}" not in (await rows("?account=402110")).text
    assert f"PO {number}" not in (await rows("?kind=resolve_hold_part&account=401693")).text
    assert f"PO {number}" not in (await rows("?status=closed&account=401693")).text
    # A row says when it is due and links to the task's page.
    page = (await rows("?account=401693&kind=resolve_hold_price")).text
    assert re.search(r"due in 1 h \d\d min", page)
    assert f'href="/app{task["href"]}"' in page

    # The list alone for htmx, with the page's address to show.
    part = await api.get(
        "/app/queue/tasks?account=401693&kind=resolve_hold_price",
        headers={**rep, "HX-Request": "true"},
    )
    assert part.text.lstrip().startswith('<section id="task-list"')
    assert f"PO {number}" in part.text
    assert part.headers["hx-replace-url"] == "/app/queue?kind=resolve_hold_price&account=401693"

    bad = await api.get("/app/queue?account=401 693", headers=rep)
    assert bad.status_code == 422
    assert "An account number has letters, digits" in html.unescape(bad.text)


async def test_a_team_lead_sees_escalations_and_gives_one_to_another_lead(
    api: httpx.AsyncClient, demo_keys: dict[str, str], pool: asyncpg.Pool
) -> None:
    rep_key, lead_key = demo_keys["account_rep"], demo_keys["team_lead"]
    number = po()
    order_id, task = await price_task(api, demo_keys, number)
    escalated = await api.post(
        f"{task['href']}/complete",
        json={"decision": "escalate", "comment": "buyer insists"},
        headers=bearer(rep_key),
    )
    assert escalated.status_code == 200, escalated.text

    # Not a rep's view.
    assert (await api.get("/app/manage", headers=await cookie(api, rep_key))).status_code == 403
    for _ in range(100):
        team = await api.get("/app/manage", headers=await cookie(api, lead_key))
        if f"PO {number}" in team.text:
            break
        await asyncio.sleep(0.05)
    escalations = team.text.split('id="v-escalations"')[1].split("</section>")[0]
    assert f"PO {number}" in escalations and "Price escalation" in escalations
    link = re.search(rf'href="(/app/tasks/[^"]*{number}[^"]*)"', escalations)
    assert link

    other, other_key = await new_person(pool, "team_lead")
    token = await csrf(api, lead_key)
    nobody = await api.post(
        f"{link.group(1)}/claim",
        data={"csrf_token": token, "assignee": "no.such.person"},
        headers=await cookie(api, lead_key),
    )
    assert nobody.status_code == 422
    assert "no.such.person does not hold the role team_lead" in html.unescape(nobody.text)
    given = await api.post(
        f"{link.group(1)}/claim",
        data={"csrf_token": token, "assignee": other},
        headers=await cookie(api, lead_key),
    )
    assert given.status_code == 200, given.text
    assert f"Given to {other}." in given.text
    theirs = await api.get("/app/queue?kind=price_escalation", headers=await cookie(api, other_key))
    assert f"PO {number}" in theirs.text

    # Not tom.baker's to decide now, as the task API has it.
    refused = await api.post(
        f"{link.group(1)}/decide",
        data={"csrf_token": token, "decision": "approve_po_price", "comment": "ok"},
        headers=await cookie(api, lead_key),
    )
    assert refused.status_code == 403
    assert f"this task is assigned to {other}" in html.unescape(refused.text)
    assert (
        "Price escalation"
        in (await api.get(link.group(1), headers=await cookie(api, other_key))).text
    )


async def test_a_claim_from_the_queue_answers_its_row_with_the_workflows_refusal(
    api: httpx.AsyncClient, demo_keys: dict[str, str], pool: asyncpg.Pool
) -> None:
    order_id, task = await price_task(api, demo_keys, po())
    # An operator who is also a rep sees every task, and may claim a rep's.
    person, key = await new_person(pool, "operator", "account_rep")
    queue = await api.get(
        "/app/queue?kind=resolve_hold_price&account=401693", headers=await cookie(api, key)
    )
    claim = f'action="/app{task["href"]}/claim"'
    assert claim in queue.text  # maria.lopez's, so not this person's yet
    row = await api.post(
        f"/app{task['href']}/claim",
        data={"from": "queue"},
        headers={
            **await cookie(api, key),
            "X-CSRF-Token": await csrf(api, key),
            "HX-Request": "true",
        },
    )
    assert row.status_code == 409
    assert row.text.lstrip().startswith("<tr")  # the row htmx swaps in place
    assert "maria.lopez holds this task" in html.unescape(row.text)
    held = await api.get(task["href"], headers=bearer(key))
    assert held.json()["assignee"] == "maria.lopez"
    # Without scripts, a page saying why.
    plain = await api.post(
        f"/app{task['href']}/claim",
        data={"from": "queue", "csrf_token": await csrf(api, key)},
        headers=await cookie(api, key),
    )
    assert plain.status_code == 409 and "<h1>Not claimed</h1>" in plain.text
    assert "maria.lopez holds this task" in html.unescape(plain.text)
