"""The six PunchOut validation rules (domain/validation.py) over hand-built
reference snapshots: no database, no Temporal."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.order.models import (
    Address,
    Hold,
    HoldCode,
    OrderLine,
    PurchaseOrder,
    ResolvedLine,
    Shipment,
    ValidationResult,
)
from domain.order.validation import (
    AccountRef,
    PartRef,
    ReferenceSnapshot,
    ShipToRef,
    validate_order,
)

DEFAULT_SLA = timedelta(hours=2)
ACCOUNT = "401693"
SHIP_TO = "PP-ODESSA"
BRANCH = "BR-ODS"

# --------------------------------------------------------------------------- builders


def part(part_id: str, uoms: dict[str, int], pools: dict[str, list[str]] | None = None,
         base_uom: str = "EA") -> PartRef:  # fmt: skip
    return PartRef(
        part_id=part_id,
        base_uom=base_uom,
        uoms={u: Decimal(f) for u, f in uoms.items()},
        pools={BRANCH: ["ODS-MAIN"]} if pools is None else pools,
    )


def snapshot(**changes: object) -> ReferenceSnapshot:
    """Propetro-like reference data in which the default line validates cleanly."""
    base = ReferenceSnapshot(
        account=AccountRef(
            account_number=ACCOUNT,
            name="Propetro Services",
            active=True,
            punchout_enabled=True,
            rep_id="maria.lopez",
            rep_email="maria.lopez@example.com",
        ),
        ship_tos={SHIP_TO: ShipToRef(address_id=SHIP_TO, branch_id=BRANCH)},
        xref={"PP-BOLT-12": "HX-1001", "PP-GASKET": "GS-2040"},
        parts={
            "HX-1001": part("HX-1001", {"EA": 1, "BX": 50}),
            "GS-2040": part("GS-2040", {"EA": 1, "CS": 12}),
            # sold only by the case of 12, priced per case
            "GC-0012": part("GC-0012", {"CS": 12}),
        },
        prices_cents={"HX-1001": {"EA": 235}, "GS-2040": {"EA": 410}, "GC-0012": {"CS": 4920}},
        conversions={"DZ": {"EA": Decimal(12)}, "PR": {"EA": Decimal(2)}},
    )
    return base.model_copy(update=changes)


def line(n: int = 1, **changes: object) -> OrderLine:
    fields: dict[str, object] = dict(
        line_number=n, supplier_part_id="HX-1001", quantity=Decimal(100), uom="EA",
        unit_price=Decimal("2.35"),
    )  # fmt: skip
    fields.update(changes)
    return OrderLine(**fields)


def validate(*lines: OrderLine, snap: ReferenceSnapshot | None = None,
             ship_to: str = SHIP_TO) -> ValidationResult:  # fmt: skip
    order = PurchaseOrder(
        account_number=ACCOUNT,
        po_number="4500123",
        ship_to=Address(address_id=ship_to),
        lines=list(lines) or [line()],
    )
    return validate_order(order, snap or snapshot(), DEFAULT_SLA)


def as_sent(sent: OrderLine, part_id: str | None = None, pool_id: str = "") -> ResolvedLine:
    return ResolvedLine(
        line_number=sent.line_number,
        part_id=part_id or sent.customer_part_number or sent.supplier_part_id or "",
        pool_id=pool_id,
        uom=sent.uom,
        quantity=sent.quantity,
        unit_price=sent.unit_price,
        resolved=False,
    )


def only_hold(result: ValidationResult) -> Hold:
    assert len(result.holds) == 1, result.holds
    return result.holds[0]


def codes(result: ValidationResult) -> list[tuple[HoldCode, int | None]]:
    return [(h.code, h.line_number) for h in result.holds]


# --------------------------------------------------------------------------- happy path


def test_clean_order_has_no_holds_and_resolves_every_line() -> None:
    result = validate(line(1), line(2, supplier_part_id=None, customer_part_number="PP-GASKET",
                                    quantity=Decimal(2), uom="CS", unit_price=Decimal("49.20")))  # fmt: skip
    assert result.holds == []
    assert result.account_name == "Propetro Services"
    assert result.branch_id == BRANCH
    assert (result.rep_id, result.rep_email) == ("maria.lopez", "maria.lopez@example.com")
    assert [(r.line_number, r.part_id, r.pool_id, r.uom, r.quantity) for r in result.lines] == [
        (1, "HX-1001", "ODS-MAIN", "EA", Decimal(100)),
        (2, "GS-2040", "ODS-MAIN", "CS", Decimal(2)),
    ]


# --------------------------------------------------------------------------- ACCOUNT


def test_unknown_account_is_the_only_hold_and_nothing_else_is_checked() -> None:
    # Ship-to, part, unit and price would all fail too: none of them is reported.
    bad_line = line(supplier_part_id="NOPE", uom="GAL", unit_price=Decimal("0.01"))
    result = validate(bad_line, snap=ReferenceSnapshot(account=None), ship_to="NOWHERE")
    hold = only_hold(result)
    assert hold.code == HoldCode.ACCOUNT
    assert hold.line_number is None
    assert ACCOUNT in hold.reason and "does not exist" in hold.reason
    # The OMS draft still carries the line as the buyer sent it.
    assert result.lines == [as_sent(bad_line)]
    assert result.account_name == ""
    assert result.sla == DEFAULT_SLA


@pytest.mark.parametrize(
    ("flags", "wording"),
    [
        (dict(active=False), "inactive"),
        (dict(punchout_enabled=False), "not set up for PunchOut"),
    ],
    ids=["inactive", "not-punchout-enabled"],
)
def test_account_problem_is_a_hold_and_the_other_rules_are_still_checked(
    flags: dict[str, bool], wording: str
) -> None:
    snap = snapshot()
    snap = snapshot(account=snap.account.model_copy(update=flags))  # type: ignore[union-attr]
    result = validate(line(1), line(2, unit_price=Decimal("2.30")), snap=snap, ship_to="NOWHERE")
    assert codes(result) == [
        (HoldCode.ACCOUNT, None),
        (HoldCode.ADDRESS, None),
        (HoldCode.PRICE, 2),
    ]
    assert ACCOUNT in result.holds[0].reason and wording in result.holds[0].reason
    assert [r.line_number for r in result.lines] == [1, 2]
    assert result.account_name == "Propetro Services"


# --------------------------------------------------------------------------- ADDRESS


@pytest.mark.parametrize(
    ("ship_to", "named"),
    [("RGW-PLANT2", "RGW-PLANT2"), ("", "(no address id)")],
    ids=["other-address", "no-address-id"],
)
def test_ship_to_not_among_the_accounts_addresses_is_a_hold_and_pool_is_not_checked(
    ship_to: str, named: str
) -> None:
    # The part has no pool anywhere: that would be a POOL hold if a branch were known.
    snap = snapshot(parts={"HX-1001": part("HX-1001", {"EA": 1}, pools={})})
    result = validate(line(), snap=snap, ship_to=ship_to)
    hold = only_hold(result)
    assert (hold.code, hold.line_number) == (HoldCode.ADDRESS, None)
    assert named in hold.reason
    assert result.branch_id is None
    assert result.lines[0].pool_id == ""


# --------------------------------------------------------------------------- PART


@pytest.mark.parametrize(
    "ids",
    [
        dict(supplier_part_id="HX-1001"),
        dict(supplier_part_id=None, customer_part_number="PP-BOLT-12"),
        dict(supplier_part_id="HX-1001", customer_part_number="PP-BOLT-12"),
        # customer number unknown to the xref, but the supplier id is good enough
        dict(supplier_part_id="HX-1001", customer_part_number="PP-UNMAPPED"),
    ],
    ids=["supplier-id", "xref-only", "both-agree", "supplier-id-unmapped-customer-number"],
)
def test_part_resolves_by_supplier_id_or_cross_reference(ids: dict[str, str | None]) -> None:
    result = validate(line(**ids))
    assert result.holds == []
    assert result.lines[0].part_id == "HX-1001"


def test_unknown_part_is_a_hold_naming_both_ids_and_nothing_else_is_checked_for_the_line() -> None:
    unknown = line(3, supplier_part_id="ZZ-9", customer_part_number="PP-MYSTERY", uom="GAL",
                   unit_price=Decimal("1.00"))  # fmt: skip
    result = validate(unknown)
    hold = only_hold(result)
    assert (hold.code, hold.line_number, hold.part_number) == (HoldCode.PART, 3, "PP-MYSTERY")
    assert "line 3" in hold.reason and ACCOUNT in hold.reason
    assert "ZZ-9" in hold.reason and "PP-MYSTERY" in hold.reason
    # On the OMS draft as sent: the customer's part number, the PO's unit, quantity, price.
    assert result.lines == [as_sent(unknown, part_id="PP-MYSTERY")]


def test_supplier_id_and_cross_reference_disagreeing_is_a_hold() -> None:
    # PP-GASKET maps to GS-2040 in the account's cross-reference file.
    result = validate(line(2, supplier_part_id="HX-1001", customer_part_number="PP-GASKET"))
    hold = only_hold(result)
    assert (hold.code, hold.line_number) == (HoldCode.PART, 2)
    assert all(s in hold.reason for s in ("PP-GASKET", "GS-2040", "HX-1001"))
    assert [(r.part_id, r.resolved) for r in result.lines] == [("PP-GASKET", False)]


# --------------------------------------------------------------------------- POOL


def test_exactly_one_pool_at_the_ship_to_branch_is_used() -> None:
    pools = {BRANCH: ["ODS-BOLTS"], "BR-HOU": ["HOU-1", "HOU-2"]}
    result = validate(line(), snap=snapshot(parts={"HX-1001": part("HX-1001", {"EA": 1}, pools)}))
    assert result.holds == []
    assert result.lines[0].pool_id == "ODS-BOLTS"


def test_no_pool_at_the_ship_to_branch_is_a_hold() -> None:
    pools = {"BR-HOU": ["HOU-MAIN"]}  # stocked, but not at Odessa
    result = validate(line(4), snap=snapshot(parts={"HX-1001": part("HX-1001", {"EA": 1}, pools)}))
    hold = only_hold(result)
    assert (hold.code, hold.line_number) == (HoldCode.POOL, 4)
    assert "HX-1001" in hold.reason and BRANCH in hold.reason
    assert "multiple" not in hold.reason


def test_two_pools_at_the_ship_to_branch_is_a_multiple_pool_failure_listing_them() -> None:
    pools = {BRANCH: ["ODS-MAIN", "ODS-FAB"]}
    result = validate(line(5), snap=snapshot(parts={"HX-1001": part("HX-1001", {"EA": 1}, pools)}))
    hold = only_hold(result)
    assert (hold.code, hold.line_number) == (HoldCode.POOL, 5)
    assert "multiple pool failure" in hold.reason
    assert "ODS-FAB" in hold.reason and "ODS-MAIN" in hold.reason
    assert result.lines[0].pool_id == ""


# --------------------------------------------------------------------------- UOM


def test_unit_the_part_is_sold_in_is_accepted_as_is() -> None:
    # 2 boxes of 50 at the EA contract price × 50.
    result = validate(line(quantity=Decimal(2), uom="BX", unit_price=Decimal("117.50")))
    assert result.holds == []
    resolved = result.lines[0]
    assert (resolved.uom, resolved.quantity, resolved.unit_price) == ("BX", 2, Decimal("117.50"))


def test_unit_that_converts_exactly_resolves_to_the_sold_unit() -> None:
    # 2 DZ of an EA part → 24 EA; a dozen costs 12 × 2.35.
    result = validate(line(quantity=Decimal(2), uom="DZ", unit_price=Decimal("28.20")))
    assert result.holds == []
    resolved = result.lines[0]
    assert (resolved.uom, resolved.quantity, resolved.unit_price) == ("EA", 24, Decimal("2.35"))


def test_unit_that_converts_exactly_into_a_larger_sold_unit() -> None:
    # 2 DZ of a part sold only in cases of 12 → 2 CS at 49.20 a case.
    result = validate(line(supplier_part_id="GC-0012", quantity=Decimal(2), uom="DZ",
                           unit_price=Decimal("49.20")))  # fmt: skip
    assert result.holds == []
    resolved = result.lines[0]
    assert (resolved.uom, resolved.quantity, resolved.unit_price) == ("CS", 2, Decimal("49.20"))


def test_inexact_conversion_is_a_uom_hold() -> None:
    # 1 DZ = 12 EA, not a whole number of boxes of 50.
    snap = snapshot(parts={"HX-1001": part("HX-1001", {"BX": 50})})
    result = validate(
        line(6, quantity=Decimal(1), uom="DZ", unit_price=Decimal("28.20")), snap=snap
    )
    hold = only_hold(result)
    assert (hold.code, hold.line_number) == (HoldCode.UOM, 6)
    assert "1 DZ" in hold.reason and "does not convert exactly" in hold.reason
    # The part is known, the unit is not: the PO's unit, quantity and price, and its pool.
    assert result.lines == [
        as_sent(line(6, quantity=Decimal(1), uom="DZ", unit_price=Decimal("28.20")),
                part_id="HX-1001", pool_id="ODS-MAIN")
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("quantity", "holds", "resolved"),
    [
        (24, [], ("CS", Decimal(2), Decimal("49.20"))),
        (
            25,
            [(HoldCode.UOM, 1, "line 1: 25 EA of GC-0012 does not convert exactly into CS")],
            None,
        ),
    ],
    ids=["24-EA-is-2-CS", "25-EA-is-not-whole-cases"],
)
def test_base_unit_converts_into_the_sold_unit(
    quantity: int, holds: list, resolved: tuple | None
) -> None:
    # Conversions as the real uom_conversions table has them: no EA→EA row.
    result = validate(line(supplier_part_id="GC-0012", quantity=Decimal(quantity), uom="EA",
                           unit_price=Decimal("4.10")))  # fmt: skip
    assert [(h.code, h.line_number, h.reason) for h in result.holds] == holds
    if resolved:
        r = result.lines[0]
        assert (r.uom, r.quantity, r.unit_price) == resolved


def test_unknown_unit_is_a_hold_and_skips_the_price_check() -> None:
    # The price is wrong too, but without a unit there is nothing to compare it with.
    result = validate(line(7, uom="GAL", unit_price=Decimal("999.99")))
    hold = only_hold(result)
    assert (hold.code, hold.line_number) == (HoldCode.UOM, 7)
    assert "GAL" in hold.reason and "HX-1001" in hold.reason
    assert [(r.part_id, r.uom, r.resolved) for r in result.lines] == [("HX-1001", "GAL", False)]


def test_inexact_conversion_also_skips_the_price_check() -> None:
    snap = snapshot(parts={"HX-1001": part("HX-1001", {"BX": 50})})
    result = validate(line(quantity=Decimal(1), uom="DZ", unit_price=Decimal("0.01")), snap=snap)
    assert codes(result) == [(HoldCode.UOM, 1)]


# --------------------------------------------------------------------------- PRICE


@pytest.mark.parametrize("price", ["2.35", "2.350"])
def test_price_equal_to_the_contract_price_in_cents_is_accepted(price: str) -> None:
    result = validate(line(unit_price=Decimal(price)))
    assert result.holds == []
    assert result.lines[0].unit_price == Decimal("2.35")


@pytest.mark.parametrize("price", ["2.34", "2.36"])
def test_price_one_cent_off_is_a_hold_quoting_both_prices(price: str) -> None:
    result = validate(line(8, unit_price=Decimal(price)))
    hold = only_hold(result)
    assert (hold.code, hold.line_number) == (HoldCode.PRICE, 8)
    assert price in hold.reason and "2.35" in hold.reason
    # the line is still resolved: only its price is in question
    assert [r.line_number for r in result.lines] == [8]


def test_po_price_with_fractions_of_a_cent_is_a_hold() -> None:
    result = validate(line(unit_price=Decimal("2.345")))
    hold = only_hold(result)
    assert hold.code == HoldCode.PRICE
    assert "2.345" in hold.reason


def test_po_price_with_fractions_of_a_cent_is_a_hold_even_if_it_matches_the_derived_price() -> None:
    # A box of 50 at 117.25 makes 2.345 each: not a price in cents, so not accepted.
    snap = snapshot(prices_cents={"HX-1001": {"BX": 11725}})
    result = validate(line(unit_price=Decimal("2.345")), snap=snap)
    assert only_hold(result).code == HoldCode.PRICE


@pytest.mark.parametrize(("price", "held"), [("49.20", False), ("4.10", True), ("49.21", True)])
def test_contract_price_per_each_is_scaled_to_the_ordered_case(price: str, held: bool) -> None:
    result = validate(line(supplier_part_id="GS-2040", quantity=Decimal(2), uom="CS",
                           unit_price=Decimal(price)))  # fmt: skip
    assert codes(result) == ([(HoldCode.PRICE, 1)] if held else [])
    if held:
        assert "49.20" in result.holds[0].reason


def test_contract_price_per_case_is_divided_for_an_order_in_each() -> None:
    snap = snapshot(prices_cents={"GS-2040": {"CS": 4920}})
    result = validate(line(supplier_part_id="GS-2040", quantity=Decimal(5), uom="EA",
                           unit_price=Decimal("4.10")), snap=snap)  # fmt: skip
    assert result.holds == []


def test_contract_price_scaling_is_exact() -> None:
    snap = snapshot(
        parts={"HX-1001": part("HX-1001", {"EA": 1, "PK": 3, "CS": 24})},
        prices_cents={"HX-1001": {"PK": 1000}},
    )
    result = validate(line(quantity=Decimal(1), uom="CS", unit_price=Decimal("80.00")), snap=snap)
    assert result.holds == []


def test_no_contract_price_is_a_hold() -> None:
    snap = snapshot(prices_cents={"GS-2040": {"EA": 410}})  # nothing for HX-1001
    result = validate(line(9), snap=snap)
    hold = only_hold(result)
    assert (hold.code, hold.line_number) == (HoldCode.PRICE, 9)
    assert "no contract price" in hold.reason and "HX-1001" in hold.reason


# --------------------------------------------------------------------------- SLA


@pytest.mark.parametrize(
    ("sla_minutes", "expected"), [(240, timedelta(hours=4)), (None, DEFAULT_SLA)]
)
def test_account_sla_overrides_the_default(sla_minutes: int | None, expected: timedelta) -> None:
    snap = snapshot()
    snap = snapshot(account=snap.account.model_copy(update={"sla_minutes": sla_minutes}))  # type: ignore[union-attr]
    assert validate(snap=snap).sla == expected


# --------------------------------------------------------------------------- several holds


def test_every_failure_on_an_order_becomes_a_hold_with_its_line_number() -> None:
    snap = snapshot(
        parts={
            "HX-1001": part("HX-1001", {"EA": 1, "BX": 50}),
            "GS-2040": part(
                "GS-2040", {"EA": 1, "CS": 12}, pools={BRANCH: ["ODS-MAIN", "ODS-FAB"]}
            ),
        }
    )
    result = validate(
        line(1),  # fine
        line(2, supplier_part_id="ZZ-9"),  # unknown part
        line(3, unit_price=Decimal("2.30")),  # wrong price
        line(4, uom="GAL"),  # unknown unit
        line(
            5,
            supplier_part_id="GS-2040",
            quantity=Decimal(1),
            uom="CS",
            unit_price=Decimal("50.00"),
        ),
        snap=snap,
    )
    assert codes(result) == [
        (HoldCode.PART, 2),
        (HoldCode.PRICE, 3),
        (HoldCode.UOM, 4),
        (HoldCode.POOL, 5),
        (HoldCode.PRICE, 5),
    ]
    # Every line goes to OMS; only those whose part and unit resolved are resolved.
    assert [(r.line_number, r.resolved) for r in result.lines] == [
        (1, True), (2, False), (3, True), (4, False), (5, True),
    ]  # fmt: skip


# --------------------------------------------------------------------------- the OMS draft


def test_unknown_ship_to_and_parts_hold_each_and_every_line_goes_to_oms_as_sent() -> None:
    # A real buyer's order: their own part numbers, none in the cross-reference, and a
    # ship-to the account does not have.
    sent = [
        line(1, supplier_part_id=None, customer_part_number="1000234-A", quantity=Decimal(12),
             uom="EA", unit_price=Decimal("3.15")),
        line(2, supplier_part_id="SPX 77/B", customer_part_number="1000987", quantity=Decimal(2),
             uom="BX", unit_price=Decimal("88.00")),
    ]  # fmt: skip
    result = validate(*sent, ship_to="YARD-17")
    assert codes(result) == [(HoldCode.ADDRESS, None), (HoldCode.PART, 1), (HoldCode.PART, 2)]
    address, part1, part2 = result.holds
    assert address.address_id == "YARD-17" and "YARD-17" in address.reason
    assert SHIP_TO in address.reason  # the ids it could be
    assert (part1.part_number, part2.part_number) == ("1000234-A", "1000987")
    assert "line 1" in part1.reason and "1000234-A" in part1.reason
    assert "line 2" in part2.reason and "SPX 77/B" in part2.reason
    assert result.branch_id is None
    assert result.lines == [as_sent(sent[0]), as_sent(sent[1])]
    assert result.account_name == "Propetro Services" and result.rep_id == "maria.lopez"


def test_a_part_sent_only_by_supplier_id_is_named_by_it() -> None:
    result = validate(line(4, supplier_part_id="ZZ-404"))
    hold = only_hold(result)
    assert (hold.part_number, result.lines[0].part_id) == ("ZZ-404", "ZZ-404")
    assert "supplier part id ZZ-404" in hold.reason


def test_address_hold_names_what_was_sent_and_the_accounts_ship_to_ids() -> None:
    snap = snapshot(ship_tos={f"S-{i:02d}": ShipToRef(address_id=f"S-{i:02d}", branch_id=BRANCH)
                              for i in range(12)})  # fmt: skip
    order = PurchaseOrder(
        account_number=ACCOUNT,
        po_number="4500123",
        ship_to=Address(address_id="YARD-17", name="Odessa Yard", city="Odessa",
                        postal_code="79763"),
        lines=[line()],
    )  # fmt: skip
    hold = only_hold(validate_order(order, snap, DEFAULT_SLA))
    assert hold.reason == (
        "ship-to YARD-17 (Odessa Yard, Odessa, 79763) is not one of account 401693's ship-to "
        "addresses; the account's ship-to ids are S-00, S-01, S-02, S-03, S-04, S-05, S-06, "
        "S-07, S-08, S-09 and 2 more"
    )
    none_on_file = only_hold(validate(snap=snapshot(ship_tos={}), ship_to="YARD-17"))
    assert "account 401693 has no ship-to addresses on file" in none_on_file.reason


@pytest.mark.parametrize(
    "lines",
    [
        [line(1)],
        [line(1, supplier_part_id="ZZ-9"), line(2, uom="GAL"), line(3, unit_price=Decimal(1))],
        [line(1, uom="DZ", quantity=Decimal(1)), line(2, customer_part_number="PP-GASKET")],
    ],
    ids=["clean", "part-uom-price", "converted-and-conflicting"],
)
@pytest.mark.parametrize("ship_to", [SHIP_TO, "NOWHERE"])
def test_every_po_line_reaches_oms_and_an_unresolved_one_always_has_its_hold(
    lines: list[OrderLine], ship_to: str
) -> None:
    result = validate(*lines, ship_to=ship_to)
    assert [r.line_number for r in result.lines] == [ln.line_number for ln in lines]
    held = {(h.code, h.line_number) for h in result.holds}
    for r in result.lines:
        if not r.resolved:  # so OMS is never asked to confirm it
            assert {(HoldCode.PART, r.line_number), (HoldCode.UOM, r.line_number)} & held
    for r, sent in zip(result.lines, lines, strict=True):
        if r.resolved:
            continue
        assert (r.uom, r.quantity, r.unit_price) == (sent.uom, sent.quantity, sent.unit_price)


def test_an_order_with_a_nul_character_in_any_text_is_refused() -> None:
    from pydantic import ValidationError

    from tests.factories import propetro_order

    good = propetro_order().model_dump()
    for where in (("comments",), ("ship_to", "name"), ("extrinsics", "CostCenter")):
        bad = {**good, "ship_to": dict(good["ship_to"]), "extrinsics": dict(good["extrinsics"])}
        target = bad
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = "Odessa\x00Yard"
        with pytest.raises(ValidationError, match="NUL"):
            PurchaseOrder.model_validate(bad)
    PurchaseOrder.model_validate(good)


def test_a_shipment_report_with_a_nul_character_is_refused() -> None:
    from pydantic import ValidationError

    from tests.factories import shipment

    report = shipment("RUN-1", (1, 1)).shipment.model_dump()
    report["proof_of_delivery"]["signed_by"] = "J.\x00Ruiz"
    with pytest.raises(ValidationError, match="NUL"):
        Shipment.model_validate(report)
