"""The reference activities against the real test database with the demo data:
re-checking fixes, the cross-reference file, price evidence."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.contracts.reference import (
    AddCrossReference,
    FindPriceEvidence,
    RecheckOrder,
    ValidateOrder,
)
from activities.reference import ReferenceActivities
from domain.identity import Actor, Role
from domain.order.fixes import LineFix, OrderFixes, PriceEvidence
from domain.order.models import Address, HoldCode, OrderLine, PurchaseOrder, ValidationResult

SLA = timedelta(hours=2)
REP = Actor(person_id="maria.lopez", roles=frozenset({Role.ACCOUNT_REP}))
ORDER_DATE = date(2026, 11, 20)


def run(fn, arg, workflow_id: str = "order-401693-PO-FIX"):  # type: ignore[no-untyped-def]
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, workflow_id=workflow_id, workflow_run_id="run-1", scheduled_time=datetime.now(UTC)
    )
    return env.run(fn, arg)


@pytest.fixture
def reference(pool: asyncpg.Pool) -> ReferenceActivities:
    return ReferenceActivities(pool)


def po(*lines: OrderLine, account: str = "401693", ship_to: str = "PP-ODESSA") -> PurchaseOrder:
    return PurchaseOrder(
        account_number=account,
        po_number=f"PO-{uuid.uuid4().hex[:8]}",
        order_date=datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
        ship_to=Address(address_id=ship_to),
        lines=list(lines),
    )


def ln(n: int, part: str | None, price: str, uom: str = "EA", qty: int = 1,
       customer: str = "") -> OrderLine:  # fmt: skip
    return OrderLine(line_number=n, supplier_part_id=part, customer_part_number=customer,
                     quantity=Decimal(qty), uom=uom, unit_price=Decimal(price))  # fmt: skip


async def recheck(reference: ReferenceActivities, order: PurchaseOrder,
                  ship_to: str | None = None, **lines: LineFix) -> ValidationResult:  # fmt: skip
    fixes = OrderFixes(
        ship_to_address_id=ship_to,
        lines={int(k.removeprefix("line_")): v for k, v in lines.items()},
    )
    return await run(
        reference.recheck_order, RecheckOrder(order=order, fixes=fixes, default_sla=SLA)
    )


def codes(result: ValidationResult) -> list[tuple[HoldCode, int | None]]:
    return [(h.code, h.line_number) for h in result.holds]


# --------------------------------------------------------------------------- recheck_order

CASES = [
    # (hold code, the order's lines / ship-to, a fix that cures it, one that does not)
    (HoldCode.ADDRESS, [ln(1, "HX-1001", "2.35")], "NOWHERE", ("ship_to", "PP-HQ"),
     ("ship_to", "RGW-PLANT2")),
    (HoldCode.PART, [ln(1, None, "2.35", customer="PP-UNMAPPED")], "PP-ODESSA",
     ("line_1", LineFix(part_id="HX-1001")), ("line_1", LineFix(part_id="NO-SUCH-PART"))),
    (HoldCode.POOL, [ln(1, "FL-7007", "64.50")], "PP-ODESSA",
     ("line_1", LineFix(pool_id="ODS-FAB")), ("line_1", LineFix(pool_id="HOU-MAIN"))),
    (HoldCode.UOM, [ln(1, "HX-1001", "117.50", uom="CS", qty=2)], "PP-ODESSA",
     ("line_1", LineFix(uom="BX", quantity=Decimal(2))),
     ("line_1", LineFix(uom="DZ", quantity=Decimal(8)))),
    (HoldCode.PRICE, [ln(1, "PV-3300", "180.00")], "PP-ODESSA",
     ("line_1", LineFix(unit_price=Decimal("189.00"))),
     ("line_1", LineFix(unit_price=Decimal("185.00")))),
]  # fmt: skip


@pytest.mark.parametrize(("code", "lines", "ship_to", "cure", "no_cure"), CASES,
                         ids=[c[0] for c in CASES])  # fmt: skip
async def test_recheck_cures_a_hold_with_the_right_fix_and_keeps_it_with_a_wrong_one(
    reference: ReferenceActivities, code, lines, ship_to, cure, no_cure
) -> None:  # type: ignore[no-untyped-def]
    order = po(*lines, ship_to=ship_to)
    found = await run(reference.validate_order, ValidateOrder(order=order, default_sla=SLA))
    assert [h.code for h in found.holds] == [code]
    cured = await recheck(reference, order, **{cure[0]: cure[1]})
    assert cured.holds == [], cured.holds
    assert all(line.resolved for line in cured.lines)
    kept = await recheck(reference, order, **{no_cure[0]: no_cure[1]})
    assert [h.code for h in kept.holds] == [code]
    assert kept.holds[0].reason != found.holds[0].reason  # it says why the fix failed


async def test_recheck_cures_an_account_hold_once_the_account_is_set_up(
    reference: ReferenceActivities, pool: asyncpg.Pool
) -> None:
    account = f"T{uuid.uuid4().hex[:8]}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO accounts (account_number, name, punchout_enabled) VALUES ($1, 'T', false)",
            account,
        )
        await conn.execute(
            """INSERT INTO ship_to_addresses (account_number, address_id, branch_id)
               VALUES ($1, 'T-1', 'BR-ODS')""",
            account,
        )
        await conn.execute(
            """INSERT INTO contract_prices (account_number, part_id, uom, unit_price_cents)
               VALUES ($1, 'HX-1001', 'EA', 235)""",
            account,
        )
    order = po(ln(1, "HX-1001", "2.35"), account=account, ship_to="T-1")
    assert codes(await recheck(reference, order)) == [(HoldCode.ACCOUNT, None)]
    async with pool.acquire() as conn:
        await conn.execute(
            "UPDATE accounts SET punchout_enabled = true WHERE account_number = $1", account
        )
    assert (await recheck(reference, order)).holds == []


async def test_recheck_refuses_fixes_for_a_line_the_order_does_not_have(
    reference: ReferenceActivities,
) -> None:
    with pytest.raises(ApplicationError) as refused:
        await recheck(reference, po(ln(1, "HX-1001", "2.35")), line_4=LineFix(rejected=True))
    assert (refused.value.type, refused.value.non_retryable) == ("InvalidFixes", True)
    assert refused.value.message == "the order has no line 4"


async def test_recheck_says_a_pool_waits_for_the_part(reference: ReferenceActivities) -> None:
    order = po(ln(1, None, "2.35", customer="PP-UNMAPPED"))
    result = await recheck(reference, order, line_1=LineFix(pool_id="ODS-MAIN"))
    assert [(h.code, h.reason) for h in result.holds][1] == (
        HoldCode.POOL, "line 1: the part is not known yet; map the part first",
    )  # fmt: skip


# --------------------------------------------------------------------------- cross-reference


async def test_adding_to_the_cross_reference_is_idempotent_audited_and_read_by_the_part_rule(
    reference: ReferenceActivities, pool: asyncpg.Pool
) -> None:
    number = f"PP-NEW-{uuid.uuid4().hex[:8]}"
    order = po(ln(1, None, "2.35", customer=number))
    first = await run(reference.validate_order, ValidateOrder(order=order, default_sla=SLA))
    assert codes(first) == [(HoldCode.PART, 1)]
    req = AddCrossReference(account_number="401693", customer_part_number=number,
                            part_id="HX-1001", actor=REP, comment="buyer's new bolt number")  # fmt: skip
    assert (await run(reference.add_cross_reference, req)).added is True
    assert (await run(reference.add_cross_reference, req)).added is False
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            """SELECT part_id FROM customer_part_xref
               WHERE account_number = '401693' AND customer_part_number = $1""",
            number,
        )
        audit = await conn.fetch(
            "SELECT actor, action, comment FROM audit_log WHERE subject_id = 'account:401693' "
            "AND comment LIKE $1",
            f"%{number}%",
        )
    assert [r["part_id"] for r in rows] == ["HX-1001"]
    assert [dict(a) for a in audit] == [
        {
            "actor": "maria.lopez",
            "action": "cross-reference added",
            "comment": f"customer part number {number} → part HX-1001 (order "
            "order-401693-PO-FIX): buyer's new bolt number",
        }
    ]
    again = await run(reference.validate_order, ValidateOrder(order=order, default_sla=SLA))
    assert again.holds == []
    assert again.lines[0].part_id == "HX-1001"


@pytest.mark.parametrize(
    ("number", "part_id", "account", "refusal"),
    [
        ("PP-BOLT-12", "GS-2040", "401693", "CrossReferenceConflict"),
        ("PP-NEW-X", "NO-SUCH-PART", "401693", "UnknownPart"),
        ("PP-NEW-X", "HX-1001", "999999", "UnknownAccount"),
    ],
)
async def test_adding_to_the_cross_reference_is_refused_with_a_reason(
    reference: ReferenceActivities, pool: asyncpg.Pool, number, part_id, account, refusal
) -> None:  # type: ignore[no-untyped-def]
    req = AddCrossReference(account_number=account, customer_part_number=number,
                            part_id=part_id, actor=REP)  # fmt: skip
    with pytest.raises(ApplicationError) as refused:
        await run(reference.add_cross_reference, req)
    assert (refused.value.type, refused.value.non_retryable) == (refusal, True)
    async with pool.acquire() as conn:
        mapped = await conn.fetchval(
            "SELECT part_id FROM customer_part_xref WHERE account_number = $1 "
            "AND customer_part_number = $2",
            account, number,
        )  # fmt: skip
    assert mapped == ("HX-1001" if number == "PP-BOLT-12" else None)


async def test_adding_an_inactive_part_to_the_cross_reference_is_refused(
    reference: ReferenceActivities, pool: asyncpg.Pool
) -> None:
    part_id = f"OLD-{uuid.uuid4().hex[:6]}"
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO parts (part_id, base_uom, active) VALUES ($1, 'EA', false)", part_id
        )
    req = AddCrossReference(account_number="401693", customer_part_number="PP-OLD",
                            part_id=part_id, actor=REP)  # fmt: skip
    with pytest.raises(ApplicationError, match="is inactive"):
        await run(reference.add_cross_reference, req)


# --------------------------------------------------------------------------- price evidence


async def evidence(reference: ReferenceActivities, order: PurchaseOrder, branch: str | None,
                   as_of: date = ORDER_DATE) -> PriceEvidence | None:  # fmt: skip
    result = await run(reference.validate_order, ValidateOrder(order=order, default_sla=SLA))
    req = FindPriceEvidence(account_number=order.account_number, branch_id=branch,
                            line=result.lines[0], as_of=as_of)  # fmt: skip
    return (await run(reference.find_price_evidence, req)).evidence


async def test_the_branchs_open_quote_at_the_po_price_is_evidence(
    reference: ReferenceActivities,
) -> None:
    order = po(ln(1, "PV-3300", "175.00"))
    assert await evidence(reference, order, "BR-ODS") == PriceEvidence(
        kind="quote", reference="Q-ODS-2291", unit_price=Decimal("175.00"), uom="EA"
    )
    assert await evidence(reference, order, "BR-HOU") is None
    assert await evidence(reference, order, "BR-ODS", as_of=date(2027, 7, 1)) is None


async def test_a_processed_invoice_at_the_po_price_is_evidence(
    reference: ReferenceActivities,
) -> None:
    found = await evidence(reference, po(ln(1, "FL-7007", "62.00")), "BR-ODS")
    assert found == PriceEvidence(
        kind="invoice", reference="INV-88120", unit_price=Decimal("62.00"), uom="EA"
    )


async def test_no_quote_or_invoice_at_the_po_price_is_no_evidence(
    reference: ReferenceActivities,
) -> None:
    assert await evidence(reference, po(ln(1, "PV-3300", "180.00")), "BR-ODS") is None
    assert await evidence(reference, po(ln(1, "FL-7007", "62.01")), "BR-ODS") is None


async def test_a_demo_po_at_the_quoted_price_clears_every_hold_by_its_quote(
    reference: ReferenceActivities,
) -> None:
    """The issue's "second PO whose price matches the open quote confirms with no
    task": on the demo account the quote is the only thing between it and confirmed."""
    order = po(ln(1, "HX-1001", "2.35", qty=100, customer="PP-BOLT-12"),
               ln(2, "PV-3300", "175.00", customer="PP-VALVE-3"))  # fmt: skip
    result = await run(reference.validate_order, ValidateOrder(order=order, default_sla=SLA))
    assert codes(result) == [(HoldCode.PRICE, 2)]
    req = FindPriceEvidence(account_number="401693", branch_id=result.branch_id,
                            line=result.lines[1], as_of=ORDER_DATE)  # fmt: skip
    found = (await run(reference.find_price_evidence, req)).evidence
    assert found is not None and found.reference == "Q-ODS-2291"
    assert (await recheck(reference, order, line_2=LineFix(price_evidence=found))).holds == []
