"""The weekly review over a seeded week of orders with known counts (a breach,
auto-resolved and manual holds, systemic and human flags, a branch edit, an
incident): JSON, CSV, the CLI's table, and the team lead's view with the week
before beside it."""

from __future__ import annotations

import csv
import io
import uuid

import asyncpg
import httpx
import pytest

from db.demo_week import seed_week
from domain.reports import week_bounds
from tests.api.test_directory import sopflow_command
from tests.servers import bearer

pytestmark = pytest.mark.integration
TZ = "America/Chicago"


@pytest.fixture(scope="module")
async def seeded(pool: asyncpg.Pool) -> str:
    """Eight orders in 2031-W10 and three in the week before (ids unique per run)."""
    prefix = uuid.uuid4().hex[:6].upper()
    async with pool.acquire() as conn:
        await seed_week(conn, "2031-W10", TZ, 8, prefix=f"{prefix}A")
        await seed_week(conn, "2031-W09", TZ, 3, prefix=f"{prefix}B")
    return "2031-W10"


EXPECTED = {
    ("401693", "maria.lopez"): {
        "orders": 3, "holds_by_code": {"PRICE": 1, "PART": 1}, "holds_auto_resolved": 0,
        "holds_manual_resolved": 2, "median_minutes_to_confirm": "90.0",
        "p90_minutes_to_confirm": "138.0", "sla_breaches": 1, "errors_systemic": 1,
        "errors_human": 0, "edits_by_root_cause": {"human": 1}, "incident_orders": 1,
        "fallback_orders": 0,
    },
    ("402110", "james.chen"): {
        "orders": 3, "holds_by_code": {"PRICE": 2, "PART": 1}, "holds_auto_resolved": 1,
        "holds_manual_resolved": 2, "median_minutes_to_confirm": "90.0",
        "p90_minutes_to_confirm": "138.0", "sla_breaches": 1, "errors_systemic": 0,
        "errors_human": 0, "edits_by_root_cause": {}, "incident_orders": 0,
        "fallback_orders": 0,
    },
    ("404820", "maria.lopez"): {
        "orders": 2, "holds_by_code": {"PRICE": 1}, "holds_auto_resolved": 1,
        "holds_manual_resolved": 0, "median_minutes_to_confirm": "1.0",
        "p90_minutes_to_confirm": "1.0", "sla_breaches": 0, "errors_systemic": 0,
        "errors_human": 1, "edits_by_root_cause": {}, "incident_orders": 0,
        "fallback_orders": 0,
    },
}  # fmt: skip


async def test_the_weekly_review_counts_a_seeded_week_as_json(
    api: httpx.AsyncClient, demo_keys: dict[str, str], seeded: str
) -> None:
    resp = await api.get(
        "/reports/weekly", params={"week": seeded}, headers=bearer(demo_keys["team_lead"])
    )
    assert resp.status_code == 200, resp.text
    rows = {(r["account_number"], r["rep_id"]): r for r in resp.json()}
    assert set(rows) == set(EXPECTED)
    for key, figures in EXPECTED.items():
        got = {k: rows[key][k] for k in figures}
        assert got == figures, key


async def test_the_weekly_review_answers_csv_and_a_rep_sees_only_their_rows(
    api: httpx.AsyncClient, demo_keys: dict[str, str], seeded: str
) -> None:
    resp = await api.get(
        "/reports/weekly",
        params={"week": seeded},
        headers={**bearer(demo_keys["csc_manager"]), "Accept": "text/csv"},
    )
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(resp.text)))
    james = next(r for r in lines if r["rep_id"] == "james.chen")
    assert (james["orders"], james["holds_by_code"], james["sla_breaches"]) == (
        "3", "PART=1 PRICE=2", "1",
    )  # fmt: skip
    mine = await api.get(
        "/reports/weekly", params={"week": seeded}, headers=bearer(demo_keys["account_rep"])
    )
    assert {r["rep_id"] for r in mine.json()} == {"maria.lopez"}


async def test_each_seeded_order_is_listed_and_answers_as_a_finished_order(
    api: httpx.AsyncClient, demo_keys: dict[str, str], seeded: str, pool: asyncpg.Pool
) -> None:
    """The demo week's orders have no workflow (as after Temporal's retention):
    closed rows the reconciler leaves alone, each readable from the read model."""
    start, end = week_bounds(seeded, TZ)
    async with pool.acquire() as conn:
        ids = [
            r["workflow_id"]
            for r in await conn.fetch(
                "SELECT workflow_id FROM workflow_records WHERE kind = 'order'"
                " AND created_at >= $1 AND created_at < $2",
                start,
                end,
            )
        ]
        # What the reconciler walks: rows it believes are still running.
        still_open = await conn.fetchval(
            "SELECT count(*) FROM workflow_records WHERE workflow_id = ANY($1::text[])"
            " AND closed_at IS NULL",
            ids,
        )
    assert len(ids) == 8
    assert still_open == 0
    key = bearer(demo_keys["team_lead"])
    listed = await api.get("/orders", params={"account": "402110", "limit": 200}, headers=key)
    assert {o["order_id"] for o in listed.json()["items"]} >= {
        i for i in ids if i.startswith("order-402110-")
    }
    for order_id in ids:
        resp = await api.get(f"/orders/{order_id}", headers=key)
        assert resp.status_code == 200, resp.text
        order = resp.json()
        assert order["status"] == "completed"
        assert [a["action"] for a in order["audit"]][-1] == "completed"
        assert len(order["invoices"]) == 1


async def test_a_malformed_week_is_a_422_with_the_reason(
    api: httpx.AsyncClient, demo_keys: dict[str, str]
) -> None:
    resp = await api.get(
        "/reports/weekly", params={"week": "2026-W60"}, headers=bearer(demo_keys["team_lead"])
    )
    assert resp.status_code == 422 and "no week 60" in resp.json()["detail"]


async def test_the_team_leads_view_puts_the_week_before_beside_each_row(
    api: httpx.AsyncClient, demo_keys: dict[str, str], seeded: str
) -> None:
    resp = await api.get(
        "/reports/weekly/team", params={"week": seeded}, headers=bearer(demo_keys["team_lead"])
    )
    assert resp.status_code == 200, resp.text
    by_key = {(r["rep_id"], r["account_number"]): r for r in resp.json()}
    row = by_key[("maria.lopez", "401693")]
    assert row["this_week"]["orders"] == 3 and row["week_before"]["orders"] == 1
    refused = await api.get(
        "/reports/weekly/team", params={"week": seeded}, headers=bearer(demo_keys["account_rep"])
    )
    assert refused.status_code == 403


async def test_the_cli_prints_the_week_as_a_table(database_url: str, seeded: str) -> None:
    output = await sopflow_command(database_url, "report", "weekly", "--week", seeded)
    lines = output.splitlines()
    assert lines[0].startswith(f"Weekly review {seeded}")
    assert lines[1].split()[:3] == ["account", "rep", "orders"]
    james = next(line for line in lines if "james.chen" in line)
    assert james.split()[:4] == ["402110", "james.chen", "3", "PART=1"]


async def test_a_demo_week_loaded_from_the_cli_is_reviewed_with_its_known_counts(
    database_url: str,
) -> None:
    loaded = await sopflow_command(
        database_url, "report", "seed-week", "--week", "2032-W05", "--orders", "8"
    )
    assert "8 demo orders loaded into 2032-W05" in loaded
    output = await sopflow_command(database_url, "report", "weekly", "--week", "2032-W05", "--csv")
    rows = {(r["account_number"], r["rep_id"]): r for r in csv.DictReader(io.StringIO(output))}
    for key, figures in EXPECTED.items():
        assert rows[key]["orders"] == str(figures["orders"])
        assert rows[key]["sla_breaches"] == str(figures["sla_breaches"])
        assert rows[key]["p90_minutes_to_confirm"] == figures["p90_minutes_to_confirm"]
