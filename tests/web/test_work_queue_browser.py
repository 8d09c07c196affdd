"""The work-queue page in a real browser (issue 12's Done when): a rep signs in,
maps an unknown part and escalates a price; an operator's approval is refused on
the page with the workflow's reason (the task is for the role team_lead); the
team lead approves from the Team view; the order moves on to the branch. The
pages ask nothing of any host but the app. Screenshots of each step are kept in
test-artifacts/web/."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

from sopflow.config import Settings
from tests.integration.test_hold_story import po_number, task_in_queue
from tests.integration.test_order_e2e import cxml_status, post_cxml, sample, wait_for

# The browser first: without Chromium the test is skipped before any server starts.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("browser", "worker")]

WAIT = 20_000  # ms: a decision runs activities on a busy 2-core machine


async def person(
    browser: Any, base: str, seen: list[str], errors: list[str]
) -> tuple[Any, Any]:
    """A browser context of its own (its own cookies), every request noted, and
    every console error or script error (a CSP violation is one) too."""
    context = await browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    context.on("request", lambda req: seen.append(req.url))
    page = await context.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.set_default_timeout(WAIT)
    return context, page


async def sign_in(page: Any, key: str, to: str = "/app/queue") -> None:
    await page.goto(to)
    await page.get_by_role("heading", name="Sign in").wait_for()
    await page.get_by_label("API key").fill(key)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/app/(queue|tasks/|manage)"))


async def filter_kind(page: Any, kind: str) -> None:
    """Choose a kind: the list is swapped in place and the address follows."""
    await page.get_by_label("Kind").select_option(kind)
    await page.wait_for_url(re.compile(rf"/app/queue\?kind={kind}$"))


async def decide(page: Any, decision: str, *, keyboard: bool = False, **fields: str | bool) -> Any:
    """Fill in and send one of the task's decision forms (by mouse, or from its
    last field with Tab and Enter); the form."""
    form = page.locator("form.decision").filter(
        has=page.get_by_role("heading", name=decision, exact=True)
    )
    for label, value in fields.items():
        box = form.get_by_label(label)
        if isinstance(value, bool):
            await box.set_checked(value)
        else:
            await box.fill(value)
    if keyboard:
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == decision
        await page.keyboard.press("Enter")
    else:
        await form.get_by_role("button", name=decision, exact=True).click()
    return form


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => e.labels.length === 0).map(e => e.name)"""


async def test_rep_and_team_lead_work_a_held_order_in_the_browser(
    browser: Any,
    api: httpx.AsyncClient,
    demo_keys: dict[str, str],
    artifacts: Path,
    it_settings: Settings,
) -> None:
    base = str(api.base_url).rstrip("/")
    po = po_number()
    doc = sample(
        po,
        **{
            '<Money currency="USD">2.35</Money>': '<Money currency="USD">2.10</Money>',
            "<BuyerPartID>PP-GASKET</BuyerPartID>": f"<BuyerPartID>PP-NEW-{po}</BuyerPartID>",
        },
    )
    resp = await post_cxml(api, demo_keys["system"], doc)
    assert cxml_status(resp)[0] == 200, resp.text
    order_id = resp.headers["X-Order-Id"]
    rep_key, lead_key = demo_keys["account_rep"], demo_keys["team_lead"]
    await task_in_queue(api, rep_key, order_id, "resolve_hold_part")
    await task_in_queue(api, rep_key, order_id, "resolve_hold_price")
    seen: list[str] = []
    errors: list[str] = []

    # The rep signs in and finds the part hold in the queue, filtered by kind.
    rep_context, page = await person(browser, base, seen, errors)
    await sign_in(page, rep_key)
    assert await page.evaluate(UNLABELLED) == []
    await filter_kind(page, "resolve_hold_part")
    row = page.locator("#task-list tr", has_text=f"PO {po}")
    await row.wait_for()
    assert "Resolve hold part" in await row.inner_text()
    await page.screenshot(path=artifacts / "01-rep-queue.png", full_page=True)
    await row.get_by_role("link", name="Resolve hold part").click()
    await page.get_by_role("heading", name="Resolve hold part, line 2").wait_for()
    assert await page.evaluate(UNLABELLED) == []  # every field has its label
    holds = page.locator("table[aria-labelledby=holds-heading]")
    assert "PART" in await holds.inner_text() and "PRICE" in await holds.inner_text()

    await decide(page, "Map part", **{"Part id": "GS-2040", "Add to cross reference": True})
    done = page.get_by_role("status")
    await done.filter(has_text="Map part: done").wait_for()
    assert f"{order_id} is now on_hold" in await done.inner_text()
    assert "PART" not in await holds.inner_text()  # the case shows it resolved
    await page.screenshot(path=artifacts / "02-rep-part-mapped.png", full_page=True)

    # The price: escalated to the team lead with a comment.
    await page.get_by_role("link", name="My queue", exact=True).click()
    await filter_kind(page, "resolve_hold_price")
    row = page.locator("#task-list tr", has_text=f"PO {po}")
    await row.get_by_role("link", name="Resolve hold price").click()
    await decide(page, "Escalate", Comment="buyer insists on 2.10")
    await page.get_by_role("status").filter(has_text="Escalate: done").wait_for()
    trail = page.locator("table.audit")
    assert "price escalated" in await trail.inner_text()
    assert "buyer insists on 2.10" in await trail.inner_text()
    await page.screenshot(path=artifacts / "03-rep-escalated.png", full_page=True)

    # Signed out, the queue asks for a key again.
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("heading", name="Sign in").wait_for()
    await page.goto("/app/queue")
    await page.get_by_role("heading", name="Sign in").wait_for()
    await rep_context.close()

    # An operator sees the escalation but may not decide it: the workflow's reason.
    escalation = await task_in_queue(api, lead_key, order_id, "price_escalation")
    ops_context, page = await person(browser, base, seen, errors)
    await sign_in(page, demo_keys["operator"], to=f"/app{escalation['href']}")
    await page.get_by_role("heading", name="Price escalation, line 1").wait_for()
    form = await decide(page, "Approve PO price", Comment="looks fine to me")
    refusal = form.get_by_role("alert")
    await refusal.wait_for()
    assert await refusal.inner_text() == "Refused: this task is for the role team_lead"
    assert "open" in await page.locator("dl.facts").first.inner_text()
    # The workflow's current run in the Temporal UI, one click away (not loaded).
    link = await page.get_by_role("link", name="open in the Temporal UI").get_attribute("href")
    assert link.startswith(
        f"{it_settings.temporal_ui}/namespaces/default/workflows/{quote(order_id, safe='')}/"
    ) and link.endswith("/history"), link
    await page.screenshot(path=artifacts / "04-operator-refused.png", full_page=True)
    await ops_context.close()

    # The team lead finds it under Escalations and approves the PO price.
    lead_context, page = await person(browser, base, seen, errors)
    await sign_in(page, lead_key)
    await page.get_by_role("link", name="Team").click()
    section = page.locator("section", has=page.get_by_role("heading", name="Escalations"))
    await section.locator("tr", has_text=f"PO {po}").get_by_role(
        "link", name="Price escalation"
    ).click()
    await decide(page, "Approve PO price", keyboard=True, Comment="one-off for this PO")
    await page.get_by_role("status").filter(has_text="Approve PO price: done").wait_for()
    await page.screenshot(path=artifacts / "05-lead-approved.png", full_page=True)

    # The order moves on: confirmed and released to its branch, shown on the page.
    await wait_for(api, lead_key, order_id, "released")
    await page.reload()
    status = page.locator(".status")
    for _ in range(50):
        if await status.inner_text() == "released":
            break
        await asyncio.sleep(0.1)
        await page.reload()
    assert await status.inner_text() == "released"
    assert "confirmed" in await page.locator("table.audit").inner_text()
    await page.screenshot(path=artifacts / "06-order-released.png", full_page=True)
    await lead_context.close()

    # Every request the pages made went to the app itself; no script or CSP error.
    # (A refusal is a 4xx, which Chromium logs as a failed load: that one is expected.)
    refusal_logged = "Failed to load resource: the server responded with a status of 4"
    assert [e for e in errors if not e.startswith(refusal_logged)] == [], errors
    hosts = {urlsplit(url).netloc for url in seen}
    assert hosts == {urlsplit(base).netloc}, hosts
    assert any(url.endswith("/app/static/htmx.min.js") for url in seen)
