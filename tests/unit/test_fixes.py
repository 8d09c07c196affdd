"""A person's fixes re-checked by the pure rules (domain/order/validation.py
recheck_order) and the price-evidence rule (domain/order/fixes.py): no database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.order.fixes import (
    InvoiceRef,
    LineFix,
    OrderFixes,
    PriceEvidence,
    QuoteRef,
    find_price_evidence,
)
from domain.order.models import (
    Address,
    HoldCode,
    OrderLine,
    PurchaseOrder,
    ResolvedLine,
    ValidationResult,
)
from domain.order.validation import ReferenceSnapshot, recheck_order, validate_order
from tests.unit.test_validation import (
    ACCOUNT,
    BRANCH,
    DEFAULT_SLA,
    SHIP_TO,
    line,
    part,
    snapshot,
)


def order(*lines: OrderLine, ship_to: str = SHIP_TO) -> PurchaseOrder:
    return PurchaseOrder(
        account_number=ACCOUNT,
        po_number="4500123",
        ship_to=Address(address_id=ship_to),
        lines=list(lines) or [line()],
    )


def recheck(po: PurchaseOrder, snap: ReferenceSnapshot | None = None, ship_to: str | None = None,
            **lines: LineFix) -> ValidationResult:  # fmt: skip
    """Re-check with fixes given as line_<n>=LineFix(...)."""
    fixes = OrderFixes(
        ship_to_address_id=ship_to,
        lines={int(k.removeprefix("line_")): v for k, v in lines.items()},
    )
    return recheck_order(po, fixes, snap or snapshot(), DEFAULT_SLA)


def holds(result: ValidationResult) -> list[tuple[HoldCode, int | None, str]]:
    return [(h.code, h.line_number, h.reason) for h in result.holds]


def codes(result: ValidationResult) -> list[tuple[HoldCode, int | None]]:
    return [(h.code, h.line_number) for h in result.holds]


UNKNOWN = line(2, supplier_part_id=None, customer_part_number="PP-NEW-99")
MULTI_POOL = snapshot(
    parts=snapshot().parts
    | {"HX-1001": part("HX-1001", {"EA": 1, "BX": 50}, {BRANCH: ["ODS-MAIN", "ODS-FAB"]})}
)


def test_no_fixes_is_validation_itself() -> None:
    po = order(line(1), UNKNOWN, line(3, unit_price=Decimal("2.00")))
    assert recheck(po) == validate_order(po, snapshot(), DEFAULT_SLA)


def test_fixes_on_a_line_the_order_does_not_have_are_refused() -> None:
    fixes = OrderFixes(lines={7: LineFix(pool_id="ODS-MAIN")})
    assert fixes.problem(order()) == "the order has no line 7"
    with pytest.raises(ValueError, match="no line 7"):
        recheck_order(order(), fixes, snapshot(), DEFAULT_SLA)


def test_with_line_adds_to_a_lines_fixes() -> None:
    fixes = OrderFixes().with_line(2, part_id="HX-1001").with_line(2, pool_id="ODS-MAIN")
    assert fixes.lines[2] == LineFix(part_id="HX-1001", pool_id="ODS-MAIN")


# --------------------------------------------------------------------------- ADDRESS


def test_choosing_one_of_the_accounts_ship_tos_cures_the_address_hold() -> None:
    po = order(line(1), ship_to="NOWHERE")
    assert codes(recheck(po)) == [(HoldCode.ADDRESS, None)]
    result = recheck(po, ship_to=SHIP_TO)
    assert result.holds == []
    assert result.branch_id == BRANCH
    assert result.lines[0].pool_id == "ODS-MAIN"


def test_choosing_a_ship_to_of_another_account_leaves_the_hold_with_the_reason() -> None:
    result = recheck(order(line(1), ship_to="NOWHERE"), ship_to="RGW-PLANT2")
    ((code, _, reason),) = holds(result)
    assert code == HoldCode.ADDRESS
    assert reason.startswith("ship-to RGW-PLANT2 is not one of account 401693's ship-to addresses")
    assert result.holds[0].address_id == "RGW-PLANT2"


# --------------------------------------------------------------------------- PART


def test_mapping_the_part_cures_the_part_hold_and_runs_the_other_rules() -> None:
    po = order(line(1), UNKNOWN)
    assert codes(recheck(po)) == [(HoldCode.PART, 2)]
    result = recheck(po, line_2=LineFix(part_id="HX-1001"))
    assert result.holds == []
    assert result.lines[1] == ResolvedLine(
        line_number=2, part_id="HX-1001", pool_id="ODS-MAIN", uom="EA",
        quantity=Decimal(100), unit_price=Decimal("2.35"),
    )  # fmt: skip


def test_a_mapped_part_may_raise_the_next_rules_holds() -> None:
    result = recheck(order(UNKNOWN), line_2=LineFix(part_id="GC-0012"))
    assert codes(result) == [(HoldCode.UOM, 2)]


@pytest.mark.parametrize(
    ("part_id", "why"),
    [("NOPE-1", "part NOPE-1 does not exist"), ("OLD-1", "part OLD-1 is inactive")],
)
def test_mapping_to_a_part_that_does_not_exist_or_is_inactive_is_not_a_cure(
    part_id: str, why: str
) -> None:
    old = part("OLD-1", {"EA": 1}).model_copy(update={"active": False})
    snap = snapshot(parts=snapshot().parts | {"OLD-1": old})
    result = recheck(order(UNKNOWN), snap, line_2=LineFix(part_id=part_id))
    assert holds(result) == [(HoldCode.PART, 2, f"line 2: {why}")]
    assert result.holds[0].part_number == "PP-NEW-99"
    assert result.lines[0].resolved is False


def test_a_line_resolving_to_an_inactive_part_is_a_part_hold() -> None:
    old = part("HX-1001", {"EA": 1}).model_copy(update={"active": False})
    result = recheck(order(line(1)), snapshot(parts=snapshot().parts | {"HX-1001": old}))
    assert holds(result) == [
        (HoldCode.PART, 1, "line 1: supplier part id HX-1001 is part HX-1001, which is inactive")
    ]


def test_fixes_that_need_the_part_say_so_while_it_is_unknown() -> None:
    result = recheck(
        order(UNKNOWN),
        line_2=LineFix(pool_id="ODS-MAIN", uom="EA", quantity=Decimal(3), unit_price=Decimal(1)),
    )
    assert holds(result)[1:] == [
        (code, 2, "line 2: the part is not known yet; map the part first")
        for code in (HoldCode.POOL, HoldCode.UOM, HoldCode.PRICE)
    ]
    assert codes(result)[0] == (HoldCode.PART, 2)


# --------------------------------------------------------------------------- POOL


def test_choosing_one_of_the_parts_pools_cures_the_multiple_pool_failure() -> None:
    assert codes(recheck(order(line(1)), MULTI_POOL)) == [(HoldCode.POOL, 1)]
    result = recheck(order(line(1)), MULTI_POOL, line_1=LineFix(pool_id="ODS-FAB"))
    assert result.holds == []
    assert result.lines[0].pool_id == "ODS-FAB"


def test_choosing_a_pool_that_does_not_hold_the_part_leaves_the_hold_listing_its_pools() -> None:
    result = recheck(order(line(1)), MULTI_POOL, line_1=LineFix(pool_id="HOU-MAIN"))
    assert holds(result) == [
        (HoldCode.POOL, 1, "line 1: pool HOU-MAIN does not hold part HX-1001 at branch BR-ODS; "
                           "its pools there are ODS-FAB, ODS-MAIN"),
    ]  # fmt: skip
    assert result.lines[0].pool_id == ""


def test_choosing_a_pool_before_the_ship_to_is_known_says_so() -> None:
    result = recheck(order(line(1), ship_to="NOWHERE"), line_1=LineFix(pool_id="ODS-MAIN"))
    assert holds(result)[1] == (
        HoldCode.POOL, 1, "line 1: the ship-to is not known yet; choose the ship-to first"
    )  # fmt: skip


def test_a_chosen_pool_is_checked_again_at_a_newly_chosen_ship_to() -> None:
    snap = snapshot(
        ship_tos=snapshot().ship_tos
        | {"PP-HOU": snapshot().ship_tos[SHIP_TO].model_copy(update={"address_id": "PP-HOU",
                                                                        "branch_id": "BR-HOU"})}
    )  # fmt: skip
    result = recheck(order(line(1)), snap, ship_to="PP-HOU", line_1=LineFix(pool_id="ODS-MAIN"))
    assert codes(result) == [(HoldCode.POOL, 1)]
    assert "has no pool there" in result.holds[0].reason


# --------------------------------------------------------------------------- UOM

ODD_UNIT = line(1, uom="CS", quantity=Decimal(2), unit_price=Decimal("117.50"))


def test_fixing_the_unit_to_one_the_part_is_sold_in_cures_it_and_keeps_the_amount() -> None:
    assert codes(recheck(order(ODD_UNIT))) == [(HoldCode.UOM, 1)]
    result = recheck(order(ODD_UNIT), line_1=LineFix(uom="EA", quantity=Decimal(100)))
    assert result.holds == []
    assert (result.lines[0].uom, result.lines[0].quantity, result.lines[0].unit_price) == (
        "EA", Decimal(100), Decimal("2.35"),
    )  # fmt: skip


def test_fixing_the_unit_to_one_the_part_is_not_sold_in_is_not_a_cure() -> None:
    # DZ converts into EA, but a person's fix must name a unit the part is sold in.
    result = recheck(order(ODD_UNIT), line_1=LineFix(uom="DZ", quantity=Decimal(8)))
    assert holds(result) == [
        (HoldCode.UOM, 1, "line 1: unit DZ is not one part HX-1001 is sold in (BX, EA)")
    ]
    assert result.lines[0].resolved is False


def test_a_unit_fix_that_changes_the_amount_shows_as_a_price_hold() -> None:
    result = recheck(order(ODD_UNIT), line_1=LineFix(uom="EA", quantity=Decimal(50)))
    assert codes(result) == [(HoldCode.PRICE, 1)]
    assert "PO price 4.70 EA differs from contract price 2.35" in result.holds[0].reason


def test_a_price_fix_on_a_line_whose_unit_is_unsettled_says_so() -> None:
    result = recheck(order(ODD_UNIT), line_1=LineFix(unit_price=Decimal("2.35")))
    assert holds(result)[1] == (
        HoldCode.PRICE, 1, "line 1: the unit is not settled yet; fix the unit first"
    )  # fmt: skip


# --------------------------------------------------------------------------- PRICE

WRONG_PRICE = line(1, unit_price=Decimal("2.50"))


def test_correcting_the_price_to_the_contract_price_cures_it() -> None:
    assert codes(recheck(order(WRONG_PRICE))) == [(HoldCode.PRICE, 1)]
    result = recheck(order(WRONG_PRICE), line_1=LineFix(unit_price=Decimal("2.35")))
    assert result.holds == []
    assert result.lines[0].unit_price == Decimal("2.35")


def test_correcting_the_price_to_another_price_leaves_the_hold_with_the_reason() -> None:
    result = recheck(order(WRONG_PRICE), line_1=LineFix(unit_price=Decimal("2.40")))
    assert holds(result) == [
        (HoldCode.PRICE, 1, "line 1: corrected price 2.40 EA differs from contract price 2.35 "
                            "for part HX-1001"),
    ]  # fmt: skip


def test_a_team_lead_approving_the_po_price_passes_the_price_rule() -> None:
    result = recheck(order(WRONG_PRICE), line_1=LineFix(price_approved=True))
    assert result.holds == []
    assert result.lines[0].unit_price == Decimal("2.50")


def test_a_team_lead_setting_the_price_passes_the_price_rule_at_that_price() -> None:
    fix = LineFix(unit_price=Decimal("2.45"), price_approved=True)
    result = recheck(order(WRONG_PRICE), line_1=fix)
    assert result.holds == []
    assert result.lines[0].unit_price == Decimal("2.45")


def test_approval_passes_a_part_with_no_contract_price() -> None:
    snap = snapshot(prices_cents={})
    assert codes(recheck(order(line(1)), snap)) == [(HoldCode.PRICE, 1)]
    assert recheck(order(line(1)), snap, line_1=LineFix(price_approved=True)).holds == []


def test_price_evidence_passes_the_price_rule_while_it_matches_the_line() -> None:
    quote = PriceEvidence(kind="quote", reference="Q-1", unit_price=Decimal("2.50"), uom="EA")
    assert recheck(order(WRONG_PRICE), line_1=LineFix(price_evidence=quote)).holds == []
    changed = LineFix(price_evidence=quote, uom="BX", quantity=Decimal(2))
    result = recheck(order(WRONG_PRICE), line_1=changed)
    assert holds(result) == [
        (HoldCode.PRICE, 1, "line 1: quote Q-1 at 2.50 per EA no longer matches the line "
                            "(125.00 per BX)"),
    ]  # fmt: skip


# --------------------------------------------------------------------------- rejected lines


def test_a_rejected_line_leaves_the_order_and_its_holds_go_with_it() -> None:
    po = order(line(1), UNKNOWN, line(3, unit_price=Decimal("9.99")))
    result = recheck(po, line_2=LineFix(rejected=True), line_3=LineFix(rejected=True))
    assert result.holds == []
    assert [r.line_number for r in result.lines] == [1]


# --------------------------------------------------------------------------- ACCOUNT


def test_recheck_cures_an_account_hold_once_the_reference_data_is_fixed() -> None:
    inactive = snapshot().account.model_copy(update={"punchout_enabled": False})  # type: ignore[union-attr]
    assert codes(recheck(order(line(1)), snapshot(account=inactive))) == [(HoldCode.ACCOUNT, None)]
    assert recheck(order(line(1))).holds == []


def test_fixes_on_an_unknown_account_wait_for_the_account() -> None:
    result = recheck(
        order(line(1), UNKNOWN), snapshot(account=None), ship_to="PP-HQ",
        line_2=LineFix(part_id="HX-1001"), line_1=LineFix(rejected=True),
    )  # fmt: skip
    assert [h.code for h in result.holds] == [HoldCode.ACCOUNT, HoldCode.ADDRESS, HoldCode.PART]
    assert result.holds[1].reason == (
        "ship-to PP-HQ: the account is not known yet; fix the account first"
    )
    assert result.holds[2].reason == ("line 2: the account is not known yet; fix the account first")
    assert [r.line_number for r in result.lines] == [2]


# --------------------------------------------------------------------------- price evidence

PV = ResolvedLine(line_number=3, part_id="PV-3300", pool_id="ODS-VALVES", uom="EA",
                  quantity=Decimal(1), unit_price=Decimal("175.00"))  # fmt: skip
ORDER_DATE = date(2026, 11, 20)


def quote(quote_id: str = "Q-1", branch: str = BRANCH, cents: int = 17500,
          until: date = date(2027, 6, 30), uom: str = "EA") -> QuoteRef:  # fmt: skip
    return QuoteRef(quote_id=quote_id, branch_id=branch, uom=uom, unit_price_cents=cents,
                    valid_until=until)  # fmt: skip


def invoice(number: str = "INV-1", cents: int = 17500, on: date = date(2026, 9, 14)) -> InvoiceRef:
    return InvoiceRef(invoice_number=number, uom="EA", unit_price_cents=cents, invoiced_on=on)


def test_an_open_quote_of_the_branch_at_the_po_price_is_evidence() -> None:
    found = find_price_evidence(PV, BRANCH, [quote()], [invoice()], ORDER_DATE)
    assert found == PriceEvidence(
        kind="quote", reference="Q-1", unit_price=Decimal("175.00"), uom="EA"
    )


def test_a_quote_is_valid_through_its_last_day() -> None:
    last_day = quote(until=ORDER_DATE)
    assert find_price_evidence(PV, BRANCH, [last_day], [], ORDER_DATE) is not None
    assert find_price_evidence(PV, BRANCH, [last_day], [], date(2026, 11, 21)) is None


@pytest.mark.parametrize(
    "other",
    [quote(branch="BR-HOU"), quote(cents=17400), quote(uom="BX"), quote(until=date(2026, 11, 1))],
)
def test_a_quote_of_another_branch_price_unit_or_expired_is_not_evidence(other: QuoteRef) -> None:
    assert find_price_evidence(PV, BRANCH, [other], [], ORDER_DATE) is None


def test_without_a_quote_the_latest_processed_invoice_at_the_price_is_evidence() -> None:
    invoices = [invoice("INV-1"), invoice("INV-2", on=date(2026, 10, 1)), invoice("INV-3", 100)]
    found = find_price_evidence(PV, BRANCH, [quote(until=date(2026, 1, 1))], invoices, ORDER_DATE)
    assert found is not None
    assert (found.kind, found.reference) == ("invoice", "INV-2")
    # an invoice counts whatever the ship-to's branch
    assert find_price_evidence(PV, None, [quote()], invoices, ORDER_DATE).kind == "invoice"  # type: ignore[union-attr]


def test_a_price_in_fractions_of_a_cent_has_no_evidence() -> None:
    odd = PV.model_copy(update={"unit_price": Decimal("175.005")})
    assert find_price_evidence(odd, BRANCH, [quote()], [invoice()], ORDER_DATE) is None
